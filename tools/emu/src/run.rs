//! A whole run: load the processes, schedule their threads cooperatively, end with a
//! [`RunReport`] (the library entry point [`run`], and [`run_setups`] for crafted
//! processes).
//!
//! Scheduling is deterministic: runnable threads are ordered by (priority, creation
//! order) and served round-robin; a thread runs until it blocks in an svc, yields, or
//! uses its slice. While the servers start ([`settle`]) bench time only moves with the
//! instructions they run: the clients start as soon as no thread can run, whether the
//! servers wait with a timeout (a polling loop) or without. While the clients run
//! ([`schedule`]), when nothing is runnable the bench jumps its clock to the earliest
//! pending deadline; with no deadline left while the client still runs, the run is a
//! deadlock, reported with each thread's blocking svc. Every run has a budget of
//! instructions and of bench time ([`DEFAULT_MAX_INSTRUCTIONS`],
//! [`DEFAULT_MAX_BENCH_NS`]), so a run that never ends (a spinning or polling client, a
//! client blocked while a server polls) stops with a report of every thread.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::cpu::{RegisterDump, Stop};
use crate::kernel::process::{LaunchKind, ProcessState};
use crate::kernel::svc::SvcFlow;
use crate::kernel::thread::ThreadState;
use crate::kernel::{Kernel, KernelOptions, ProcessId, ThreadId};
use crate::loader::{self, ProcessSetup};
use crate::observe::{ProcessReport, RunEnd, RunReport};
use crate::symbols::Symbols;

/// Instructions per time slice.
pub const DEFAULT_SLICE: u64 = 100_000;
/// Default instruction budget of a run (all processes). Measured: a whole `make run`
/// executes 0.57 M instructions (sysmodule 0.2 M, client 0.38 M; in-process mode
/// 0.55 M), the perf-loop client of `make bench` with the sysmodule 163 M (30 000
/// requests; 3.2 s of wall time). A run past 1 G is stuck; the bench gets there in under 1 s on
/// straight-line code, 7 s on a one-instruction loop (`b .`, 155 M instructions/s: the
/// engine counts by translated block) and about 20 s on IPC-heavy code.
pub const DEFAULT_MAX_INSTRUCTIONS: u64 = 1_000_000_000;
/// Default budget of bench time, in ns (instructions at 1 ns each plus the jumps from
/// deadline to deadline while nothing can run): 10 s. A whole `make run` takes 0.57 ms
/// of bench time, the perf-loop run 0.16 s (neither waits with a timeout). A thread
/// waiting 100 µs in a loop (nx's ServerManager) reaches it after 100 000 waits, in well
/// under a second of wall time.
pub const DEFAULT_MAX_BENCH_NS: u64 = 10_000_000_000;

/// What to run (the CLI's `run` arguments).
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// `exefs.nsp` of the sysmodule; ignored with `no_sysmodule`.
    pub sysmodule: Option<PathBuf>,
    pub nro: Option<PathBuf>,
    pub no_sysmodule: bool,
    /// How the NRO is entered (hbmenu: loader config; emulator: NSO convention).
    pub launch: LaunchKind,
    pub sysmodule_elf: Option<PathBuf>,
    pub nro_elf: Option<PathBuf>,
    pub max_instructions: u64,
    /// Bench time (ns) after which the run stops with a report of every thread.
    pub max_bench_ns: u64,
    /// Host (wall-clock) time after which the run stops; none by default.
    pub time_budget: Option<Duration>,
    pub trace_ipc: bool,
    /// Print guest output on stdout as it arrives.
    pub echo_output: bool,
    pub slice: u64,
    /// Which kernel to model (`--kernel horizon|ryujinx`; kernel/profile.rs).
    pub kernel: crate::kernel::profile::KernelProfile,
    /// The system version `set:sys` reports (`--firmware`, default 21.0.0).
    pub firmware: crate::hle::FirmwareVersion,
    /// Scripted button presses (`--press`); none: + is pressed once the client waits for
    /// input (hle/hid.rs `on_idle`).
    pub presses: Vec<crate::hle::hid::Press>,
    /// vi's consumer releases each frame with a fence on a syncpoint, as hardware's
    /// display does (`--release-fences`; Eden and Ryujinx release with none), so the
    /// client's fence wait (nvhost-ctrl SYNCPT_WAIT) runs.
    pub release_fences: bool,
    /// hbmenu launch in album mode: the loader config's AppletType is LibraryApplet, so the
    /// client opens appletAE and nvdrv:a (`--album`; screen-output.md §0).
    pub album: bool,
    /// Services the bench leaves out of sm (names), to see what a client does without them
    /// (on Atmosphère's HasService they are absent; a GetServiceHandle waits forever).
    pub without_services: Vec<String>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            sysmodule: None,
            nro: None,
            no_sysmodule: false,
            launch: LaunchKind::Hbmenu,
            sysmodule_elf: None,
            nro_elf: None,
            max_instructions: DEFAULT_MAX_INSTRUCTIONS,
            max_bench_ns: DEFAULT_MAX_BENCH_NS,
            time_budget: None,
            trace_ipc: false,
            echo_output: false,
            slice: DEFAULT_SLICE,
            kernel: crate::kernel::profile::KernelProfile::Horizon,
            firmware: crate::hle::FirmwareVersion::default(),
            presses: Vec::new(),
            release_fences: false,
            album: false,
            without_services: Vec::new(),
        }
    }
}

/// A process to start and whether the run waits for it.
#[derive(Clone)]
pub struct Role {
    pub setup: ProcessSetup,
    /// The run ends when every client has ended.
    pub client: bool,
}

fn load_error(e: String) -> RunReport {
    RunReport {
        end: RunEnd::LoadError(e),
        nro_result: None,
        processes: Vec::new(),
        client_lines: Vec::new(),
        sd_files: Default::default(),
        screen: None,
        frames_not_shown: Vec::new(),
        trace: Vec::new(),
        wall_time_ms: 0,
    }
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn symbols(path: &Option<PathBuf>) -> Result<Option<Symbols>, String> {
    match path {
        None => Ok(None),
        Some(p) => Symbols::from_elf(&read(p)?).map(Some).map_err(|e| format!("{}: {e}", p.display())),
    }
}

/// Loads the files of `config` and runs them.
pub fn run(config: &RunConfig) -> RunReport {
    let mut roles = Vec::new();
    if !config.no_sysmodule {
        if let Some(path) = &config.sysmodule {
            let setup = read(path).and_then(|b| loader::sysmodule_from_exefs(&path.display().to_string(), &b));
            let mut setup = match setup {
                Ok(s) => s,
                Err(e) => return load_error(e),
            };
            match symbols(&config.sysmodule_elf) {
                Ok(s) => setup.symbols = s,
                Err(e) => return load_error(e),
            }
            roles.push(Role { setup, client: false });
        }
    }
    if let Some(path) = &config.nro {
        let kind = if config.no_sysmodule && config.launch == LaunchKind::Hbmenu && config.sysmodule.is_none() {
            config.launch
        } else {
            config.launch
        };
        let setup = read(path).and_then(|b| loader::nro_from_file(&path.display().to_string(), &b, kind));
        let mut setup = match setup {
            Ok(s) => s,
            Err(e) => return load_error(e),
        };
        if config.album {
            setup.applet_type = loader::APPLET_TYPE_LIBRARY_APPLET;
        }
        match symbols(&config.nro_elf) {
            Ok(s) => setup.symbols = s,
            Err(e) => return load_error(e),
        }
        roles.push(Role { setup, client: true });
    }
    if roles.is_empty() {
        return load_error("nothing to run: give --nro and/or --sysmodule".into());
    }
    run_setups(roles, config)
}

/// Runs the given processes (in start order) until every client ended, a deadlock, or
/// the budget.
pub fn run_setups(roles: Vec<Role>, config: &RunConfig) -> RunReport {
    let started = Instant::now();
    let mut k = Kernel::new(KernelOptions {
        trace_ipc: config.trace_ipc,
        echo_output: config.echo_output,
        kernel: config.kernel,
    });
    k.hle.shared.firmware = config.firmware;
    k.hle.shared.hid.script = crate::hle::hid::InputScript::new(config.presses.clone());
    k.hle.shared.vi.release_fences = config.release_fences;
    // sm's named port and every HLE service of the one list (crate::hle::registry), but
    // those left out.
    let services = crate::hle::registry::services()
        .into_iter()
        .filter(|s| !config.without_services.iter().any(|n| s.name().as_str() == Some(n.as_str())))
        .collect();
    crate::hle::install_services(&mut k, services);
    // Servers first, run until none of their threads can run (each blocked, with or
    // without a deadline), then the clients: on a console boot2 starts the sysmodule long
    // before hbmenu launches an NRO, so by then `xcbuf` is registered with sm.
    let (servers, client_roles): (Vec<Role>, Vec<Role>) = roles.into_iter().partition(|r| !r.client);
    let have_servers = !servers.is_empty();
    for role in servers {
        if let Err(e) = loader::spawn(&mut k, role.setup) {
            return load_error(e);
        }
    }
    if have_servers && !client_roles.is_empty() {
        if let Some(end) = settle(&mut k, config, started) {
            return report(k, end, &[], started);
        }
    }
    let mut clients = Vec::new();
    for role in client_roles {
        match loader::spawn(&mut k, role.setup) {
            Ok(pid) => clients.push(pid),
            Err(e) => return load_error(e),
        }
    }
    let end = schedule(&mut k, &clients, config, started);
    report(k, end, &clients, started)
}

/// Runs the processes spawned so far until no thread can run: every thread is blocked,
/// with or without a deadline, or ended. Bench time is not jumped forward here: a server
/// that waits with a timeout in a loop (nx's ServerManager waits 100 µs) is settled as
/// soon as it first waits, instead of spinning this phase forever. Returns the end of
/// the run only when the budget ran out; a server that faulted while starting is left
/// for the report of the whole run.
pub fn settle(k: &mut Kernel, config: &RunConfig, started: Instant) -> Option<RunEnd> {
    match run_until(k, &[], config, started, Phase::Settle) {
        RunEnd::Deadlock { .. } | RunEnd::Completed => None,
        other => Some(other),
    }
}

fn all_ended(k: &Kernel, clients: &[ProcessId]) -> bool {
    if clients.is_empty() {
        k.processes.iter().all(|p| !p.is_running())
    } else {
        clients.iter().all(|&c| !k.processes[c].is_running())
    }
}

/// Why [`run_until`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Servers starting: done as soon as no thread can run; bench time stands still.
    Settle,
    /// Clients running: when no thread can run, bench time jumps to the next deadline.
    Clients,
}

/// Runs every process until every client ended (every process, with no client), a
/// deadlock or the budget.
pub fn schedule(k: &mut Kernel, clients: &[ProcessId], config: &RunConfig, started: Instant) -> RunEnd {
    run_until(k, clients, config, started, Phase::Clients)
}

/// The budget that ran out, if any: instructions, bench time, or host time.
fn budget_end(k: &Kernel, config: &RunConfig, started: Instant) -> Option<RunEnd> {
    let executed: u64 = k.processes.iter().map(|p| p.cpu.instructions()).sum();
    let what = if executed >= config.max_instructions {
        format!("instruction budget of {} exhausted ({executed} executed)", config.max_instructions)
    } else if k.now_ns() >= config.max_bench_ns {
        format!("bench-time budget of {} ns exhausted (bench time {} ns)", config.max_bench_ns, k.now_ns())
    } else {
        let budget = config.time_budget.filter(|b| started.elapsed() > *b)?;
        format!("time budget of {budget:?} exhausted")
    };
    Some(RunEnd::BudgetExhausted { what, threads: running_threads(k) })
}

fn run_until(k: &mut Kernel, clients: &[ProcessId], config: &RunConfig, started: Instant, phase: Phase) -> RunEnd {
    let mut last: Option<(i32, u64)> = None;
    loop {
        if all_ended(k, clients) {
            return RunEnd::Completed;
        }
        if let Some(end) = budget_end(k, config, started) {
            return end;
        }
        if let Some(report) = k.hle.stop.clone() {
            return RunEnd::HleStopped { report, threads: running_threads(k) };
        }
        for t in 0..k.threads.len() {
            if matches!(k.threads[t].state, ThreadState::Waiting(_)) && k.processes[k.threads[t].process].is_running() {
                if let Some(writes) = k.poll_wait(t) {
                    k.threads[t].wake(&writes);
                }
            }
        }
        // hid's samples for the bench time passed (hle/hid.rs).
        crate::hle::hid::tick(k);
        let Some((prio, creation, t)) = k.next_runnable(last, |_| false) else {
            if phase == Phase::Settle {
                // Every thread waits (or has not started, or ended): the servers are up.
                return RunEnd::Completed;
            }
            // Every thread is blocked or sleeping: the default input presses + once the
            // client waits for input.
            crate::hle::hid::on_idle(k);
            let now = k.now_ns();
            match k.next_deadline() {
                Some(d) if d > config.max_bench_ns => {
                    return RunEnd::BudgetExhausted {
                        what: format!(
                            "bench-time budget of {} ns exhausted: nothing can run before the next deadline at {d} ns (bench time {now} ns)",
                            config.max_bench_ns
                        ),
                        threads: running_threads(k),
                    };
                }
                Some(d) => {
                    k.idle_ns += d.saturating_sub(now).max(1);
                    continue;
                }
                None => return RunEnd::Deadlock { threads: blocked_threads(k) },
            }
        };
        last = Some((prio, creation));
        run_thread(k, t, config.slice);
    }
}

/// Every thread of a running process that has not exited: its state (runnable, with
/// its pc when its registers are the engine's; the svc it is blocked in; not started)
/// and the instructions it ran. What a budget report names.
fn running_threads(k: &Kernel) -> Vec<String> {
    k.threads
        .iter()
        .enumerate()
        .filter(|(_, th)| k.processes[th.process].is_running())
        .filter_map(|(i, th)| {
            let p = &k.processes[th.process];
            let state = match &th.state {
                ThreadState::Runnable if p.loaded_thread == Some(i) => {
                    format!("runnable at pc {}", p.describe_address(p.cpu.pc()))
                }
                ThreadState::Runnable => "runnable".to_string(),
                ThreadState::Waiting(w) => format!("blocked in {}", w.svc_name()),
                ThreadState::Created => "created, never started".to_string(),
                ThreadState::Exited => return None,
            };
            Some(format!("{}: {state}, {} instructions", k.thread_name(i), th.instructions))
        })
        .collect()
}

fn blocked_threads(k: &Kernel) -> Vec<String> {
    k.threads
        .iter()
        .enumerate()
        .filter(|(_, th)| k.processes[th.process].is_running())
        .filter_map(|(i, th)| match &th.state {
            ThreadState::Waiting(w) => Some(format!("{}: blocked in {}", k.thread_name(i), w.svc_name())),
            ThreadState::Created => Some(format!("{}: created, never started", k.thread_name(i))),
            _ => None,
        })
        .collect()
}

/// Puts thread `t`'s registers into its process's engine.
fn load_thread(k: &mut Kernel, t: ThreadId) -> Result<(), String> {
    let p = k.threads[t].process;
    if k.processes[p].loaded_thread != Some(t) {
        if let Some(cur) = k.processes[p].loaded_thread {
            if k.threads[cur].context.is_none() {
                k.threads[cur].context = Some(k.processes[p].cpu.new_context().map_err(|e| e.to_string())?);
            }
            let (threads, processes) = (&mut k.threads, &k.processes);
            if let Some(ctx) = threads[cur].context.as_mut() {
                processes[p].cpu.save_context(ctx).map_err(|e| e.to_string())?;
            }
        }
        let cpu = &mut k.processes[p].cpu;
        match &k.threads[t].context {
            Some(ctx) => cpu.restore_context(ctx).map_err(|e| e.to_string())?,
            None => {
                use unicorn_engine::RegisterARM64 as R;
                let init = k.threads[t].initial;
                cpu.load_base_context().map_err(|e| e.to_string())?;
                for n in 0..=30 {
                    cpu.set_x(n, 0).map_err(|e| e.to_string())?;
                }
                cpu.set_x(0, init.x0).map_err(|e| e.to_string())?;
                cpu.set_x(1, init.x1).map_err(|e| e.to_string())?;
                cpu.set_x(30, init.lr).map_err(|e| e.to_string())?;
                cpu.set_reg(R::SP, init.sp).map_err(|e| e.to_string())?;
                cpu.set_reg(R::PC, init.pc).map_err(|e| e.to_string())?;
                cpu.set_reg(R::TPIDRRO_EL0, k.threads[t].tls).map_err(|e| e.to_string())?;
            }
        }
        k.processes[p].loaded_thread = Some(t);
    }
    let writes = std::mem::take(&mut k.threads[t].pending_writes);
    for (reg, v) in writes {
        k.processes[p].cpu.set_x(reg, v).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn fault_report(k: &Kernel, t: ThreadId, what: &str, pc: u64, dump: &RegisterDump) -> String {
    let p = &k.processes[k.threads[t].process];
    format!(
        "{what} in {} at pc {} (lr {})\n{dump}",
        k.thread_name(t),
        p.describe_address(pc),
        p.describe_address(dump.x[30]),
    )
}

/// Runs thread `t` for up to `slice` instructions.
pub fn run_thread(k: &mut Kernel, t: ThreadId, slice: u64) {
    let p = k.threads[t].process;
    if let Err(e) = load_thread(k, t) {
        k.fault_process(p, format!("bench could not switch to {}: {e}", k.thread_name(t)));
        return;
    }
    let start = k.processes[p].cpu.instructions();
    run_slice(k, t, p, start, slice);
    let ran = k.processes[p].cpu.instructions() - start;
    k.threads[t].instructions += ran;
}

fn run_slice(k: &mut Kernel, t: ThreadId, p: ProcessId, start: u64, slice: u64) {
    loop {
        let used = k.processes[p].cpu.instructions() - start;
        if used >= slice {
            return;
        }
        let stop = k.processes[p].cpu.run(slice - used);
        match stop {
            Stop::Svc { imm, pc } => {
                let stub = k.processes[p].return_stub;
                if imm == 0x07 && stub == Some(pc.wrapping_sub(4)) {
                    let result = k.processes[p].cpu.x(0) as u32;
                    k.terminate_process(p, ProcessState::Exited { result, how: "returned to the loader".into() });
                    return;
                }
                match k.handle_svc(t, imm) {
                    SvcFlow::Continue => {}
                    SvcFlow::Block | SvcFlow::Yield | SvcFlow::Ended => return,
                }
                if !k.threads[t].is_runnable() {
                    return;
                }
            }
            Stop::SliceEnd { .. } => return,
            Stop::Exception { intno, pc } => {
                let dump = k.processes[p].cpu.dump();
                let what = match intno {
                    1 => "undefined instruction (EXCP_UDEF)".to_string(),
                    7 => "breakpoint (EXCP_BKPT)".to_string(),
                    n => format!("CPU exception intno {n}"),
                };
                let report = fault_report(k, t, &what, pc, &dump);
                k.fault_process(p, report);
                return;
            }
            Stop::MemoryFault { access, address, pc } => {
                let dump = k.processes[p].cpu.dump();
                let report = fault_report(k, t, &format!("{access} at {address:#x}"), pc, &dump);
                k.fault_process(p, report);
                return;
            }
            Stop::EngineError { error, pc } => {
                let dump = k.processes[p].cpu.dump();
                let report = fault_report(k, t, &format!("engine error {error}"), pc, &dump);
                k.fault_process(p, report);
                return;
            }
        }
    }
}

pub fn report(k: Kernel, end: RunEnd, clients: &[ProcessId], started: Instant) -> RunReport {
    let processes: Vec<ProcessReport> = k
        .processes
        .iter()
        .map(|p| {
            let (state, exit_result, fault) = match &p.state {
                ProcessState::Running => ("running".to_string(), None, None),
                ProcessState::Exited { result, .. } => ("exited".to_string(), Some(*result), None),
                ProcessState::Faulted { report } => ("faulted".to_string(), None, Some(report.clone())),
            };
            let live = crate::heap_stats::read(p);
            ProcessReport {
                name: p.name.clone(),
                state,
                exit_result,
                fault,
                instructions: p.cpu.instructions(),
                svcs: p.counters.svcs.clone(),
                requests_sent: p.counters.requests_sent,
                requests_received: p.counters.requests_received,
                replies_sent: p.counters.replies_sent,
                ipc_bytes_copied: p.counters.ipc_bytes_copied,
                heap_peak_reported: p.counters.heap_peak_reported,
                heap_used: live.as_ref().ok().and_then(|f| f.map(|f| f.used)),
                heap_peak: live.as_ref().ok().and_then(|f| f.map(|f| f.peak)),
                heap_stats_error: live.err(),
                heap_size_max: p.counters.heap_size_max,
                threads: p.threads.len(),
                handles_open: p.handles.len(),
                output: p.output.clone(),
            }
        })
        .collect();
    let client = clients.first().copied();
    // Returned to the loader: w0 is the result. A plain svcExitProcess (the emulator
    // launches) carries none; then rt's exit line says what it was.
    let nro_result = client.and_then(|c| match &k.processes[c].state {
        ProcessState::Exited { result, how } if how != "svcExitProcess" => Some(*result),
        ProcessState::Exited { result, .. } => Some(
            k.processes[c].output.iter().rev().find_map(|l| crate::observe::reported_exit_result(l)).unwrap_or(*result),
        ),
        _ => None,
    });
    let client_lines = client.map(|c| k.processes[c].output.clone()).unwrap_or_default();
    RunReport {
        end,
        nro_result,
        processes,
        client_lines,
        sd_files: k.hle.shared.sd_card.files,
        screen: k.hle.shared.vi.last_shown,
        frames_not_shown: k.hle.shared.vi.not_shown,
        trace: k.trace,
        wall_time_ms: started.elapsed().as_millis(),
    }
}

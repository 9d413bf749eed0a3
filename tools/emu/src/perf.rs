//! Performance figures: the real binaries run in the bench, the counters of
//! [`crate::observe`] are read at marker lines, and the figures are printed as
//! `name: value unit` and written to `docs/BENCHMARKS.md`.
//!
//! # Markers
//! A guest debug line starting with [`MARK_PREFIX`] (`@bench `) makes the kernel model
//! snapshot every process's counters **synchronously**, inside the svcOutputDebugString
//! that carries it ([`Mark::take`]). The bench-loop client (`xcbuf-client` built with the
//! `bench-loop` feature) writes
//!
//! ```text
//! @bench begin echo16 10000     (then 10000 Echo requests of 16 bytes)
//! @bench begin echo1k 10000     (then 10000 Echo requests of 1 KiB)
//! @bench begin concat4 10000    (then 10000 Concat requests of 4 X of 16 bytes)
//! @bench end errors=0
//! ```
//!
//! so the counters between two consecutive marks belong to one phase. At every mark the
//! server is blocked in the svcReplyAndReceive that replied to the previous request, so a
//! phase of N requests holds exactly the server's N "receive to next receive" paths.
//!
//! # Idle
//! After the client has ended, [`measure_idle`] lets the servers settle (everything
//! blocked with no deadline), then advances bench time by a window (1 s by default) with a
//! scheduler of its own that counts each time a server thread leaves a wait.
//!
//! # Footprint
//! From the files: the NSO's segments (text, rodata, data, bss, page-rounded as the loader
//! maps them), the NPDM's main-thread stack, the sysmodule ELF's static heap symbol
//! (`HEAP`, inside .bss) and the pointer-buffer sizes the servers print when they start.
//! See [`Footprint`] for what each figure counts; nothing is counted twice.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::bench::{self, RunConfig};
use crate::kernel::process::LaunchKind;
use crate::kernel::thread::ThreadState;
use crate::kernel::{Kernel, KernelOptions, ProcessId};
use crate::loader;
use crate::observe::RunEnd;

/// Prefix of a guest debug line that snapshots the counters.
pub const MARK_PREFIX: &str = "@bench ";

/// svcReplyAndReceive (horizon-ipc.md §4).
pub const SVC_REPLY_AND_RECEIVE: u32 = 0x43;

/// "A few tens of KiB" (design.md "Acceptance figures"), read as at most 64 KiB.
pub const FOOTPRINT_GOAL: u64 = 64 * 1024;

/// Default idle window: 1 s of bench time (1 ns per guest instruction plus idle jumps).
pub const DEFAULT_IDLE_NS: u64 = 1_000_000_000;

/// Message header size: words 0 and 1 (horizon-ipc.md §1.2).
const HEADER_BYTES: u64 = 8;

/// Page size the loader rounds segments to.
const PAGE: u64 = 0x1000;

/// Counters of one process at a mark.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessSnapshot {
    pub instructions: u64,
    /// svcs of every number.
    pub svcs: u64,
    pub reply_and_receive: u64,
    pub requests_received: u64,
    pub replies_sent: u64,
    pub ipc_bytes_copied: u64,
}

impl ProcessSnapshot {
    fn delta(&self, earlier: &ProcessSnapshot) -> ProcessSnapshot {
        ProcessSnapshot {
            instructions: self.instructions.saturating_sub(earlier.instructions),
            svcs: self.svcs.saturating_sub(earlier.svcs),
            reply_and_receive: self.reply_and_receive.saturating_sub(earlier.reply_and_receive),
            requests_received: self.requests_received.saturating_sub(earlier.requests_received),
            replies_sent: self.replies_sent.saturating_sub(earlier.replies_sent),
            ipc_bytes_copied: self.ipc_bytes_copied.saturating_sub(earlier.ipc_bytes_copied),
        }
    }
}

/// The counters of every process when a process wrote a marker line.
#[derive(Debug, Clone)]
pub struct Mark {
    /// The line after [`MARK_PREFIX`].
    pub label: String,
    /// The process that wrote it.
    pub by: ProcessId,
    /// Indexed by process id.
    pub processes: Vec<ProcessSnapshot>,
    /// Words 0-1 of the writer's main-thread message buffer: the header of the last
    /// reply it received (the debug svc does not touch the message buffer).
    pub last_reply_header: Option<[u32; 2]>,
}

impl Mark {
    /// Snapshots `k`'s counters for a marker line `label` written by process `by`.
    pub fn take(k: &Kernel, by: ProcessId, label: &str) -> Mark {
        let processes = k
            .processes
            .iter()
            .map(|p| ProcessSnapshot {
                instructions: p.cpu.instructions(),
                svcs: p.counters.svcs.values().sum(),
                reply_and_receive: p.counters.svcs.get(&SVC_REPLY_AND_RECEIVE).copied().unwrap_or(0),
                requests_received: p.counters.requests_received,
                replies_sent: p.counters.replies_sent,
                ipc_bytes_copied: p.counters.ipc_bytes_copied,
            })
            .collect();
        let last_reply_header = k.processes.get(by).and_then(|p| {
            let main = *p.threads.first()?;
            let tls = k.threads.get(main)?.tls;
            let mut bytes = [0u8; 8];
            p.cpu.read(tls, &mut bytes).ok()?;
            let w = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
            Some([w(0), w(4)])
        });
        Mark { label: label.to_string(), by, processes, last_reply_header }
    }
}

/// One phase between two marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    pub name: String,
    /// Requests the client announced.
    pub requests: u64,
    pub server: ProcessSnapshot,
    pub client: ProcessSnapshot,
    /// Header of the client's last reply of the phase (see [`Mark::last_reply_header`]).
    pub last_reply_header: Option<[u32; 2]>,
}

/// Splits the marks into phases: `begin <name> <n>` up to the next mark. Err on a
/// malformed marker or a mark from a process that is not `client`.
pub fn phases(marks: &[Mark], server: ProcessId, client: ProcessId) -> Result<Vec<Phase>, String> {
    let mut out = Vec::new();
    for pair in marks.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let mut words = a.label.split_whitespace();
        match words.next() {
            Some("begin") => {}
            Some("end") => continue,
            _ => return Err(format!("unknown marker `{}{}`", MARK_PREFIX, a.label)),
        }
        let name = words.next().ok_or_else(|| format!("marker `{}` has no phase name", a.label))?;
        let requests: u64 = words
            .next()
            .and_then(|n| n.parse().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("marker `{}` has no request count", a.label))?;
        if a.by != client || b.by != client {
            return Err(format!("marker `{}` was not written by the client", a.label));
        }
        let snap = |m: &Mark, p: ProcessId| m.processes.get(p).cloned().ok_or_else(|| format!("no process {p} at a mark"));
        out.push(Phase {
            name: name.to_string(),
            requests,
            server: snap(b, server)?.delta(&snap(a, server)?),
            client: snap(b, client)?.delta(&snap(a, client)?),
            last_reply_header: b.last_reply_header,
        });
    }
    Ok(out)
}

/// What one bench-loop run measured.
#[derive(Debug, Clone)]
pub struct LoopRun {
    pub phases: Vec<Phase>,
    pub idle: IdleFigures,
    /// `errors=<n>` of the client's end marker.
    pub client_errors: Option<u64>,
    /// The server's debug output (its start lines carry the pointer-buffer sizes).
    pub server_output: Vec<String>,
    /// Bytes of the server's main-thread stack ever written ([`main_stack_peak`]).
    pub server_main_stack_peak: Option<u64>,
}

/// What happened in the idle window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdleFigures {
    pub window_ns: u64,
    /// Times a server thread left a wait (returned from a blocking svc).
    pub wakeups: u64,
    /// svcs the server made.
    pub svcs: u64,
    /// Guest instructions the server executed.
    pub instructions: u64,
}

fn first_server(k: &Kernel) -> Option<ProcessId> {
    k.processes.iter().position(|p| p.kind == LaunchKind::Sysmodule)
}

/// Runs `sysmodule` with the bench-loop client `nro`, then the idle window.
pub fn run_loop(sysmodule: &Path, nro: &Path, config: &RunConfig, idle_ns: u64) -> Result<LoopRun, String> {
    let started = Instant::now();
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let server_setup = loader::sysmodule_from_exefs(&sysmodule.display().to_string(), &read(sysmodule)?)?;
    let client_setup = loader::nro_from_file(&nro.display().to_string(), &read(nro)?, LaunchKind::Hbmenu)?;
    let mut k = Kernel::new(KernelOptions { trace_ipc: false, echo_output: config.echo_output, kernel: config.kernel });
    crate::sm::install(&mut k);
    let server = loader::spawn(&mut k, server_setup)?;
    if let Some(end) = bench::settle(&mut k, config, started) {
        return Err(format!("the sysmodule did not start: {end:?}"));
    }
    let client = loader::spawn(&mut k, client_setup)?;
    let end = bench::schedule(&mut k, &[client], config, started);
    if end != RunEnd::Completed {
        return Err(format!("the bench-loop run did not complete: {end:?}"));
    }
    for p in &k.processes {
        if let crate::kernel::process::ProcessState::Faulted { report } = &p.state {
            return Err(format!("{} faulted: {report}", p.name));
        }
    }
    let phases = phases(&k.marks, server, client)?;
    let client_errors = k
        .marks
        .iter()
        .rev()
        .find_map(|m| m.label.strip_prefix("end ").and_then(|r| r.trim().strip_prefix("errors=")).and_then(|n| n.parse().ok()));
    let idle = measure_idle(&mut k, config, idle_ns)?;
    Ok(LoopRun {
        phases,
        idle,
        client_errors,
        server_output: k.processes[server].output.clone(),
        server_main_stack_peak: main_stack_peak(&k, server),
    })
}

/// The deepest the main thread's stack went: the loader maps it zeroed, so the bytes
/// from the lowest non-zero byte up to the top have been written (a lower bound of the
/// use: a frame that only ever stored zeros there would not show).
pub fn main_stack_peak(k: &Kernel, process: ProcessId) -> Option<u64> {
    let p = k.processes.get(process)?;
    let main = *p.threads.first()?;
    let top = k.threads.get(main)?.initial.sp;
    let region = p.space.regions().find(|r| {
        r.state == crate::memory::MemoryState::Stack && r.base < top && top <= r.base.checked_add(r.size).unwrap_or(0)
    })?;
    let mut bytes = vec![0u8; usize::try_from(top - region.base).ok()?];
    p.cpu.read(region.base, &mut bytes).ok()?;
    let first = bytes.iter().position(|&b| b != 0)?;
    Some((bytes.len() - first) as u64)
}

/// Wakes every waiting thread whose wait is over now (as the scheduler does) and runs
/// every runnable thread for one slice. Returns (server threads woken, threads run).
fn idle_step(k: &mut Kernel, server: ProcessId, slice: u64) -> (u64, usize) {
    let mut woken = 0u64;
    for t in 0..k.threads.len() {
        let p = k.threads[t].process;
        if !matches!(k.threads[t].state, ThreadState::Waiting(_)) || !k.processes[p].is_running() {
            continue;
        }
        if let Some(writes) = k.poll_wait(t) {
            k.threads[t].wake(&writes);
            if p == server {
                woken += 1;
            }
        }
    }
    let runnable: Vec<usize> = (0..k.threads.len())
        .filter(|&t| k.threads[t].is_runnable() && k.processes[k.threads[t].process].is_running())
        .collect();
    for &t in &runnable {
        bench::run_thread(k, t, slice);
    }
    (woken, runnable.len())
}

/// Instructions the servers may run while settling or inside the window before the
/// bench calls them busy, not idle.
const IDLE_INSTRUCTION_LIMIT: u64 = 50_000_000;

/// After the traffic: first runs whatever can run without advancing bench time (the
/// server handles the closed sessions), then advances bench time by `window_ns`, jumping
/// from deadline to deadline and running whatever wakes, and counts the server's wakeups
/// (a thread leaving a wait), svcs and instructions in the window.
pub fn measure_idle(k: &mut Kernel, config: &RunConfig, window_ns: u64) -> Result<IdleFigures, String> {
    let server = first_server(k).ok_or("no sysmodule process")?;
    let executed = |k: &Kernel| k.processes.iter().map(|p| p.cpu.instructions()).sum::<u64>();
    let limit = executed(k).saturating_add(IDLE_INSTRUCTION_LIMIT);
    loop {
        let (_, ran) = idle_step(k, server, config.slice);
        if ran == 0 {
            break;
        }
        if executed(k) > limit {
            return Err("the server never became idle after the traffic".into());
        }
    }
    let before_svcs: u64 = k.processes[server].counters.svcs.values().sum();
    let before_instructions = k.processes[server].cpu.instructions();
    let limit = executed(k).saturating_add(IDLE_INSTRUCTION_LIMIT);
    let start = k.now_ns();
    let end = start.checked_add(window_ns).ok_or("idle window overflows bench time")?;
    let mut wakeups = 0u64;
    loop {
        let (woken, ran) = idle_step(k, server, config.slice);
        wakeups += woken;
        if ran > 0 {
            if executed(k) > limit {
                return Err("the server kept running during the idle window".into());
            }
            continue;
        }
        let now = k.now_ns();
        if now >= end {
            break;
        }
        let next = k
            .threads
            .iter()
            .filter(|th| k.processes[th.process].is_running())
            .filter_map(|th| match &th.state {
                ThreadState::Waiting(w) => w.deadline(),
                _ => None,
            })
            .filter(|&d| d > now)
            .min()
            .unwrap_or(end)
            .min(end);
        k.idle_ns = k.idle_ns.saturating_add(next - now);
    }
    let svcs = k.processes[server].counters.svcs.values().sum::<u64>().saturating_sub(before_svcs);
    let instructions = k.processes[server].cpu.instructions().saturating_sub(before_instructions);
    Ok(IdleFigures { window_ns, wakeups, svcs, instructions })
}

/// Bytes of a request or reply the kernel copies besides the X payloads: the header and
/// the raw data (`4 * RawCount`, horizon-ipc.md §1.2), no special header here.
pub fn message_bytes(header: [u32; 2]) -> u64 {
    let h = xcbuf_common::hipc::MessageHeader::decode(header);
    HEADER_BYTES + 4 * u64::from(h.raw_count)
}

/// Header+raw of the client's Echo request, built by the same code the client uses.
pub fn echo_request_header(len: usize) -> Result<[u32; 2], String> {
    use xcbuf_common::client::{Buffer, build_echo};
    let mut msg = [0u32; 64];
    // Any addresses will do: only the header's counts are read.
    build_echo(&mut msg, Buffer::new(0x1000, len), Buffer::new(0x2000, len)).map_err(|e| format!("build_echo: {e}"))?;
    Ok([msg[0], msg[1]])
}

/// What the sysmodule occupies, in bytes. `image` + `heap` + `stack` + `pointer_buffers`
/// = `footprint` = every byte the loader maps for the NSO plus the NPDM main stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// text + rodata + data + bss as mapped (each page-rounded), minus the static heap
    /// (which is in .bss and counted as `heap` + `pointer_buffers`).
    pub image: u64,
    /// The static heap region (the ELF's `HEAP` symbol) minus the pointer buffers carved
    /// from it; it holds the second serving thread's stack and allocator slack.
    pub heap: u64,
    /// The NPDM's main-thread stack (mapped by the loader).
    pub stack: u64,
    /// Sum of the servers' pointer buffers (their start lines), carved from the heap.
    pub pointer_buffers: u64,
    /// The static heap region (the ELF's `HEAP` symbol size).
    pub static_heap: u64,
    /// Every byte mapped for the NSO.
    pub mapped_image: u64,
}

impl Footprint {
    pub fn total(&self) -> u64 {
        self.image + self.heap + self.stack + self.pointer_buffers
    }
}

fn page_up(n: u64) -> Option<u64> {
    n.checked_add(PAGE - 1).map(|v| v & !(PAGE - 1))
}

/// Bytes the loader maps for an NSO image: each segment page-rounded, and .bss from the
/// end of .data page-rounded.
pub fn mapped_image_size(image: &xcbuf_pack::image::ModuleImage) -> Result<u64, String> {
    let seg = |s: &xcbuf_pack::image::Segment| page_up(s.bytes.len() as u64).ok_or("segment size overflows");
    let data_end = image.data.end().ok_or("data segment end overflows")?;
    let bss_end = data_end.checked_add(u64::from(image.bss_size)).ok_or("bss end overflows")?;
    let bss = page_up(bss_end)
        .and_then(|e| page_up(data_end).map(|d| e - d))
        .ok_or("bss size overflows")?;
    Ok(seg(&image.text)? + seg(&image.rodata)? + seg(&image.data)? + bss)
}

/// The size of the static heap symbol (`...HEAP...`, a data object) in the ELF.
pub fn static_heap_size(elf: &[u8]) -> Result<u64, String> {
    use object::{Object, ObjectSymbol, SymbolKind};
    let file = object::File::parse(elf).map_err(|e| format!("ELF: {e}"))?;
    let found: Vec<u64> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Data)
        .filter(|s| s.name().map(|n| n.contains("4HEAP") || n == "HEAP").unwrap_or(false))
        .map(|s| s.size())
        .collect();
    match found.as_slice() {
        [size] => Ok(*size),
        [] => Err("no HEAP symbol in the sysmodule ELF".into()),
        _ => Err("more than one HEAP symbol in the sysmodule ELF".into()),
    }
}

/// Pointer-buffer sizes from the servers' start lines
/// (`...pointer buffer 0x800 bytes at 0x...`).
pub fn pointer_buffer_sizes(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = &l[l.find("pointer buffer ")? + "pointer buffer ".len()..];
            let n = rest.split_whitespace().next()?;
            let n = match n.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok()?,
                None => n.parse().ok()?,
            };
            rest.split_whitespace().nth(1).filter(|w| *w == "bytes").map(|_| n)
        })
        .collect()
}

/// The footprint from the sysmodule's files and its start lines.
pub fn footprint(exefs: &[u8], elf: &[u8], server_output: &[String]) -> Result<Footprint, String> {
    let files = xcbuf_pack::pfs0::read_pfs0("exefs.nsp", exefs).map_err(|e| e.to_string())?;
    let find = |n: &str| files.iter().find(|f| f.name == n).ok_or_else(|| format!("no `{n}` in exefs.nsp"));
    let nso = xcbuf_pack::nso::read_nso("main", &find("main")?.data).map_err(|e| e.to_string())?;
    let npdm = xcbuf_pack::npdm::read_npdm("main.npdm", &find("main.npdm")?.data).map_err(|e| e.to_string())?;
    let mapped_image = mapped_image_size(&nso.image)?;
    let static_heap = static_heap_size(elf)?;
    if static_heap > u64::from(nso.image.bss_size) {
        return Err(format!("static heap {static_heap:#x} larger than .bss {:#x}", nso.image.bss_size));
    }
    let pointer_buffers: u64 = pointer_buffer_sizes(server_output).iter().sum();
    if pointer_buffers == 0 {
        return Err("the servers printed no pointer-buffer size".into());
    }
    // The sysmodule allocates its pointer buffers from the static heap (sysmodule/src/main.rs).
    let heap = static_heap
        .checked_sub(pointer_buffers)
        .ok_or_else(|| format!("pointer buffers ({pointer_buffers:#x}) larger than the static heap ({static_heap:#x})"))?;
    Ok(Footprint {
        image: mapped_image - static_heap,
        heap,
        stack: page_up(u64::from(npdm.meta.main_thread_stack_size)).ok_or("stack size overflows")?,
        pointer_buffers,
        static_heap,
        mapped_image,
    })
}

/// One reported figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub name: String,
    pub value: String,
    pub unit: String,
    /// The goal, if the issue sets one (shown in the markdown).
    pub goal: Option<String>,
}

impl Figure {
    fn new(name: &str, value: String, unit: &str) -> Figure {
        Figure { name: name.into(), value, unit: unit.into(), goal: None }
    }
    fn goal(mut self, goal: &str) -> Figure {
        self.goal = Some(goal.into());
        self
    }
    /// `name: value unit`.
    pub fn line(&self) -> String {
        format!("{}: {} {}", self.name, self.value, self.unit)
    }
}

/// `a / b` with two decimals, "n/a" for b = 0.
pub fn ratio(a: u64, b: u64) -> String {
    if b == 0 {
        return "n/a".into();
    }
    // Integer arithmetic, rounded half up, so equal counts print 1.00 exactly.
    let hundredths = (u128::from(a) * 100 + u128::from(b) / 2) / u128::from(b);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// What `xcbuf-emu bench` needs.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The shipped sysmodule (exefs.nsp) and its ELF (for the static heap symbol).
    pub sysmodule: PathBuf,
    pub sysmodule_elf: Option<PathBuf>,
    /// The shipped client NRO (the end-to-end suite, and the `nro size`).
    pub nro: PathBuf,
    /// The client built with `bench-loop`.
    pub bench_nro: PathBuf,
    /// The sysmodule built with `two-svc`.
    pub two_svc_sysmodule: Option<PathBuf>,
    pub idle_ns: u64,
    pub run: RunConfig,
}

/// Everything one `bench` produced.
#[derive(Debug, Clone)]
pub struct BenchResult {
    pub figures: Vec<Figure>,
    /// Notes for the markdown: goals not met, with the measured gap.
    pub gaps: Vec<String>,
    /// Notes for the markdown: the one-svc / two-svc comparison.
    pub notes: Vec<String>,
}

fn phase<'a>(run: &'a LoopRun, name: &str) -> Result<&'a Phase, String> {
    let p = run.phases.iter().find(|p| p.name == name).ok_or_else(|| format!("no `{name}` phase in the bench-loop output"))?;
    if p.server.requests_received != p.requests {
        return Err(format!(
            "phase {name}: the client announced {} requests, the server received {}",
            p.requests, p.server.requests_received
        ));
    }
    Ok(p)
}

/// Runs everything and computes the figures.
pub fn run_bench(config: &BenchConfig) -> Result<BenchResult, String> {
    let mut figures = Vec::new();
    let mut gaps = Vec::new();
    let mut notes = Vec::new();

    let main = run_loop(&config.sysmodule, &config.bench_nro, &config.run, config.idle_ns)?;
    if main.client_errors != Some(0) {
        return Err(format!("the bench-loop client reported errors: {:?}", main.client_errors));
    }
    let echo16 = phase(&main, "echo16")?;
    let echo1k = phase(&main, "echo1k")?;
    let concat4 = phase(&main, "concat4")?;

    let svcs_ratio = ratio(echo16.server.svcs, echo16.requests);
    figures.push(Figure::new("server svcs per request", svcs_ratio.clone(), "svcs/request").goal("1.00"));
    if echo16.server.svcs != echo16.requests {
        gaps.push(format!(
            "server svcs per request: {svcs_ratio} measured over {} Echo requests ({} svcs, {} of them svcReplyAndReceive), goal 1.00.",
            echo16.requests, echo16.server.svcs, echo16.server.reply_and_receive
        ));
    }
    figures.push(Figure::new("server wakeups while idle", main.idle.wakeups.to_string(), "wakeups").goal("0"));
    figures.push(Figure::new("server svcs while idle", main.idle.svcs.to_string(), "svcs"));
    if main.idle.wakeups != 0 || main.idle.svcs != 0 {
        gaps.push(format!(
            "server wakeups while idle: {} wakeups and {} svcs in {} ms of idle bench time, goal 0.",
            main.idle.wakeups,
            main.idle.svcs,
            main.idle.window_ns / 1_000_000
        ));
    }
    for (name, p) in [("echo16", echo16), ("echo1k", echo1k), ("concat4", concat4)] {
        figures.push(Figure::new(&format!("server instructions per {name}"), ratio(p.server.instructions, p.requests), "instructions"));
    }
    figures.push(Figure::new("client instructions per echo16", ratio(echo16.client.instructions, echo16.requests), "instructions"));

    // Bytes: measured vs header+raw+payload of the request and of the reply.
    let request = message_bytes(echo_request_header(16)?) + 16;
    let reply_header = echo16.last_reply_header.ok_or("no reply header at the end of the echo16 phase")?;
    let reply = message_bytes(reply_header) + 16;
    figures.push(Figure::new("bytes copied per echo16", ratio(echo16.server.ipc_bytes_copied, echo16.requests), "bytes"));
    figures.push(Figure::new("bytes expected per echo16", (request + reply).to_string(), "bytes").goal("= bytes copied"));
    if echo16.server.ipc_bytes_copied != (request + reply) * echo16.requests {
        gaps.push(format!(
            "bytes copied per echo16: {} measured, {} expected (request {request} + reply {reply}).",
            ratio(echo16.server.ipc_bytes_copied, echo16.requests),
            request + reply
        ));
    }

    // Footprint.
    let exefs = std::fs::read(&config.sysmodule).map_err(|e| format!("{}: {e}", config.sysmodule.display()))?;
    let elf_path = config.sysmodule_elf.as_ref().ok_or("--sysmodule-elf is needed for the footprint (static heap symbol)")?;
    let elf = std::fs::read(elf_path).map_err(|e| format!("{}: {e}", elf_path.display()))?;
    let fp = footprint(&exefs, &elf, &main.server_output)?;
    figures.push(Figure::new("sysmodule image", fp.image.to_string(), "bytes"));
    figures.push(Figure::new("sysmodule heap", fp.heap.to_string(), "bytes"));
    figures.push(Figure::new("sysmodule stack", fp.stack.to_string(), "bytes"));
    figures.push(Figure::new("pointer buffers", fp.pointer_buffers.to_string(), "bytes"));
    figures.push(Figure::new("sysmodule footprint", fp.total().to_string(), "bytes").goal("a few tens of KiB (read: <= 65536)"));
    let stack_peak = main.server_main_stack_peak.ok_or("could not read the server's main stack")?;
    figures.push(Figure::new("sysmodule main stack peak", stack_peak.to_string(), "bytes"));
    if fp.total() > FOOTPRINT_GOAL {
        gaps.push(format!(
            "sysmodule footprint: {} bytes ({} KiB), {} bytes over 64 KiB. Of it: image {} (text, rodata, data and .bss without the heap), \
             main stack {} of which {stack_peak} were written in this run (a lower bound of its use), static heap {} (pointer buffers {} plus the xcbuf:i thread's stack and slack). \
             What would close it: size both stacks from measured use (the main stack's peak is above; the xcbuf:i thread runs the same loop) and shrink the static heap to its stack, \
             its pointer buffers and the small allocations; the image itself is already below the goal.",
            fp.total(),
            fp.total() / 1024,
            fp.total() - FOOTPRINT_GOAL,
            fp.image,
            fp.stack,
            fp.static_heap,
            fp.pointer_buffers
        ));
    }
    let nro_size = std::fs::metadata(&config.nro).map_err(|e| format!("{}: {e}", config.nro.display()))?.len();
    figures.push(Figure::new("nro size", nro_size.to_string(), "bytes"));

    // The end-to-end suite, timed (informative).
    let suite_config = RunConfig {
        sysmodule: Some(config.sysmodule.clone()),
        nro: Some(config.nro.clone()),
        ..config.run.clone()
    };
    let t0 = Instant::now();
    let suite = bench::run(&suite_config);
    let wall = t0.elapsed().as_millis();
    if suite.exit_code() != 0 {
        return Err(format!("the end-to-end suite failed:\n{}", suite.summary()));
    }
    figures.push(Figure::new("bench wall time for the end-to-end suite", wall.to_string(), "ms"));

    // The two-svc variant of the same sysmodule source, same client, same counts.
    if let Some(two) = &config.two_svc_sysmodule {
        let run = run_loop(two, &config.bench_nro, &config.run, config.idle_ns)?;
        if run.client_errors != Some(0) {
            return Err(format!("the bench-loop client reported errors against two-svc: {:?}", run.client_errors));
        }
        let e = phase(&run, "echo16")?;
        figures.push(Figure::new("two-svc server svcs per request", ratio(e.server.svcs, e.requests), "svcs/request"));
        figures.push(Figure::new("two-svc server instructions per echo16", ratio(e.server.instructions, e.requests), "instructions"));
        notes.push(format!(
            "One svc per request (shipped) against two (`two-svc`), {} echo16 requests each: {} vs {} server svcs per request, {} vs {} server user-mode instructions per echo16. \
             The instruction counts are user mode only: the second svc's cost is mostly the kernel entry, exit and wait it adds, which the bench does not count.",
            e.requests,
            ratio(echo16.server.svcs, echo16.requests),
            ratio(e.server.svcs, e.requests),
            ratio(echo16.server.instructions, echo16.requests),
            ratio(e.server.instructions, e.requests),
        ));
    }
    Ok(BenchResult { figures, gaps, notes })
}

/// The commit being measured (`git rev-parse --short HEAD`, with `-dirty` when the tree
/// differs), or "unknown".
pub fn git_commit() -> String {
    let out = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match out(&["rev-parse", "--short", "HEAD"]) {
        Some(c) if !c.is_empty() => {
            let dirty = out(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            if dirty { format!("{c}-dirty") } else { c }
        }
        _ => "unknown".into(),
    }
}

/// Today's UTC date as YYYY-MM-DD (civil-from-days, no dependency).
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    civil_date(secs / 86_400)
}

/// Days since 1970-01-01 to YYYY-MM-DD (Howard Hinnant's civil_from_days algorithm).
pub fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// docs/BENCHMARKS.md.
pub fn markdown(result: &BenchResult, date: &str, commit: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# xcbuf benchmarks\n");
    let _ = writeln!(s, "Written by `make bench` (`xcbuf-emu bench`) on {date} at commit `{commit}`. Do not edit by hand: run `make bench` again.\n");
    let _ = writeln!(s, "| figure | value | unit | goal |\n|---|---|---|---|");
    for f in &result.figures {
        let _ = writeln!(s, "| {} | {} | {} | {} |", f.name, f.value, f.unit, f.goal.as_deref().unwrap_or(""));
    }
    let _ = writeln!(s, "\nThe same lines as `make bench` prints them:\n\n```text");
    for f in &result.figures {
        let _ = writeln!(s, "{}", f.line());
    }
    let _ = writeln!(s, "```\n");
    if !result.notes.is_empty() {
        let _ = writeln!(s, "## One svc or two\n");
        for n in &result.notes {
            let _ = writeln!(s, "{n}\n");
        }
    }
    s.push_str(DEFINITIONS);
    let _ = writeln!(s, "\n## Goals not met\n");
    if result.gaps.is_empty() {
        let _ = writeln!(s, "None: every goal with a number was met in this run.");
    } else {
        for g in &result.gaps {
            let _ = writeln!(s, "- {g}");
        }
    }
    s
}

const DEFINITIONS: &str = "## What each figure counts\n\n\
- Counts come from the bench's counters (tools/emu `observe`): guest user-mode instructions per process (a block hook, whole translated blocks; a block ends at every svc), svcs by number, and the bytes the kernel model copies (header, special data, raw data and X payloads, in both directions, counted on the server).\n\
- The requests are driven by the client built with the `bench-loop` feature: it writes a `@bench begin <phase> <n>` debug line before each phase and `@bench end errors=<n>` after the last; the bench snapshots every counter inside the svcOutputDebugString of each marker line. At each marker the server is blocked in the svcReplyAndReceive that replied to the previous request, so a phase of N requests holds exactly N of the server's paths from one receive to the next.\n\
- `server svcs per request`: the server's svcs in the echo16 phase divided by its requests.\n\
- `server wakeups while idle`: after the client ended, the server first runs whatever it can without bench time advancing (it handles the closed sessions); then bench time is advanced by 1 s, from deadline to deadline, running whatever wakes; each time a server thread leaves a wait in that second counts. `server svcs while idle` counts its svcs in the same window. (The crafted-guest tests in perf.rs show the count is not blind: a server polling every 10 ms scores 99.)\n\
- `server instructions per echo16`/`echo1k`/`concat4`: the server's instructions in the phase divided by its requests (16-byte Echo, 1 KiB Echo, Concat of 4 X of 16 bytes each). `client instructions per echo16`: the same for the client, which builds each request, copies its 64-word message into TLS and back (the client transport does so for every request), parses the reply and checks `bytes_written` and the reply's X size; it compares payload bytes only on the last request of a phase. The phase also holds the formatting of the next marker line, once per phase (under 0.2 instructions per request at 10,000 requests).\n\
- `bytes copied per echo16` vs `bytes expected per echo16`: expected = request (8-byte header + raw data of the request as `xcbuf_common::client::build_echo` builds it + 16 bytes of X) + reply (8-byte header + raw data of the reply as the client last received it + 16 bytes of X). Equal means each byte crossed once each way.\n\
- `sysmodule image`: the NSO's text, rodata, data and .bss as the loader maps them (each page-rounded), minus the static heap region, which is in .bss and counted by the next two lines. `sysmodule heap`: the static heap region (the ELF symbol `HEAP`, its size, not a measured peak) minus the pointer buffers; it holds the second serving thread's stack and the allocator's slack. `sysmodule stack`: the NPDM main-thread stack. `pointer buffers`: the sum of the sizes both servers print when they start (carved from the heap). `sysmodule footprint`: the sum of these four = every byte mapped for the NSO plus the main stack.\n\
- `sysmodule main stack peak` (informative): bytes of the NPDM main stack that were written during the bench-loop run (the stack is mapped zeroed; from the lowest non-zero byte to the top).\n\
- `nro size`: the file size of the shipped client NRO.\n\
- `bench wall time for the end-to-end suite`: host time of one run of the shipped sysmodule and client suite (informative, depends on the machine).\n\
- `two-svc ...`: the same sysmodule source built with the `two-svc` feature, which replies with svcReplyAndReceive(handles = 0, reply_target = session, timeout = 0) and then receives with a second svcReplyAndReceive; same client, same phases, in the same `make bench` run.\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_prints_equal_counts_as_one_exactly() {
        assert_eq!(ratio(10_000, 10_000), "1.00");
        assert_eq!(ratio(20_000, 10_000), "2.00");
        assert_eq!(ratio(1, 3), "0.33");
        assert_eq!(ratio(2, 3), "0.67");
        assert_eq!(ratio(5, 0), "n/a");
    }

    #[test]
    fn civil_date_of_known_days() {
        assert_eq!(civil_date(0), "1970-01-01");
        // 2000-03-01 is day 11_017.
        assert_eq!(civil_date(11_017), "2000-03-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
    }

    #[test]
    fn pointer_buffer_sizes_are_read_from_server_start_lines() {
        let lines = vec![
            "xcbuf: serving, receive mode 2 (single), pointer buffer 0x800 bytes at 0x8001000, max 8 sessions".to_string(),
            "xcbuf:i: serving, receive mode 6 (indexed), pointer buffer 0x800 bytes at 0x8002000, max 8 sessions".to_string(),
            "xcbuf: session 0 opened (1 open)".to_string(),
        ];
        assert_eq!(pointer_buffer_sizes(&lines), vec![0x800, 0x800]);
    }

    fn mark(label: &str, by: ProcessId, server: (u64, u64, u64), client_instr: u64) -> Mark {
        let s = ProcessSnapshot { instructions: server.0, svcs: server.1, requests_received: server.2, ..Default::default() };
        let c = ProcessSnapshot { instructions: client_instr, ..Default::default() };
        Mark { label: label.into(), by, processes: vec![s, c], last_reply_header: None }
    }

    #[test]
    fn phases_are_the_deltas_between_consecutive_marks() {
        let marks = vec![
            mark("begin echo16 100", 1, (1_000, 10, 5), 500),
            mark("begin echo1k 100", 1, (81_000, 110, 105), 90_500),
            mark("end errors=0", 1, (181_000, 210, 205), 190_500),
        ];
        let p = phases(&marks, 0, 1).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].name.as_str(), p[0].requests), ("echo16", 100));
        assert_eq!(p[0].server.instructions, 80_000);
        assert_eq!(p[0].server.svcs, 100);
        assert_eq!(p[0].server.requests_received, 100);
        assert_eq!(p[0].client.instructions, 90_000);
        assert_eq!(p[1].server.instructions, 100_000);
    }

    #[test]
    fn a_marker_without_a_count_is_rejected() {
        let marks = vec![mark("begin echo16", 1, (0, 0, 0), 0), mark("end errors=0", 1, (0, 0, 0), 0)];
        assert!(phases(&marks, 0, 1).is_err());
    }

    #[test]
    fn echo16_request_is_header_plus_raw_words() {
        let h = echo_request_header(16).unwrap();
        let decoded = xcbuf_common::hipc::MessageHeader::decode(h);
        assert_eq!(decoded.pointer_count, 1);
        assert_eq!(message_bytes(h), 8 + 4 * u64::from(decoded.raw_count));
    }

    /// A "server" process made of `words` (sysmodule launch convention).
    fn crafted_server(words: &[u32]) -> Kernel {
        use crate::loader::{ProcessSetup, ProgramImage};
        let mut setup = ProcessSetup::nro("server", LaunchKind::Sysmodule, ProgramImage::from_code(words));
        setup.kind = LaunchKind::Sysmodule;
        let mut k = Kernel::new(KernelOptions::default());
        loader::spawn(&mut k, setup).unwrap();
        k
    }

    #[test]
    fn a_server_that_sleeps_forever_has_no_idle_wakeups() {
        // forever: mov x0, #0x7fffffffffffffff; svc #0xb (SleepThread); b forever
        let mut k = crafted_server(&[0x92f00000, 0xd4000161, 0x17fffffe]);
        let idle = measure_idle(&mut k, &RunConfig::default(), DEFAULT_IDLE_NS).unwrap();
        assert_eq!(idle, IdleFigures { window_ns: 1_000_000_000, wakeups: 0, svcs: 0, instructions: 0 });
    }

    #[test]
    fn a_server_polling_every_10_ms_wakes_99_times_in_one_idle_second() {
        // poll: mov x0, #0x9680; movk x0, #0x98, lsl #16 (10_000_000 ns); svc #0xb; b poll
        let mut k = crafted_server(&[0xd292d000, 0xf2a01300, 0xd4000161, 0x17fffffd]);
        let idle = measure_idle(&mut k, &RunConfig::default(), DEFAULT_IDLE_NS).unwrap();
        // Each period is 10 ms of sleep plus the loop's instructions (1 ns each), so the
        // 100th deadline falls just after the second.
        assert_eq!(idle.wakeups, 99);
        assert_eq!(idle.svcs, 99);
        assert_eq!(idle.instructions, 99 * 4);
    }

    #[test]
    fn mapped_image_of_the_worked_nso_is_0x13000_bytes() {
        // The sysmodule's segments as `xcbuf-pack inspect` shows them: text 0x6008 at 0,
        // rodata 0x11c8 at 0x7000, data 0x1000 at 0x9000, bss 0x8100.
        use xcbuf_pack::image::{Extent, ModuleImage, Segment};
        let seg = |at: u32, len: usize| Segment { memory_offset: at, bytes: vec![0; len] };
        let image = ModuleImage {
            text: seg(0, 0x6008),
            rodata: seg(0x7000, 0x11c8),
            data: seg(0x9000, 0x1000),
            bss_size: 0x8100,
            module_id: [0; 0x20],
            dynstr: Extent::default(),
            dynsym: Extent::default(),
        };
        // 0x7000 + 0x2000 + 0x1000 + 0x9000.
        assert_eq!(mapped_image_size(&image).unwrap(), 0x13000);
    }
}

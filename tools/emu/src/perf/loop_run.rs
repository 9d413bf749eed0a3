//! One run of a sysmodule with the perf-loop client: both are loaded, the sysmodule
//! settles, the client runs its request loops between marker lines, then the idle
//! window is measured.

use std::path::Path;
use std::time::Instant;

use super::idle::{IdleFigures, measure_idle};
use super::markers::{Phase, phases};
use crate::kernel::process::LaunchKind;
use crate::kernel::{Kernel, KernelOptions, ProcessId};
use crate::loader::{self, ProcessSetup};
use crate::observe::RunEnd;
use crate::run::{self, RunConfig};

/// What one perf-loop run measured.
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

/// Runs `sysmodule` with the perf-loop client `nro`, then the idle window.
pub fn run_loop(sysmodule: &Path, nro: &Path, config: &RunConfig, idle_ns: u64) -> Result<LoopRun, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let server_setup = loader::sysmodule_from_exefs(&sysmodule.display().to_string(), &read(sysmodule)?)?;
    let client_setup = loader::nro_from_file(&nro.display().to_string(), &read(nro)?, LaunchKind::Hbmenu)?;
    run_loop_setups(Some(server_setup), client_setup, config, LoopOptions { idle_ns: Some(idle_ns), profile: false })
}

/// What [`run_loop_setups`] measures besides the phases' counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopOptions {
    /// The idle window after the client ended (None: not measured, zero figures).
    pub idle_ns: Option<u64>,
    /// Count executions per block in both processes ([`Phase::server_blocks`], `xcbuf-emu profile`).
    pub profile: bool,
}

/// Runs `server` (settled first, as boot2 starts it long before the client) with the
/// perf-loop `client`. Without a server, the client's own process stands in for it in the
/// phases (crafted guests in tests).
pub fn run_loop_setups(
    server: Option<ProcessSetup>,
    client: ProcessSetup,
    config: &RunConfig,
    options: LoopOptions,
) -> Result<LoopRun, String> {
    let started = Instant::now();
    let mut k = Kernel::new(KernelOptions { trace_ipc: false, echo_output: config.echo_output, kernel: config.kernel });
    // As `run::run`: the default + once the client waits for input (its page's exit), so
    // the client (which shows its report on screen now) ends by itself.
    k.hle.shared.hid.script = crate::hle::hid::InputScript::new(config.presses.clone());
    crate::hle::install(&mut k);
    let server = match server {
        Some(setup) => {
            let pid = loader::spawn(&mut k, setup)?;
            if options.profile {
                k.processes[pid].cpu.enable_profile();
            }
            if let Some(end) = run::settle(&mut k, config, started) {
                return Err(format!("the sysmodule did not start: {end:?}"));
            }
            Some(pid)
        }
        None => None,
    };
    let client = loader::spawn(&mut k, client)?;
    if options.profile {
        k.processes[client].cpu.enable_profile();
    }
    let end = run::schedule(&mut k, &[client], config, started);
    if end != RunEnd::Completed {
        return Err(format!("the perf-loop run did not complete: {end:?}"));
    }
    for p in &k.processes {
        if let crate::kernel::process::ProcessState::Faulted { report } = &p.state {
            return Err(format!("{} faulted: {report}", p.name));
        }
    }
    let server = server.unwrap_or(client);
    let phases = phases(&k.marks, server, client)?;
    let client_errors = k.marks.iter().rev().find_map(|m| {
        m.label.strip_prefix("end ").and_then(|r| r.trim().strip_prefix("errors=")).and_then(|n| n.parse().ok())
    });
    let idle = match options.idle_ns {
        Some(ns) => measure_idle(&mut k, config, ns)?,
        None => IdleFigures::default(),
    };
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

//! The idle window: after the traffic, the servers settle, then bench time advances by a
//! window with a scheduler of its own that counts each time a server thread leaves a wait.

use crate::kernel::process::LaunchKind;
use crate::kernel::thread::ThreadState;
use crate::kernel::{Kernel, ProcessId};
use crate::run::{self, RunConfig};

/// Default idle window: 1 s of bench time (1 ns per guest instruction plus idle jumps).
pub const DEFAULT_IDLE_NS: u64 = 1_000_000_000;

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
        run::run_thread(k, t, slice);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelOptions;
    use crate::loader;

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
}

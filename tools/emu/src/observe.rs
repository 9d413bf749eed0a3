//! Observation: per-process counters, the run report and its JSON form.
//!
//! Heap use comes two ways. Reported: a debug line `@heap peak=<bytes>` (decimal or
//! 0x-hex, the fixed prefix [`HEAP_LINE_PREFIX`]) or rt's exit line
//! `xcbuf-rt: exit <result>; heap size=.. used=.. peak=..` ([`RT_EXIT_LINE_PREFIX`]); the
//! bench keeps the largest peak seen (`heap_peak_reported`). Live: with the process's
//! ELF, rt's allocator figures read from guest memory at the end of the run
//! ([`crate::heap_stats`]; `heap_used`, `heap_peak`). The heap *mapped* by SetHeapSize
//! is counted separately (`heap_size_max`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Prefix of the runtime's heap report line.
pub const HEAP_LINE_PREFIX: &str = "@heap ";

/// Prefix of rt's exit line (rt/src/runtime.rs `exit`), whose `; heap ` part carries
/// size, used and peak.
pub const RT_EXIT_LINE_PREFIX: &str = "xcbuf-rt: exit ";

/// The heap peak a guest line reports: an `@heap` line, or rt's exit line.
pub fn reported_heap_peak(line: &str) -> Option<u64> {
    if let Some(rest) = line.strip_prefix(HEAP_LINE_PREFIX) {
        return parse_heap_peak(rest);
    }
    let rest = line.strip_prefix(RT_EXIT_LINE_PREFIX)?;
    let (_, heap) = rest.split_once("; heap ")?;
    parse_heap_peak(heap)
}

/// The result rt's exit line reports (`xcbuf-rt: exit 0x1602 (...)`): where a process
/// ends with a plain svcExitProcess (an emulator launch has no loader to return a result
/// to), this is the only place its result is stated.
pub fn reported_exit_result(line: &str) -> Option<u32> {
    let rest = line.strip_prefix(RT_EXIT_LINE_PREFIX)?;
    let word = rest.split([' ', ';']).next()?;
    u32::from_str_radix(word.strip_prefix("0x")?, 16).ok()
}

/// Parses `peak=<n>` out of the rest of a heap line.
pub fn parse_heap_peak(rest: &str) -> Option<u64> {
    let v = rest.split_whitespace().find_map(|kv| kv.strip_prefix("peak="))?;
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

/// Counters of one process at the end of a run.
#[derive(Debug, Clone, Default)]
pub struct ProcessReport {
    pub name: String,
    /// "running", "exited", "faulted".
    pub state: String,
    pub exit_result: Option<u32>,
    pub fault: Option<String>,
    pub instructions: u64,
    /// svc number -> calls.
    pub svcs: BTreeMap<u32, u64>,
    pub requests_sent: u64,
    pub requests_received: u64,
    pub replies_sent: u64,
    pub ipc_bytes_copied: u64,
    pub heap_peak_reported: Option<u64>,
    /// Live allocator figures from guest memory at the end of the run (needs the ELF).
    pub heap_used: Option<u64>,
    pub heap_peak: Option<u64>,
    /// Why the live figures could not be read, when the ELF was given.
    pub heap_stats_error: Option<String>,
    pub heap_size_max: u64,
    pub threads: usize,
    pub handles_open: usize,
    pub output: Vec<String>,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// The NRO (or, with no NRO, every process) finished.
    Completed,
    /// Every guest thread waits with no timeout pending.
    Deadlock { threads: Vec<String> },
    /// The instruction, bench-time or host-time budget ran out; `threads` names every
    /// live thread, its state and its instruction count.
    BudgetExhausted { what: String, threads: Vec<String> },
    /// The bench could not set a process up.
    LoadError(String),
    /// An HLE service met a request the bench does not model (an unknown command of a
    /// known service): `report` names the service, the interface, the command id and the
    /// caller; `threads` names every live thread then.
    HleStopped { report: String, threads: Vec<String> },
}

/// Everything a run produced (the library API's return value).
#[derive(Debug, Clone)]
pub struct RunReport {
    pub end: RunEnd,
    /// The NRO's result (w0 at return / 0 for ExitProcess), if it ended normally.
    pub nro_result: Option<u32>,
    pub processes: Vec<ProcessReport>,
    /// The client's (NRO's) debug output lines.
    pub client_lines: Vec<String>,
    /// The files written through the HLE `fsp-srv`, by SD path (`/switch/...`).
    pub sd_files: std::collections::BTreeMap<String, Vec<u8>>,
    /// The last frame queued on a shown layer (vi's compositor), de-swizzled.
    pub screen: Option<crate::hle::vi::display::Frame>,
    /// Why frames queued were not shown (stray layer, memory, format), one line each.
    pub frames_not_shown: Vec<String>,
    pub trace: Vec<String>,
    pub wall_time_ms: u128,
}

impl RunReport {
    /// The process exit code: the NRO's result (0 = ok), non-zero if any process
    /// faulted, the run deadlocked or ran out of budget.
    pub fn exit_code(&self) -> i32 {
        if self.end != RunEnd::Completed || self.processes.iter().any(|p| p.fault.is_some()) {
            return 1;
        }
        match self.nro_result {
            Some(0) | None => 0,
            Some(_) => 2,
        }
    }

    /// One human-readable summary (faults, deadlock, budget).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        match &self.end {
            RunEnd::Completed => {}
            RunEnd::Deadlock { threads } => {
                out.push_str("DEADLOCK: every guest thread is blocked with no timeout pending:\n");
                for t in threads {
                    out.push_str(&format!("  {t}\n"));
                }
            }
            RunEnd::BudgetExhausted { what, threads } => {
                out.push_str(&format!("STOPPED: {what}; the threads then:\n"));
                for t in threads {
                    out.push_str(&format!("  {t}\n"));
                }
            }
            RunEnd::LoadError(e) => out.push_str(&format!("LOAD ERROR: {e}\n")),
            RunEnd::HleStopped { report, threads } => {
                out.push_str(&format!("STOPPED by the HLE: {report}; the threads then:\n"));
                for t in threads {
                    out.push_str(&format!("  {t}\n"));
                }
            }
        }
        for p in &self.processes {
            if let Some(f) = &p.fault {
                out.push_str(&format!("FAULT in {}: {f}\n", p.name));
            }
        }
        for p in &self.processes {
            out.push_str(&format!(
                "{}: {} ({}), {} instructions, {} svcs, {} requests sent, {} received, {} bytes copied\n",
                p.name,
                p.state,
                p.exit_result.map(|r| format!("result {r:#x}")).unwrap_or_else(|| "-".into()),
                p.instructions,
                p.svcs.values().sum::<u64>(),
                p.requests_sent,
                p.requests_received,
                p.ipc_bytes_copied
            ));
        }
        out
    }

    pub fn to_json(&self) -> Value {
        let processes: Vec<Value> = self
            .processes
            .iter()
            .map(|p| {
                let svcs: serde_json::Map<String, Value> = p
                    .svcs
                    .iter()
                    .map(|(n, c)| (format!("{n:#04x} {}", crate::kernel::svc::svc_name(*n)), json!(c)))
                    .collect();
                json!({
                    "name": p.name,
                    "state": p.state,
                    "exit_result": p.exit_result,
                    "fault": p.fault,
                    "instructions": p.instructions,
                    "svcs": svcs,
                    "requests_sent": p.requests_sent,
                    "requests_received": p.requests_received,
                    "replies_sent": p.replies_sent,
                    "ipc_bytes_copied": p.ipc_bytes_copied,
                    "heap_peak_reported": p.heap_peak_reported,
                    "heap_used": p.heap_used,
                    "heap_peak": p.heap_peak,
                    "heap_stats_error": p.heap_stats_error,
                    "heap_size_max": p.heap_size_max,
                    "threads": p.threads,
                    "handles_open": p.handles_open,
                })
            })
            .collect();
        let end = match &self.end {
            RunEnd::Completed => json!("completed"),
            RunEnd::Deadlock { threads } => json!({ "deadlock": threads }),
            RunEnd::BudgetExhausted { what, threads } => json!({ "budget_exhausted": what, "threads": threads }),
            RunEnd::LoadError(e) => json!({ "load_error": e }),
            RunEnd::HleStopped { report, threads } => json!({ "hle_stopped": report, "threads": threads }),
        };
        json!({
            "end": end,
            "exit_code": self.exit_code(),
            "nro_result": self.nro_result,
            "wall_time_ms": self.wall_time_ms as u64,
            "processes": processes,
            "sd_files": self.sd_files.iter().map(|(p, b)| (p.clone(), json!(b.len()))).collect::<serde_json::Map<String, Value>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_line_peak_is_parsed_in_decimal_and_hex() {
        assert_eq!(parse_heap_peak("peak=4096 size=65536"), Some(4096));
        assert_eq!(parse_heap_peak("size=1 peak=0x2000"), Some(0x2000));
        assert_eq!(parse_heap_peak("size=1"), None);
    }

    #[test]
    fn rt_exit_line_heap_peak_is_reported() {
        let line = "xcbuf-rt: exit 0x0; heap size=0x800000 used=0x1200 peak=0x5400";
        assert_eq!(reported_heap_peak(line), Some(0x5400));
        assert_eq!(reported_heap_peak("@heap peak=4096"), Some(4096));
        // An exit line without heap figures (the allocator's lock was held) reports none.
        assert_eq!(reported_heap_peak("xcbuf-rt: exit 0x1a3"), None);
        assert_eq!(reported_heap_peak("client: peak=7"), None);
    }
}

#[cfg(test)]
mod exit_line_tests {
    use super::*;

    #[test]
    fn rt_exit_line_gives_the_result_of_a_process_that_ended_with_svc_exit_process() {
        assert_eq!(
            reported_exit_result(
                "xcbuf-rt: exit 0x1602 (module 2, description 11); svcExitProcess (no loader to return to); heap size=0x1"
            ),
            Some(0x1602)
        );
        assert_eq!(reported_exit_result("xcbuf-rt: exit 0x0 (success); svcExitProcess"), Some(0));
        assert_eq!(reported_exit_result("something else"), None);
    }
}

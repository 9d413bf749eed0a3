//! Marker lines: a guest debug line starting with [`MARK_PREFIX`] makes the kernel model
//! snapshot every process's counters inside the svcOutputDebugString that carries it
//! ([`Mark::take`]); consecutive marks delimit the [`Phase`]s of a run.

use crate::cpu::BlockCounts;
use crate::kernel::{Kernel, ProcessId};

/// Prefix of a guest debug line that snapshots the counters.
pub const MARK_PREFIX: &str = "@perf ";

/// svcReplyAndReceive (horizon-ipc.md §4).
pub const SVC_REPLY_AND_RECEIVE: u32 = 0x43;

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
    /// Indexed by process id: executions per block so far, for the processes being
    /// profiled ([`crate::cpu::Cpu::enable_profile`]; `xcbuf-emu profile`).
    pub blocks: Vec<Option<BlockCounts>>,
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
        let blocks = k.processes.iter().map(|p| p.cpu.profile().cloned()).collect();
        Mark { label: label.to_string(), by, processes, last_reply_header, blocks }
    }
}

/// Executions per block between two marks (`later - earlier`, blocks that did not run
/// in between left out); None unless the process was profiled at both.
fn blocks_delta(later: &Mark, earlier: &Mark, p: ProcessId) -> Option<BlockCounts> {
    let (b, a) = (later.blocks.get(p)?.as_ref()?, earlier.blocks.get(p)?.as_ref()?);
    Some(
        b.iter()
            .filter_map(|(key, &n)| {
                let d = n.saturating_sub(a.get(key).copied().unwrap_or(0));
                (d > 0).then_some((*key, d))
            })
            .collect(),
    )
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
    /// Executions per block in the phase, when the process was profiled.
    pub server_blocks: Option<BlockCounts>,
    pub client_blocks: Option<BlockCounts>,
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
        let snap =
            |m: &Mark, p: ProcessId| m.processes.get(p).cloned().ok_or_else(|| format!("no process {p} at a mark"));
        out.push(Phase {
            name: name.to_string(),
            requests,
            server: snap(b, server)?.delta(&snap(a, server)?),
            client: snap(b, client)?.delta(&snap(a, client)?),
            last_reply_header: b.last_reply_header,
            server_blocks: blocks_delta(b, a, server),
            client_blocks: blocks_delta(b, a, client),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(label: &str, by: ProcessId, server: (u64, u64, u64), client_instr: u64) -> Mark {
        let s = ProcessSnapshot {
            instructions: server.0,
            svcs: server.1,
            requests_received: server.2,
            ..Default::default()
        };
        let c = ProcessSnapshot { instructions: client_instr, ..Default::default() };
        Mark { label: label.into(), by, processes: vec![s, c], last_reply_header: None, blocks: vec![] }
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
    fn phase_blocks_are_the_executions_between_the_two_marks() {
        let mut a = mark("begin echo16 2", 1, (0, 0, 0), 0);
        let mut b = mark("end errors=0", 1, (0, 0, 0), 0);
        a.blocks = vec![None, Some(BlockCounts::from([((0x10, 8), 5), ((0x40, 4), 1)]))];
        b.blocks = vec![None, Some(BlockCounts::from([((0x10, 8), 9), ((0x40, 4), 1), ((0x80, 12), 2)]))];
        let p = phases(&[a, b], 0, 1).unwrap();
        assert_eq!(p[0].server_blocks, None, "the server was not profiled");
        assert_eq!(p[0].client_blocks, Some(BlockCounts::from([((0x10, 8), 4), ((0x80, 12), 2)])));
    }

    #[test]
    fn a_marker_without_a_count_is_rejected() {
        let marks = vec![mark("begin echo16", 1, (0, 0, 0), 0), mark("end errors=0", 1, (0, 0, 0), 0)];
        assert!(phases(&marks, 0, 1).is_err());
    }
}

//! The session-churn campaign: many sessions opened and closed, then each service filled
//! to its limit and connected past it; the server's handles, mappings and heap end where
//! they started.

use xcbuf_common::result::kernel;
use xcbuf_common::xcbuf::{MAX_SESSIONS, SINGLE};

use super::case::ALL_SERVICES;
use super::probe::{probe_echo, stats_open_sessions};
use super::rng::SplitMix64;
use crate::host_client::{HostBench, HostClient, MESSAGE_WORDS};

/// What [`churn`] saw.
#[derive(Debug, Clone, Default)]
pub struct ChurnReport {
    pub sessions_opened: u64,
    /// Connects past [`MAX_SESSIONS`] per service and what they gave.
    pub over_limit_refused: u64,
    pub over_limit_closed: u64,
    pub handles_start: usize,
    pub handles_end: usize,
    pub mapped_start: u64,
    pub mapped_end: u64,
    /// The server's heap in use (rt's allocator, read from its memory; None without the
    /// sysmodule's ELF).
    pub heap_used_start: Option<u64>,
    pub heap_used_end: Option<u64>,
    /// Stats' open-session count through a last session, at the end.
    pub open_sessions_end: Option<u32>,
    pub problems: Vec<String>,
}

impl ChurnReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
            && self.handles_start == self.handles_end
            && self.mapped_start == self.mapped_end
            && self.heap_used_start == self.heap_used_end
    }
}

/// Opens and closes `total` sessions (both services, each one probed with an Echo every
/// few), then fills each service to [`MAX_SESSIONS`] and connects a few more: those must
/// be refused (OutOfSessions on connect) or closed by the server (SessionClosed on the
/// first request), and the first [`MAX_SESSIONS`] keep working.
pub fn churn(bench: &mut HostBench, total: u64, seed: u64) -> Result<ChurnReport, String> {
    let mut rng = SplitMix64::new(seed);
    let mut client = HostClient::new(bench, "churn-client")?;
    bench.settle()?;
    let start = bench.server_resources();
    let mut r = ChurnReport {
        handles_start: start.handles,
        mapped_start: start.mapped,
        heap_used_start: start.heap_used,
        ..ChurnReport::default()
    };
    for i in 0..total {
        let service = ALL_SERVICES[(i % 2) as usize];
        let h = client.connect(bench, service.name).map_err(|e| format!("connect #{i} {}: {e}", service.name))?;
        r.sessions_opened += 1;
        if i % 97 == 0 {
            if let Err(e) = probe_echo(&mut rng, &mut client, bench, h) {
                r.problems.push(format!("session #{i}: {e:?}"));
            }
        }
        client.close(bench, h).map_err(|e| format!("close #{i}: {e}"))?;
    }
    for service in ALL_SERVICES {
        let mut open = Vec::new();
        for _ in 0..MAX_SESSIONS {
            open.push(client.connect(bench, service.name).map_err(|e| format!("fill {}: {e}", service.name))?);
        }
        let mut extra = Vec::new();
        for _ in 0..3 {
            match client.connect(bench, service.name) {
                Err(e) if e == kernel::OUT_OF_SESSIONS => r.over_limit_refused += 1,
                Err(e) => r.problems.push(format!("{} over the limit: connect gave {e}", service.name)),
                Ok(h) => {
                    let mut msg = [0u32; MESSAGE_WORDS];
                    let _ = xcbuf_common::client::build_get_info(&mut msg);
                    match client.send(bench, h, &msg) {
                        Ok(a) if a.svc_result == kernel::SESSION_CLOSED => r.over_limit_closed += 1,
                        Ok(a) => {
                            r.problems.push(format!("{} over the limit: served (svc {})", service.name, a.svc_result))
                        }
                        Err(e) => r.problems.push(format!("{} over the limit: {e}", service.name)),
                    }
                    extra.push(h);
                }
            }
        }
        for &h in &open {
            if let Err(e) = probe_echo(&mut rng, &mut client, bench, h) {
                r.problems.push(format!("{} at the limit: {e:?}", service.name));
            }
        }
        if *service == SINGLE {
            if let Some(&h) = open.first() {
                r.open_sessions_end = stats_open_sessions(&mut client, bench, h);
            }
        }
        for h in open.into_iter().chain(extra) {
            let _ = client.close(bench, h);
        }
    }
    bench.settle()?;
    bench.server_alive().map_err(|e| e.to_string())?;
    let end = bench.server_resources();
    r.handles_end = end.handles;
    r.mapped_end = end.mapped;
    r.heap_used_end = end.heap_used;
    Ok(r)
}

//! The hostile-message campaign: random and mutated HIPC/CMIF messages on many sessions
//! of both services, some interleaved with a request on another session that is closed
//! (or whose client thread ends) while it is pending; after every case the server must
//! still answer a fresh Echo, and its handle count must not grow.

use xcbuf_common::result::kernel;

use super::case::{ALL_SERVICES, CANARY, Case, Layout, Service, hex_words, mutate, structured_case};
use super::oracle::{Expect, check};
use super::probe::{ProbeError, probe_echo};
use super::rng::SplitMix64;
use crate::host_client::{Answer, DriveError, HostBench, HostClient, MESSAGE_WORDS, READ_ONLY_PAGE};
use crate::kernel::KObjectRef;

/// Fills every C buffer of a case with [`CANARY`] and writes its X payloads.
fn prepare(client: &HostClient, bench: &mut HostBench, case: &Case) -> Result<(), String> {
    for &(addr, size) in &case.outputs {
        if size > 0 && addr != READ_ONLY_PAGE {
            client.write(bench, addr, &vec![CANARY; size])?;
        }
    }
    for (addr, data) in &case.payloads {
        client.write(bench, *addr, data)?;
    }
    Ok(())
}

/// Totals of a fuzz run.
#[derive(Debug, Clone, Default)]
pub struct FuzzReport {
    pub iterations: u64,
    pub faults: u64,
    pub hangs: u64,
    pub unexpected: u64,
    /// The first failing cases, reproducible: description, seed, iteration, hex words.
    pub failures: Vec<String>,
    /// Server handles at the start and end (sessions closed), and mappings.
    pub handles_start: usize,
    pub handles_end: usize,
    pub mapped_start: u64,
    pub mapped_end: u64,
    /// Requests whose session handle was closed while they were pending (then served),
    /// and those whose requesting thread was also terminated (the client gone).
    pub closed_mid_request: u64,
    pub client_gone_mid_request: u64,
}

impl FuzzReport {
    pub fn ok(&self) -> bool {
        self.faults == 0 && self.hangs == 0 && self.unexpected == 0 && self.handles_start == self.handles_end
    }
    pub fn summary(&self) -> String {
        format!(
            "iterations: {}, server faults: {}, hangs: {}, unexpected results: {}",
            self.iterations, self.faults, self.hangs, self.unexpected
        )
    }
}

/// Sessions of the fuzzer: per service, a few open handles.
struct Pool {
    sessions: Vec<(Service, u32)>,
}

const MAX_FAILURES_KEPT: usize = 20;

/// Runs `iterations` cases with `seed` against the bench's sysmodule. Stops early after a
/// fault (the server is gone).
pub fn fuzz(bench: &mut HostBench, iterations: u64, seed: u64) -> Result<FuzzReport, String> {
    let mut rng = SplitMix64::new(seed);
    let mut client = HostClient::new(bench, "fuzz-client")?;
    let start = bench.server_resources();
    let mut report = FuzzReport { handles_start: start.handles, mapped_start: start.mapped, ..FuzzReport::default() };
    let mut pool = Pool { sessions: Vec::new() };
    for service in ALL_SERVICES {
        for _ in 0..3 {
            let h = client.connect(bench, service.name).map_err(|e| format!("connect {}: {e}", service.name))?;
            pool.sessions.push((service, h));
        }
    }
    let fail = |report: &mut FuzzReport, kind: &str, i: u64, case: &Case, why: &str| {
        if report.failures.len() < MAX_FAILURES_KEPT {
            report.failures.push(format!(
                "{kind} at iteration {i} (seed {seed}): {}: {why}\n  message: {}",
                case.what,
                hex_words(&case.words)
            ));
        }
    };
    for i in 0..iterations {
        report.iterations = i + 1;
        // Session churn inside the run: sometimes replace a session.
        if rng.chance(3) && !pool.sessions.is_empty() {
            let k = rng.below(pool.sessions.len() as u64) as usize;
            let (service, h) = pool.sessions.swap_remove(k);
            let _ = client.close(bench, h);
            match client.connect(bench, service.name) {
                Ok(h) => pool.sessions.push((service, h)),
                Err(e) => return Err(format!("reconnect {}: {e}", service.name)),
            }
        }
        let k = rng.below(pool.sessions.len() as u64) as usize;
        let (service, handle) = pool.sessions[k];
        // A copy handle names the session the case goes on: the other session of an
        // interleaved pair may be closed before this request is sent, and then the kernel
        // rightly refuses the stale handle with InvalidHandle (horizon-ipc.md §3.2 step 7)
        // before the server's InvalidCmifRequest could be seen.
        let mut case = structured_case(&mut rng, service, &[handle], Layout::MAIN);
        if case.words.is_empty() {
            continue;
        }
        if rng.chance(10) {
            mutate(&mut rng, &mut case);
        }
        if let Err(e) = prepare(&client, bench, &case) {
            return Err(format!("prepare: {e}"));
        }
        let before_handles = bench.server_resources().handles;
        if std::env::var_os("XCBUF_FUZZ_TRACE").is_some() {
            eprintln!("#{i} handles {before_handles} {} on {handle:#x}: {}", case.what, hex_words(&case.words));
        }
        let interleave = rng.chance(10) && pool.sessions.len() > 1;
        if interleave && std::env::var_os("XCBUF_FUZZ_TRACE").is_some() {
            eprintln!("    (interleaved after a request on another session)");
        }
        let outcome = if interleave {
            // A second request queued on another session first, then this one; both are
            // answered; sometimes the other session is closed mid-request, and every
            // second such time its requesting thread is terminated too.
            let other = (k + 1) % pool.sessions.len();
            let (oservice, ohandle) = pool.sessions[other];
            let mut ocase = structured_case(&mut rng, oservice, &[], Layout::OTHER);
            let close_mid = rng.chance(40) && std::env::var_os("XCBUF_FUZZ_NO_MIDCLOSE").is_none();
            let terminate_mid = close_mid && i % 2 == 0;
            let other_session = match bench.kernel.processes[client.process].handles.get(ohandle) {
                Some(KObjectRef::ClientSession(s)) => Some(s),
                _ => None,
            };
            let pending_other = if ocase.words.is_empty() {
                None
            } else {
                ocase.expect = Expect::Documented;
                if let Err(e) = prepare(&client, bench, &ocase) {
                    return Err(format!("prepare: {e}"));
                }
                client.begin(bench, ohandle, &ocase.words).ok()
            };
            if close_mid {
                let _ = client.close_now(bench, ohandle);
            }
            // The client is gone: the request is never answered, and the server sees
            // SessionClosed on receive or on its reply (mesosphere OnClientClosed,
            // SendReply).
            let pending_other = match pending_other {
                Some(p) if terminate_mid => {
                    client.terminate_request(bench, p)?;
                    report.client_gone_mid_request += 1;
                    None
                }
                Some(p) if close_mid => {
                    report.closed_mid_request += 1;
                    Some(p)
                }
                other => other,
            };
            let r = client.begin(bench, handle, &case.words);
            let mine = match r {
                Ok(p) => client.finish(bench, p),
                Err(e) => Ok(Answer { svc_result: e, words: [0; MESSAGE_WORDS] }),
            };
            if let Some(p) = pending_other {
                match client.finish(bench, p) {
                    // A close under a pending request takes effect once the request
                    // ends (the waiting thread holds the session, mesosphere
                    // SendSyncRequestImpl): it is served as any other.
                    Ok(a) if close_mid => {
                        if let Err(why) = check(&ocase, &a, &client, bench) {
                            fail(&mut report, "unexpected", i, &ocase, &format!("closed mid-request: {why}"));
                            report.unexpected += 1;
                        }
                    }
                    // Its own Close message (or a refused message) may have ended it.
                    Ok(a) if a.svc_result == kernel::SESSION_CLOSED => {
                        let _ = client.close(bench, ohandle);
                        if let Ok(h) = client.connect(bench, oservice.name) {
                            pool.sessions[other] = (oservice, h);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        classify(&mut report, &e);
                        fail(&mut report, "drive", i, &ocase, &e.to_string());
                    }
                }
            }
            if close_mid {
                let _ = bench.settle();
                // Either way the server ends up closing its side: the session is gone.
                if let Some(s) = other_session.filter(|&s| !bench.kernel.sessions[s].finalized()) {
                    let what = if terminate_mid { "client thread terminated" } else { "closed mid-request" };
                    fail(&mut report, "unexpected", i, &ocase, &format!("{what}: the server kept session #{s}"));
                    report.unexpected += 1;
                }
                let _ = client.connect(bench, oservice.name).map(|h| pool.sessions[other] = (oservice, h));
            }
            mine
        } else {
            client.send(bench, handle, &case.words)
        };
        match outcome {
            Err(e) => {
                classify(&mut report, &e);
                fail(
                    &mut report,
                    if matches!(e, DriveError::Fault(_)) { "fault" } else { "hang" },
                    i,
                    &case,
                    &e.to_string(),
                );
                if matches!(e, DriveError::Fault(_)) {
                    break;
                }
                // Abandon the session the hung request sits on.
                let _ = client.close_now(bench, handle);
                let _ = bench.settle();
                if let Ok(h) = client.connect(bench, service.name) {
                    pool.sessions[k] = (service, h);
                }
                continue;
            }
            Ok(answer) => {
                if let Err(why) = check(&case, &answer, &client, bench) {
                    report.unexpected += 1;
                    fail(&mut report, "unexpected", i, &case, &why);
                }
                if answer.svc_result == kernel::SESSION_CLOSED {
                    let _ = client.close(bench, handle);
                    match client.connect(bench, service.name) {
                        Ok(h) => pool.sessions[k] = (service, h),
                        Err(e) => return Err(format!("reconnect {}: {e}", service.name)),
                    }
                }
            }
        }
        // Stray handles are closed: the server's table is back where it was (unless a
        // session was replaced, which keeps the count).
        let _ = bench.settle();
        let after_handles = bench.server_resources().handles;
        if after_handles > before_handles && !interleave {
            report.unexpected += 1;
            fail(&mut report, "leak", i, &case, &format!("server handles {before_handles} -> {after_handles}"));
        }
        if std::env::var_os("XCBUF_FUZZ_TRACE").is_some() {
            let out = &bench.kernel.processes[bench.server].output;
            for line in out.iter().skip(out.len().saturating_sub(3)) {
                eprintln!("    server: {line}");
            }
        }
        // The server still answers a fresh Echo, on a session of each service.
        let probe = pool.sessions.iter().position(|s| s.0 == service).unwrap_or(0);
        let ph = pool.sessions[probe].1;
        match probe_echo(&mut rng, &mut client, bench, ph) {
            Ok(()) => {}
            Err(ProbeError::Drive(e)) => {
                classify(&mut report, &e);
                fail(&mut report, "probe", i, &case, &e.to_string());
                if matches!(e, DriveError::Fault(_)) {
                    break;
                }
            }
            Err(ProbeError::Unexpected(why)) => {
                report.unexpected += 1;
                fail(&mut report, "probe", i, &case, &why);
            }
        }
    }
    for (_, h) in pool.sessions.drain(..) {
        let _ = client.close(bench, h);
    }
    let _ = bench.settle();
    let end = bench.server_resources();
    report.handles_end = end.handles;
    report.mapped_end = end.mapped;
    Ok(report)
}

fn classify(report: &mut FuzzReport, e: &DriveError) {
    match e {
        DriveError::Fault(_) => report.faults += 1,
        // The fuzz talks to the sysmodule, not to an HLE service; a stop still means the
        // request went unanswered.
        DriveError::Hang(_) | DriveError::HleStopped(_) => report.hangs += 1,
    }
}

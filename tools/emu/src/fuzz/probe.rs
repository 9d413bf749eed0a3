//! Probes of a live server, between and after the cases: a fresh Echo checked byte for
//! byte, and the open-session count Stats reports.

use xcbuf_common::xcbuf;

use super::case::CANARY;
use super::rng::SplitMix64;
use crate::host_client::{DriveError, HIGH_BUFFERS, HostBench, HostClient, LOW_BUFFERS, MESSAGE_WORDS};

/// A fresh Echo of random bytes on `session`, checked byte for byte (and the canary
/// after it). Err(why) on any difference.
pub fn probe_echo(
    rng: &mut SplitMix64,
    client: &mut HostClient,
    bench: &mut HostBench,
    session: u32,
) -> Result<(), ProbeError> {
    let len = 1 + rng.below(0x100) as usize;
    let data = rng.bytes(len);
    let src = HIGH_BUFFERS + 0x3_0000;
    let dst = LOW_BUFFERS + 0x3_0000;
    client.write(bench, src, &data).map_err(ProbeError::Unexpected)?;
    client.write(bench, dst, &vec![CANARY; len + 16]).map_err(ProbeError::Unexpected)?;
    let mut msg = [0u32; MESSAGE_WORDS];
    xcbuf_common::client::build_echo(
        &mut msg,
        xcbuf_common::client::Buffer::new(src, len),
        xcbuf_common::client::Buffer::new(dst, len + 16),
    )
    .map_err(|e| ProbeError::Unexpected(e.to_string()))?;
    let answer = client.send(bench, session, &msg).map_err(ProbeError::Drive)?;
    if answer.svc_result.is_failure() {
        return Err(ProbeError::Unexpected(format!("probe Echo: svc {}", answer.svc_result)));
    }
    let reply = xcbuf_common::client::parse_reply(&answer.words)
        .map_err(|e| ProbeError::Unexpected(format!("probe Echo: {e}")))?;
    if reply.received(0) != Some(len as u16) {
        return Err(ProbeError::Unexpected(format!("probe Echo: received {:?} of {len}", reply.received(0))));
    }
    let got = client.read(bench, dst, len + 16).map_err(ProbeError::Unexpected)?;
    if got[..len] != data[..] || got[len..].iter().any(|&b| b != CANARY) {
        return Err(ProbeError::Unexpected("probe Echo: wrong bytes".into()));
    }
    Ok(())
}

/// Why a probe failed.
#[derive(Debug, Clone)]
pub enum ProbeError {
    Drive(DriveError),
    Unexpected(String),
}

/// Stats' `open_sessions` seen through `session`.
pub fn stats_open_sessions(client: &mut HostClient, bench: &mut HostBench, session: u32) -> Option<u32> {
    let mut msg = [0u32; MESSAGE_WORDS];
    xcbuf_common::client::build_stats(&mut msg).ok()?;
    let a = client.send(bench, session, &msg).ok()?;
    let reply = xcbuf_common::client::parse_reply(&a.words).ok()?;
    reply.read::<xcbuf::StatsResponse>().ok().map(|s| s.open_sessions)
}

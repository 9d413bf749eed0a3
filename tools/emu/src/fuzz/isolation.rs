//! The cross-session campaign: no byte of one client's request reaches another client's
//! C buffers.

use super::case::{ALL_SERVICES, CANARY};
use super::rng::SplitMix64;
use crate::host_client::{HIGH_BUFFERS, HostBench, HostClient, LOW_BUFFERS, MESSAGE_WORDS};

/// What [`isolation`] saw.
#[derive(Debug, Clone, Default)]
pub struct IsolationReport {
    pub rounds: u64,
    /// Bytes of B's C buffers checked.
    pub bytes_checked: u64,
    pub problems: Vec<String>,
}

/// Client A sends secret bytes via X (Echo, Concat, Split); client B then asks for
/// outputs far larger than what the server writes, into C buffers pre-filled with the
/// canary. Every byte B's C buffers hold must be B's own input or the canary, and the
/// reply X sizes must be what the server wrote.
pub fn isolation(bench: &mut HostBench, rounds: u64, seed: u64) -> Result<IsolationReport, String> {
    let mut rng = SplitMix64::new(seed);
    let mut a = HostClient::new(bench, "client-a")?;
    let mut b = HostClient::new(bench, "client-b")?;
    let mut r = IsolationReport::default();
    use xcbuf_common::client::{self as c, Buffer};
    for round in 0..rounds {
        let service = ALL_SERVICES[(round % 2) as usize];
        let pbs = service.pointer_buffer_size;
        let sa = a.connect(bench, service.name).map_err(|e| format!("A connect: {e}"))?;
        let sb = b.connect(bench, service.name).map_err(|e| format!("B connect: {e}"))?;
        // A: fill as much of the pointer buffer as its X may with a secret pattern
        // (0x5E, never the canary or B's bytes).
        let secret = vec![0x5Eu8; 0x200];
        a.write(bench, HIGH_BUFFERS, &secret)?;
        let mut msg = [0u32; MESSAGE_WORDS];
        let inputs: Vec<Buffer> = (0..3).map(|k| Buffer::new(HIGH_BUFFERS, [0x200, 0x100, 0x40][k])).collect();
        c::build_concat(&mut msg, &inputs, Buffer::new(LOW_BUFFERS, 0x400)).map_err(|e| e.to_string())?;
        let _ = a.send(bench, sa, &msg).map_err(|e| e.to_string())?;
        c::build_echo(&mut msg, Buffer::new(HIGH_BUFFERS, 0x200), Buffer::new(LOW_BUFFERS, 0x200))
            .map_err(|e| e.to_string())?;
        let _ = a.send(bench, sa, &msg).map_err(|e| e.to_string())?;
        // B: small inputs (bytes 0x01..), huge outputs.
        let n = 1 + rng.below(16) as usize;
        let mine: Vec<u8> = (0..n).map(|i| 1 + (i % 0x50) as u8).collect();
        b.write(bench, HIGH_BUFFERS, &mine)?;
        let out0 = LOW_BUFFERS;
        let out1 = LOW_BUFFERS + 0x1000;
        let big = pbs - 0x40;
        for (addr, len) in [(out0, 0x1000usize), (out1, 0x1000)] {
            b.write(bench, addr, &vec![CANARY; len])?;
        }
        let which = round % 3;
        match which {
            0 => c::build_echo(&mut msg, Buffer::new(HIGH_BUFFERS, n), Buffer::new(out0, 0xFFFF)),
            1 => c::build_concat(&mut msg, &[Buffer::new(HIGH_BUFFERS, n)], Buffer::new(out0, big)),
            _ => c::build_split(
                &mut msg,
                Buffer::new(HIGH_BUFFERS, n),
                (n / 2) as u32,
                Buffer::new(out0, big / 2),
                Buffer::new(out1, big / 2),
            ),
        }
        .map_err(|e| e.to_string())?;
        let answer = b.send(bench, sb, &msg).map_err(|e| e.to_string())?;
        let received = |k: u8| -> usize {
            c::parse_reply(&answer.words).ok().and_then(|rep| rep.received(k)).map_or(0, usize::from)
        };
        let (want0, want1): (Vec<u8>, Vec<u8>) = match which {
            0 | 1 => (mine.clone(), vec![]),
            _ => (mine[..n / 2].to_vec(), mine[n / 2..].to_vec()),
        };
        if answer.svc_result.is_failure() {
            r.problems.push(format!("round {round}: B's request failed with svc {}", answer.svc_result));
        }
        for (k, addr, want) in [(0u8, out0, &want0), (1, out1, &want1)] {
            let got = b.read(bench, addr, 0x1000)?;
            r.bytes_checked += got.len() as u64;
            if received(k) != want.len() && !(want.is_empty() && received(k) == 0) {
                r.problems.push(format!("round {round}: C[{k}] reply size {} != {} written", received(k), want.len()));
            }
            if got[..want.len()] != want[..] {
                r.problems.push(format!("round {round}: C[{k}] does not start with B's bytes"));
            }
            if let Some(i) = got[want.len()..].iter().position(|&x| x != CANARY) {
                let byte = got[want.len() + i];
                let whose = if byte == 0x5E { " (A's secret)" } else { "" };
                r.problems.push(format!(
                    "round {round}: C[{k}] byte {} = {byte:#x}{whose} past what was written",
                    want.len() + i
                ));
            }
        }
        a.close(bench, sa).map_err(|e| e.to_string())?;
        b.close(bench, sb).map_err(|e| e.to_string())?;
        r.rounds += 1;
    }
    Ok(r)
}

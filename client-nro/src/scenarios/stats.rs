//! stats: the server's counters move by exactly the traffic this client sent between two
//! Stats snapshots (design.md, Stats: requests, bytes in, bytes out, errors).

use alloc::format;
use alloc::vec;

use xcbuf_common::client::{self, Buffer, Call};
use xcbuf_common::xcbuf::{Command, StatsResponse};

use super::{CallError, Ctx, pattern, unexpected};
use crate::ipc::{Ipc, SINGLE, address_of, address_of_mut};
use crate::report::{Failure, Outcome};

pub fn stats<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    let s0 = ctx.stats(&SINGLE)?;
    // Echo of 16 bytes: 16 in, 16 out.
    let echo_in = pattern(9, 16);
    let mut echo_out = [0u8; 16];
    let (x, c) = (Buffer::new(address_of(&echo_in), 16), Buffer::new(address_of_mut(&mut echo_out), 16));
    ctx.call(&SINGLE, |m| client::build_echo(m, x, c)).map_err(|e| unexpected("Echo", e))?;
    // Concat of 0x13 + 0x20 bytes into a 0x40-byte C: 0x33 in, 0x33 out.
    let (a, b) = (pattern(10, 0x13), pattern(11, 0x20));
    let mut cat = vec![0u8; 0x40];
    let xs = [Buffer::new(address_of(&a), a.len()), Buffer::new(address_of(&b), b.len())];
    let c = Buffer::new(address_of_mut(&mut cat), cat.len());
    ctx.call(&SINGLE, |m| client::build_concat(m, &xs, c)).map_err(|e| unexpected("Concat", e))?;
    // One request answered with an error.
    match ctx.call(&SINGLE, |m| client::build_request(m, &Call { command_id: 77, ..Call::new(Command::GetInfo) })) {
        Err(CallError::Client(client::ClientError::Service(_))) => {}
        other => return Err(Failure::new("an error reply to command 77", format!("{other:?}"))),
    }
    let s1 = ctx.stats(&SINGLE)?;
    let sent =
        StatsResponse { requests: 4, bytes_in: 16 + 0x33, bytes_out: 16 + 0x33, errors: 1, ..StatsResponse::default() };
    let delta = StatsResponse {
        requests: s1.requests.wrapping_sub(s0.requests),
        bytes_in: s1.bytes_in.wrapping_sub(s0.bytes_in),
        bytes_out: s1.bytes_out.wrapping_sub(s0.bytes_out),
        errors: s1.errors.wrapping_sub(s0.errors),
        ..StatsResponse::default()
    };
    if delta != sent {
        return Err(Failure::new(
            format!(
                "deltas requests +{}, bytes in +{:#x}, bytes out +{:#x}, errors +{}",
                sent.requests, sent.bytes_in, sent.bytes_out, sent.errors
            ),
            format!("+{}, +{:#x}, +{:#x}, +{}", delta.requests, delta.bytes_in, delta.bytes_out, delta.errors),
        ));
    }
    if s1.open_sessions == 0 || s1.total_sessions < s1.open_sessions || s1.pointer_buffer_high_water == 0 {
        return Err(Failure::new(
            "open sessions > 0, total >= open, a non-zero pointer-buffer high-water mark",
            format!(
                "open {}, total {}, high-water {:#x}",
                s1.open_sessions, s1.total_sessions, s1.pointer_buffer_high_water
            ),
        ));
    }
    Ok(format!(
        "after Echo 0x10, Concat 0x13+0x20, one unknown command and this Stats: requests +4, bytes in +{:#x}, bytes out +{:#x}, errors +1 (open {}, total {}, pointer-buffer high-water {:#x})",
        delta.bytes_in, delta.bytes_out, s1.open_sessions, s1.total_sessions, s1.pointer_buffer_high_water
    ))
}

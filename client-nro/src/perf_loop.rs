//! The perf loop (feature `perf-loop`, for `make bench` only): instead of the scenario
//! suite, N Echo requests of 16 bytes, N Echo of 1 KiB and N Concat of 4 X of 16 bytes on
//! `xcbuf`, with a marker line before each phase. The bench (tools/emu perf/) snapshots
//! every counter inside the svcOutputDebugString of each marker line:
//!
//! ```text
//! @perf begin echo16 <n>
//! @perf begin echo1k <n>
//! @perf begin concat4 <n>
//! @perf end errors=<failed requests>
//! ```
//!
//! Every buffer is allocated before the first marker, so a phase holds only requests.
//! Each reply's `bytes_written` and X size are checked; the payload is compared after
//! the last request of each phase.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use xcbuf_common::client::{self, Buffer, ReplyView};
use xcbuf_common::xcbuf::{ConcatResponse, EchoResponse};

use crate::ipc::{Ipc, SINGLE, address_of, address_of_mut};
use crate::report::{Failure, Report, Sink};
use crate::scenarios::{Ctx, pattern};

/// Requests per phase: 10,000 Echo requests in steady state.
pub const REQUESTS: u32 = 10_000;
/// Requests before the first marker: the session is open and the server in steady state.
pub const WARMUP: u32 = 8;
/// Marker prefix the bench looks for (tools/emu perf/markers.rs `MARK_PREFIX`).
pub const MARK_PREFIX: &str = "@perf ";

/// One Echo of `input` into `output`; true when the reply is whole.
fn echo<I: Ipc>(ctx: &mut Ctx<'_, I>, input: &[u8], output: &mut [u8]) -> bool {
    let len = input.len();
    let x = Buffer::new(address_of(input), len);
    let c = Buffer::new(address_of_mut(output), output.len());
    let whole = |reply: ReplyView<'_>| {
        let resp = reply.read::<EchoResponse>()?;
        Ok(resp.bytes_written as usize == len && reply.received(0).map(usize::from) == Some(len))
    };
    ctx.call_read(&SINGLE, |m| client::build_echo(m, x, c), whole).unwrap_or(false)
}

/// One Concat of `inputs` into `output`; true when the reply is whole.
fn concat<I: Ipc>(ctx: &mut Ctx<'_, I>, inputs: &[Buffer], output: &mut [u8], total: usize) -> bool {
    let c = Buffer::new(address_of_mut(output), output.len());
    let whole = |reply: ReplyView<'_>| {
        let resp = reply.read::<ConcatResponse>()?;
        Ok(resp.bytes_written as usize == total && reply.received(0).map(usize::from) == Some(total))
    };
    ctx.call_read(&SINGLE, |m| client::build_concat(m, inputs, c), whole).unwrap_or(false)
}

/// Runs the phases of `requests` each; returns the number of failed requests (also on
/// the end marker).
pub fn run<I: Ipc, S: Sink>(ctx: &mut Ctx<'_, I>, sink: &mut S, requests: u32) -> u32 {
    let in16 = pattern(0x16, 16);
    let mut out16 = vec![0u8; 16];
    let in1k = pattern(0x1c, 1024);
    let mut out1k = vec![0u8; 1024];
    let parts: Vec<Vec<u8>> = (1u8..=4).map(|i| pattern(i.wrapping_mul(0x10), 16)).collect();
    let xs: Vec<Buffer> = parts.iter().map(|p| Buffer::new(address_of(p), p.len())).collect();
    let all: Vec<u8> = parts.iter().flatten().copied().collect();
    let mut out64 = vec![0u8; all.len()];
    let mut errors = 0u32;
    let mut count = |ok: bool| {
        if !ok {
            errors = errors.saturating_add(1);
        }
    };

    for _ in 0..WARMUP {
        count(echo(ctx, &in16, &mut out16));
    }
    sink.line(format_args!("{MARK_PREFIX}begin echo16 {requests}"));
    for _ in 0..requests {
        count(echo(ctx, &in16, &mut out16));
    }
    count(out16 == in16);
    sink.line(format_args!("{MARK_PREFIX}begin echo1k {requests}"));
    for _ in 0..requests {
        count(echo(ctx, &in1k, &mut out1k));
    }
    count(out1k == in1k);
    sink.line(format_args!("{MARK_PREFIX}begin concat4 {requests}"));
    for _ in 0..requests {
        count(concat(ctx, &xs, &mut out64, all.len()));
    }
    count(out64 == all);
    sink.line(format_args!("{MARK_PREFIX}end errors={errors}"));
    errors
}

/// [`run`] with [`REQUESTS`] per phase, recorded as one report line (`perf-loop`), so
/// the NRO's exit result says whether every request succeeded.
/// Markers go to `markers` (the same debug output as the report's).
pub fn record<I: Ipc, S: Sink, M: Sink>(ctx: &mut Ctx<'_, I>, report: &mut Report<S>, markers: &mut M) {
    let errors = run(ctx, markers, REQUESTS);
    let outcome = if errors == 0 {
        Ok(format!("{REQUESTS} echo16, {REQUESTS} echo1k and {REQUESTS} concat4 requests, all whole"))
    } else {
        Err(Failure::new("no failed request", format!("{errors} failed")))
    };
    report.record("perf-loop", &outcome);
}

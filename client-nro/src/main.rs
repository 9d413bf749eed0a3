//! The xcbuf client NRO: picks the server (the sysmodule, or the same server loop
//! in-process), runs the scenario suite and reports each result on debug output
//! (`xcbuf_client::report`). The exit result is 0 when every scenario passed; otherwise
//! module = failures and description = passes (hbmenu shows it, screen-output.md §3).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::format;

use xcbuf_client::horizon::{DebugSink, Transport};
use xcbuf_client::report::{Failure, Report};
use xcbuf_client::scenarios::Ctx;
use xcbuf_common::result::{ResultCode, xcbuf::MODULE};
use xcbuf_rt as rt;

rt::entry!(main);

fn main() -> Result<(), ResultCode> {
    let (mut transport, kind) = Transport::choose()?;
    let mut report = Report::start(DebugSink, kind);
    match Ctx::open(&mut transport) {
        Ok(mut ctx) => {
            #[cfg(feature = "bench-loop")]
            xcbuf_client::bench_loop::record(&mut ctx, &mut report, &mut DebugSink);
            #[cfg(not(feature = "bench-loop"))]
            xcbuf_client::scenarios::run_all(&mut ctx, &mut report);
            ctx.close();
        }
        Err(rc) => report.record("connect", &Err(Failure::new("a session to xcbuf and xcbuf:i", format!("{rc}")))),
    }
    let (passed, failed, _) = report.finish();
    transport.shutdown()?;
    if failed == 0 {
        return Ok(());
    }
    // module = failures (1..=511), description = passes (0..=8191); out of range ->
    // xcbuf's own module with the failure count.
    let module = failed.min(0x1FF);
    Err(ResultCode::try_new(module, passed.min(0x1FFF)).unwrap_or(ResultCode::new(MODULE, 0)))
}

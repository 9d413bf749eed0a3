//! The xcbuf client NRO: picks the server (the sysmodule, or the same server loop
//! in-process), runs the scenario suite and reports each result on debug output
//! (`xcbuf_client::report`), then writes the whole report to sdmc:/switch/xcbuf/report.txt
//! (`xcbuf_client::report_file`). The exit result is 0 when every scenario passed; otherwise
//! module = failures and description = passes (hbmenu shows it, screen-output.md §3).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::format;

use xcbuf_client::horizon::{DebugSink, Transport};
use xcbuf_client::report::{Failure, Keep, Report, Sink};
use xcbuf_client::scenarios::Ctx;
use xcbuf_common::result::{ResultCode, xcbuf::MODULE};
use xcbuf_rt as rt;

rt::entry!(main);

fn main() -> Result<(), ResultCode> {
    let (mut transport, kind) = Transport::choose()?;
    let mut report = Report::start(Keep::new(DebugSink), kind);
    match Ctx::open(&mut transport) {
        Ok(mut ctx) => {
            #[cfg(feature = "perf-loop")]
            xcbuf_client::perf_loop::record(&mut ctx, &mut report, &mut DebugSink);
            #[cfg(not(feature = "perf-loop"))]
            xcbuf_client::scenarios::run_all(&mut ctx, &mut report);
            ctx.close();
        }
        Err(rc) => report.record("connect", &Err(Failure::new("a session to xcbuf and xcbuf:i", format!("{rc}")))),
    }
    let (passed, failed, mut kept) = report.finish();
    // The report file never changes the suite's result (screen-output.md §3).
    match xcbuf_client::report_file::write(&kept.text) {
        Ok(n) => kept
            .inner
            .line(format_args!("report: written to sdmc:{} ({n} bytes)", xcbuf_client::report_file::REPORT_PATH)),
        Err(why) => kept.inner.line(format_args!("report: not written ({why})")),
    }
    transport.shutdown()?;
    if failed == 0 {
        return Ok(());
    }
    // module = failures (1..=511), description = passes (0..=8191); out of range ->
    // xcbuf's own module with the failure count.
    let module = failed.min(0x1FF);
    Err(ResultCode::try_new(module, passed.min(0x1FFF)).unwrap_or(ResultCode::new(MODULE, 0)))
}

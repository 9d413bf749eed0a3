//! The xcbuf client NRO: picks the server (the sysmodule, or the same server loop
//! in-process), shows the report page on screen (`xcbuf_client::screen`, screen-output.md
//! §1g), runs the scenario suite and reports each result on debug output and on the page
//! (`xcbuf_client::report`), then writes the whole report to sdmc:/switch/xcbuf/report.txt
//! (`xcbuf_client::report_file`), waits for + or B (`xcbuf_client::input`) and closes the
//! page. The exit result is 0 when every scenario passed; otherwise module = failures and
//! description = passes (hbmenu shows it, screen-output.md §3). A screen step that fails
//! changes none of that: the report says which step and why.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::format;

use xcbuf_client::horizon::Transport;
use xcbuf_client::report::{self, Failure, Keep, Report, Sink};
use xcbuf_client::scenarios::Ctx;
use xcbuf_client::screen::Screen;
use xcbuf_client::screen::sink::ScreenSink;
use xcbuf_common::result::{ResultCode, xcbuf::MODULE};
use xcbuf_rt as rt;

// The heap when no loader hands one over (Eden, Ryujinx): the suite, the 8 MiB transfer
// memory nvdrv gets and the two 0x3C0000-byte frames (screen-output.md §1c, §1e).
rt::entry!(main, heap = rt::heap::HeapStrategy::Loader { fallback_size: 32 << 20 });

/// How long the page stays when the buttons cannot be read.
const HOLD_WITHOUT_BUTTONS_NS: i64 = 10_000_000_000;

fn main() -> Result<(), ResultCode> {
    let (mut transport, kind) = Transport::choose()?;
    let (screen, not_shown) = match Screen::open() {
        Ok(s) => (Some(s), None),
        Err(e) => (None, Some(e)),
    };
    let mut out = ScreenSink::new(screen);
    out.line(format_args!("{}", report::title(kind)));
    let mut report = Report::start(Keep::new(out), kind);
    if let Some(e) = not_shown {
        report.note(format_args!("screen: not shown: {e}"));
    }
    match Ctx::open(&mut transport) {
        Ok(mut ctx) => {
            #[cfg(feature = "perf-loop")]
            xcbuf_client::perf_loop::record(&mut ctx, &mut report, &mut xcbuf_client::horizon::DebugSink);
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
    kept.inner.finish(HOLD_WITHOUT_BUTTONS_NS);
    transport.shutdown()?;
    if failed == 0 {
        return Ok(());
    }
    // module = failures (1..=511), description = passes (0..=8191); out of range ->
    // xcbuf's own module with the failure count.
    let module = failed.min(0x1FF);
    Err(ResultCode::try_new(module, passed.min(0x1FFF)).unwrap_or(ResultCode::new(MODULE, 0)))
}

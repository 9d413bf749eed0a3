//! The screen as a report [`Sink`]: every line goes to the debug output (one
//! svcOutputDebugString per line, as before) and, while the page is up, onto the page, so
//! the bench can rebuild the page from the guest's output with `common::screen::Page`.
//! If a step fails while the page is up, the page stops there: one debug line says which
//! step and why, and every later line goes to the debug output only.

use core::fmt;

use alloc::string::String;
use xcbuf_common::screen::Page;
use xcbuf_rt as rt;

use super::{Screen, StepError};
use crate::horizon::DebugSink;
use crate::report::Sink;

/// Debug output, plus the page while it works.
pub struct ScreenSink {
    screen: Option<Screen>,
    /// The step that stopped the page after it was up.
    pub stopped: Option<StepError>,
}

impl ScreenSink {
    pub fn new(screen: Option<Screen>) -> ScreenSink {
        ScreenSink { screen, stopped: None }
    }

    /// Whether the page is up and current.
    pub fn is_shown(&self) -> bool {
        self.screen.is_some() && self.stopped.is_none()
    }

    fn stop(&mut self, e: StepError) {
        DebugSink.line(format_args!("page stopped: {e}"));
        self.stopped = Some(e);
    }

    /// Ends the page: the exit hint (printed too), then row 27 (wait for + or B) when the
    /// buttons can be read; otherwise the page stays `hold_ns` and says why. Then rows
    /// 28-33; each failing step prints a debug line.
    pub fn finish(mut self, hold_ns: i64) {
        let Some(mut screen) = self.screen.take() else { return };
        if self.stopped.is_none() {
            match screen.input() {
                Ok(_) => {
                    DebugSink.line(format_args!("{}", Page::EXIT_HINT));
                    match screen.push_exit_hint() {
                        Ok(()) => {
                            if let Ok(input) = screen.input() {
                                input.wait_for_exit();
                            }
                        }
                        Err(e) => self.stop(e),
                    }
                }
                Err(e) => {
                    let line = alloc::format!("screen: buttons not available: {e}; closing in a few seconds");
                    DebugSink.line(format_args!("{line}"));
                    if screen.push_line(&line).is_ok() {
                        rt::svc::sleep_thread(hold_ns);
                    }
                }
            }
        }
        screen.close(|e| DebugSink.line(format_args!("page closing: {e}")));
    }
}

impl Sink for ScreenSink {
    fn line(&mut self, line: fmt::Arguments<'_>) {
        let mut text = String::new();
        let _ = fmt::Write::write_fmt(&mut text, line);
        DebugSink.line(format_args!("{text}"));
        if self.stopped.is_some() {
            return;
        }
        if let Some(screen) = &mut self.screen
            && let Err(e) = screen.push_line(&text)
        {
            self.stop(e);
        }
    }
}

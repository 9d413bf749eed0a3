//! The report on screen: a text page on a managed layer, following screen-output.md §1g
//! (rows 1-35) in libnx's order (`__appInit`, `consoleInit`, `consoleExit`, `__appExit`).
//! One concept per module:
//!
//! | module | rows | what |
//! |---|---|---|
//! | [`applet`] | 2-10, 14, 33 | am: the proxy (appletOE / appletAE), ARUID, focus, the managed layer |
//! | `crate::input` | 11, 26-27, 32 | hid: the buttons |
//! | [`display`] | 12-13, 15, 31 | vi: display, layer, scaling, the relay |
//! | [`buffer_queue`] | 16-17, 23-25, 28 | the layer's IGraphicBufferProducer through the relay |
//! | [`nvdrv`] | 18-22, 29-30 | nvdrv + transfer memory, the nvmap buffer, fence waits |
//! | [`framebuffer`] | 23, 25 | the two frames, drawn incrementally, cache cleaned |
//!
//! [`Screen::open`] runs rows 2-26 and shows the (empty) page; [`Screen::push_line`] adds a
//! report line and presents it (dequeue, wait for the fence, draw what changed, clean the
//! cache, queue); [`Screen::wait_for_exit`] is row 27; [`Screen::close`] rows 28-33. A
//! failing step gives a [`StepError`] naming it and its result.

pub mod applet;
pub mod buffer_queue;
pub mod display;
pub mod framebuffer;
pub mod nvdrv;
pub mod sink;

use core::fmt;

use xcbuf_rt as rt;

use xcbuf_common::result::ResultCode;
use xcbuf_common::screen::{Console, Page};

use crate::input::Input;
use applet::Applet;
use buffer_queue::BufferQueue;
use display::Display;
use framebuffer::{Framebuffers, SLOTS};
use nvdrv::{NvBuffer, Nvdrv};

/// Why a step failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// An svc or a service answered this result.
    Result(ResultCode),
    /// nvdrv answered this nv error.
    NvError(u32),
    /// The buffer queue answered this status (a negative errno).
    Status(i32),
    /// A reply did not have the expected content.
    Reply(&'static str),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Result(rc) => write!(f, "{rc}"),
            Cause::NvError(e) => write!(f, "nv error {e:#x}"),
            Cause::Status(s) => write!(f, "status {s}"),
            Cause::Reply(what) => write!(f, "unexpected reply: {what}"),
        }
    }
}

/// A failed step: which, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepError {
    pub step: &'static str,
    pub cause: Cause,
}

impl StepError {
    pub fn result(step: &'static str, rc: ResultCode) -> StepError {
        StepError { step, cause: Cause::Result(rc) }
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed ({})", self.step, self.cause)
    }
}

pub type StepResult<T> = Result<T, StepError>;

/// `Result<T, ResultCode>` -> a failed step named `step`.
pub trait Step<T> {
    fn step(self, step: &'static str) -> StepResult<T>;
}

impl<T> Step<T> for Result<T, ResultCode> {
    fn step(self, step: &'static str) -> StepResult<T> {
        self.map_err(|rc| StepError::result(step, rc))
    }
}

/// The page on screen. Fields drop in this order when a step fails half-way: nvdrv (its
/// session releases the nvmap buffer and the transfer memory) before the frames' memory,
/// the layer before am.
pub struct Screen {
    nv: Nvdrv,
    frames: Framebuffers,
    buffer: NvBuffer,
    queue: BufferQueue,
    display: Display,
    input: Result<Input, StepError>,
    applet: Applet,
    console: Console,
}

impl Screen {
    /// Rows 2-26, then the first (empty) frame is queued: the page is visible.
    pub fn open() -> StepResult<Screen> {
        let applet = Applet::open(applet::proxy_kind(rt::env().applet_type))?;
        // Row 11; the buttons are optional: the page is shown without them.
        let input = Input::open(applet.aruid);
        let mut display = Display::open()?;
        display.open_layer(&applet)?;
        let mut queue = BufferQueue::connect(&display.relay, display.binder_id)?;
        let frames = Framebuffers::new()?;
        let nv = Nvdrv::open(applet.kind, applet.aruid)?;
        let buffer = nv.create_buffer(&frames.memory)?;
        for slot in 0..SLOTS {
            queue.set_preallocated_buffer(&display.relay, slot, buffer.id)?;
        }
        let console = Console::new();
        let mut screen = Screen { nv, frames, buffer, queue, display, input, applet, console };
        screen.present()?;
        // Row 26 (after the page is up, as an application's padConfigureInput runs after
        // consoleInit).
        if let Some(Err(e)) = screen.input.as_ref().ok().map(Input::configure) {
            screen.input = Err(e);
        }
        Ok(screen)
    }

    /// Dequeue (and wait for the slot's fence), draw what changed, clean, queue.
    fn present(&mut self) -> StepResult<()> {
        let relay = &self.display.relay;
        let (slot, fence) = self.queue.dequeue(relay)?;
        for f in fence.active() {
            self.nv.wait_syncpoint(f.id, f.value)?;
        }
        self.queue.request_buffer(relay, slot)?;
        self.frames.draw(slot, &self.console);
        self.queue.queue(relay, slot)
    }

    /// Adds one report line (coloured by `Page`) and shows it.
    pub fn push_line(&mut self, line: &str) -> StepResult<()> {
        let rows = Page::push_report_line(&mut self.console, line);
        self.frames.changed(rows);
        self.present()
    }

    /// Shows [`Page::EXIT_HINT`] at the bottom.
    pub fn push_exit_hint(&mut self) -> StepResult<()> {
        let rows = Page::push_exit_hint(&mut self.console);
        self.frames.changed(rows);
        self.present()
    }

    /// Whether the buttons can be read (else why not).
    pub fn input(&self) -> Result<&Input, StepError> {
        self.input.as_ref().map_err(|e| *e)
    }

    /// Rows 28-33. Every step runs; the failures are passed to `failed` in order.
    pub fn close(self, mut failed: impl FnMut(StepError)) {
        let Screen { nv, frames, buffer, queue, display, input, applet, console: _ } = self;
        let mut check = |r: StepResult<()>| {
            if let Err(e) = r {
                failed(e)
            }
        };
        check(queue.disconnect(&display.relay));
        check(nv.free_buffer(buffer));
        check(nv.close());
        drop(frames);
        check(display.close());
        if let Ok(input) = input {
            check(input.close());
        }
        applet.close();
    }
}

//! Debug output through svcOutputDebugString (0x27), gathered in a stack buffer (no
//! allocation). Emulators show this output (emulator-bench.md §5), and the bench reads it.
//!
//! Two ways to write one line (the text and `\n`, in one svc call when it fits
//! [`LINE_BUFFER_SIZE`] bytes, otherwise in several):
//! - [`line`]: pieces of `xcbuf_common::text` (strings, decimal and hex integers, result
//!   codes), without `core::fmt`. rt itself and the sysmodule log only this way, so
//!   `core::fmt` is not linked into the sysmodule (`make bench`, "sysmodule image").
//! - [`crate::log!`]: `core::fmt` arguments, for programs that have `core::fmt` anyway (the
//!   client NRO's report).

use core::fmt::{self, Write};

use xcbuf_common::text::{self, Piece, Sink};

/// Bytes gathered before each svcOutputDebugString.
pub const LINE_BUFFER_SIZE: usize = 256;

/// A `fmt::Write` that sends its text to svcOutputDebugString in chunks.
pub struct DebugWriter {
    buffer: [u8; LINE_BUFFER_SIZE],
    len: usize,
}

impl DebugWriter {
    pub const fn new() -> Self {
        DebugWriter { buffer: [0; LINE_BUFFER_SIZE], len: 0 }
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        if let Some(text) = self.buffer.get(..self.len).filter(|text| !text.is_empty()) {
            let _ = crate::svc::output_debug_string(text);
        }
        self.len = 0;
    }
}

impl Default for DebugWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl Sink for DebugWriter {
    // One copy: with one Sink in the program the compiler would otherwise devirtualize and
    // inline this loop at every piece of every log line.
    #[inline(never)]
    fn put(&mut self, text: &str) {
        // `get`/`split_at_checked` instead of indexing: no panic site here, so no
        // formatted bounds message (and its `core::fmt` code) is linked.
        let mut rest = text.as_bytes();
        while !rest.is_empty() {
            if self.len >= LINE_BUFFER_SIZE {
                self.flush();
            }
            let Some(free) = self.buffer.get_mut(self.len..) else { return };
            let take = free.len().min(rest.len());
            let (now, later) = rest.split_at_checked(take).unwrap_or((rest, &[]));
            if let Some(dest) = free.get_mut(..now.len()) {
                dest.copy_from_slice(now);
            }
            self.len += now.len();
            rest = later;
        }
    }
}

impl Write for DebugWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.put(text);
        Ok(())
    }
}

impl Drop for DebugWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Writes `pieces` and a newline as one debug-output line, without `core::fmt`:
/// `rt::log::line(&[Piece::Str("x = "), Piece::Dec(3)])`.
#[inline(never)] // one copy for every log line of the program
pub fn line(pieces: &[Piece<'_>]) {
    let mut writer = DebugWriter::new();
    text::write(&mut writer, pieces);
    writer.put("\n");
}

/// Writes `args` and a newline as one debug-output line (see [`crate::log!`]).
pub fn write_line(args: fmt::Arguments<'_>) {
    let mut writer = DebugWriter::new();
    let _ = writer.write_fmt(args);
    let _ = writer.write_str("\n");
}

/// Logs one line through svcOutputDebugString: `rt::log!("x = {}", x)`.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::write_line(::core::format_args!($($arg)*))
    };
}

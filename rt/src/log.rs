//! Debug output through svcOutputDebugString (0x27), formatted with `core::fmt` into a
//! stack buffer (no allocation). Emulators show this output (emulator-bench.md §5), and
//! the bench reads it.
//!
//! [`crate::log!`] writes one line: the formatted text and `\n`, in one svc call when it
//! fits [`LINE_BUFFER_SIZE`] bytes, otherwise in several.

use core::fmt::{self, Write};

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
        if self.len > 0 {
            let _ = crate::svc::output_debug_string(&self.buffer[..self.len]);
            self.len = 0;
        }
    }
}

impl Default for DebugWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for DebugWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text.as_bytes();
        while !rest.is_empty() {
            if self.len == LINE_BUFFER_SIZE {
                self.flush();
            }
            let room = LINE_BUFFER_SIZE - self.len;
            let take = room.min(rest.len());
            self.buffer[self.len..self.len + take].copy_from_slice(&rest[..take]);
            self.len += take;
            rest = &rest[take..];
        }
        Ok(())
    }
}

impl Drop for DebugWriter {
    fn drop(&mut self) {
        self.flush();
    }
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

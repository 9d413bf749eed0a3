//! Log text without `core::fmt`: strings, decimal and hexadecimal integers and result codes,
//! written piece by piece into a [`Sink`].
//!
//! The sysmodule logs through this module only, so `core::fmt` (its formatting machinery,
//! the `Display` impls of the integer types, the vtables and their relocations, about half
//! of the sysmodule's text) is not linked into it (`make bench`, "sysmodule image"). A log
//! line is a slice of [`Piece`]s; rt's debug writer (`xcbuf_rt::log`) is the sink on the
//! Switch, a `String` in the host tests ([`Line`] shows a line through `Display`).
//!
//! The text is the same as `core::fmt` would write: [`Piece::Dec`] as `{}`, [`Piece::Hex`]
//! as `{:#x}`, [`Piece::Result`] as [`ResultCode`]'s `Display` (which is written with
//! [`ResultCode::write_text`]).
#![forbid(unsafe_code)]

use core::fmt;
use core::num::NonZeroU64;

use crate::result::ResultCode;

const TEN: NonZeroU64 = NonZeroU64::MIN.saturating_add(9);
const SIXTEEN: NonZeroU64 = NonZeroU64::MIN.saturating_add(15);

/// Where text goes.
pub trait Sink {
    /// Appends `text`.
    fn put(&mut self, text: &str);
}

/// One piece of a log line.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Piece<'a> {
    /// Text as it is.
    Str(&'a str),
    /// An unsigned integer in decimal (`{}`).
    Dec(u64),
    /// An unsigned integer in lowercase hexadecimal with `0x` (`{:#x}`).
    Hex(u64),
    /// A result code as its `Display` writes it: `0xce01 (kernel OutOfResource)`.
    Result(ResultCode),
}

/// A `usize` as a [`Piece::Dec`] (usize is at most 64 bits on every target of the project).
pub const fn dec(value: usize) -> Piece<'static> {
    Piece::Dec(value as u64)
}

/// A `usize` as a [`Piece::Hex`].
pub const fn hex(value: usize) -> Piece<'static> {
    Piece::Hex(value as u64)
}

/// Writes each piece in order.
#[inline(never)] // one copy: log paths are cold, and the sysmodule counts its bytes
pub fn write(sink: &mut dyn Sink, pieces: &[Piece<'_>]) {
    for piece in pieces {
        match *piece {
            Piece::Str(text) => sink.put(text),
            Piece::Dec(value) => put_dec(sink, value),
            Piece::Hex(value) => put_hex(sink, value),
            Piece::Result(rc) => rc.write_text(sink),
        }
    }
}

/// `value` in decimal (`{}`).
pub fn put_dec(sink: &mut dyn Sink, value: u64) {
    put_digits(sink, value, TEN, "");
}

/// `value` in lowercase hexadecimal with `0x` (`{:#x}`).
pub fn put_hex(sink: &mut dyn Sink, value: u64) {
    put_digits(sink, value, SIXTEEN, "0x");
}

/// Digits of `value` in `base` (10 or 16, lowercase), after `prefix`, most significant
/// first, one `put` each (small code: log lines are off the request path).
#[inline(never)]
fn put_digits(sink: &mut dyn Sink, value: u64, base: NonZeroU64, prefix: &str) {
    const DIGITS: &str = "0123456789abcdef";
    sink.put(prefix);
    // The largest power of `base` not above `value` (1 for 0): `scale * base` does not
    // overflow while it stays at most `value`.
    let mut scale = NonZeroU64::MIN;
    while value / scale >= base.get() {
        match scale.checked_mul(base) {
            Some(next) => scale = next,
            None => break,
        }
    }
    loop {
        // `(value / scale) % base` is below 16: always one character of the table.
        let digit = usize::try_from((value / scale) % base).unwrap_or(0);
        sink.put(DIGITS.get(digit..=digit).unwrap_or("?"));
        match NonZeroU64::new(scale.get() / base) {
            Some(lower) => scale = lower,
            None => break,
        }
    }
}

/// A line of pieces shown through `Display` (host tests, the client's report).
#[derive(Clone, Copy)]
pub struct Line<'a>(pub &'a [Piece<'a>]);

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sink = FmtSink { formatter: f, result: Ok(()) };
        write(&mut sink, self.0);
        sink.result
    }
}

/// A [`Sink`] over a `fmt::Formatter`, so `Display` impls can share the text of
/// [`write`] (the first error is kept and reported).
pub struct FmtSink<'a, 'b> {
    formatter: &'a mut fmt::Formatter<'b>,
    result: fmt::Result,
}

impl<'a, 'b> FmtSink<'a, 'b> {
    /// Runs `body` with a sink over `formatter`, then returns the first error.
    pub fn with(formatter: &'a mut fmt::Formatter<'b>, body: impl FnOnce(&mut dyn Sink)) -> fmt::Result {
        let mut sink = FmtSink { formatter, result: Ok(()) };
        body(&mut sink);
        sink.result
    }
}

impl Sink for FmtSink<'_, '_> {
    fn put(&mut self, text: &str) {
        if self.result.is_ok() {
            self.result = self.formatter.write_str(text);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate alloc;
    use alloc::format;
    use alloc::string::{String, ToString};

    use super::*;

    impl Sink for String {
        fn put(&mut self, text: &str) {
            self.push_str(text);
        }
    }

    fn text(pieces: &[Piece<'_>]) -> String {
        let mut s = String::new();
        write(&mut s, pieces);
        s
    }

    #[test]
    fn integers_are_written_as_core_fmt_writes_them() {
        for value in [0, 1, 9, 10, 15, 16, 255, 256, 0x800, 4096, 0xdead_beef, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(text(&[Piece::Dec(value)]), format!("{value}"));
            assert_eq!(text(&[Piece::Hex(value)]), format!("{value:#x}"));
        }
    }

    #[test]
    fn result_pieces_are_written_as_result_code_display_writes_them() {
        for raw in [0, 0xce01, 0xf601, 0x2a03, 0x1a3, 0xffff_ffff] {
            let rc = ResultCode::from_raw(raw);
            assert_eq!(text(&[Piece::Result(rc)]), format!("{rc}"));
        }
    }

    #[test]
    fn a_line_is_its_pieces_in_order() {
        let pieces =
            [Piece::Str("xcbuf: session "), dec(3), Piece::Str(" at "), Piece::Hex(0x8001000), Piece::Str(" end")];
        assert_eq!(text(&pieces), "xcbuf: session 3 at 0x8001000 end");
        assert_eq!(Line(&pieces).to_string(), "xcbuf: session 3 at 0x8001000 end");
    }
}

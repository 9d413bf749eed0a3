//! The glyphs: font8x8's 8×8 bitmaps (BASIC for ASCII, LATIN for U+00A0-U+00FF) drawn ×2,
//! so one cell is 16×16 pixels and 1280×720 holds 80×45 cells, the grid of libnx's console
//! (screen-output.md §1 "Framebuffer console"). Every other byte shows a visible replacement
//! glyph, never nothing.
//!
//! A cell holds one byte: ASCII and Latin-1 characters map to their code point
//! ([`cell_byte`]); anything else (other Unicode, control characters) to
//! [`REPLACEMENT_BYTE`].

use font8x8::legacy::{BASIC_LEGACY, LATIN_LEGACY};

/// Each glyph pixel is drawn as a SCALE×SCALE square.
pub const SCALE: usize = 2;
/// Glyph width and height in font pixels.
pub const GLYPH_SIZE: usize = 8;
/// A cell's width in screen pixels.
pub const CELL_WIDTH: usize = GLYPH_SIZE * SCALE;
/// A cell's height in screen pixels.
pub const CELL_HEIGHT: usize = GLYPH_SIZE * SCALE;
/// Columns of the grid.
pub const COLUMNS: usize = super::WIDTH / CELL_WIDTH;
/// Rows of the grid.
pub const ROWS: usize = super::HEIGHT / CELL_HEIGHT;

static_assertions::const_assert_eq!(COLUMNS, 80);
static_assertions::const_assert_eq!(ROWS, 45);
static_assertions::const_assert_eq!(COLUMNS * CELL_WIDTH, super::WIDTH);
static_assertions::const_assert_eq!(ROWS * CELL_HEIGHT, super::HEIGHT);

/// The byte a cell holds for a character font8x8 cannot draw.
pub const REPLACEMENT_BYTE: u8 = 0x7F;

/// The glyph for bytes without one: font8x8's '?' inverted, a solid block with a dark
/// question mark (the idea of U+FFFD), so a lost character is seen, not skipped.
pub const REPLACEMENT: [u8; 8] = invert(question_mark());

const fn question_mark() -> [u8; 8] {
    // '?' is U+003F, inside BASIC (128 entries).
    BASIC_LEGACY[0x3F]
}

const fn invert(g: [u8; 8]) -> [u8; 8] {
    let [a, b, c, d, e, f, h, i] = g;
    [!a, !b, !c, !d, !e, !f, !h, !i]
}

/// The byte a cell stores for `ch`: printable ASCII and U+00A0-U+00FF as themselves, a tab
/// as a space, anything else as [`REPLACEMENT_BYTE`].
pub const fn cell_byte(ch: char) -> u8 {
    match ch {
        '\t' => b' ',
        ' '..='~' | '\u{A0}'..='\u{FF}' => ch as u8,
        _ => REPLACEMENT_BYTE,
    }
}

/// The 8×8 bitmap of a cell byte: one byte per row, top row first; bit 0 is the leftmost
/// pixel (font8x8's order).
pub fn glyph(byte: u8) -> [u8; 8] {
    let found = match byte {
        0x20..=0x7E => BASIC_LEGACY.get(usize::from(byte)),
        0xA0..=0xFF => LATIN_LEGACY.get(usize::from(byte - 0xA0)),
        _ => None,
    };
    found.copied().unwrap_or(REPLACEMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_glyphs_are_font8x8_basic() {
        assert_eq!(glyph(b'A'), BASIC_LEGACY[0x41]);
        assert_eq!(glyph(b'A'), [0x0C, 0x1E, 0x33, 0x33, 0x3F, 0x33, 0x33, 0x00]);
        assert_eq!(glyph(b' '), [0; 8]);
    }

    #[test]
    fn latin1_glyphs_are_font8x8_latin() {
        assert_eq!(cell_byte('è'), 0xE8);
        assert_eq!(glyph(0xE8), LATIN_LEGACY[0xE8 - 0xA0]);
        assert_ne!(glyph(0xE8), REPLACEMENT);
    }

    #[test]
    fn characters_outside_the_font_show_the_replacement_glyph() {
        for ch in ['\u{2026}', '\n', '\0', '\u{7F}', '\u{9F}', '✓'] {
            assert_eq!(cell_byte(ch), REPLACEMENT_BYTE, "{ch:?}");
        }
        assert_eq!(glyph(REPLACEMENT_BYTE), REPLACEMENT);
        assert_eq!(glyph(0x05), REPLACEMENT);
        assert_eq!(glyph(0x85), REPLACEMENT);
        // Visible: most of the cell is lit.
        let lit: u32 = REPLACEMENT.iter().map(|r| r.count_ones()).sum();
        assert!(lit > 40, "{lit}");
    }

    #[test]
    fn a_tab_is_a_space() {
        assert_eq!(cell_byte('\t'), b' ');
    }
}

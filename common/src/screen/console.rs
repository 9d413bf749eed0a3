//! The text grid: 80×45 cells of {byte, colour} ([`font`]), filled line by line from the
//! top, each line wrapped at 80 columns (at a space where there is one; continuation rows
//! indented by 2), and drawn row by row onto a [`Surface`].
//!
//! The page never scrolls and never drops text silently. When a line no longer fits, the
//! row after the last line that did becomes a note, "... N more lines: see
//! sdmc:/switch/xcbuf/report.txt" (lines are removed from the bottom to make room for it
//! when needed), and every later line only raises N. A footer ([`Console::set_footer`],
//! the exit hint) always stays visible below everything else.
//!
//! The console lives in the client: 45 × 80 cells of 5 bytes plus a byte per row, about
//! 18 KiB, no heap.

use core::ops::Range;

use super::font::{self, CELL_HEIGHT, CELL_WIDTH, COLUMNS, ROWS, SCALE};
use super::surface::{SPAN_BYTES, Surface};
use super::{BYTES_PER_PIXEL, Colour};

/// Columns a continuation row starts with blank.
pub const INDENT: usize = 2;

/// Where the note of an overflowing page points.
pub const REPORT_FILE: &str = "sdmc:/switch/xcbuf/report.txt";

/// One character cell.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cell {
    /// The cell's byte ([`font::cell_byte`]); b' ' is blank.
    pub byte: u8,
    /// The glyph's colour (the background is [`Colour::BACKGROUND`]).
    pub colour: Colour,
}

impl Cell {
    /// An empty cell.
    pub const BLANK: Cell = Cell { byte: b' ', colour: Colour::WHITE };
}

type Row = [Cell; COLUMNS];
const BLANK_ROW: Row = [Cell::BLANK; COLUMNS];

/// The text grid of the report page.
#[derive(Clone)]
pub struct Console {
    cells: [Row; ROWS],
    /// `true` for a row that continues the line of the row above it.
    continues: [bool; ROWS],
    /// Rows of the lines shown (from row 0).
    body: usize,
    /// Lines not shown (0: no note).
    hidden: usize,
    /// Rows of the footer (it follows the note, or the body when there is no note).
    footer: usize,
}

impl Default for Console {
    fn default() -> Self {
        Console::new()
    }
}

impl Console {
    /// An empty page.
    pub const fn new() -> Console {
        Console { cells: [BLANK_ROW; ROWS], continues: [false; ROWS], body: 0, hidden: 0, footer: 0 }
    }

    /// Appends a line in one colour; returns the rows that changed (draw them with
    /// [`Console::render_rows`]).
    pub fn push_line(&mut self, line: &str, colour: Colour) -> Range<usize> {
        self.push_segments(&[(line, colour)])
    }

    /// Appends one line made of coloured pieces; returns the rows that changed.
    pub fn push_segments(&mut self, segments: &[(&str, Colour)]) -> Range<usize> {
        let before = self.rows_used();
        let footer_at = self.footer_start();
        let n = layout(segments, |_, _| {});
        if self.hidden == 0 && self.body + n + self.footer <= ROWS {
            // It fits: the footer, if any, moves down to make room.
            self.move_footer(footer_at, self.body + n);
            let start = self.body;
            self.write_rows(start, n, segments);
            self.body += n;
            return start..self.rows_used();
        }
        self.hidden += 1;
        if self.hidden == 1 {
            // The first line that does not fit: make room for the note.
            self.make_room(1 + self.footer);
            self.move_footer(footer_at, self.body + 1);
            self.write_note();
            return self.body..before.max(self.rows_used());
        }
        self.write_note();
        self.body..self.body + 1
    }

    /// Sets the line kept below everything else (the exit hint), replacing the previous
    /// footer; when the page is full, lines are removed from the bottom (and counted in the
    /// note) to keep it visible. Returns the rows that changed. A footer taller than half
    /// the page is cut to that height.
    pub fn set_footer(&mut self, segments: &[(&str, Colour)]) -> Range<usize> {
        let before = self.rows_used();
        let old_start = self.footer_start();
        let n = layout(segments, |_, _| {}).min(ROWS / 2);
        self.footer = 0;
        let note = self.hidden > 0 || self.body + n > ROWS;
        self.make_room(usize::from(note) + n);
        if self.hidden > 0 {
            self.write_note();
        }
        let start = self.footer_start();
        for r in start..ROWS {
            self.set_row(r, BLANK_ROW, false);
        }
        self.write_rows(start, n, segments);
        self.footer = n;
        old_start.min(self.body)..before.max(self.rows_used())
    }

    /// Rows in use: the lines shown, the note, the footer.
    pub fn rows_used(&self) -> usize {
        self.footer_start() + self.footer
    }

    /// Lines that did not fit (the N of the note).
    pub fn hidden_lines(&self) -> usize {
        self.hidden
    }

    /// The cells of row `row` (None past the grid).
    pub fn row(&self, row: usize) -> Option<&[Cell; COLUMNS]> {
        self.cells.get(row)
    }

    /// The text of row `row`, trailing blanks removed, into `out` (bytes as the cells hold
    /// them); returns the length.
    pub fn row_text(&self, row: usize, out: &mut [u8; COLUMNS]) -> usize {
        let Some(cells) = self.cells.get(row) else { return 0 };
        let mut len = 0;
        for ((o, c), i) in out.iter_mut().zip(cells.iter()).zip(1..) {
            *o = c.byte;
            if c.byte != b' ' {
                len = i;
            }
        }
        len
    }

    /// Draws the rows `rows` (cell rows, clipped to the grid): background and glyphs,
    /// every pixel of those rows, so a row drawn again shows only its new text.
    pub fn render_rows(&self, rows: Range<usize>, surface: &mut impl Surface) {
        let end = rows.end.min(ROWS);
        for r in rows.start..end {
            let Some(cells) = self.cells.get(r) else { return };
            render_row(cells, r * CELL_HEIGHT, surface);
        }
    }

    /// Draws the whole page (all 45 rows).
    pub fn render(&self, surface: &mut impl Surface) {
        self.render_rows(0..ROWS, surface);
    }

    fn footer_start(&self) -> usize {
        self.body + usize::from(self.hidden > 0)
    }

    /// Removes whole lines from the bottom of the body until `extra` rows fit after it;
    /// each removed line is counted as hidden.
    fn make_room(&mut self, extra: usize) {
        while self.body > 0 && self.body + extra > ROWS {
            // Back to the first row of the last line.
            loop {
                self.body -= 1;
                let first = !self.continues.get(self.body).copied().unwrap_or(false);
                self.set_row(self.body, BLANK_ROW, false);
                if first || self.body == 0 {
                    break;
                }
            }
            self.hidden += 1;
        }
    }

    /// Moves the footer's rows from `from` to `to` (rows left behind become blank).
    fn move_footer(&mut self, from: usize, to: usize) {
        let n = self.footer;
        if n == 0 || from == to {
            return;
        }
        // Like memmove: from the far end when moving down.
        if to > from {
            for i in (0..n).rev() {
                self.copy_row(from + i, to + i);
            }
        } else {
            for i in 0..n {
                self.copy_row(from + i, to + i);
            }
        }
        for r in from..from + n {
            if r < to || r >= to + n {
                self.set_row(r, BLANK_ROW, false);
            }
        }
    }

    fn copy_row(&mut self, from: usize, to: usize) {
        let row = self.cells.get(from).copied();
        let continues = self.continues.get(from).copied().unwrap_or(false);
        if let Some(row) = row {
            self.set_row(to, row, continues);
        }
    }

    fn write_note(&mut self) {
        let mut num = [0u8; 20];
        let digits = decimal(self.hidden, &mut num);
        let word = if self.hidden == 1 { " more line: see " } else { " more lines: see " };
        let segs =
            [("... ", Colour::YELLOW), (digits, Colour::YELLOW), (word, Colour::YELLOW), (REPORT_FILE, Colour::YELLOW)];
        self.write_rows(self.body, 1, &segs);
    }

    /// Lays `segments` out from row `start`, at most `max` rows.
    fn write_rows(&mut self, start: usize, max: usize, segments: &[(&str, Colour)]) {
        layout(segments, |i, row| {
            if i < max {
                self.set_row(start + i, *row, i > 0);
            }
        });
    }

    fn set_row(&mut self, r: usize, row: Row, continues: bool) {
        if let Some(dst) = self.cells.get_mut(r) {
            *dst = row;
        }
        if let Some(c) = self.continues.get_mut(r) {
            *c = continues;
        }
    }
}

/// `value` in decimal, into `buf`.
fn decimal(mut value: usize, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (value % 10) as u8;
        }
        value /= 10;
        if value == 0 || i == 0 {
            break;
        }
    }
    buf.get(i..).and_then(|d| core::str::from_utf8(d).ok()).unwrap_or("?")
}

/// Wraps one line into rows of [`COLUMNS`] cells, calling `emit(index, row)` for each;
/// returns the number of rows (at least 1: an empty line is one blank row).
///
/// A row that is full breaks at its last space (the space is dropped and the rest of the
/// word moves down); a word longer than a row is cut. Continuation rows start with
/// [`INDENT`] blank columns, and spaces at the start of one are dropped.
fn layout(segments: &[(&str, Colour)], mut emit: impl FnMut(usize, &Row)) -> usize {
    let mut row = BLANK_ROW;
    let mut len = 0;
    let mut indent = 0;
    let mut rows = 0;
    let chars = segments.iter().flat_map(|(s, colour)| s.chars().map(move |ch| (ch, *colour)));
    for (ch, colour) in chars {
        let cell = Cell { byte: font::cell_byte(ch), colour };
        loop {
            if len < COLUMNS {
                if !(cell.byte == b' ' && len == indent && indent > 0) {
                    if let Some(c) = row.get_mut(len) {
                        *c = cell;
                    }
                    len += 1;
                }
                break;
            }
            // The row is full.
            if cell.byte == b' ' {
                emit(rows, &row);
                rows += 1;
                (row, len, indent) = (BLANK_ROW, INDENT, INDENT);
                break;
            }
            let space = row.get(indent + 1..len).and_then(|r| r.iter().rposition(|c| c.byte == b' '));
            let mut next = BLANK_ROW;
            let mut next_len = INDENT;
            if let Some(p) = space.map(|p| p + indent + 1) {
                // Break at the space: the word after it moves to the next row.
                for (dst, src) in next.iter_mut().skip(INDENT).zip(row.iter().take(len).skip(p + 1)) {
                    *dst = *src;
                    next_len += 1;
                }
                for c in row.iter_mut().skip(p) {
                    *c = Cell::BLANK;
                }
            }
            emit(rows, &row);
            rows += 1;
            (row, len, indent) = (next, next_len, INDENT);
            // Loop: the cell goes into the new row (or breaks it again when it is full).
        }
    }
    if len > indent || rows == 0 {
        emit(rows, &row);
        rows += 1;
    }
    rows
}

/// Draws one cell row at pixel row `y0`: each glyph row as two pixel rows of 16-pixel spans.
fn render_row(cells: &Row, y0: usize, surface: &mut impl Surface) {
    let bg = Colour::BACKGROUND.bytes();
    let glyphs: [[u8; 8]; COLUMNS] = core::array::from_fn(|i| cells.get(i).map_or([0; 8], |c| font::glyph(c.byte)));
    for gy in 0..font::GLYPH_SIZE {
        for (col, (cell, glyph)) in cells.iter().zip(glyphs.iter()).enumerate() {
            let bits = glyph.get(gy).copied().unwrap_or(0);
            let fg = cell.colour.bytes();
            let mut span = [0u8; SPAN_BYTES];
            for (bit, px) in span.chunks_exact_mut(SCALE * BYTES_PER_PIXEL).enumerate() {
                let c = if bits & (1 << bit) != 0 { fg } else { bg };
                for p in px.chunks_exact_mut(BYTES_PER_PIXEL) {
                    p.copy_from_slice(&c);
                }
            }
            let x = col * CELL_WIDTH;
            for dy in 0..SCALE {
                surface.put_span16(x, y0 + gy * SCALE + dy, &span);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::{HEIGHT, LinearSurface, WIDTH};
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    extern crate alloc;

    fn text(c: &Console, row: usize) -> String {
        let mut out = [0u8; COLUMNS];
        let n = c.row_text(row, &mut out);
        out[..n].iter().map(|b| *b as char).collect()
    }

    fn page(c: &Console) -> Vec<String> {
        (0..c.rows_used()).map(|r| text(c, r)).collect()
    }

    #[test]
    fn a_short_line_takes_one_row_in_its_colour() {
        let mut c = Console::new();
        assert_eq!(c.push_line("PASS echo", Colour::GREEN), 0..1);
        assert_eq!(c.push_line("next", Colour::WHITE), 1..2);
        assert_eq!(page(&c), ["PASS echo", "next"]);
        assert_eq!(c.row(0).unwrap()[0], Cell { byte: b'P', colour: Colour::GREEN });
        assert_eq!(c.rows_used(), 2);
    }

    #[test]
    fn an_empty_line_is_one_blank_row() {
        let mut c = Console::new();
        assert_eq!(c.push_line("", Colour::WHITE), 0..1);
        assert_eq!(c.push_line("x", Colour::WHITE), 1..2);
    }

    #[test]
    fn eighty_columns_fit_one_row_and_the_81st_wraps() {
        let mut c = Console::new();
        let eighty: String = "a".repeat(80);
        assert_eq!(c.push_line(&eighty, Colour::WHITE), 0..1);
        let eighty_one: String = "b".repeat(81);
        assert_eq!(c.push_line(&eighty_one, Colour::WHITE), 1..3);
        assert_eq!(text(&c, 1), "b".repeat(80));
        assert_eq!(text(&c, 2), "  b");
    }

    #[test]
    fn wrapping_breaks_at_a_space_and_indents_continuation_rows_by_two() {
        let mut c = Console::new();
        // 75 columns of words, then a word that would cross column 80.
        let line = alloc::format!("{} over words here", "w".repeat(70));
        let rows = c.push_line(&line, Colour::WHITE);
        assert_eq!(rows, 0..2);
        assert_eq!(text(&c, 0), alloc::format!("{} over", "w".repeat(70)));
        assert_eq!(text(&c, 1), "  words here");
        assert!(c.row(1).unwrap()[..2].iter().all(|cell| *cell == Cell::BLANK));
    }

    #[test]
    fn a_word_longer_than_a_row_is_cut() {
        let mut c = Console::new();
        let rows = c.push_line(&"x".repeat(200), Colour::WHITE);
        // 80 + 78 + 42.
        assert_eq!(rows, 0..3);
        assert_eq!(text(&c, 1), alloc::format!("  {}", "x".repeat(78)));
        assert_eq!(text(&c, 2), alloc::format!("  {}", "x".repeat(42)));
    }

    #[test]
    fn segments_keep_their_colours_across_a_wrap() {
        let mut c = Console::new();
        let rest = "y ".repeat(50);
        c.push_segments(&[("PASS ", Colour::GREEN), (&rest, Colour::WHITE)]);
        let row0 = c.row(0).unwrap();
        assert_eq!(row0[3].colour, Colour::GREEN);
        assert_eq!(row0[5].colour, Colour::WHITE);
        assert_eq!(c.row(1).unwrap()[2], Cell { byte: b'y', colour: Colour::WHITE });
    }

    #[test]
    fn a_full_page_shows_how_many_lines_are_missing_never_drops_them_silently() {
        let mut c = Console::new();
        for i in 0..ROWS {
            assert_eq!(c.push_line(&alloc::format!("line {i}"), Colour::WHITE), i..i + 1);
        }
        assert_eq!(c.hidden_lines(), 0);
        // The 46th line: the last line makes room for the note (2 lines not shown).
        assert_eq!(c.push_line("line 45", Colour::WHITE), ROWS - 1..ROWS);
        assert_eq!(c.hidden_lines(), 2);
        assert_eq!(text(&c, ROWS - 2), "line 43");
        assert_eq!(text(&c, ROWS - 1), "... 2 more lines: see sdmc:/switch/xcbuf/report.txt");
        assert_eq!(c.row(ROWS - 1).unwrap()[0].colour, Colour::YELLOW);
        // Later lines only raise the count.
        assert_eq!(c.push_line("line 46", Colour::WHITE), ROWS - 1..ROWS);
        assert_eq!(text(&c, ROWS - 1), "... 3 more lines: see sdmc:/switch/xcbuf/report.txt");
        assert_eq!(c.rows_used(), ROWS);
    }

    #[test]
    fn a_wrapped_line_is_removed_whole_to_make_room_for_the_note() {
        let mut c = Console::new();
        for i in 0..ROWS - 2 {
            c.push_line(&alloc::format!("line {i}"), Colour::WHITE);
        }
        // Two rows: fills the page.
        c.push_line(&"z".repeat(100), Colour::WHITE);
        assert_eq!(c.rows_used(), ROWS);
        assert_eq!(c.push_line("one more", Colour::WHITE), ROWS - 2..ROWS);
        assert_eq!(c.hidden_lines(), 2);
        assert_eq!(text(&c, ROWS - 2), "... 2 more lines: see sdmc:/switch/xcbuf/report.txt");
        assert_eq!(text(&c, ROWS - 1), "");
        assert_eq!(c.rows_used(), ROWS - 1);
        // One hidden line reads in the singular.
        let mut c = Console::new();
        for i in 0..ROWS - 1 {
            c.push_line(&alloc::format!("line {i}"), Colour::WHITE);
        }
        c.push_line(&"z".repeat(100), Colour::WHITE);
        assert_eq!(text(&c, ROWS - 1), "... 1 more line: see sdmc:/switch/xcbuf/report.txt");
    }

    #[test]
    fn the_footer_stays_below_every_line_and_visible_on_a_full_page() {
        let mut c = Console::new();
        c.push_line("first", Colour::WHITE);
        assert_eq!(c.set_footer(&[("Press + to exit", Colour::YELLOW)]), 1..2);
        // A later line goes above the footer, which moves down.
        assert_eq!(c.push_line("second", Colour::WHITE), 1..3);
        assert_eq!(page(&c), ["first", "second", "Press + to exit"]);
        for i in 0..ROWS {
            c.push_line(&alloc::format!("more {i}"), Colour::WHITE);
        }
        assert_eq!(c.rows_used(), ROWS);
        assert_eq!(text(&c, ROWS - 1), "Press + to exit");
        assert_eq!(text(&c, ROWS - 2), alloc::format!("... {} more lines: see {REPORT_FILE}", c.hidden_lines()));
        // 2 + 45 lines pushed, 43 rows for lines: 4 hidden.
        assert_eq!(c.hidden_lines(), 4);
        assert_eq!(text(&c, ROWS - 3), "more 40");
    }

    #[test]
    fn a_footer_set_on_a_full_page_replaces_lines_and_counts_them() {
        let mut c = Console::new();
        for i in 0..ROWS {
            c.push_line(&alloc::format!("line {i}"), Colour::WHITE);
        }
        let rows = c.set_footer(&[("Press + to exit", Colour::YELLOW)]);
        assert_eq!(rows, ROWS - 2..ROWS);
        assert_eq!(c.hidden_lines(), 2);
        assert_eq!(text(&c, ROWS - 3), "line 42");
        assert_eq!(text(&c, ROWS - 2), "... 2 more lines: see sdmc:/switch/xcbuf/report.txt");
        assert_eq!(text(&c, ROWS - 1), "Press + to exit");
        // Setting it again replaces it.
        c.set_footer(&[("bye", Colour::YELLOW)]);
        assert_eq!(text(&c, ROWS - 1), "bye");
        assert_eq!(c.rows_used(), ROWS);
    }

    #[test]
    fn the_page_is_the_same_whether_the_footer_comes_first_or_last() {
        // Line lengths in rows: 1, 2 or 3 (wrapped), in a pattern; totals below, at and
        // above the page.
        for lines in [0usize, 10, 30, 40, 43, 44, 45, 46, 60] {
            let text_of = |i: usize| "x ".repeat(1 + (i % 3) * 45);
            let mut first = Console::new();
            first.set_footer(&[("Press + to exit", Colour::YELLOW)]);
            let mut last = Console::new();
            for i in 0..lines {
                first.push_line(&text_of(i), Colour::WHITE);
                last.push_line(&text_of(i), Colour::WHITE);
            }
            last.set_footer(&[("Press + to exit", Colour::YELLOW)]);
            assert_eq!(page(&first), page(&last), "{lines} lines");
            assert_eq!(first.hidden_lines(), last.hidden_lines(), "{lines} lines");
            assert_eq!(text(&last, last.rows_used() - 1), "Press + to exit");
        }
    }

    fn render(c: &Console) -> Vec<u32> {
        let mut buf = vec![Colour::RED.word(); WIDTH * HEIGHT];
        c.render(&mut LinearSurface(&mut buf));
        buf
    }

    #[test]
    fn render_draws_glyphs_doubled_in_the_cell_colour_on_black() {
        let mut c = Console::new();
        c.push_line(" A", Colour::GREEN);
        let buf = render(&c);
        // Every pixel is drawn: background black or a glyph colour.
        assert!(buf.iter().all(|w| *w == Colour::BLACK.word() || *w == Colour::GREEN.word()));
        // 'A' row 0 is 0x0C: font pixels 2 and 3 lit, so screen columns 16+4..16+8.
        let at = |x: usize, y: usize| Colour::from_word(buf[y * WIDTH + x]);
        for y in 0..2 {
            assert_eq!(at(16 + 3, y), Colour::BLACK);
            for x in 16 + 4..16 + 8 {
                assert_eq!(at(x, y), Colour::GREEN, "({x}, {y})");
            }
            assert_eq!(at(16 + 8, y), Colour::BLACK);
        }
        // Lit pixels: 4 per lit font pixel.
        let lit = buf.iter().filter(|w| **w == Colour::GREEN.word()).count();
        let font_px: u32 = font::glyph(b'A').iter().map(|r| r.count_ones()).sum();
        assert_eq!(lit, 4 * font_px as usize);
    }

    #[test]
    fn render_rows_redraws_only_those_rows_with_their_background() {
        let mut c = Console::new();
        c.push_line("x", Colour::WHITE);
        c.push_line("y", Colour::WHITE);
        let mut buf = vec![Colour::RED.word(); WIDTH * HEIGHT];
        c.render_rows(1..2, &mut LinearSurface(&mut buf));
        let (above, rest) = buf.split_at(CELL_HEIGHT * WIDTH);
        let (row1, below) = rest.split_at(CELL_HEIGHT * WIDTH);
        assert!(above.iter().chain(below).all(|w| *w == Colour::RED.word()));
        assert!(row1.iter().all(|w| *w != Colour::RED.word()));
        assert!(row1.contains(&Colour::WHITE.word()));
    }

    #[test]
    fn the_block_linear_frame_holds_the_same_page_as_the_linear_render() {
        use crate::screen::FRAME_SIZE;
        use crate::screen::block_linear::BlockLinearSurface;
        let mut c = Console::new();
        c.push_segments(&[("PASS ", Colour::GREEN), ("echo-small: 16 bytes echoed", Colour::WHITE)]);
        c.push_line(&"FAIL long ".repeat(12), Colour::RED);
        c.set_footer(&[("Press + to exit", Colour::YELLOW)]);
        let linear = render(&c);
        let mut frame = vec![0u8; FRAME_SIZE];
        c.render(&mut BlockLinearSurface(&mut frame));
        let s = BlockLinearSurface(&mut frame);
        for y in 0..HEIGHT {
            for x in 0..WIDTH {
                assert_eq!(s.get(x, y), Some(Colour::from_word(linear[y * WIDTH + x])), "({x}, {y})");
            }
        }
    }

    #[test]
    fn a_console_is_small_enough_for_the_client() {
        assert!(core::mem::size_of::<Console>() <= 18 * 1024 + 64, "{}", core::mem::size_of::<Console>());
    }
}

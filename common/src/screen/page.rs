//! The report page: the lines the client prints to its debug output, in the same order,
//! each coloured by what it says, and the exit hint at the bottom. The bench rebuilds the
//! page from the guest's output with this same code, so the guest's frame and the host's
//! render must agree pixel for pixel.
//!
//! Colours: a line starting "PASS " shows PASS in green and the rest in white; a line
//! starting "FAIL " is red; a line naming the report file (`sdmc:/`) is grey; every other
//! line (the title, the server line, the summary, a screen-step failure) is white. The exit
//! hint is yellow.

use core::ops::Range;

use super::{Colour, Console};

/// The report page's rules (no state: the page is the [`Console`]).
pub struct Page;

impl Page {
    /// The last line of the page, kept visible whatever else happens.
    pub const EXIT_HINT: &'static str = "Press + to exit";

    /// Appends one report line, coloured by its content; returns the rows that changed.
    pub fn push_report_line(console: &mut Console, line: &str) -> Range<usize> {
        if let Some(rest) = line.strip_prefix("PASS ") {
            return console.push_segments(&[("PASS ", Colour::GREEN), (rest, Colour::WHITE)]);
        }
        if line.starts_with("FAIL ") {
            return console.push_line(line, Colour::RED);
        }
        if line.contains("sdmc:/") {
            return console.push_line(line, Colour::GREY);
        }
        console.push_line(line, Colour::WHITE)
    }

    /// Shows [`Page::EXIT_HINT`] below every line (also on a full page); returns the rows
    /// that changed.
    pub fn push_exit_hint(console: &mut Console) -> Range<usize> {
        console.set_footer(&[(Page::EXIT_HINT, Colour::YELLOW)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::font::ROWS;

    #[test]
    fn pass_is_green_and_the_rest_of_the_line_white() {
        let mut c = Console::new();
        Page::push_report_line(&mut c, "PASS echo-small: 16 bytes echoed");
        let row = c.row(0).unwrap();
        assert!(row[..4].iter().all(|cell| cell.colour == Colour::GREEN));
        assert!(row[5..20].iter().all(|cell| cell.colour == Colour::WHITE));
    }

    #[test]
    fn a_fail_line_is_red() {
        let mut c = Console::new();
        Page::push_report_line(&mut c, "FAIL echo-overflow: expected 0xce01, got 0x0 (success)");
        assert!(c.row(0).unwrap()[..50].iter().all(|cell| cell.colour == Colour::RED));
    }

    #[test]
    fn title_summary_and_report_file_lines_are_white_or_grey() {
        let mut c = Console::new();
        Page::push_report_line(&mut c, "xcbuf 0.1.0, server: sysmodule");
        Page::push_report_line(&mut c, "12 passed, 1 failed");
        Page::push_report_line(&mut c, "report: sdmc:/switch/xcbuf/report.txt");
        assert_eq!(c.row(0).unwrap()[0].colour, Colour::WHITE);
        assert_eq!(c.row(1).unwrap()[0].colour, Colour::WHITE);
        assert_eq!(c.row(2).unwrap()[0].colour, Colour::GREY);
        // "PASS" inside a line is no prefix.
        Page::push_report_line(&mut c, "xPASS y");
        assert_eq!(c.row(3).unwrap()[1].colour, Colour::WHITE);
    }

    #[test]
    fn the_exit_hint_is_the_last_row_even_on_a_full_page() {
        let mut c = Console::new();
        for i in 0..60 {
            Page::push_report_line(&mut c, &alloc::format!("PASS scenario-{i}: fine"));
        }
        Page::push_exit_hint(&mut c);
        let mut out = [0u8; 80];
        let n = c.row_text(ROWS - 1, &mut out);
        assert_eq!(&out[..n], Page::EXIT_HINT.as_bytes());
        assert_eq!(c.hidden_lines(), 60 - (ROWS - 2));
    }

    extern crate alloc;
}

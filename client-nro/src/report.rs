//! The report: one line per scenario and a summary, each line sent to a [`Sink`] as it is
//! produced (the NRO's sink is svcOutputDebugString, one call per line).
//!
//! ```text
//! server: sysmodule                       (or: server: in-process, or the line of
//!                                          ServerKind::SysmoduleMissing)
//! PASS echo-small: 16 bytes echoed ...
//! FAIL echo-overflow: expected 0xce01 ..., got 0x0 (success)
//! 12 passed, 1 failed
//! ```

use alloc::string::String;
use core::fmt;

use xcbuf_common::xcbuf::{INDEXED, SINGLE};

/// Where report lines go.
pub trait Sink {
    /// One line, without its newline.
    fn line(&mut self, line: fmt::Arguments<'_>);
}

/// A sink that passes each line on to `inner` and keeps a copy: the whole report,
/// each line '\n'-terminated, for the report file (screen-output.md §3 "SD-card file").
pub struct Keep<S: Sink> {
    /// Where the lines go as they are produced.
    pub inner: S,
    /// Every line so far, each followed by '\n'.
    pub text: String,
}

impl<S: Sink> Keep<S> {
    /// Keeps nothing yet.
    pub fn new(inner: S) -> Keep<S> {
        Keep { inner, text: String::new() }
    }
}

impl<S: Sink> Sink for Keep<S> {
    fn line(&mut self, line: fmt::Arguments<'_>) {
        let start = self.text.len();
        let _ = fmt::Write::write_fmt(&mut self.text, line);
        self.text.push('\n');
        let kept = self.text.get(start..self.text.len() - 1).unwrap_or("");
        self.inner.line(format_args!("{kept}"));
    }
}

/// Where the sysmodule lives on the SD card (its program id's contents directory).
pub const SYSMODULE_CONTENTS: &str = "atmosphere/contents/4200000000000c0b";

/// Which server the suite ran against (the first report line).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ServerKind {
    /// The sysmodule, reached through `sm:`.
    Sysmodule,
    /// The same server loop on threads of the client (no sysmodule can run here).
    InProcess,
    /// On Atmosphère, but sm's HasService does not know the sysmodule's services (`false`
    /// = absent): the suite ran in-process, and the line says why the sysmodule usually
    /// is missing.
    SysmoduleMissing { single: bool, indexed: bool },
}

impl ServerKind {
    /// Whether the suite talks to the sysmodule (through sm) rather than to the in-process
    /// server (through svcConnectToPort).
    pub fn is_sysmodule(self) -> bool {
        self == ServerKind::Sysmodule
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerKind::Sysmodule => f.write_str("sysmodule"),
            ServerKind::InProcess => f.write_str("in-process"),
            ServerKind::SysmoduleMissing { single, indexed } => {
                let (first, and, second) = match (single, indexed) {
                    (false, false) => (SINGLE.name, " and ", INDEXED.name),
                    (false, true) => (SINGLE.name, "", ""),
                    _ => (INDEXED.name, "", ""),
                };
                write!(
                    f,
                    "in-process, the sysmodule is MISSING (Atmosphère's sm has no {first}{and}{second}); \
                     likely causes: not installed at sdmc:/{SYSMODULE_CONTENTS}/exefs.nsp, \
                     no sdmc:/{SYSMODULE_CONTENTS}/flags/boot2.flag, \
                     or the console was not rebooted since installing"
                )
            }
        }
    }
}

/// The page's title line, printed as a report line too: `xcbuf <version> (server: <mode>)`
/// (the mode short: the long reason of a missing sysmodule is on the `server:` line).
pub fn title(kind: ServerKind) -> String {
    let mode = match kind {
        ServerKind::Sysmodule => "sysmodule",
        ServerKind::InProcess => "in-process",
        ServerKind::SysmoduleMissing { .. } => "in-process, sysmodule missing",
    };
    alloc::format!("xcbuf {} (server: {mode})", env!("CARGO_PKG_VERSION"))
}

/// Whether `line` of the client's debug output is one the client also put on the page
/// (`screen::sink`): the title, the report's lines (server, a screen step that failed,
/// PASS/FAIL, the summary), the report-file line, a buttons note. The exit hint
/// (`Page::EXIT_HINT`) is the page's footer, not one of these. The bench rebuilds the
/// page from these lines; the in-process server's and rt's own lines are not among them.
pub fn is_page_line(line: &str) -> bool {
    let summary = || {
        let mut words = line.split(' ');
        let n = |w: Option<&str>| w.is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()));
        n(words.next())
            && words.next() == Some("passed,")
            && n(words.next())
            && words.next() == Some("failed")
            && words.next().is_none()
    };
    let title = line.starts_with("xcbuf ") && line.contains(" (server: ");
    title || ["server: ", "screen: ", "PASS ", "FAIL ", "report: "].iter().any(|p| line.starts_with(p)) || summary()
}

/// A scenario that did not go as expected.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Failure {
    /// What the rule says should happen.
    pub expected: String,
    /// What happened.
    pub got: String,
}

impl Failure {
    /// `expected ..., got ...`.
    pub fn new(expected: impl Into<String>, got: impl Into<String>) -> Failure {
        Failure { expected: expected.into(), got: got.into() }
    }
}

/// A scenario's outcome: what the kernel (and server) did, or how it differed.
pub type Outcome = Result<String, Failure>;

/// Counts and writes the report.
pub struct Report<S: Sink> {
    sink: S,
    passed: u32,
    failed: u32,
}

impl<S: Sink> Report<S> {
    /// Starts the report with `server: <kind>`.
    pub fn start(mut sink: S, server: ServerKind) -> Report<S> {
        sink.line(format_args!("server: {server}"));
        Report { sink, passed: 0, failed: 0 }
    }

    /// Writes `PASS <name>: <what>` or `FAIL <name>: expected ..., got ...`.
    pub fn record(&mut self, name: &str, outcome: &Outcome) {
        match outcome {
            Ok(what) => {
                self.passed = self.passed.saturating_add(1);
                self.sink.line(format_args!("PASS {name}: {what}"));
            }
            Err(f) => {
                self.failed = self.failed.saturating_add(1);
                self.sink.line(format_args!("FAIL {name}: expected {}, got {}", f.expected, f.got));
            }
        }
    }

    /// A line that is not a scenario (a screen step that failed before the suite).
    pub fn note(&mut self, line: fmt::Arguments<'_>) {
        self.sink.line(line);
    }

    /// Scenarios passed so far.
    pub fn passed(&self) -> u32 {
        self.passed
    }

    /// Scenarios failed so far.
    pub fn failed(&self) -> u32 {
        self.failed
    }

    /// Writes `<N> passed, <M> failed` and returns (N, M) and the sink.
    pub fn finish(mut self) -> (u32, u32, S) {
        self.sink.line(format_args!("{} passed, {} failed", self.passed, self.failed));
        (self.passed, self.failed, self.sink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    struct Lines(Vec<String>);
    impl Sink for Lines {
        fn line(&mut self, line: fmt::Arguments<'_>) {
            self.0.push(line.to_string());
        }
    }

    #[test]
    fn report_starts_with_the_server_and_ends_with_the_counts() {
        let mut r = Report::start(Lines(Vec::new()), ServerKind::InProcess);
        r.record("echo-small", &Ok("16 bytes echoed".into()));
        r.record("echo-overflow", &Err(Failure::new("0xce01", "0x0 (success)")));
        let (passed, failed, lines) = r.finish();
        assert_eq!((passed, failed), (1, 1));
        assert_eq!(
            lines.0,
            [
                "server: in-process",
                "PASS echo-small: 16 bytes echoed",
                "FAIL echo-overflow: expected 0xce01, got 0x0 (success)",
                "1 passed, 1 failed",
            ]
        );
    }

    #[test]
    fn kept_report_is_every_line_newline_terminated_and_passed_on_unchanged() {
        let mut r = Report::start(Keep::new(Lines(Vec::new())), ServerKind::Sysmodule);
        r.record("echo-small", &Ok("16 bytes echoed".into()));
        let (_, _, keep) = r.finish();
        assert_eq!(keep.text, "server: sysmodule\nPASS echo-small: 16 bytes echoed\n1 passed, 0 failed\n");
        assert_eq!(keep.inner.0, ["server: sysmodule", "PASS echo-small: 16 bytes echoed", "1 passed, 0 failed"]);
    }

    #[test]
    fn missing_sysmodule_line_names_it_and_the_likely_causes() {
        let kind = ServerKind::SysmoduleMissing { single: false, indexed: false };
        let (_, _, lines) = Report::start(Lines(Vec::new()), kind).finish();
        assert_eq!(
            lines.0[0],
            "server: in-process, the sysmodule is MISSING (Atmosphère's sm has no xcbuf and xcbuf:i); \
             likely causes: not installed at sdmc:/atmosphere/contents/4200000000000c0b/exefs.nsp, \
             no sdmc:/atmosphere/contents/4200000000000c0b/flags/boot2.flag, \
             or the console was not rebooted since installing"
        );
        let one = ServerKind::SysmoduleMissing { single: true, indexed: false }.to_string();
        assert!(one.contains("sm has no xcbuf:i)"), "{one}");
    }

    #[test]
    fn the_title_names_xcbuf_its_version_and_the_server_mode() {
        assert_eq!(
            title(ServerKind::InProcess),
            alloc::format!("xcbuf {} (server: in-process)", env!("CARGO_PKG_VERSION"))
        );
        assert!(title(ServerKind::Sysmodule).ends_with("(server: sysmodule)"));
        let missing = title(ServerKind::SysmoduleMissing { single: false, indexed: true });
        assert!(missing.ends_with("(server: in-process, sysmodule missing)"), "{missing}");
    }

    #[test]
    fn page_lines_are_the_title_the_report_and_the_file_line_and_nothing_the_servers_print() {
        for line in [
            "xcbuf 0.1.0 (server: in-process)",
            "server: sysmodule",
            "screen: not shown: vi GetService failed (0xe15 (sm NotRegistered))",
            "PASS echo-small: 16 bytes",
            "FAIL echo-overflow: expected 0xce01, got 0x0 (success)",
            "13 passed, 0 failed",
            "report: written to sdmc:/switch/xcbuf/report.txt (2431 bytes)",
        ] {
            assert!(is_page_line(line), "{line}");
        }
        for line in [
            "xcbuf: session 1 opened (2 open)",
            "xcbuf-client: HasService xcbuf = true",
            "xcbuf-rt: exit 0x0 (success); returning to the loader",
            "Press + to exit",
            "page stopped: binder QUEUE_BUFFER failed (status -22)",
            "13 passed, 0 failed, more",
        ] {
            assert!(!is_page_line(line), "{line}");
        }
    }

    #[test]
    fn sysmodule_report_names_the_sysmodule() {
        let (_, _, lines) = Report::start(Lines(Vec::new()), ServerKind::Sysmodule).finish();
        assert_eq!(lines.0, ["server: sysmodule", "0 passed, 0 failed"]);
    }
}

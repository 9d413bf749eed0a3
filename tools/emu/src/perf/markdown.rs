//! docs/BENCHMARKS.md from the figures: the table, the same lines as printed, the
//! one-svc/two-svc notes, what each figure counts and the goals not met; then the
//! Profile section, which `make profile` writes ([`with_profile`]) and `make bench`
//! keeps ([`keep_profile`]).

use std::fmt::Write as _;

use super::figures::PerfResult;

/// docs/BENCHMARKS.md.
pub fn markdown(result: &PerfResult, date: &str, commit: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# xcbuf benchmarks\n");
    let _ = writeln!(
        s,
        "Written by `make bench` (`xcbuf-emu perf`) on {date} at commit `{commit}`. Do not edit by hand: run `make bench` again.\n"
    );
    let _ = writeln!(s, "| figure | value | unit | goal |\n|---|---|---|---|");
    for f in &result.figures {
        let _ = writeln!(s, "| {} | {} | {} | {} |", f.name, f.value, f.unit, f.goal.as_deref().unwrap_or(""));
    }
    let _ = writeln!(s, "\nThe same lines as `make bench` prints them:\n\n```text");
    for f in &result.figures {
        let _ = writeln!(s, "{}", f.line());
    }
    let _ = writeln!(s, "```\n");
    if !result.notes.is_empty() {
        let _ = writeln!(s, "## One svc or two\n");
        for n in &result.notes {
            let _ = writeln!(s, "{n}\n");
        }
    }
    s.push_str(DEFINITIONS);
    let _ = writeln!(s, "\n## Goals not met\n");
    if result.gaps.is_empty() {
        let _ = writeln!(s, "None: every goal with a number was met in this run.");
    } else {
        for g in &result.gaps {
            let _ = writeln!(s, "- {g}");
        }
    }
    s
}

const DEFINITIONS: &str = "## What each figure counts\n\n\
- Counts come from the bench's counters (tools/emu `observe`): guest user-mode instructions per process (a block hook, whole translated blocks; a block ends at every svc), svcs by number, and the bytes the kernel model copies (header, special data, raw data and X payloads, in both directions, counted on the server).\n\
- The requests are driven by the client built with the `perf-loop` feature: it writes a `@perf begin <phase> <n>` debug line before each phase and `@perf end errors=<n>` after the last; the bench snapshots every counter inside the svcOutputDebugString of each marker line. At each marker the server is blocked in the svcReplyAndReceive that replied to the previous request, so a phase of N requests holds exactly N of the server's paths from one receive to the next.\n\
- `server svcs per request`: the server's svcs in the echo16 phase divided by its requests.\n\
- `server wakeups while idle`: after the client ended, the server first runs whatever it can without bench time advancing (it handles the closed sessions); then bench time is advanced by 1 s, from deadline to deadline, running whatever wakes; each time a server thread leaves a wait in that second counts. `server svcs while idle` counts its svcs in the same window. (The crafted-guest tests in tools/emu perf/idle.rs show the count is not blind: a server polling every 10 ms scores 99.)\n\
- `server instructions per echo16`/`echo1k`/`concat4`: the server's instructions in the phase divided by its requests (16-byte Echo, 1 KiB Echo, Concat of 4 X of 16 bytes each). `client instructions per echo16`: the same for the client, which builds each request, copies its 64-word message into TLS and back (the client transport does so for every request), parses the reply and checks `bytes_written` and the reply's X size; it compares payload bytes only on the last request of a phase. The phase also holds the formatting of the next marker line, once per phase (under 0.2 instructions per request at 10,000 requests).\n\
- `bytes copied per echo16` vs `bytes expected per echo16`: expected = request (8-byte header + raw data of the request as `xcbuf_common::client::build_echo` builds it + 16 bytes of X) + reply (8-byte header + raw data of the reply as the client last received it + 16 bytes of X). Equal means each byte crossed once each way.\n\
- `sysmodule image`: the NSO's text, rodata, data and .bss as the loader maps them (each page-rounded), minus the static heap region, which is in .bss and counted by the next two lines. `sysmodule heap`: the static heap region (the ELF symbol `HEAP`, its size, not a measured peak) minus the pointer buffers; it holds the second serving thread's stack and the allocator's slack. `sysmodule stack`: the NPDM main-thread stack. `pointer buffers`: the sum of the sizes both servers print when they start (carved from the heap). `sysmodule footprint`: the sum of these four = every byte mapped for the NSO plus the main stack.\n\
- `sysmodule main stack peak` (informative): bytes of the NPDM main stack that were written during the perf-loop run (the stack is mapped zeroed; from the lowest non-zero byte to the top).\n\
- `nro size`: the file size of the shipped client NRO.\n\
- `bench wall time for the end-to-end suite`: host time of one run of the shipped sysmodule and client suite (informative, depends on the machine).\n\
- `two-svc ...`: the same sysmodule source built with the `two-svc` feature, which replies with svcReplyAndReceive(handles = 0, reply_target = session, timeout = 0) and then receives with a second svcReplyAndReceive; same client, same phases, in the same `make bench` run.\n";

/// Heading of the section `make profile` writes.
pub const PROFILE_HEADING: &str = "## Profile";

/// What the Profile section says before its runs (rewritten on every `make profile`).
const PROFILE_INTRO: &str = "Written by `make profile` (`xcbuf-emu profile`): the shipped sysmodule and the perf-loop client of `make bench`, one run, every phase. \
Each `###` subsection is one run, named by its title (`make profile PROFILE_TITLE=<title>`; the default is the commit); a run with the same title replaces it, the others stay, and `make bench` keeps this section as it is.\n\n\
How it counts: the same block hook as the figures counts how often each translated block ran between the phase's two marker lines; each block's instructions are attributed, instruction by instruction, \
to the ELF function symbol whose address range holds them (`--sysmodule-elf`: the shipped sysmodule's ELF; `--nro-elf`: the perf-loop client's ELF; both checked byte for byte against the loaded images). \
Each table therefore sums exactly to the phase's figure above (the tool checks this).\n\n\
**Inlined code is attributed to the function that contains it.** The Switch build uses LTO, one codegen unit and `opt-level = \"s\"`, without debug info, \
so most of a path is inlined into a few functions (the serve loop `xcbuf_rt::server::serve::<...>` holds the CMIF parsing and the command dispatch it inlined); \
nothing in the binary says which source function an inlined instruction came from. Each table is followed by its hottest blocks (a block: straight-line code up to a branch or an svc) with their image offsets, to read with `llvm-objdump -d --start-address=<offset>` on the ELF; they show where inside a large function the instructions go.\n\n\
`entries per request`: executions of a block that starts at the function's first instruction (calls and tail calls into it), per request. \
`share`: the function's part of the process's instructions in the phase.\n";

/// Splits `doc` into (before, the Profile section, after): the section runs from its
/// heading line to the next `## ` heading or the end.
fn split_profile(doc: &str) -> Option<(&str, &str, &str)> {
    let start = if doc.starts_with(PROFILE_HEADING) {
        0
    } else {
        doc.find(&format!("\n{PROFILE_HEADING}\n")).map(|i| i + 1)?
    };
    let body = start + PROFILE_HEADING.len();
    let end = doc.get(body..)?.find("\n## ").map_or(doc.len(), |i| body + i + 1);
    Some((doc.get(..start)?, doc.get(start..end)?, doc.get(end..)?))
}

/// `doc` with `subsection` (starting with `### <title>`) put into its Profile section:
/// it replaces the subsection of the same title, or goes after the others. The section
/// (created at the end of `doc` if missing) gets the current [`PROFILE_INTRO`].
pub fn with_profile(doc: &str, subsection: &str) -> String {
    let title_line = subsection.lines().next().unwrap_or("");
    let (before, section, after) = split_profile(doc).unwrap_or((doc, "", ""));
    // The subsections of the existing section: each from a `### ` line to the next.
    let mut subsections: Vec<String> = Vec::new();
    for line in section.split_inclusive('\n') {
        if line.starts_with("### ") {
            subsections.push(String::new());
        }
        if let Some(last) = subsections.last_mut() {
            last.push_str(line);
        }
    }
    let mut replaced = false;
    for s in &mut subsections {
        if s.lines().next() == Some(title_line) {
            *s = subsection.to_string();
            replaced = true;
        }
    }
    if !replaced {
        subsections.push(subsection.to_string());
    }
    let mut out = before.to_string();
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push_str(if out.ends_with('\n') { "\n" } else { "\n\n" });
    }
    let _ = writeln!(out, "{PROFILE_HEADING}\n\n{PROFILE_INTRO}");
    for s in &subsections {
        out.push_str(s.trim_end());
        out.push_str("\n\n");
    }
    if after.is_empty() {
        out.truncate(out.trim_end().len());
        out.push('\n');
    } else {
        out.push_str(after);
    }
    out
}

/// The figures document `new` with the Profile section of the `old` document (if it had
/// one) at its end: `make bench` rewrites the figures, not the profile.
pub fn keep_profile(old: Option<&str>, new: String) -> String {
    match old.and_then(split_profile) {
        Some((_, section, _)) => {
            let mut out = new.trim_end().to_string();
            out.push_str("\n\n");
            out.push_str(section.trim_end());
            out.push('\n');
            out
        }
        None => new,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIGURES: &str = "# xcbuf benchmarks\n\n| figure |\n\n## Goals not met\n\n- none\n";

    #[test]
    fn profile_section_is_created_at_the_end_with_its_intro() {
        let doc = with_profile(FIGURES, "### before\n\ntable A\n");
        assert!(doc.starts_with(FIGURES), "{doc}");
        assert!(doc.contains("\n## Profile\n\nWritten by `make profile`"), "{doc}");
        assert!(doc.contains("Inlined code is attributed to the function that contains it"), "{doc}");
        assert!(doc.ends_with("### before\n\ntable A\n"), "{doc}");
    }

    #[test]
    fn a_run_with_the_same_title_replaces_its_subsection_and_others_stay() {
        let doc = with_profile(FIGURES, "### before\n\ntable A\n");
        let doc = with_profile(&doc, "### after\n\ntable B\n");
        let doc = with_profile(&doc, "### before\n\ntable C\n");
        assert!(!doc.contains("table A"), "{doc}");
        let (c, b) = (doc.find("table C").unwrap(), doc.find("table B").unwrap());
        assert!(c < b, "the replaced subsection keeps its place: {doc}");
        assert_eq!(doc.matches("## Profile\n").count(), 1, "{doc}");
        assert_eq!(doc.matches("Written by `make profile`").count(), 1, "{doc}");
    }

    #[test]
    fn make_bench_keeps_the_profile_section() {
        let old = with_profile(FIGURES, "### before\n\ntable A\n");
        let new_figures = "# xcbuf benchmarks\n\n| figure 2 |\n\n## Goals not met\n\n- none\n".to_string();
        let doc = keep_profile(Some(&old), new_figures.clone());
        assert!(doc.starts_with(&new_figures), "{doc}");
        assert!(doc.ends_with("### before\n\ntable A\n"), "{doc}");
        assert_eq!(keep_profile(Some(FIGURES), new_figures.clone()), new_figures, "no section: unchanged");
        assert_eq!(keep_profile(None, new_figures.clone()), new_figures);
    }

    #[test]
    fn a_section_after_the_profile_stays_after_it() {
        let doc = format!("{FIGURES}\n## Profile\n\nold intro\n\n### x\n\nt\n\n## Later\n\nkept\n");
        let doc = with_profile(&doc, "### y\n\nu\n");
        assert!(!doc.contains("old intro"), "{doc}");
        assert!(doc.contains("### x\n\nt\n\n### y\n\nu\n\n## Later\n\nkept\n"), "{doc}");
    }
}

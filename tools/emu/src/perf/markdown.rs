//! docs/BENCHMARKS.md from the figures: the table, the same lines as printed, the
//! one-svc/two-svc notes, what each figure counts and the goals not met.

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

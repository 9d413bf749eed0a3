//! Every figure of `make bench`: the perf-loop runs (one-svc and two-svc sysmodules), the
//! footprint and the timed end-to-end suite, turned into [`Figure`]s, with the goals not
//! met and the one-svc/two-svc notes.

use std::path::PathBuf;
use std::time::Instant;

use super::footprint::{FOOTPRINT_GOAL, footprint};
use super::loop_run::{LoopRun, run_loop};
use super::markers::Phase;
use crate::run::{self, RunConfig};

/// Message header size: words 0 and 1 (horizon-ipc.md §1.2).
const HEADER_BYTES: u64 = 8;

/// Bytes of a request or reply the kernel copies besides the X payloads: the header and
/// the raw data (`4 * RawCount`, horizon-ipc.md §1.2), no special header here.
pub fn message_bytes(header: [u32; 2]) -> u64 {
    let h = xcbuf_common::hipc::MessageHeader::decode(header);
    HEADER_BYTES + 4 * u64::from(h.raw_count)
}

/// Header+raw of the client's Echo request, built by the same code the client uses.
pub fn echo_request_header(len: usize) -> Result<[u32; 2], String> {
    use xcbuf_common::client::{Buffer, build_echo};
    let mut msg = [0u32; xcbuf_common::hipc::TLS_MESSAGE_BUFFER_WORDS];
    // Any addresses will do: only the header's counts are read.
    build_echo(&mut msg, Buffer::new(0x1000, len), Buffer::new(0x2000, len)).map_err(|e| format!("build_echo: {e}"))?;
    Ok([msg[0], msg[1]])
}

/// One reported figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub name: String,
    pub value: String,
    pub unit: String,
    /// The goal, if the issue sets one (shown in the markdown).
    pub goal: Option<String>,
}

impl Figure {
    fn new(name: &str, value: String, unit: &str) -> Figure {
        Figure { name: name.into(), value, unit: unit.into(), goal: None }
    }
    fn goal(mut self, goal: &str) -> Figure {
        self.goal = Some(goal.into());
        self
    }
    /// `name: value unit`.
    pub fn line(&self) -> String {
        format!("{}: {} {}", self.name, self.value, self.unit)
    }
}

/// `a / b` with two decimals, "n/a" for b = 0.
pub fn ratio(a: u64, b: u64) -> String {
    if b == 0 {
        return "n/a".into();
    }
    // Integer arithmetic, rounded half up, so equal counts print 1.00 exactly.
    let hundredths = (u128::from(a) * 100 + u128::from(b) / 2) / u128::from(b);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// What `xcbuf-emu perf` needs.
#[derive(Debug, Clone)]
pub struct PerfConfig {
    /// The shipped sysmodule (exefs.nsp) and its ELF (for the static heap symbol).
    pub sysmodule: PathBuf,
    pub sysmodule_elf: Option<PathBuf>,
    /// The shipped client NRO (the end-to-end suite, and the `nro size`).
    pub nro: PathBuf,
    /// The client built with `perf-loop`.
    pub perf_loop_nro: PathBuf,
    /// The sysmodule built with `two-svc`.
    pub two_svc_sysmodule: Option<PathBuf>,
    pub idle_ns: u64,
    pub run: RunConfig,
}

/// Everything one `xcbuf-emu perf` produced.
#[derive(Debug, Clone)]
pub struct PerfResult {
    pub figures: Vec<Figure>,
    /// Notes for the markdown: goals not met, with the measured gap.
    pub gaps: Vec<String>,
    /// Notes for the markdown: the one-svc / two-svc comparison.
    pub notes: Vec<String>,
}

fn phase<'a>(run: &'a LoopRun, name: &str) -> Result<&'a Phase, String> {
    let p = run
        .phases
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| format!("no `{name}` phase in the perf-loop output"))?;
    if p.server.requests_received != p.requests {
        return Err(format!(
            "phase {name}: the client announced {} requests, the server received {}",
            p.requests, p.server.requests_received
        ));
    }
    Ok(p)
}

/// Runs everything and computes the figures.
pub fn measure(config: &PerfConfig) -> Result<PerfResult, String> {
    let mut figures = Vec::new();
    let mut gaps = Vec::new();
    let mut notes = Vec::new();

    let main = run_loop(&config.sysmodule, &config.perf_loop_nro, &config.run, config.idle_ns)?;
    if main.client_errors != Some(0) {
        return Err(format!("the perf-loop client reported errors: {:?}", main.client_errors));
    }
    let echo16 = phase(&main, "echo16")?;
    let echo1k = phase(&main, "echo1k")?;
    let concat4 = phase(&main, "concat4")?;

    let svcs_ratio = ratio(echo16.server.svcs, echo16.requests);
    figures.push(Figure::new("server svcs per request", svcs_ratio.clone(), "svcs/request").goal("1.00"));
    if echo16.server.svcs != echo16.requests {
        gaps.push(format!(
            "server svcs per request: {svcs_ratio} measured over {} Echo requests ({} svcs, {} of them svcReplyAndReceive), goal 1.00.",
            echo16.requests, echo16.server.svcs, echo16.server.reply_and_receive
        ));
    }
    figures.push(Figure::new("server wakeups while idle", main.idle.wakeups.to_string(), "wakeups").goal("0"));
    figures.push(Figure::new("server svcs while idle", main.idle.svcs.to_string(), "svcs"));
    if main.idle.wakeups != 0 || main.idle.svcs != 0 {
        gaps.push(format!(
            "server wakeups while idle: {} wakeups and {} svcs in {} ms of idle bench time, goal 0.",
            main.idle.wakeups,
            main.idle.svcs,
            main.idle.window_ns / 1_000_000
        ));
    }
    // The acceptance thresholds of the request path (the limit for the server is about a
    // hundred user-mode instructions: read the header and one X, check the command, write a
    // reply header and one X, keep the receive list armed). A figure above its threshold is
    // a gap the markdown lists.
    for (name, p, goal) in [("echo16", echo16, Some(400)), ("echo1k", echo1k, None), ("concat4", concat4, Some(700))] {
        let mut figure = Figure::new(
            &format!("server instructions per {name}"),
            ratio(p.server.instructions, p.requests),
            "instructions",
        );
        if let Some(goal) = goal {
            figure = figure.goal(&format!("<= {goal}"));
            if p.server.instructions > goal * p.requests {
                gaps.push(format!(
                    "server instructions per {name}: {} measured, goal <= {goal}.",
                    ratio(p.server.instructions, p.requests)
                ));
            }
        }
        figures.push(figure);
    }
    figures.push(
        Figure::new(
            "client instructions per echo16",
            ratio(echo16.client.instructions, echo16.requests),
            "instructions",
        )
        .goal("<= 800"),
    );
    if echo16.client.instructions > 800 * echo16.requests {
        gaps.push(format!(
            "client instructions per echo16: {} measured, goal <= 800.",
            ratio(echo16.client.instructions, echo16.requests)
        ));
    }

    // Bytes: measured vs header+raw+payload of the request and of the reply.
    let request = message_bytes(echo_request_header(16)?) + 16;
    let reply_header = echo16.last_reply_header.ok_or("no reply header at the end of the echo16 phase")?;
    let reply = message_bytes(reply_header) + 16;
    figures.push(Figure::new(
        "bytes copied per echo16",
        ratio(echo16.server.ipc_bytes_copied, echo16.requests),
        "bytes",
    ));
    figures
        .push(Figure::new("bytes expected per echo16", (request + reply).to_string(), "bytes").goal("= bytes copied"));
    if echo16.server.ipc_bytes_copied != (request + reply) * echo16.requests {
        gaps.push(format!(
            "bytes copied per echo16: {} measured, {} expected (request {request} + reply {reply}).",
            ratio(echo16.server.ipc_bytes_copied, echo16.requests),
            request + reply
        ));
    }

    // Footprint.
    let exefs = std::fs::read(&config.sysmodule).map_err(|e| format!("{}: {e}", config.sysmodule.display()))?;
    let elf_path =
        config.sysmodule_elf.as_ref().ok_or("--sysmodule-elf is needed for the footprint (static heap symbol)")?;
    let elf = std::fs::read(elf_path).map_err(|e| format!("{}: {e}", elf_path.display()))?;
    let fp = footprint(&exefs, &elf, &main.server_output)?;
    figures.push(Figure::new("sysmodule image", fp.image.to_string(), "bytes"));
    figures.push(Figure::new("sysmodule heap", fp.heap.to_string(), "bytes"));
    figures.push(Figure::new("sysmodule stack", fp.stack.to_string(), "bytes"));
    figures.push(Figure::new("pointer buffers", fp.pointer_buffers.to_string(), "bytes"));
    figures.push(
        Figure::new("sysmodule footprint", fp.total().to_string(), "bytes").goal("a few tens of KiB (read: <= 65536)"),
    );
    let stack_peak = main.server_main_stack_peak.ok_or("could not read the server's main stack")?;
    figures.push(Figure::new("sysmodule main stack peak", stack_peak.to_string(), "bytes"));
    if fp.total() > FOOTPRINT_GOAL {
        gaps.push(format!(
            "sysmodule footprint: {} bytes ({} KiB), {} bytes over 64 KiB. Of it: image {} (text, rodata, data and .bss without the heap), \
             main stack {} of which {stack_peak} were written in this run (a lower bound of its use), static heap {} (pointer buffers {} plus the xcbuf:i thread's stack and slack). \
             What would close it: size both stacks from measured use (the main stack's peak is above; the xcbuf:i thread runs the same loop) and shrink the static heap to its stack, \
             its pointer buffers and the small allocations; the image itself is already below the goal.",
            fp.total(),
            fp.total() / 1024,
            fp.total() - FOOTPRINT_GOAL,
            fp.image,
            fp.stack,
            fp.static_heap,
            fp.pointer_buffers
        ));
    }
    let nro_size = std::fs::metadata(&config.nro).map_err(|e| format!("{}: {e}", config.nro.display()))?.len();
    figures.push(Figure::new("nro size", nro_size.to_string(), "bytes"));

    // The end-to-end suite, timed (informative).
    let suite_config =
        RunConfig { sysmodule: Some(config.sysmodule.clone()), nro: Some(config.nro.clone()), ..config.run.clone() };
    let t0 = Instant::now();
    let suite = run::run(&suite_config);
    let wall = t0.elapsed().as_millis();
    if suite.exit_code() != 0 {
        return Err(format!("the end-to-end suite failed:\n{}", suite.summary()));
    }
    figures.push(Figure::new("bench wall time for the end-to-end suite", wall.to_string(), "ms"));

    // The two-svc variant of the same sysmodule source, same client, same counts.
    if let Some(two) = &config.two_svc_sysmodule {
        let run = run_loop(two, &config.perf_loop_nro, &config.run, config.idle_ns)?;
        if run.client_errors != Some(0) {
            return Err(format!("the perf-loop client reported errors against two-svc: {:?}", run.client_errors));
        }
        let e = phase(&run, "echo16")?;
        figures.push(Figure::new("two-svc server svcs per request", ratio(e.server.svcs, e.requests), "svcs/request"));
        figures.push(Figure::new(
            "two-svc server instructions per echo16",
            ratio(e.server.instructions, e.requests),
            "instructions",
        ));
        notes.push(format!(
            "One svc per request (shipped) against two (`two-svc`), {} echo16 requests each: {} vs {} server svcs per request, {} vs {} server user-mode instructions per echo16. \
             The instruction counts are user mode only: the second svc's cost is mostly the kernel entry, exit and wait it adds, which the bench does not count.",
            e.requests,
            ratio(echo16.server.svcs, echo16.requests),
            ratio(e.server.svcs, e.requests),
            ratio(echo16.server.instructions, echo16.requests),
            ratio(e.server.instructions, e.requests),
        ));
    }
    Ok(PerfResult { figures, gaps, notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_prints_equal_counts_as_one_exactly() {
        assert_eq!(ratio(10_000, 10_000), "1.00");
        assert_eq!(ratio(20_000, 10_000), "2.00");
        assert_eq!(ratio(1, 3), "0.33");
        assert_eq!(ratio(2, 3), "0.67");
        assert_eq!(ratio(5, 0), "n/a");
    }

    #[test]
    fn echo16_request_is_header_plus_raw_words() {
        let h = echo_request_header(16).unwrap();
        let decoded = xcbuf_common::hipc::MessageHeader::decode(h);
        assert_eq!(decoded.pointer_count, 1);
        assert_eq!(message_bytes(h), 8 + 4 * u64::from(decoded.raw_count));
    }
}

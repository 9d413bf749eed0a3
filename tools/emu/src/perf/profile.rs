//! `xcbuf-emu profile` (`make profile`): where the instructions of one phase of the perf
//! loop go, per function, for the server and for the client.
//!
//! The block hook that counts instructions ([`crate::cpu`]) also counts, when profiling,
//! how often each translated block ran; a marker line snapshots those counts like the
//! other counters ([`super::markers::Mark`]), so a phase holds the executions of each
//! block between its two marks. Each block's instructions (`size / 4`, as the counter
//! counts them) are attributed instruction by instruction to the ELF function symbol
//! whose range contains them ([`Symbols::function_at`]): a block that runs on past the
//! end of one function into the next is split between the two. Every table therefore
//! sums exactly to the phase's instruction figure, which [`attribute`]'s caller checks.
//!
//! Inlined code belongs to the function it was inlined into: the Switch profile builds
//! with LTO and one codegen unit and keeps no debug info, so nothing in the binary says
//! which source function an inlined instruction came from. `entries` counts executions
//! of a block that starts at a function's first instruction: calls and tail calls into
//! it (a branch back to its first instruction would count too).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use super::loop_run::{LoopOptions, run_loop_setups};
use super::markers::Phase;
use crate::cpu::BlockCounts;
use crate::kernel::process::LaunchKind;
use crate::loader::{self, ProgramImage};
use crate::run::RunConfig;
use crate::symbols::{Symbols, demangle};

/// Row name for instructions outside every function symbol.
pub const NO_SYMBOL: &str = "(no function symbol)";

/// One function's instructions in a phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCount {
    /// Demangled, without crate hashes ([`demangle`]); [`NO_SYMBOL`] for the rest.
    pub name: String,
    pub instructions: u64,
    /// Executions of a block starting at the function's first instruction.
    pub entries: u64,
}

/// One block among the most executed instructions of a phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotBlock {
    /// `function+0xoffset` of the block's first instruction (demangled name), or
    /// `image+0xoffset` outside every symbol.
    pub location: String,
    /// Image-relative address of its first instruction (for `llvm-objdump --start-address`).
    pub image_offset: u64,
    /// Instructions per execution.
    pub size: u64,
    pub executions: u64,
}

impl HotBlock {
    pub fn instructions(&self) -> u64 {
        self.size.saturating_mul(self.executions)
    }
}

/// One process's instructions in a phase, by function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessProfile {
    /// Sum of every function's instructions.
    pub total: u64,
    /// Most instructions first (ties by name).
    pub functions: Vec<FunctionCount>,
    /// Blocks by instructions executed, most first.
    pub hot_blocks: Vec<HotBlock>,
}

/// Attributes the block executions of one process to its functions. `code_base` is where
/// the image is loaded (the symbols are image-relative).
pub fn attribute(blocks: &BlockCounts, symbols: &Symbols, code_base: u64) -> ProcessProfile {
    // Keyed by the mangled symbol (two symbols may demangle alike).
    let mut by_symbol: HashMap<&str, (u64, u64)> = HashMap::new();
    let mut hot_blocks = Vec::new();
    let mut total = 0u64;
    for (&(address, size), &executions) in blocks {
        let start_rel = address.checked_sub(code_base);
        let location = match start_rel.and_then(|rel| symbols.function_at(rel).map(|f| (rel, f))) {
            Some((rel, f)) => format!("{}+{:#x}", demangle(f.name), rel - f.start),
            None => format!("image+{:#x}", address.wrapping_sub(code_base)),
        };
        hot_blocks.push(HotBlock {
            location,
            image_offset: start_rel.unwrap_or(address),
            size: u64::from(size / 4),
            executions,
        });
        for i in 0..u64::from(size / 4) {
            let rel = start_rel.and_then(|r| r.checked_add(4 * i));
            let f = rel.and_then(|r| symbols.function_at(r));
            let slot = by_symbol.entry(f.map_or(NO_SYMBOL, |f| f.name)).or_insert((0, 0));
            slot.0 = slot.0.saturating_add(executions);
            if i == 0 && f.is_some_and(|f| Some(f.start) == start_rel) {
                slot.1 = slot.1.saturating_add(executions);
            }
            total = total.saturating_add(executions);
        }
    }
    let mut functions: Vec<FunctionCount> = by_symbol
        .into_iter()
        .map(|(name, (instructions, entries))| FunctionCount {
            name: if name == NO_SYMBOL { NO_SYMBOL.to_string() } else { demangle(name) },
            instructions,
            entries,
        })
        .collect();
    functions.sort_by(|a, b| b.instructions.cmp(&a.instructions).then_with(|| a.name.cmp(&b.name)));
    hot_blocks
        .sort_by(|a, b| b.instructions().cmp(&a.instructions()).then_with(|| a.image_offset.cmp(&b.image_offset)));
    ProcessProfile { total, functions, hot_blocks }
}

/// The server's and the client's profile of one phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseProfile {
    pub phase: String,
    pub requests: u64,
    pub server: ProcessProfile,
    pub client: ProcessProfile,
}

/// The profiles of `phase`, checked against its instruction counters: each table must
/// sum to exactly the figure `make bench` reports.
pub fn phase_profile(phase: &Phase, server: (&Symbols, u64), client: (&Symbols, u64)) -> Result<PhaseProfile, String> {
    let profile = |blocks: &Option<BlockCounts>, (symbols, base): (&Symbols, u64), counted: u64, who: &str| {
        let blocks = blocks.as_ref().ok_or_else(|| format!("phase {}: the {who} was not profiled", phase.name))?;
        let p = attribute(blocks, symbols, base);
        if p.total != counted {
            return Err(format!(
                "phase {}: the {who}'s profile sums to {} instructions, its counter to {counted}",
                phase.name, p.total
            ));
        }
        Ok(p)
    };
    Ok(PhaseProfile {
        phase: phase.name.clone(),
        requests: phase.requests,
        server: profile(&phase.server_blocks, server, phase.server.instructions, "server")?,
        client: profile(&phase.client_blocks, client, phase.client.instructions, "client")?,
    })
}

/// Fails when a function symbol of `elf` does not hold the same bytes in `image` (the
/// image loaded from the NSO/NRO): the symbols would name the wrong code.
pub fn check_elf_matches(image: &ProgramImage, elf_image: &ProgramImage, symbols: &Symbols) -> Result<(), String> {
    let bytes = |img: &ProgramImage, rel: u64, len: u64| -> Option<Vec<u8>> {
        let s = img.segments.iter().find(|s| s.offset <= rel && rel + len <= s.offset + s.bytes.len() as u64)?;
        let from = usize::try_from(rel - s.offset).ok()?;
        s.bytes.get(from..from + usize::try_from(len).ok()?).map(<[u8]>::to_vec)
    };
    let mut compared = 0;
    for (start, size, name) in symbols.functions() {
        if *size == 0 {
            continue;
        }
        let Some(elf) = bytes(elf_image, *start, *size) else { continue };
        if bytes(image, *start, *size).as_ref() != Some(&elf) {
            return Err(format!(
                "function `{}` (image+{start:#x}) differs between the ELF and the loaded image: \
                 the ELF is not the one this image was packed from",
                demangle(name)
            ));
        }
        compared += 1;
    }
    if compared == 0 {
        return Err("no function symbol of the ELF lies in its loadable segments".into());
    }
    Ok(())
}

/// What `xcbuf-emu profile` needs.
#[derive(Debug, Clone)]
pub struct ProfileConfig {
    /// The sysmodule's exefs.nsp and the ELF it was packed from.
    pub sysmodule: PathBuf,
    pub sysmodule_elf: PathBuf,
    /// The client built with `perf-loop` (NRO) and its ELF.
    pub perf_loop_nro: PathBuf,
    pub nro_elf: PathBuf,
    /// Phases to profile, in this order (empty: every phase of the run).
    pub phases: Vec<String>,
    pub run: RunConfig,
}

/// One profiled perf-loop run: the sysmodule with the perf-loop client, every process's
/// blocks counted, then each requested phase attributed.
pub fn profile(config: &ProfileConfig) -> Result<Vec<PhaseProfile>, String> {
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let mut server = loader::sysmodule_from_exefs(&config.sysmodule.display().to_string(), &read(&config.sysmodule)?)?;
    let mut client = loader::nro_from_file(
        &config.perf_loop_nro.display().to_string(),
        &read(&config.perf_loop_nro)?,
        LaunchKind::Hbmenu,
    )?;
    let mut symbols = Vec::new();
    for (setup, elf_path) in [(&mut server, &config.sysmodule_elf), (&mut client, &config.nro_elf)] {
        let elf = read(elf_path)?;
        let at = |e: String| format!("{}: {e}", elf_path.display());
        let s = Symbols::from_elf(&elf).map_err(at)?;
        check_elf_matches(&setup.image, &ProgramImage::from_elf(&elf).map_err(at)?, &s).map_err(at)?;
        symbols.push((s.clone(), setup.code_base));
        setup.symbols = Some(s);
    }
    let run = run_loop_setups(Some(server), client, &config.run, LoopOptions { idle_ns: None, profile: true })?;
    if run.client_errors != Some(0) {
        return Err(format!("the perf-loop client reported errors: {:?}", run.client_errors));
    }
    let names: Vec<String> = if config.phases.is_empty() {
        run.phases.iter().map(|p| p.name.clone()).collect()
    } else {
        config.phases.clone()
    };
    let (server_symbols, client_symbols) = match symbols.as_slice() {
        [s, c] => (s, c),
        _ => return Err("symbols missing".into()),
    };
    names
        .iter()
        .map(|name| {
            let phase = run
                .phases
                .iter()
                .find(|p| &p.name == name)
                .ok_or_else(|| format!("no `{name}` phase in the perf-loop output"))?;
            phase_profile(phase, (&server_symbols.0, server_symbols.1), (&client_symbols.0, client_symbols.1))
        })
        .collect()
}

/// `part / whole` as a percentage with one decimal ("12.3%"), rounded half up.
pub fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "n/a".into();
    }
    let tenths = (u128::from(part) * 1000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// The rows of a table: the `top` functions, then one row for the rest (if any).
fn rows(p: &ProcessProfile, top: usize) -> (Vec<&FunctionCount>, Option<(usize, u64)>) {
    let shown: Vec<&FunctionCount> = p.functions.iter().take(top).collect();
    let rest = p.functions.get(top..).unwrap_or(&[]);
    let rest = (!rest.is_empty()).then(|| (rest.len(), rest.iter().map(|f| f.instructions).sum()));
    (shown, rest)
}

/// The terminal report of one phase: the `top` functions of each process with their
/// share, then the `hot` most executed blocks.
pub fn text(p: &PhaseProfile, top: usize, hot: usize) -> String {
    let ratio = |n: u64| super::figures::ratio(n, p.requests);
    let mut s = String::new();
    for (who, prof) in [("server", &p.server), ("client", &p.client)] {
        let _ =
            writeln!(s, "{} {who}: {} instructions per request ({} requests)", p.phase, ratio(prof.total), p.requests);
        let _ = writeln!(s, "  {:>6}  {:>10}  {:>11}  function", "share", "instr/req", "entries/req");
        let (shown, rest) = rows(prof, top);
        for f in shown {
            let _ = writeln!(
                s,
                "  {:>6}  {:>10}  {:>11}  {}",
                share(f.instructions, prof.total),
                ratio(f.instructions),
                ratio(f.entries),
                f.name
            );
        }
        if let Some((n, instructions)) = rest {
            let _ = writeln!(
                s,
                "  {:>6}  {:>10}  {:>11}  ({n} other {})",
                share(instructions, prof.total),
                ratio(instructions),
                "",
                functions(n)
            );
        }
        if hot > 0 {
            let _ = writeln!(s, "  hottest blocks (image offset: instructions x executions per request):");
            for b in prof.hot_blocks.iter().take(hot) {
                let _ = writeln!(
                    s,
                    "  {:>6}  {:#07x}: {} x {}  {}",
                    share(b.instructions(), prof.total),
                    b.image_offset,
                    b.size,
                    ratio(b.executions),
                    b.location
                );
            }
        }
        s.push('\n');
    }
    s
}

fn functions(n: usize) -> &'static str {
    if n == 1 { "function" } else { "functions" }
}

/// A function name for a markdown table cell: code, with `|` escaped.
fn cell(name: &str) -> String {
    if name == NO_SYMBOL { name.to_string() } else { format!("`{}`", name.replace('|', "\\|")) }
}

/// The markdown tables of one profiled run, each followed by its `hot` hottest blocks:
/// a `### <title>` subsection of the Profile section (see [`super::markdown::with_profile`]).
pub fn markdown(profiles: &[PhaseProfile], top: usize, hot: usize, title: &str, date: &str, commit: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "### {title}\n");
    let requests = profiles.first().map_or(0, |p| p.requests);
    let _ = writeln!(
        s,
        "`make profile` on {date} at commit `{commit}`: {requests} requests per phase; the {top} functions with the most instructions, then the rest.\n"
    );
    for p in profiles {
        let ratio = |n: u64| super::figures::ratio(n, p.requests);
        for (who, prof) in [("server", &p.server), ("client", &p.client)] {
            let _ = writeln!(s, "#### {} {who}: {} instructions per request\n", p.phase, ratio(prof.total));
            let _ = writeln!(s, "| function | instructions per request | share | entries per request |");
            let _ = writeln!(s, "|---|---:|---:|---:|");
            let (shown, rest) = rows(prof, top);
            for f in shown {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} |",
                    cell(&f.name),
                    ratio(f.instructions),
                    share(f.instructions, prof.total),
                    ratio(f.entries)
                );
            }
            if let Some((n, instructions)) = rest {
                let _ = writeln!(
                    s,
                    "| ({n} other {}) | {} | {} | |",
                    functions(n),
                    ratio(instructions),
                    share(instructions, prof.total)
                );
            }
            let _ = writeln!(s, "| total | {} | 100.0% | |\n", ratio(prof.total));
            if hot > 0 && !prof.hot_blocks.is_empty() {
                let _ = writeln!(s, "Hottest blocks (instructions per execution x executions per request):\n");
                for b in prof.hot_blocks.iter().take(hot) {
                    let _ = writeln!(
                        s,
                        "- {} `{}` (image+{:#x}): {} x {}",
                        share(b.instructions(), prof.total),
                        b.location.replace('`', "'"),
                        b.image_offset,
                        b.size,
                        ratio(b.executions)
                    );
                }
                s.push('\n');
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x71_0000_0000;

    fn symbols() -> Symbols {
        Symbols::from_functions(vec![(0x0, 0x40, "main".into()), (0x40, 0x10, "f".into()), (0x50, 0x14, "g".into())])
    }

    #[test]
    fn instructions_are_attributed_to_the_function_containing_them() {
        let blocks = BlockCounts::from([
            ((BASE + 0x10, 8), 3),  // main: 2 instructions, 3 times
            ((BASE + 0x40, 16), 2), // f from its start: 4 instructions, 2 entries
            ((BASE + 0x50, 20), 1), // g from its start: 5 instructions
        ]);
        let p = attribute(&blocks, &symbols(), BASE);
        assert_eq!(p.total, 6 + 8 + 5);
        let f = |name: &str| p.functions.iter().find(|f| f.name == name).cloned();
        assert_eq!(f("main"), Some(FunctionCount { name: "main".into(), instructions: 6, entries: 0 }));
        assert_eq!(f("f"), Some(FunctionCount { name: "f".into(), instructions: 8, entries: 2 }));
        assert_eq!(f("g"), Some(FunctionCount { name: "g".into(), instructions: 5, entries: 1 }));
        assert_eq!(p.functions[0].name, "f", "most instructions first");
        assert_eq!(p.hot_blocks[0].location, "f+0x0");
        assert_eq!(p.hot_blocks[0].instructions(), 8);
    }

    #[test]
    fn a_block_running_past_a_function_end_is_split_between_the_functions() {
        // Starts 2 instructions before f's end and runs 3 more into g: no entry into g.
        let blocks = BlockCounts::from([((BASE + 0x48, 20), 10)]);
        let p = attribute(&blocks, &symbols(), BASE);
        let f = |name: &str| p.functions.iter().find(|f| f.name == name).map(|f| (f.instructions, f.entries));
        assert_eq!(f("f"), Some((20, 0)));
        assert_eq!(f("g"), Some((30, 0)));
        assert_eq!(p.total, 50);
    }

    #[test]
    fn instructions_outside_every_symbol_get_a_row_of_their_own() {
        let blocks = BlockCounts::from([((BASE + 0x100, 8), 1), ((0x1000, 4), 2)]);
        let p = attribute(&blocks, &symbols(), BASE);
        assert_eq!(p.functions, vec![FunctionCount { name: NO_SYMBOL.into(), instructions: 4, entries: 0 }]);
        assert!(p.hot_blocks.iter().any(|b| b.location == "image+0x100"), "{:?}", p.hot_blocks);
    }

    #[test]
    fn share_rounds_to_one_decimal() {
        assert_eq!(share(1, 3), "33.3%");
        assert_eq!(share(2, 3), "66.7%");
        assert_eq!(share(5, 5), "100.0%");
        assert_eq!(share(1, 0), "n/a");
    }

    fn phase_profile_for_tables() -> PhaseProfile {
        let fc = |name: &str, instructions, entries| FunctionCount { name: name.into(), instructions, entries };
        let server = ProcessProfile {
            total: 3000,
            functions: vec![fc("serve::<X|Y>", 2000, 10), fc("memcpy", 600, 30), fc("a", 300, 10), fc("b", 100, 10)],
            hot_blocks: vec![],
        };
        let client = ProcessProfile { total: 500, functions: vec![fc("main", 500, 0)], hot_blocks: vec![] };
        PhaseProfile { phase: "echo16".into(), requests: 10, server, client }
    }

    #[test]
    fn markdown_table_lists_the_top_functions_then_the_rest_and_the_total() {
        let md = markdown(&[phase_profile_for_tables()], 2, 0, "before", "2026-11-29", "abc1234");
        assert!(md.starts_with("### before\n"), "{md}");
        assert!(md.contains("at commit `abc1234`"), "{md}");
        assert!(md.contains("#### echo16 server: 300.00 instructions per request\n"), "{md}");
        assert!(md.contains("| `serve::<X\\|Y>` | 200.00 | 66.7% | 1.00 |\n"), "{md}");
        assert!(md.contains("| `memcpy` | 60.00 | 20.0% | 3.00 |\n"), "{md}");
        assert!(md.contains("| (2 other functions) | 40.00 | 13.3% | |\n"), "{md}");
        assert!(md.contains("| total | 300.00 | 100.0% | |\n"), "{md}");
        assert!(md.contains("#### echo16 client: 50.00 instructions per request\n"), "{md}");
        assert!(!md.contains("other functions) | 0"), "no rest row when every function is shown: {md}");
    }

    #[test]
    fn markdown_lists_the_hottest_blocks_after_each_table() {
        let mut p = phase_profile_for_tables();
        p.server.hot_blocks = vec![
            HotBlock { location: "memcpy+0x8c".into(), image_offset: 0x6114, size: 4, executions: 290 },
            HotBlock { location: "serve+0x10".into(), image_offset: 0x364, size: 2, executions: 10 },
        ];
        let md = markdown(&[p], 2, 1, "t", "d", "c");
        assert!(md.contains("- 38.7% `memcpy+0x8c` (image+0x6114): 4 x 29.00\n"), "{md}");
        assert!(!md.contains("serve+0x10"), "only the hottest one: {md}");
    }

    #[test]
    fn text_report_shows_shares_per_request_and_the_rest() {
        let t = text(&phase_profile_for_tables(), 3, 0);
        assert!(t.contains("echo16 server: 300.00 instructions per request (10 requests)"), "{t}");
        assert!(t.contains("66.7%      200.00         1.00  serve::<X|Y>"), "{t}");
        assert!(t.contains("(1 other function)"), "{t}");
    }

    #[test]
    fn an_elf_that_is_not_the_loaded_image_is_refused() {
        let image = ProgramImage::from_code(&[0xd503201f; 32]); // nop
        let symbols = Symbols::from_functions(vec![(0x10, 0x20, "f".into())]);
        assert_eq!(check_elf_matches(&image, &image, &symbols), Ok(()));
        let mut other = [0xd503201fu32; 32];
        other[6] = 0xd65f03c0; // ret inside f
        let err = check_elf_matches(&image, &ProgramImage::from_code(&other), &symbols).unwrap_err();
        assert!(err.contains("function `f`"), "{err}");
    }
}

//! `xcbuf-emu fuzz`: the seed, then the three campaigns against one sysmodule, with a
//! line per failure and the totals.

use super::churn::churn;
use super::isolation::isolation;
use super::messages::fuzz;
use super::rng::SplitMix64;
use crate::host_client::HostBench;

/// A seed from `random` (time and process id) or a number.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    if text == "random" {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        return Ok(SplitMix64::new(t ^ u64::from(std::process::id())).next_u64());
    }
    match text.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => text.parse(),
    }
    .map_err(|e| format!("seed `{text}`: {e}"))
}

/// `xcbuf-emu fuzz`: fuzz, churn, isolation; prints the totals and each failing case;
/// non-zero exit on any fault, hang, unexpected result, leak or crossing byte.
pub fn command(
    sysmodule: &std::path::Path,
    sysmodule_elf: Option<&std::path::Path>,
    iterations: u64,
    seed: &str,
    churn_sessions: u64,
    rounds: u64,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    let seed = match parse_seed(seed) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    println!("seed: {seed}");
    let config = crate::run::RunConfig { sysmodule_elf: sysmodule_elf.map(|p| p.to_path_buf()), ..Default::default() };
    let mut bench = match HostBench::start_sysmodule(sysmodule, config) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    let mut ok = true;
    match fuzz(&mut bench, iterations, seed) {
        Ok(r) => {
            for f in &r.failures {
                println!("{f}");
            }
            println!("{}", r.summary());
            println!("server handles: {} at start, {} at end", r.handles_start, r.handles_end);
            ok &= r.ok();
        }
        Err(e) => {
            println!("fuzz: {e}");
            ok = false;
        }
    }
    if churn_sessions > 0 && bench.server_alive().is_ok() {
        match churn(&mut bench, churn_sessions, seed) {
            Ok(c) => {
                println!(
                    "churn: {} sessions opened and closed; past the limit: {} refused, {} closed by the server; server handles {} -> {}, mapped bytes {} -> {}; Stats open sessions at the limit: {:?}",
                    c.sessions_opened,
                    c.over_limit_refused,
                    c.over_limit_closed,
                    c.handles_start,
                    c.handles_end,
                    c.mapped_start,
                    c.mapped_end,
                    c.open_sessions_end
                );
                match (c.heap_used_start, c.heap_used_end) {
                    (Some(a), Some(b)) => println!("churn: server heap used {a} -> {b} bytes"),
                    _ => println!("churn: server heap used not measured (give --sysmodule-elf)"),
                }
                for p in &c.problems {
                    println!("churn: {p}");
                }
                ok &= c.ok();
            }
            Err(e) => {
                println!("churn: {e}");
                ok = false;
            }
        }
    }
    if rounds > 0 && bench.server_alive().is_ok() {
        match isolation(&mut bench, rounds, seed) {
            Ok(i) => {
                println!(
                    "isolation: {} rounds, {} bytes of B's buffers checked, {} problems",
                    i.rounds,
                    i.bytes_checked,
                    i.problems.len()
                );
                for p in &i.problems {
                    println!("isolation: {p}");
                }
                ok &= i.problems.is_empty();
            }
            Err(e) => {
                println!("isolation: {e}");
                ok = false;
            }
        }
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

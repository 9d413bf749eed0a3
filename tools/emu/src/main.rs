//! `xcbuf-emu run --sysmodule <exefs.nsp> --nro <file.nro>`: runs the pair and exits
//! with the NRO's result (0 = ok); non-zero if a process faulted, the run deadlocked or
//! ran out of budget.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use xcbuf_emu::hle::FirmwareVersion;
use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::kernel::profile::KernelProfile;
use xcbuf_emu::run::{self, RunConfig};

#[derive(Parser)]
#[command(name = "xcbuf-emu", about = "Runs the xcbuf sysmodule and client on a model of Horizon")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Launch {
    /// As hbloader does: loader config in x0, x1 = -1, return address in lr.
    Hbmenu,
    /// As Eden/Ryujinx do: x0 = 0, x1 = main thread handle, lr = 0, no heap.
    Emulator,
    /// As Eden does with program arguments: x0 = Eden's loader config (no HosVersion, no
    /// heap), x1 = -1, lr = the NRO's first `svc #7`.
    EdenArgs,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Kernel {
    /// Atmosphère's mesosphere (Eden's kernel follows it).
    Horizon,
    /// Ryujinx's kernel: the same copy, other failure paths (kernel/profile.rs).
    Ryujinx,
}

#[derive(Subcommand)]
enum Command {
    /// Run the sysmodule and/or the NRO.
    Run {
        /// The sysmodule's exefs.nsp (PFS0 with main + main.npdm).
        #[arg(long)]
        sysmodule: Option<PathBuf>,
        /// The client NRO.
        #[arg(long)]
        nro: Option<PathBuf>,
        /// Do not start the sysmodule (implies --launch emulator unless given).
        #[arg(long)]
        no_sysmodule: bool,
        #[arg(long, value_enum)]
        launch: Option<Launch>,
        /// Which kernel's IPC behaviour to model.
        #[arg(long, value_enum, default_value = "horizon")]
        kernel: Kernel,
        /// ELF with symbols for the sysmodule's fault reports.
        #[arg(long)]
        sysmodule_elf: Option<PathBuf>,
        /// ELF with symbols for the NRO's fault reports.
        #[arg(long)]
        nro_elf: Option<PathBuf>,
        /// Stop with a report after this many guest instructions (all processes).
        #[arg(long, default_value_t = run::DEFAULT_MAX_INSTRUCTIONS)]
        max_instructions: u64,
        /// Stop with a report after this many milliseconds of bench time (instructions
        /// at 1 ns each plus the idle jumps from deadline to deadline).
        #[arg(long, default_value_t = run::DEFAULT_MAX_BENCH_NS / 1_000_000)]
        max_bench_ms: u64,
        /// Stop with a report after this many seconds of host time.
        #[arg(long)]
        time_budget: Option<u64>,
        /// Print every IPC message header and descriptor as decoded.
        #[arg(long)]
        trace_ipc: bool,
        /// Write the counters as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also write the files the guests wrote through fsp-srv under this host directory
        /// (the SD card's root: `/switch/x.txt` -> `DIR/switch/x.txt`).
        #[arg(long)]
        sdmc: Option<PathBuf>,
        /// Write the last frame queued on a shown layer (vi's compositor, de-swizzled) to
        /// this PNG file. No such frame: nothing is written, and the exit code is 3.
        #[arg(long)]
        screenshot: Option<PathBuf>,
        /// Instructions per time slice.
        #[arg(long, default_value_t = run::DEFAULT_SLICE)]
        slice: u64,
        /// The system version `set:sys` reports (MAJOR.MINOR.MICRO).
        #[arg(long, default_value = "21.0.0")]
        firmware: FirmwareVersion,
        /// Press a button at a bench time: `<button>@<ms>` (plus, minus, a, b, x, y, l, r,
        /// zl, zr, lstick, rstick, left, up, right, down; `a+b@100` presses both), held
        /// 100 ms on the handheld and player 1. Repeatable. Without it, + is pressed
        /// once the client waits for input.
        #[arg(long, value_name = "BUTTON@MS")]
        press: Vec<xcbuf_emu::hle::hid::Press>,
        /// vi releases each frame with a fence on a syncpoint, as a console's display does
        /// (Eden and Ryujinx release with none), so the client waits on it with
        /// nvhost-ctrl SYNCPT_WAIT before drawing into the slot again.
        #[arg(long)]
        release_fences: bool,
        /// hbmenu launched from the album: the loader config says LibraryApplet (the client
        /// opens appletAE and nvdrv:a); without it, Application (a title override).
        #[arg(long)]
        album: bool,
    },
    /// Measure the performance figures (`make bench`) and print them as `name: value unit`.
    Perf {
        /// The shipped sysmodule's exefs.nsp.
        #[arg(long)]
        sysmodule: PathBuf,
        /// Its ELF (the static heap symbol for the footprint).
        #[arg(long)]
        sysmodule_elf: PathBuf,
        /// The shipped client NRO (end-to-end suite, nro size).
        #[arg(long)]
        nro: PathBuf,
        /// The client built with the `perf-loop` feature.
        #[arg(long)]
        perf_loop_nro: PathBuf,
        /// The sysmodule built with the `two-svc` feature.
        #[arg(long)]
        two_svc_sysmodule: Option<PathBuf>,
        /// Write the figures, date and commit to this markdown file.
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Idle window in milliseconds of bench time.
        #[arg(long, default_value_t = 1000)]
        idle_ms: u64,
    },
    /// Instructions per function for each phase of the perf loop, server and client
    /// (`make profile`); inlined code counts for the function it was inlined into.
    Profile {
        /// The sysmodule's exefs.nsp.
        #[arg(long)]
        sysmodule: PathBuf,
        /// The ELF it was packed from (its function symbols).
        #[arg(long)]
        sysmodule_elf: PathBuf,
        /// The client built with the `perf-loop` feature.
        #[arg(long)]
        perf_loop_nro: PathBuf,
        /// The ELF that NRO was packed from.
        #[arg(long)]
        nro_elf: PathBuf,
        /// A phase to profile (echo16, echo1k, concat4); repeat for several. Default: all.
        #[arg(long)]
        phase: Vec<String>,
        /// Functions listed per table (the rest is one row).
        #[arg(long, default_value_t = 12)]
        top: usize,
        /// Hottest blocks listed after each table.
        #[arg(long, default_value_t = 6)]
        hot_blocks: usize,
        /// Put the tables into this markdown file's Profile section (docs/BENCHMARKS.md).
        #[arg(long)]
        markdown: Option<PathBuf>,
        /// Title of this run's subsection (default: `at commit <hash>`); a subsection with
        /// the same title is replaced.
        #[arg(long)]
        title: Option<String>,
    },
    /// Hostile messages, session churn and isolation against the sysmodule.
    Fuzz {
        /// The sysmodule's exefs.nsp.
        #[arg(long)]
        sysmodule: PathBuf,
        /// Its ELF: the churn pass then also compares the server's heap use (rt's
        /// XCBUF_RT_HEAP_STATS read from guest memory).
        #[arg(long)]
        sysmodule_elf: Option<PathBuf>,
        #[arg(long, default_value_t = 10_000)]
        iterations: u64,
        /// A number, or `random`.
        #[arg(long, default_value = "random")]
        seed: String,
        /// Sessions to open and close in the churn pass (0: skip).
        #[arg(long, default_value_t = 10_000)]
        churn: u64,
        /// Rounds of the isolation pass (0: skip).
        #[arg(long, default_value_t = 30)]
        isolation: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            sysmodule,
            nro,
            no_sysmodule,
            launch,
            kernel,
            sysmodule_elf,
            nro_elf,
            max_instructions,
            max_bench_ms,
            time_budget,
            trace_ipc,
            json,
            sdmc,
            screenshot,
            slice,
            firmware,
            press,
            release_fences,
            album,
        } => {
            let launch = match launch {
                Some(Launch::Hbmenu) => LaunchKind::Hbmenu,
                Some(Launch::Emulator) => LaunchKind::Emulator,
                Some(Launch::EdenArgs) => LaunchKind::EdenArgs,
                None if no_sysmodule => LaunchKind::Emulator,
                None => LaunchKind::Hbmenu,
            };
            let config = RunConfig {
                sysmodule,
                nro,
                no_sysmodule,
                launch,
                sysmodule_elf,
                nro_elf,
                max_instructions,
                max_bench_ns: max_bench_ms.saturating_mul(1_000_000),
                time_budget: time_budget.map(Duration::from_secs),
                trace_ipc,
                echo_output: true,
                slice: slice.max(1),
                kernel: match kernel {
                    Kernel::Horizon => KernelProfile::Horizon,
                    Kernel::Ryujinx => KernelProfile::Ryujinx,
                },
                firmware,
                presses: press,
                release_fences,
                album,
                without_services: Vec::new(),
            };
            let report = run::run(&config);
            eprint!("{}", report.summary());
            if let Some(path) = json {
                let text = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
                if let Err(e) = std::fs::write(&path, text) {
                    eprintln!("{}: {e}", path.display());
                    return ExitCode::from(1);
                }
            }
            if let Some(Err(e)) = sdmc.map(|dir| xcbuf_emu::hle::fsp::write_to_host(&dir, &report.sd_files)) {
                eprintln!("{e}");
                return ExitCode::from(1);
            }
            for line in &report.frames_not_shown {
                eprintln!("{line}");
            }
            let mut code = report.exit_code();
            if let Some(path) = screenshot {
                match &report.screen {
                    Some(frame) => match xcbuf_emu::hle::vi::display::write_png(frame, &path) {
                        Ok(()) => eprintln!(
                            "screenshot: {} (frame {} of layer {}, {}x{})",
                            path.display(),
                            frame.frame_number,
                            frame.layer,
                            frame.width,
                            frame.height
                        ),
                        Err(e) => {
                            eprintln!("screenshot: {e}");
                            return ExitCode::from(1);
                        }
                    },
                    None => {
                        eprintln!("screenshot: no frame was queued on a shown layer; {} not written", path.display());
                        if code == 0 {
                            code = 3;
                        }
                    }
                }
            }
            eprintln!("exit code {code}");
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        Command::Fuzz { sysmodule, sysmodule_elf, iterations, seed, churn, isolation } => {
            xcbuf_emu::fuzz::command(&sysmodule, sysmodule_elf.as_deref(), iterations, &seed, churn, isolation)
        }
        Command::Profile {
            sysmodule,
            sysmodule_elf,
            perf_loop_nro,
            nro_elf,
            phase,
            top,
            hot_blocks,
            markdown,
            title,
        } => profile_command(
            &xcbuf_emu::perf::profile::ProfileConfig {
                sysmodule,
                sysmodule_elf,
                perf_loop_nro,
                nro_elf,
                phases: phase,
                run: RunConfig::default(),
            },
            top,
            hot_blocks,
            markdown,
            title,
        ),
        Command::Perf { sysmodule, sysmodule_elf, nro, perf_loop_nro, two_svc_sysmodule, markdown, idle_ms } => {
            perf_command(
                xcbuf_emu::perf::PerfConfig {
                    sysmodule,
                    sysmodule_elf: Some(sysmodule_elf),
                    nro,
                    perf_loop_nro,
                    two_svc_sysmodule,
                    idle_ns: idle_ms.saturating_mul(1_000_000),
                    run: RunConfig::default(),
                },
                markdown,
            )
        }
    }
}

/// `perf`: runs [`xcbuf_emu::perf::measure`], prints one line per figure, writes the
/// markdown.
fn perf_command(config: xcbuf_emu::perf::PerfConfig, markdown: Option<PathBuf>) -> ExitCode {
    use xcbuf_emu::perf;
    let result = match perf::measure(&config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("perf: {e}");
            return ExitCode::from(1);
        }
    };
    for f in &result.figures {
        println!("{}", f.line());
    }
    if let Some(path) = markdown {
        let text = perf::markdown(&result, &perf::today_utc(), &perf::git_commit());
        // The Profile section (`make profile`) is not the figures': keep it.
        let old = std::fs::read_to_string(&path).ok();
        let text = perf::keep_profile(old.as_deref(), text);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(1);
        }
        eprintln!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}

/// `profile`: runs [`xcbuf_emu::perf::profile::profile`], prints each phase's tables and
/// hottest blocks, and puts the tables into the markdown's Profile section.
fn profile_command(
    config: &xcbuf_emu::perf::profile::ProfileConfig,
    top: usize,
    hot_blocks: usize,
    markdown: Option<PathBuf>,
    title: Option<String>,
) -> ExitCode {
    use xcbuf_emu::perf::{self, profile};
    let profiles = match profile::profile(config) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("profile: {e}");
            return ExitCode::from(1);
        }
    };
    for p in &profiles {
        print!("{}", profile::text(p, top, hot_blocks));
    }
    if let Some(path) = markdown {
        let commit = perf::git_commit();
        let title = title.unwrap_or_else(|| format!("at commit {commit}"));
        let section = profile::markdown(&profiles, top, hot_blocks, &title, &perf::today_utc(), &commit);
        let old = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                return ExitCode::from(1);
            }
        };
        if let Err(e) = std::fs::write(&path, perf::with_profile(&old, &section)) {
            eprintln!("{}: {e}", path.display());
            return ExitCode::from(1);
        }
        eprintln!("wrote the Profile section `{title}` of {}", path.display());
    }
    ExitCode::SUCCESS
}

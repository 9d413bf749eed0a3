//! `xcbuf-emu run --sysmodule <exefs.nsp> --nro <file.nro>`: runs the pair and exits
//! with the NRO's result (0 = ok); non-zero if a process faulted, the run deadlocked or
//! ran out of budget.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use xcbuf_emu::bench::{self, RunConfig};
use xcbuf_emu::kernel::process::LaunchKind;

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
        /// ELF with symbols for the sysmodule's fault reports.
        #[arg(long)]
        sysmodule_elf: Option<PathBuf>,
        /// ELF with symbols for the NRO's fault reports.
        #[arg(long)]
        nro_elf: Option<PathBuf>,
        /// Stop with a report after this many guest instructions (all processes).
        #[arg(long, default_value_t = bench::DEFAULT_MAX_INSTRUCTIONS)]
        max_instructions: u64,
        /// Stop with a report after this many seconds of host time.
        #[arg(long)]
        time_budget: Option<u64>,
        /// Print every IPC message header and descriptor as decoded.
        #[arg(long)]
        trace_ipc: bool,
        /// Write the counters as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Instructions per time slice.
        #[arg(long, default_value_t = bench::DEFAULT_SLICE)]
        slice: u64,
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
            sysmodule_elf,
            nro_elf,
            max_instructions,
            time_budget,
            trace_ipc,
            json,
            slice,
        } => {
            let launch = match launch {
                Some(Launch::Hbmenu) => LaunchKind::Hbmenu,
                Some(Launch::Emulator) => LaunchKind::Emulator,
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
                time_budget: time_budget.map(Duration::from_secs),
                trace_ipc,
                echo_output: true,
                slice: slice.max(1),
            };
            let report = bench::run(&config);
            eprint!("{}", report.summary());
            if let Some(path) = json {
                let text = serde_json::to_string_pretty(&report.to_json()).unwrap_or_default();
                if let Err(e) = std::fs::write(&path, text) {
                    eprintln!("{}: {e}", path.display());
                    return ExitCode::from(1);
                }
            }
            let code = report.exit_code();
            eprintln!("exit code {code}");
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}

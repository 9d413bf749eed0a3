//! `xcbuf-pack`: the command line of the packer. See tools/pack/README.md.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use xcbuf_pack::error::{display_name, read_file, write_file};
use xcbuf_pack::nacp::Nacp;
use xcbuf_pack::pfs0::Pfs0File;
use xcbuf_pack::sd::SdInputs;
use xcbuf_pack::{inspect, npdm, nro, nso, pfs0, sd};

#[derive(Parser)]
#[command(name = "xcbuf-pack", version, about = "ELF to NRO / NSO / main.npdm / exefs.nsp, and the SD-card tree")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// ELF -> NRO with icon and NACP (for hbmenu).
    Nro {
        #[arg(long)]
        elf: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Title shown by hbmenu.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        author: Option<String>,
        /// Display version.
        #[arg(long)]
        version: Option<String>,
    },
    /// ELF -> NSO (LZ4-compressed, SHA-256-hashed segments).
    Nso {
        #[arg(long)]
        elf: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// npdmtool-format JSON -> main.npdm.
    Npdm {
        #[arg(long)]
        json: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Files -> PFS0; each FILE is `path` (stored under its file name) or `name=path`.
    Pfs0 {
        #[arg(long)]
        out: PathBuf,
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Everything -> the SD-card tree (atmosphere/contents/<id>/..., switch/xcbuf/xcbuf.nro).
    Sd {
        #[arg(long)]
        sysmodule_elf: PathBuf,
        #[arg(long)]
        npdm_json: PathBuf,
        #[arg(long)]
        nro_elf: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Prints what the readers see in an NRO, NSO, NPDM, PFS0 or ELF (detected by magic).
    Inspect { file: PathBuf },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xcbuf-pack: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Nro { elf, out, name, author, version } => {
            let defaults = Nacp::xcbuf_default();
            let nacp = Nacp {
                name: name.unwrap_or(defaults.name),
                author: author.unwrap_or(defaults.author),
                display_version: version.unwrap_or(defaults.display_version),
            };
            let bytes = nro::pack_elf(&display_name(&elf), &read_file(&elf)?, &nacp)?;
            write_file(&out, &bytes)?;
        }
        Command::Nso { elf, out } => {
            write_file(&out, &nso::pack_elf(&display_name(&elf), &read_file(&elf)?)?)?;
        }
        Command::Npdm { json, out } => {
            let name = display_name(&json);
            let spec = npdm::parse_npdm_json(&name, &read_text(&json)?)?;
            write_file(&out, &npdm::write_npdm(&name, &spec)?)?;
        }
        Command::Pfs0 { out, files } => {
            let mut entries = Vec::with_capacity(files.len());
            for arg in &files {
                let (name, path) = match arg.split_once('=') {
                    Some((n, p)) => (n.to_string(), PathBuf::from(p)),
                    None => {
                        let p = PathBuf::from(arg);
                        let Some(n) = p.file_name() else { bail!("{arg}: no file name") };
                        (n.to_string_lossy().into_owned(), p)
                    }
                };
                entries.push(Pfs0File { name, data: read_file(&path)? });
            }
            write_file(&out, &pfs0::write_pfs0(&display_name(&out), &entries)?)?;
        }
        Command::Sd { sysmodule_elf, npdm_json, nro_elf, out } => {
            let sys = read_file(&sysmodule_elf)?;
            let json = read_text(&npdm_json)?;
            let client = read_file(&nro_elf)?;
            let (sys_name, json_name, nro_name) =
                (display_name(&sysmodule_elf), display_name(&npdm_json), display_name(&nro_elf));
            let files = sd::build_sd_tree(&SdInputs {
                sysmodule_elf: (&sys_name, &sys),
                npdm_json: (&json_name, &json),
                nro_elf: (&nro_name, &client),
                nacp: Nacp::xcbuf_default(),
            })?;
            sd::write_sd_tree(&out, &files)?;
            for f in &files {
                println!("{} ({} bytes)", out.join(&f.path).display(), f.bytes.len());
            }
        }
        Command::Inspect { file } => {
            print!("{}", inspect::describe(&display_name(&file), &read_file(&file)?)?);
        }
    }
    Ok(())
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    String::from_utf8(read_file(path)?).with_context(|| format!("{}: not UTF-8 text", path.display()))
}

//! `xcbuf-doccheck [ROOT]`: lists every citation under ROOT (default: the current
//! directory) that does not resolve to a section of a document in the repository, and
//! exits with status 1 when there is one (the rules are in the library's doc).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = std::env::args_os().nth(1).map_or_else(|| PathBuf::from("."), PathBuf::from);
    let report = match xcbuf_doccheck::check(&root) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("doccheck: cannot read {}: {e}", root.display());
            return ExitCode::FAILURE;
        }
    };
    for d in &report.dangling {
        eprintln!("{d}");
    }
    if report.dangling.is_empty() {
        println!("doccheck: {} citations in {} files, all resolve", report.citations, report.files);
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "doccheck: {} of {} citations in {} files do not resolve",
            report.dangling.len(),
            report.citations,
            report.files
        );
        ExitCode::FAILURE
    }
}

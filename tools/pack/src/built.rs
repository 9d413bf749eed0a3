//! Where the tests that check the built binaries find them. `make test` runs `make dist`
//! first and names two directories in the environment: `XCBUF_DIST` (the `dist/` tree,
//! whose `sd/` is what goes on the SD card) and `XCBUF_SWITCH_OUT` (the Switch ELFs the
//! tree was packed from).
//!
//! Those tests are `#[ignore = "needs make dist: run by make test"]`, so a plain
//! `cargo test` lists them as ignored, and `make test` runs them with
//! `--include-ignored`. Each path here panics, naming the variable or the missing file
//! and how to produce it, so such a test fails when run without the artifacts; it never
//! passes without looking at them.

use std::path::PathBuf;

use crate::npdm;
use crate::sd;

/// The environment variable naming `make dist`'s output directory.
pub const DIST_VAR: &str = "XCBUF_DIST";
/// The environment variable naming the directory of the Switch ELFs.
pub const SWITCH_OUT_VAR: &str = "XCBUF_SWITCH_OUT";

/// The directory `var` names; panics when it is unset or not a directory.
fn dir(var: &str, what: &str) -> PathBuf {
    let Some(dir) = std::env::var_os(var) else {
        panic!(
            "{var} is not set: this test checks {what}. Run `make test` (it runs `make dist` \
             and sets {DIST_VAR} and {SWITCH_OUT_VAR}), or `make dist` and then set {var}"
        );
    };
    let dir = PathBuf::from(dir);
    assert!(dir.is_dir(), "{var}={} is not a directory (run `make dist`)", dir.display());
    dir
}

/// `path`, which must exist.
fn existing(path: PathBuf) -> PathBuf {
    assert!(path.is_file(), "{} is missing (run `make dist`)", path.display());
    path
}

/// `make dist`'s output directory (`XCBUF_DIST`).
pub fn dist_dir() -> PathBuf {
    dir(DIST_VAR, "`make dist`'s output")
}

/// The directory of the Switch ELFs (`XCBUF_SWITCH_OUT`).
pub fn switch_out_dir() -> PathBuf {
    dir(SWITCH_OUT_VAR, "the built Switch ELFs")
}

/// The sysmodule's program id, from `sysmodule/npdm.json` (the file `make dist` packs).
pub fn program_id() -> u64 {
    let json = include_str!("../../../sysmodule/npdm.json");
    match npdm::parse_npdm_json("sysmodule/npdm.json", json) {
        Ok(spec) => spec.program_id,
        Err(e) => panic!("{e}"),
    }
}

/// The sysmodule's `exefs.nsp` in the SD tree.
pub fn sysmodule_nsp() -> PathBuf {
    existing(dist_dir().join("sd").join(sd::contents_dir(program_id())).join("exefs.nsp"))
}

/// The client's `.nro` in the SD tree.
pub fn client_nro() -> PathBuf {
    existing(dist_dir().join("sd").join(sd::NRO_PATH))
}

/// The sysmodule's ELF, which `exefs.nsp` was packed from.
pub fn sysmodule_elf() -> PathBuf {
    existing(switch_out_dir().join("xcbuf-sysmodule"))
}

/// The client's ELF, which the `.nro` was packed from.
pub fn client_elf() -> PathBuf {
    existing(switch_out_dir().join("xcbuf-client"))
}

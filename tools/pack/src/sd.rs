//! The SD-card tree (formats.md §1.5, §5):
//!
//! ```text
//! atmosphere/contents/<program id, 16 lowercase hex>/exefs.nsp   PFS0 {main, main.npdm}
//! atmosphere/contents/<program id>/flags/boot2.flag               empty: boot2 starts it
//! atmosphere/contents/<program id>/toolbox.json                   for ovl-sysmodules
//! switch/xcbuf/xcbuf.nro                                          the client, for hbmenu
//! ```

use std::path::{Path, PathBuf};

use crate::error::{Result, write_file};
use crate::nacp::Nacp;
use crate::npdm::{self, NpdmSpec};
use crate::{nro, nso, pfs0};

/// Where hbmenu finds the client (formats.md §1.5: `/switch/<dir>/<dir>.nro`).
pub const NRO_PATH: &str = "switch/xcbuf/xcbuf.nro";

/// One file of the tree, relative to the SD root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdFile {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// `atmosphere/contents/<id>`, with the id as AMS formats it (`%016lx`, formats.md §5).
pub fn contents_dir(program_id: u64) -> PathBuf {
    Path::new("atmosphere/contents").join(format!("{program_id:016x}"))
}

/// `toolbox.json` for ovl-sysmodules (formats.md §5). `requires_reboot` is true:
/// the overlay then only toggles boot2.flag and never terminates the server
/// under connected clients.
pub fn toolbox_json(spec: &NpdmSpec) -> String {
    let v = serde_json::json!({
        "name": spec.name,
        "tid": format!("{:016x}", spec.program_id),
        "requires_reboot": true,
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Inputs of [`build_sd_tree`]; each `(name, contents)` names its file in errors.
pub struct SdInputs<'a> {
    pub sysmodule_elf: (&'a str, &'a [u8]),
    pub npdm_json: (&'a str, &'a str),
    pub nro_elf: (&'a str, &'a [u8]),
    pub nacp: Nacp,
}

/// Builds every file of the tree in memory.
pub fn build_sd_tree(inputs: &SdInputs<'_>) -> Result<Vec<SdFile>> {
    let (json_name, json_text) = inputs.npdm_json;
    let spec = npdm::parse_npdm_json(json_name, json_text)?;
    let npdm_bytes = npdm::write_npdm(json_name, &spec)?;
    let (sys_name, sys_elf) = inputs.sysmodule_elf;
    let nso_bytes = nso::pack_elf(sys_name, sys_elf)?;
    let exefs = pfs0::write_exefs("exefs.nsp", nso_bytes, npdm_bytes)?;
    let (nro_name, nro_elf) = inputs.nro_elf;
    let nro_bytes = nro::pack_elf(nro_name, nro_elf, &inputs.nacp)?;
    let dir = contents_dir(spec.program_id);
    Ok(vec![
        SdFile { path: dir.join("exefs.nsp"), bytes: exefs },
        SdFile { path: dir.join("flags/boot2.flag"), bytes: Vec::new() },
        SdFile { path: dir.join("toolbox.json"), bytes: toolbox_json(&spec).into_bytes() },
        SdFile { path: PathBuf::from(NRO_PATH), bytes: nro_bytes },
    ])
}

/// Writes the tree under `root`, creating directories.
pub fn write_sd_tree(root: &Path, files: &[SdFile]) -> Result<()> {
    for f in files {
        write_file(&root.join(&f.path), &f.bytes)?;
    }
    Ok(())
}

//! The SD-card tree (formats.md §1.5, §5) and the command line.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use xcbuf_pack::nacp::Nacp;
use xcbuf_pack::sd::{SdInputs, build_sd_tree, write_sd_tree};
use xcbuf_pack::{npdm, nro, nso, pfs0};

const SYSMODULE_JSON: &str = include_str!("../../../sysmodule/npdm.json");

fn tree() -> Vec<xcbuf_pack::sd::SdFile> {
    let elf = default_elf();
    build_sd_tree(&SdInputs {
        sysmodule_elf: ("xcbuf-sysmodule", &elf),
        npdm_json: ("npdm.json", SYSMODULE_JSON),
        nro_elf: ("xcbuf-client", &elf),
        nacp: Nacp::xcbuf_default(),
    })
    .unwrap()
}

#[test]
fn sd_tree_has_the_atmosphere_and_hbmenu_paths() {
    let files = tree();
    let paths: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    assert_eq!(
        paths,
        [
            "atmosphere/contents/4200000000000c0b/exefs.nsp",
            "atmosphere/contents/4200000000000c0b/flags/boot2.flag",
            "atmosphere/contents/4200000000000c0b/toolbox.json",
            "switch/xcbuf/xcbuf.nro",
        ]
    );
    assert!(files[1].bytes.is_empty(), "boot2.flag is empty");
    let toolbox: serde_json::Value = serde_json::from_slice(&files[2].bytes).unwrap();
    assert_eq!(toolbox, serde_json::json!({"name": "xcbuf", "tid": "4200000000000c0b", "requires_reboot": true}));
}

#[test]
fn sd_exefs_holds_the_nso_and_the_npdm() {
    let files = tree();
    let exefs = pfs0::read_pfs0("exefs.nsp", &files[0].bytes).unwrap();
    let names: Vec<&str> = exefs.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["main", "main.npdm"]);
    let main = nso::read_nso("main", &exefs[0].data).unwrap();
    assert_eq!(main.image.bss_size, 0x4A0);
    let meta = npdm::read_npdm("main.npdm", &exefs[1].data).unwrap();
    assert_eq!(meta.aci0.program_id, 0x4200000000000c0b);
    let client = nro::read_nro("xcbuf.nro", &files[3].bytes).unwrap();
    let nacp = Nacp::parse("xcbuf.nro", &client.assets.unwrap().nacp).unwrap();
    assert_eq!(nacp.name, "xcbuf");
}

fn unique_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("xcbuf-pack-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn sd_tree_is_written_to_disk() {
    let dir = unique_dir("sd");
    write_sd_tree(&dir, &tree()).unwrap();
    assert!(dir.join("atmosphere/contents/4200000000000c0b/flags/boot2.flag").is_file());
    assert!(dir.join("switch/xcbuf/xcbuf.nro").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn pack(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xcbuf-pack")).args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn cli_sd_takes_the_makefile_flags_and_inspect_reads_the_results() {
    let dir = unique_dir("cli");
    let elf = dir.join("xcbuf-sysmodule");
    std::fs::write(&elf, default_elf()).unwrap();
    let json = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sysmodule/npdm.json");
    let out = dir.join("sd");
    let r = pack(&["sd", "--sysmodule-elf", s(&elf), "--npdm-json", s(&json), "--nro-elf", s(&elf), "--out", s(&out)]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let nsp = out.join("atmosphere/contents/4200000000000c0b/exefs.nsp");
    let r = pack(&["inspect", s(&nsp)]);
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(text.starts_with("PFS0 (") && text.contains("NSO (") && text.contains("NPDM ("), "{text}");
    assert!(text.contains("LNY2 revision 1"), "{text}");
    let r = pack(&["inspect", s(&out.join("switch/xcbuf/xcbuf.nro"))]);
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(text.starts_with("NRO (") && text.contains("JPEG 256x256"), "{text}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cli_pfs0_accepts_name_equals_path() {
    let dir = unique_dir("pfs0");
    std::fs::write(dir.join("a.bin"), b"abc").unwrap();
    let out = dir.join("x.pfs0");
    let r = pack(&["pfs0", "--out", s(&out), &format!("main={}", s(&dir.join("a.bin"))), s(&dir.join("a.bin"))]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let files = pfs0::read_pfs0("x", &std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["main", "a.bin"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn cli_errors_name_the_file_and_field_without_panicking() {
    let dir = unique_dir("err");
    let elf = dir.join("client.elf");
    let mut loads = default_loads();
    loads.remove(0);
    std::fs::write(&elf, write_elf_with(183, &loads)).unwrap();
    let r = pack(&["nro", "--elf", s(&elf), "--out", s(&dir.join("x.nro"))]);
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("client.elf: PT_LOAD: no PT_LOAD with R-X"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

//! Checks on the real binaries: `make dist`'s output against the Switch ELFs it was
//! packed from. The tests that read them are ignored by a plain `cargo test`; `make test`
//! runs them with `--include-ignored` and names both directories
//! ([`xcbuf_pack::built`]).
//!
//! The ELFs are read here with `object` directly, not with the packer's own ELF
//! reader, so the packer's output is compared against an independent reading.

use std::collections::BTreeSet;
use std::path::PathBuf;

use object::read::elf::{ElfFile64, ProgramHeader};
use object::{Endianness, Object, ObjectSection};
use xcbuf_pack::image::ModuleImage;
use xcbuf_pack::{built, npdm, nro, nso, pfs0};

const PAGE: u64 = 0x1000;

struct Paths {
    nro: PathBuf,
    nsp: PathBuf,
    client_elf: PathBuf,
    sysmodule_elf: PathBuf,
}

fn paths() -> Paths {
    Paths {
        nro: built::client_nro(),
        nsp: built::sysmodule_nsp(),
        client_elf: built::client_elf(),
        sysmodule_elf: built::sysmodule_elf(),
    }
}

fn read(p: &PathBuf) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One PT_LOAD of the ELF.
struct Load {
    flags: u32,
    vaddr: u64,
    memsz: u64,
    data: Vec<u8>,
}

struct Elf {
    text: Load,
    rodata: Load,
    data: Load,
    bss: Load,
    build_id: Option<Vec<u8>>,
    dynamic: Option<u64>,
}

fn read_elf(name: &str, bytes: &[u8]) -> Elf {
    let f = ElfFile64::<Endianness>::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let endian = f.endian();
    let mut loads: Vec<Load> = f
        .elf_program_headers()
        .iter()
        .filter(|ph| ph.p_type(endian).0 == 1)
        .map(|ph| Load {
            flags: ph.p_flags(endian).0 & 7,
            vaddr: ph.p_vaddr(endian),
            memsz: ph.p_memsz(endian),
            data: ph.data(endian, bytes).unwrap().to_vec(),
        })
        .collect();
    loads.sort_by_key(|l| l.vaddr);
    assert_eq!(loads.len(), 4, "{name}: expected 4 PT_LOADs (text, rodata, data, bss)");
    let [text, rodata, data, bss]: [Load; 4] = loads.try_into().ok().unwrap();
    assert_eq!(text.flags, 5, "{name}: first PT_LOAD must be R-X");
    assert_eq!(rodata.flags, 4, "{name}: second PT_LOAD must be R");
    assert_eq!(data.flags, 6, "{name}: third PT_LOAD must be RW");
    assert_eq!(bss.flags, 6, "{name}: fourth PT_LOAD (bss) must be RW");
    assert!(bss.data.is_empty(), "{name}: bss PT_LOAD has file contents");
    let dynamic = f
        .section_by_name(".dynamic")
        .map(|s| s.address())
        .or_else(|| f.elf_program_headers().iter().find(|ph| ph.p_type(endian).0 == 2).map(|ph| ph.p_vaddr(endian)));
    Elf { text, rodata, data, bss, build_id: f.build_id().unwrap().map(<[u8]>::to_vec), dynamic }
}

fn align(v: u64) -> u64 {
    v.div_ceil(PAGE) * PAGE
}

/// Segment contents and permissions: each packed segment holds the bytes of the
/// PT_LOAD with the matching permission, zero-padded; `skip` is the NRO header.
fn check_segments(what: &str, image: &ModuleImage, elf: &Elf, skip: Option<std::ops::Range<usize>>) {
    for (name, seg, load) in [
        ("text (R-X)", &image.text, &elf.text),
        ("rodata (R--)", &image.rodata, &elf.rodata),
        ("data (RW-)", &image.data, &elf.data),
    ] {
        assert_eq!(u64::from(seg.memory_offset), load.vaddr, "{what}: {name} offset");
        assert!(seg.bytes.len() as u64 >= load.memsz, "{what}: {name} shorter than its PT_LOAD");
        for (i, (a, b)) in seg.bytes.iter().zip(&load.data).enumerate() {
            if name.starts_with("text") && skip.as_ref().is_some_and(|r| r.contains(&i)) {
                continue;
            }
            assert_eq!(a, b, "{what}: {name} differs from the ELF at {i:#x}");
        }
        assert!(seg.bytes[load.data.len()..].iter().all(|b| *b == 0), "{what}: {name} padding not zero");
    }
    let mut id = [0u8; 32];
    if let Some(b) = &elf.build_id {
        id[..b.len()].copy_from_slice(b);
    }
    assert_eq!(image.module_id, id, "{what}: module id must be the build-id");
}

/// MOD0: magic, dynamic and bss offsets against the ELF, LNY2 revision 1, not in
/// a writable segment.
fn check_mod0(what: &str, image: &ModuleImage, elf: &Elf) {
    let m = image.mod0(what).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(m.absolute(m.bss_start), Some(elf.bss.vaddr), "{what}: MOD0 bss start");
    assert_eq!(m.absolute(m.bss_end), Some(elf.bss.vaddr + elf.bss.memsz), "{what}: MOD0 bss end");
    if let Some(d) = elf.dynamic {
        assert_eq!(m.absolute(m.dynamic), Some(d), "{what}: MOD0 dynamic");
    }
    assert_eq!(m.lny2_revision, Some(1), "{what}: MOD0 must carry LNY2 ABI revision 1 (runtime-abi.md §0)");
    let seg = image.segment_at(u64::from(m.offset));
    assert!(matches!(seg, Some("text" | "rodata")), "{what}: MOD0 at {:#x} lies in {seg:?}", m.offset);
}

fn exefs(p: &Paths) -> Vec<pfs0::Pfs0File> {
    let files = pfs0::read_pfs0("exefs.nsp", &read(&p.nsp)).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["main", "main.npdm"]);
    files
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn built_nro_matches_the_client_elf() {
    let p = paths();
    let elf = read_elf("xcbuf-client", &read(&p.client_elf));
    let n = nro::read_nro("xcbuf.nro", &read(&p.nro)).unwrap();
    check_segments("xcbuf.nro", &n.image, &elf, Some(0x10..0x80));
    check_mod0("xcbuf.nro", &n.image, &elf);
    // bss starts at the page-aligned end of data, which is where the bss PT_LOAD is,
    // and its size is the bss PT_LOAD's memsz, page-aligned.
    assert_eq!(u64::from(n.size), elf.bss.vaddr, "NRO size must end where the bss PT_LOAD starts");
    assert_eq!(u64::from(n.image.bss_size), align(elf.bss.memsz), "NRO bss size");
    let assets = n.assets.expect("NRO has an ASET");
    assert_eq!(xcbuf_pack::icon::jpeg_dimensions(&assets.icon), Some((256, 256)));
    assert_eq!(xcbuf_pack::nacp::Nacp::parse("xcbuf.nro", &assets.nacp).unwrap().name, "xcbuf");
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn built_nso_matches_the_sysmodule_elf() {
    let p = paths();
    let elf = read_elf("xcbuf-sysmodule", &read(&p.sysmodule_elf));
    let files = exefs(&p);
    let n = nso::read_nso("main", &files[0].data).unwrap();
    assert_eq!(n.flags, 0x3F);
    check_segments("main (NSO)", &n.image, &elf, None);
    check_mod0("main (NSO)", &n.image, &elf);
    assert_eq!(n.image.bss_offset(), elf.bss.vaddr, "NSO data must end where the bss PT_LOAD starts");
    assert_eq!(u64::from(n.image.bss_size), elf.bss.memsz, "NSO bss size = bss PT_LOAD memsz");
    let json = include_str!("../../../sysmodule/npdm.json");
    let want = npdm::write_npdm("npdm.json", &npdm::parse_npdm_json("npdm.json", json).unwrap()).unwrap();
    assert_eq!(files[1].data, want, "exefs main.npdm is not what sysmodule/npdm.json gives");
}

/// SVC ids of every `svc #imm` instruction (0xD4000001 | imm16 << 5) in `text`.
fn svc_ids(text: &[u8]) -> BTreeSet<u32> {
    text.chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .filter(|w| w & 0xFFE0_001F == 0xD400_0001)
        .map(|w| (w >> 5) & 0xFFFF)
        .collect()
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn sysmodule_npdm_grants_exactly_the_svcs_in_its_text() {
    let p = paths();
    let files = exefs(&p);
    let n = nso::read_nso("main", &files[0].data).unwrap();
    let used = svc_ids(&n.image.text.bytes);
    let meta = npdm::read_npdm("main.npdm", &files[1].data).unwrap();
    let granted = meta.granted_syscalls("main.npdm").unwrap();
    let acid = npdm::kac::granted_syscalls(&npdm::kac::decode("main.npdm", "ACID.KAC", &meta.acid.kac).unwrap());
    assert_eq!(acid, granted, "ACID and ACI0 grant different svcs");
    let missing: Vec<String> = used.difference(&granted).map(|s| format!("{s:#04x}")).collect();
    let extra: Vec<String> = granted.difference(&used).map(|s| format!("{s:#04x}")).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "sysmodule/npdm.json syscalls differ from the svc instructions in the NSO text:\n  \
         missing (called, not granted): [{}]\n  extra (granted, never called): [{}]",
        missing.join(", "),
        extra.join(", ")
    );
}

#[test]
fn svc_scan_reads_the_immediate_of_the_svc_encoding() {
    // Needs no built binary: the decoder the test above relies on. svc #0x43, svc #0x16, and
    // `brk #0x43` (0xD4200860), which must not count.
    let words = [0xD400_0861u32, 0xD400_02C1, 0xD420_0860, 0xD503_201F];
    let text: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    assert_eq!(svc_ids(&text), [0x16, 0x43].into());
}

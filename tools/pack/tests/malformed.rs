//! Every malformed input is rejected with an error naming the file and the field.

mod common;

use common::*;
use xcbuf_pack::PackError;
use xcbuf_pack::elf::read_elf;
use xcbuf_pack::image::ModuleImage;
use xcbuf_pack::npdm::{parse_npdm_json, read_npdm, write_npdm};
use xcbuf_pack::nro::{read_nro, write_nro};
use xcbuf_pack::nso::{read_nso, write_nso};
use xcbuf_pack::pfs0::{Pfs0File, read_pfs0, write_exefs, write_pfs0};

const GOLDEN_JSON: &str = include_str!("data/sysmodule.json");

/// Asserts an `Invalid` error for `file` whose field contains `field` and whose
/// message contains `problem`.
#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(r: Result<T, PackError>, file: &str, field: &str, problem: &str) {
    match r {
        Err(PackError::Invalid { file: f, field: fl, problem: p }) => {
            assert_eq!(f, file);
            assert!(fl.contains(field), "field {fl:?} does not name {field:?} ({p})");
            assert!(p.contains(problem), "problem {p:?} does not say {problem:?}");
            let shown = format!("{}", PackError::Invalid { file: f, field: fl, problem: p });
            assert!(shown.starts_with(&format!("{file}: ")), "{shown}");
        }
        other => panic!("expected Invalid {{ {file}, {field} }}, got {other:?}"),
    }
}

fn image() -> ModuleImage {
    read_elf("t.elf", &default_elf()).unwrap().image
}

// ---- ELF ----

#[test]
fn elf_that_is_not_an_elf_is_rejected() {
    assert_invalid(
        read_elf("client.elf", b"not an elf at all, just text........................"),
        "client.elf",
        "ELF header",
        "not a 64-bit ELF",
    );
}

#[test]
fn elf_for_another_machine_is_rejected() {
    assert_invalid(
        read_elf("client.elf", &write_elf_with(62, &default_loads())),
        "client.elf",
        "e_machine",
        "EM_AARCH64",
    );
}

#[test]
fn elf_without_an_executable_segment_is_rejected() {
    let mut loads = default_loads();
    loads.remove(0);
    assert_invalid(
        read_elf("client.elf", &write_elf_with(183, &loads)),
        "client.elf",
        "PT_LOAD",
        "no PT_LOAD with R-X",
    );
}

#[test]
fn elf_with_a_writable_executable_segment_is_rejected() {
    let mut loads = default_loads();
    loads[0].flags = PF_R | PF_W | PF_X;
    assert_invalid(read_elf("client.elf", &write_elf_with(183, &loads)), "client.elf", "PT_LOAD[0].p_flags", "RWX");
}

#[test]
fn elf_segment_not_page_aligned_is_rejected() {
    let mut loads = default_loads();
    loads[1].vaddr = 0x2010;
    assert_invalid(
        read_elf("client.elf", &write_elf_with(183, &loads)),
        "client.elf",
        "PT_LOAD[1].p_vaddr",
        "segment not page-aligned",
    );
}

#[test]
fn elf_bss_overlapping_data_is_rejected() {
    let mut loads = default_loads();
    loads[2].memsz = 0x1800;
    assert_invalid(
        read_elf("client.elf", &write_elf_with(183, &loads)),
        "client.elf",
        "PT_LOAD[3].p_vaddr",
        "overlaps data",
    );
}

#[test]
fn elf_whose_word_1_does_not_point_at_mod0_is_rejected() {
    let mut loads = default_loads();
    loads[0].bytes[4..8].copy_from_slice(&0x2100u32.to_le_bytes());
    assert_invalid(read_elf("client.elf", &write_elf_with(183, &loads)), "client.elf", "MOD0", "0x2100");
}

#[test]
fn elf_build_id_longer_than_the_module_id_is_rejected() {
    let mut loads = default_loads();
    loads.push(build_id_note(&[7u8; 33]));
    assert_invalid(
        read_elf("client.elf", &write_elf_with(183, &loads)),
        "client.elf",
        ".note.gnu.build-id",
        "33 bytes",
    );
}

// ---- NRO ----

#[test]
fn nro_needs_text_bytes_0x10_to_0x80_reserved() {
    let mut img = image();
    img.text.bytes[0x40] = 1;
    assert_invalid(write_nro("client.nro", &img, None), "client.nro", "text[0x10..0x80]", "reserved");
}

#[test]
fn nro_with_a_bad_magic_is_rejected() {
    let mut b = write_nro("t.nro", &image(), None).unwrap();
    b[0x10] = b'X';
    assert_invalid(read_nro("t.nro", &b), "t.nro", "NRO header magic", "NRO0");
}

#[test]
fn nro_segment_past_the_image_size_is_rejected() {
    let mut b = write_nro("t.nro", &image(), None).unwrap();
    b[0x34..0x38].copy_from_slice(&0x2000u32.to_le_bytes()); // data size 0x2000 from 0x3000 > size 0x4000
    assert_invalid(read_nro("t.nro", &b), "t.nro", "data.size", "past size");
}

#[test]
fn nro_truncated_file_is_rejected() {
    let b = write_nro("t.nro", &image(), None).unwrap();
    assert_invalid(read_nro("t.nro", &b[..0x3000]), "t.nro", "size (0x18)", "outside the file");
}

// ---- NSO ----

#[test]
fn nso_hash_mismatch_is_rejected() {
    let mut b = write_nso("main", &image()).unwrap();
    b[0xA0] ^= 0xFF;
    assert_invalid(read_nso("main", &b), "main", "text.hash", "SHA-256");
}

#[test]
fn nso_with_prevent_code_reads_is_rejected() {
    let mut b = write_nso("main", &image()).unwrap();
    b[0x0C] |= 0x40;
    assert_invalid(read_nso("main", &b), "main", "flags", "PreventCodeReads");
}

#[test]
fn nso_whose_text_is_not_at_zero_is_rejected() {
    let mut b = write_nso("main", &image()).unwrap();
    b[0x14..0x18].copy_from_slice(&0x1000u32.to_le_bytes());
    assert_invalid(read_nso("main", &b), "main", "text.memory_offset", "offset 0");
}

#[test]
fn nso_with_a_wrong_decompressed_size_is_rejected() {
    let mut b = write_nso("main", &image()).unwrap();
    b[0x18..0x1C].copy_from_slice(&0x1000u32.to_le_bytes()); // text really is 0x1234
    assert!(read_nso("main", &b).unwrap_err().field().unwrap().starts_with("text"));
}

#[test]
fn nso_truncated_segment_is_rejected() {
    let b = write_nso("main", &image()).unwrap();
    let cut = &b[..b.len() - 4];
    assert_invalid(read_nso("main", cut), "main", "data.file_offset", "outside the file");
}

/// What the packer wrote before it stored incompressible segments as is: the
/// data segment as an LZ4 block larger than the segment, its flag bit set.
fn nso_with_data_compressed_larger_than_its_size() -> Vec<u8> {
    let mut img = image();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    img.data.bytes = img.data.bytes.iter().map(|_| next(&mut state) as u8).collect();
    let mut b = write_nso("main", &img).unwrap();
    let at = u32::from_le_bytes(b[0x30..0x34].try_into().unwrap()) as usize;
    b.truncate(at);
    let lz4 = lz4_flex::block::compress(&img.data.bytes);
    assert!(lz4.len() > img.data.bytes.len());
    b.extend_from_slice(&lz4);
    b[0x0C] |= 0x04;
    b[0x68..0x6C].copy_from_slice(&(lz4.len() as u32).to_le_bytes());
    b
}

#[test]
fn nso_compressed_size_above_the_segment_size_is_rejected_as_the_loader_does() {
    // ldr_process_creation.cpp, LoadAutoLoadModuleSegment: file_size <= segment_size.
    let b = nso_with_data_compressed_larger_than_its_size();
    assert_invalid(read_nso("main", &b), "main", "data.file_size (0x68)", "larger than the segment size");
    let err = xcbuf_pack::inspect::describe("main", &b).unwrap_err().to_string();
    assert!(err.starts_with("main: data.file_size (0x68): compressed size"), "{err}");
    // Inside an ExeFS, inspect names the NSO by its path in the PFS0.
    let nsp = write_exefs("exefs.nsp", b, vec![0; 0x10]).unwrap();
    let err = xcbuf_pack::inspect::describe("exefs.nsp", &nsp).unwrap_err().to_string();
    assert!(err.starts_with("exefs.nsp/main: data.file_size (0x68)"), "{err}");
}

#[test]
fn nso_uncompressed_segment_ignores_its_file_size_as_the_loader_does() {
    // With the flag bit clear the loader reads `size` bytes and never uses
    // compressed_size (LoadAutoLoadModuleSegment), so neither does the reader.
    let mut b = write_nso("main", &image()).unwrap();
    let size = u32::from_le_bytes(b[0x38..0x3C].try_into().unwrap());
    let at = u32::from_le_bytes(b[0x30..0x34].try_into().unwrap()) as usize;
    b.truncate(at);
    b.extend_from_slice(&image().data.bytes);
    b[0x0C] &= !0x04;
    b[0x68..0x6C].copy_from_slice(&(size + 0x100).to_le_bytes());
    assert_eq!(read_nso("main", &b).unwrap().image, image());
}

// ---- PFS0 ----

#[test]
fn pfs0_with_a_bad_magic_is_rejected() {
    let mut b = write_exefs("exefs.nsp", vec![1; 4], vec![2; 4]).unwrap();
    b[0] = b'Q';
    assert_invalid(read_pfs0("exefs.nsp", &b), "exefs.nsp", "PFS0 magic", "PFS0");
}

#[test]
fn pfs0_file_data_outside_the_file_is_rejected() {
    let mut b = write_exefs("exefs.nsp", vec![1; 4], vec![2; 4]).unwrap();
    b[0x30..0x38].copy_from_slice(&0x100u64.to_le_bytes()); // main.npdm size
    assert_invalid(read_pfs0("exefs.nsp", &b), "exefs.nsp", "entries[1]", "outside the file");
}

#[test]
fn pfs0_name_outside_the_string_table_is_rejected() {
    let mut b = write_exefs("exefs.nsp", vec![1; 4], vec![2; 4]).unwrap();
    b[0x20..0x24].copy_from_slice(&0x40u32.to_le_bytes());
    assert_invalid(read_pfs0("exefs.nsp", &b), "exefs.nsp", "entries[0].name_offset", "outside the string table");
}

#[test]
fn pfs0_duplicate_names_are_rejected() {
    let f = Pfs0File { name: "main".into(), data: vec![] };
    assert_invalid(write_pfs0("x.nsp", &[f.clone(), f]), "x.nsp", "files[1].name", "twice");
}

// ---- NPDM JSON ----

fn json_with(from: &str, to: &str) -> String {
    assert!(GOLDEN_JSON.contains(from), "test setup: {from:?} not in the JSON");
    GOLDEN_JSON.replacen(from, to, 1)
}

#[test]
fn npdm_unknown_capability_type_is_rejected() {
    let j = json_with("\"type\": \"handle_table_size\"", "\"type\": \"handle_tables\"");
    assert_invalid(
        parse_npdm_json("npdm.json", &j),
        "npdm.json",
        "kernel_capabilities[3].type",
        "unknown capability type \"handle_tables\"",
    );
}

#[test]
fn npdm_unknown_top_level_key_is_rejected() {
    let j = json_with("\"service_host\"", "\"service_hosts\"");
    assert_invalid(parse_npdm_json("npdm.json", &j), "npdm.json", "service_hosts", "unknown key");
}

#[test]
fn npdm_malformed_hex_is_rejected() {
    let j = json_with("\"0x00004000\"", "\"0x4000z\"");
    assert_invalid(parse_npdm_json("npdm.json", &j), "npdm.json", "main_thread_stack_size", "not a hex number");
}

#[test]
fn npdm_stack_size_over_32_bits_is_rejected() {
    let j = json_with("\"0x00004000\"", "\"0x100004000\"");
    assert_invalid(parse_npdm_json("npdm.json", &j), "npdm.json", "main_thread_stack_size", "32 bits");
}

#[test]
fn npdm_syscall_past_0xbf_is_rejected() {
    let j = json_with("\"svcCallSecureMonitor\": \"0x7f\"", "\"svcCallSecureMonitor\": \"0xc0\"");
    assert_invalid(parse_npdm_json("npdm.json", &j), "npdm.json", "svcCallSecureMonitor", "0..=0xBF");
}

#[test]
fn npdm_service_name_longer_than_8_bytes_is_rejected() {
    let j = json_with("\"rust:sv\"", "\"rust:service\"");
    assert_invalid(parse_npdm_json("npdm.json", &j), "npdm.json", "service_host[0]", "1 to 8 bytes");
}

#[test]
fn npdm_name_longer_than_15_bytes_is_rejected() {
    let j = json_with("\"rust-sys\"", "\"a-very-long-sysmodule\"");
    assert_invalid(parse_npdm_json("npdm.json", &j), "npdm.json", "name", "15");
}

#[test]
fn npdm_main_priority_outside_kernel_flags_is_rejected() {
    let j = json_with("\"main_thread_priority\": 49", "\"main_thread_priority\": 20");
    assert_invalid(parse_npdm_json("npdm.json", &j), "npdm.json", "main_thread_priority", "outside kernel_flags");
}

#[test]
fn npdm_priority_number_out_of_range_is_rejected() {
    let j = json_with("\"highest_thread_priority\": 63", "\"highest_thread_priority\": 64");
    assert_invalid(parse_npdm_json("npdm.json", &j), "npdm.json", "highest_thread_priority", "64 > 63");
}

#[test]
fn npdm_missing_required_key_is_rejected() {
    let j = json_with("\"is_retail\": true,", "");
    assert_invalid(parse_npdm_json("npdm.json", &j), "npdm.json", "is_retail", "missing");
}

#[test]
fn npdm_version_as_a_nonzero_number_is_rejected() {
    // npdmtool reads it only from a hex string and would silently write 0.
    let j = json_with("\"process_category\": 0", "\"process_category\": 5");
    assert_invalid(parse_npdm_json("npdm.json", &j), "npdm.json", "process_category", "hex string");
}

#[test]
fn npdm_deprecated_object_forms_are_rejected() {
    let j =
        json_with("\"service_access\": [\"fsp-srv\", \"set:sys\", \"lm\"]", "\"service_access\": {\"fsp-srv\": false}");
    assert_invalid(parse_npdm_json("npdm.json", &j), "npdm.json", "service_access", "array");
}

#[test]
fn npdm_json_syntax_error_names_the_position() {
    assert_invalid(parse_npdm_json("npdm.json", "{\"name\": }"), "npdm.json", "line 1", "JSON syntax");
}

// ---- NPDM binary ----

#[test]
fn npdm_with_a_bad_acid_magic_is_rejected() {
    let mut b = write_npdm("t", &parse_npdm_json("t", GOLDEN_JSON).unwrap()).unwrap();
    b[0x280] = b'X';
    assert_invalid(read_npdm("main.npdm", &b), "main.npdm", "ACID.magic", "ACID");
}

#[test]
fn npdm_with_an_acid_size_that_disagrees_with_meta_is_rejected() {
    let mut b = write_npdm("t", &parse_npdm_json("t", GOLDEN_JSON).unwrap()).unwrap();
    b[0x284] = 0xB4;
    assert_invalid(read_npdm("main.npdm", &b), "main.npdm", "ACID.size", "does not match");
}

#[test]
fn npdm_with_an_aci0_past_the_end_is_rejected() {
    let b = write_npdm("t", &parse_npdm_json("t", GOLDEN_JSON).unwrap()).unwrap();
    assert_invalid(read_npdm("main.npdm", &b[..0x380]), "main.npdm", "META.aci0_offset/size", "outside the file");
}

#[test]
fn npdm_unknown_kac_descriptor_is_rejected() {
    let mut b = write_npdm("t", &parse_npdm_json("t", GOLDEN_JSON).unwrap()).unwrap();
    // First ACI0 KAC word (0x3B0) -> 0x0001ffff + one more trailing one: type 17 is undefined.
    b[0x3B0..0x3B4].copy_from_slice(&0x0001_FFFFu32.to_le_bytes());
    assert_invalid(read_npdm("main.npdm", &b), "main.npdm", "ACI0.KAC[0]", "unknown capability type");
}

#[test]
fn npdm_spec_built_in_code_is_checked_before_encoding() {
    let mut spec = parse_npdm_json("t", GOLDEN_JSON).unwrap();
    spec.services[0].name.clear();
    assert_invalid(write_npdm("main.npdm", &spec), "main.npdm", "services[0]", "1 to 8 bytes");
    let mut spec = parse_npdm_json("t", GOLDEN_JSON).unwrap();
    spec.capabilities.push(xcbuf_pack::npdm::kac::Capability::HandleTableSize(1024));
    assert_invalid(write_npdm("main.npdm", &spec), "main.npdm", "kernel_capabilities[4]", "at most 1023");
    let mut spec = parse_npdm_json("t", GOLDEN_JSON).unwrap();
    spec.name = "a name of twenty bytes".into();
    assert_invalid(write_npdm("main.npdm", &spec), "main.npdm", "name", "at most 15");
}

/// Deterministic xorshift for the mutation test.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn readers_never_panic_on_mutated_files() {
    let img = image();
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        (
            "t.nro",
            write_nro(
                "t.nro",
                &img,
                Some(&xcbuf_pack::aset::Assets { icon: vec![1; 64], nacp: vec![0; 0x4000], romfs: vec![] }),
            )
            .unwrap(),
        ),
        ("t.nso", write_nso("t.nso", &img).unwrap()),
        ("t.npdm", write_npdm("t", &parse_npdm_json("t", GOLDEN_JSON).unwrap()).unwrap()),
        ("t.nsp", write_exefs("t.nsp", vec![3; 40], vec![4; 20]).unwrap()),
        ("t.elf", default_elf()),
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for (name, original) in &inputs {
        for round in 0..300 {
            let mut b = original.clone();
            // Header-heavy mutations: most flips land in the first 0x400 bytes.
            for _ in 0..1 + round % 4 {
                let span = if next(&mut state).is_multiple_of(4) { b.len() } else { b.len().min(0x400) };
                let at = (next(&mut state) as usize) % span;
                b[at] = next(&mut state) as u8;
            }
            if round % 10 == 0 {
                b.truncate((next(&mut state) as usize) % b.len());
            }
            // Any result is fine; a panic fails the test.
            let _ = xcbuf_pack::inspect::describe(name, &b);
        }
    }
}

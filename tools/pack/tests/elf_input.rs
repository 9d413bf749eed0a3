//! ELF input rules (formats.md "Notes on existing packers", §1.1).

mod common;

use common::*;
use xcbuf_pack::elf::read_elf;

#[test]
fn bss_size_comes_from_the_bss_pt_load_memsz() {
    let m = read_elf("t.elf", &default_elf()).unwrap();
    // Not data's memsz - filesz (0): the bss PT_LOAD's memsz.
    assert_eq!(m.image.bss_size, 0x4A0);
    assert_eq!(m.bss_load, Some((0x4000, 0x4A0)));
    // Data is stored up to where bss begins, so bss starts right after it.
    assert_eq!(m.image.data.memory_offset, 0x3000);
    assert_eq!(m.image.data.bytes.len(), 0x1000);
    assert_eq!(&m.image.data.bytes[..DATA_FILESZ], &data_bytes()[..]);
    assert!(m.image.data.bytes[DATA_FILESZ..].iter().all(|b| *b == 0));
    assert_eq!(m.image.bss_offset(), 0x4000);
}

#[test]
fn segments_are_classified_by_permission() {
    let m = read_elf("t.elf", &default_elf()).unwrap();
    assert_eq!(m.image.text.memory_offset, 0);
    assert_eq!(m.image.text.bytes, text_bytes());
    assert_eq!(m.image.rodata.memory_offset, 0x2000);
    assert_eq!(m.image.rodata.bytes, rodata_bytes());
}

#[test]
fn build_id_becomes_the_zero_padded_module_id() {
    let m = read_elf("t.elf", &default_elf()).unwrap();
    assert_eq!(m.build_id.as_deref(), Some(&BUILD_ID[..]));
    assert_eq!(&m.image.module_id[..20], &BUILD_ID);
    assert_eq!(&m.image.module_id[20..], &[0u8; 12]);
}

#[test]
fn missing_build_id_gives_a_zero_module_id() {
    let m = read_elf("t.elf", &write_elf_with(183, &default_loads())).unwrap();
    assert_eq!(m.build_id, None);
    assert_eq!(m.image.module_id, [0u8; 32]);
}

#[test]
fn mod0_is_found_through_word_1_of_text() {
    let m = read_elf("t.elf", &default_elf()).unwrap();
    assert_eq!(m.mod0.offset, 0x2000);
    assert_eq!(m.mod0.absolute(m.mod0.bss_start), Some(0x4000));
    assert_eq!(m.mod0.absolute(m.mod0.bss_end), Some(0x44A0));
    assert_eq!(m.mod0.absolute(m.mod0.dynamic), Some(0x3100));
    assert_eq!(m.mod0.lny2_revision, Some(1));
}

#[test]
fn single_rw_segment_uses_its_zero_fill_as_bss() {
    let mut loads = default_loads();
    loads.pop();
    loads[2].memsz = 0x800;
    let m = read_elf("t.elf", &write_elf_with(183, &loads)).unwrap();
    assert_eq!(m.image.data.bytes.len(), 0x230);
    assert_eq!(m.image.bss_size, 0x800 - 0x230);
    assert_eq!(m.bss_load, None);
}

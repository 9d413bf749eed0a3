//! Test ELFs built with `object`'s ELF writer: the four PT_LOADs of the Switch
//! target (text R-X at 0, rodata R, data RW, bss RW without file contents), a
//! MOD0 in rodata and a GNU build-id note.
#![allow(dead_code)]

use object::Endianness;
use object::elf;
use object::write::elf::{FileHeader, ProgramHeader, Writer};

pub const PF_R: u32 = 4;
pub const PF_W: u32 = 2;
pub const PF_X: u32 = 1;

/// One PT_LOAD (or PT_NOTE) to write.
#[derive(Clone)]
pub struct Load {
    pub p_type: u32,
    pub flags: u32,
    pub vaddr: u64,
    pub bytes: Vec<u8>,
    pub memsz: u64,
}

/// The layout of the default test module (all numbers used as literal expectations).
pub const TEXT_SIZE: usize = 0x1234;
pub const RODATA_VADDR: u64 = 0x2000;
pub const RODATA_SIZE: usize = 0x800;
pub const DATA_VADDR: u64 = 0x3000;
pub const DATA_FILESZ: usize = 0x230;
pub const BSS_VADDR: u64 = 0x4000;
pub const BSS_MEMSZ: u64 = 0x4A0;
/// MOD0 sits at the start of rodata.
pub const MOD0_OFFSET: u32 = 0x2000;
pub const BUILD_ID: [u8; 20] = [
    0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc,
    0xfe,
];
/// `svc #0x43` and `svc #0x16` placed in text (0xD4000001 | imm16 << 5).
pub const SVC_REPLY_AND_RECEIVE: u32 = 0xD400_0001 | (0x43 << 5);
pub const SVC_CLOSE_HANDLE: u32 = 0xD400_0001 | (0x16 << 5);

/// Text: `b +0x80`, MOD0 offset, "HOMEBREW", 0x70 zero bytes for the NRO header,
/// then a pattern with two svc instructions.
pub fn text_bytes() -> Vec<u8> {
    let mut t = vec![0u8; TEXT_SIZE];
    t[0..4].copy_from_slice(&0x1400_0020u32.to_le_bytes());
    t[4..8].copy_from_slice(&MOD0_OFFSET.to_le_bytes());
    t[8..16].copy_from_slice(b"HOMEBREW");
    for (i, b) in t.iter_mut().enumerate().skip(0x80) {
        *b = (i * 7 + 3) as u8;
    }
    t[0x100..0x104].copy_from_slice(&SVC_REPLY_AND_RECEIVE.to_le_bytes());
    t[0x200..0x204].copy_from_slice(&SVC_CLOSE_HANDLE.to_le_bytes());
    t
}

/// MOD0 with LNY0/LNY1/LNY2 (revision 1): dynamic at the start of data,
/// bss = the bss PT_LOAD.
pub fn mod0_bytes() -> Vec<u8> {
    let rel = |abs: u64| (abs as i64 - i64::from(MOD0_OFFSET)) as i32;
    let words: [i32; 6] = [
        rel(DATA_VADDR + 0x100),
        rel(BSS_VADDR),
        rel(BSS_VADDR + BSS_MEMSZ),
        rel(RODATA_VADDR + 0x400),
        rel(RODATA_VADDR + 0x440),
        0,
    ];
    let mut v = b"MOD0".to_vec();
    for w in words {
        v.extend_from_slice(&w.to_le_bytes());
    }
    for (magic, a, b) in [
        (b"LNY0", rel(DATA_VADDR), rel(DATA_VADDR + 0x80)),
        (b"LNY1", rel(DATA_VADDR), rel(DATA_VADDR)),
        (b"LNY2", 1, 0),
    ] {
        v.extend_from_slice(magic);
        v.extend_from_slice(&a.to_le_bytes());
        v.extend_from_slice(&b.to_le_bytes());
    }
    v
}

pub fn rodata_bytes() -> Vec<u8> {
    let mut r: Vec<u8> = (0..RODATA_SIZE).map(|i| (i * 13 + 1) as u8).collect();
    let m = mod0_bytes();
    r[..m.len()].copy_from_slice(&m);
    r
}

pub fn data_bytes() -> Vec<u8> {
    (0..DATA_FILESZ).map(|i| (i * 5 + 9) as u8).collect()
}

/// The default module's segments.
pub fn default_loads() -> Vec<Load> {
    vec![
        Load { p_type: 1, flags: PF_R | PF_X, vaddr: 0, bytes: text_bytes(), memsz: TEXT_SIZE as u64 },
        Load { p_type: 1, flags: PF_R, vaddr: RODATA_VADDR, bytes: rodata_bytes(), memsz: RODATA_SIZE as u64 },
        Load { p_type: 1, flags: PF_R | PF_W, vaddr: DATA_VADDR, bytes: data_bytes(), memsz: DATA_FILESZ as u64 },
        Load { p_type: 1, flags: PF_R | PF_W, vaddr: BSS_VADDR, bytes: Vec::new(), memsz: BSS_MEMSZ },
    ]
}

/// A GNU build-id note (PT_NOTE contents).
pub fn build_id_note(id: &[u8]) -> Load {
    let mut n = Vec::new();
    n.extend_from_slice(&4u32.to_le_bytes());
    n.extend_from_slice(&(id.len() as u32).to_le_bytes());
    n.extend_from_slice(&3u32.to_le_bytes()); // NT_GNU_BUILD_ID
    n.extend_from_slice(b"GNU\0");
    n.extend_from_slice(id);
    while n.len() % 4 != 0 {
        n.push(0);
    }
    let len = n.len() as u64;
    Load { p_type: 4, flags: PF_R, vaddr: RODATA_VADDR + 0x700, bytes: n, memsz: len }
}

/// Writes an ELF64 (little-endian, AArch64 unless `machine` says otherwise)
/// with one program header per load and no section headers.
pub fn write_elf_with(machine: u16, loads: &[Load]) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = Writer::new(Endianness::Little, true, &mut buf);
    w.reserve_file_header();
    w.reserve_program_headers(loads.len() as u32);
    let offsets: Vec<u64> = loads.iter().map(|l| w.reserve(l.bytes.len() as u64, 0x1000)).collect();
    w.write_file_header(&FileHeader {
        os_abi: elf::ELFOSABI_NONE,
        abi_version: 0,
        e_type: elf::ET_DYN,
        e_machine: elf::Machine(machine),
        e_entry: 0,
        e_flags: elf::FileFlags(0),
    })
    .expect("ELF header");
    w.write_align_program_headers();
    for (l, off) in loads.iter().zip(&offsets) {
        w.write_program_header(&ProgramHeader {
            p_type: elf::ProgramType(l.p_type),
            p_flags: elf::ProgramFlags(l.flags),
            p_offset: *off,
            p_vaddr: l.vaddr,
            p_paddr: l.vaddr,
            p_filesz: l.bytes.len() as u64,
            p_memsz: l.memsz,
            p_align: if l.p_type == 4 { 4 } else { 0x1000 },
        });
    }
    for (l, off) in loads.iter().zip(&offsets) {
        w.pad_until(*off);
        w.write(&l.bytes);
    }
    buf
}

/// The default test ELF: four PT_LOADs and a build-id note.
pub fn default_elf() -> Vec<u8> {
    let mut loads = default_loads();
    loads.push(build_id_note(&BUILD_ID));
    write_elf_with(183, &loads)
}

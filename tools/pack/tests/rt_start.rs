//! rt's entry contract, checked on the built Switch ELFs (rt/src/lib.rs crate doc,
//! rt/link.ld). The tests that read the ELFs are ignored by a plain `cargo test`; `make test`
//! builds them and runs those tests with `--include-ignored` ([`xcbuf_pack::built`]).
//!
//! The central check decodes the AArch64 instructions of rt's entry by hand, from `_start`
//! to the first call (`bl`/`blr`), and proves that the relocation loop and the `.bss`
//! clearing loop both lie before that call, that the addresses they use are computed
//! PC-relatively (`adrp`/`adr`), and that nothing there loads from the GOT. Moving the
//! relocation (or the `.bss` clear) behind a call into Rust makes it fail.

use object::read::elf::{ElfFile64, ProgramHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol, elf};
use xcbuf_pack::built;

const PAGE: u64 = 0x1000;
/// R_AARCH64_RELATIVE.
const RELATIVE: u32 = 1027;

fn each_binary(check: impl Fn(&str, &ElfFile64<'_, Endianness>)) {
    for (name, path) in [("xcbuf-sysmodule", built::sysmodule_elf()), ("xcbuf-client", built::client_elf())] {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = ElfFile64::<Endianness>::parse(&*data).unwrap_or_else(|e| panic!("{name}: not a 64-bit ELF: {e}"));
        check(name, &file);
    }
}

fn symbol(file: &ElfFile64<'_, Endianness>, name: &str) -> u64 {
    file.symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("symbol {name} missing (rt/link.ld and rt/src/start.rs define it)"))
        .address()
}

/// `len` bytes at virtual address `addr`, from the PT_LOAD that holds them.
fn bytes_at<'a>(file: &ElfFile64<'a, Endianness>, addr: u64, len: u64) -> &'a [u8] {
    let endian = file.endian();
    for ph in file.elf_program_headers() {
        if ph.p_type(endian) != elf::PT_LOAD {
            continue;
        }
        let (vaddr, filesz) = (ph.p_vaddr(endian), ph.p_filesz(endian));
        if addr >= vaddr && addr.checked_add(len).unwrap() <= vaddr + filesz {
            let data = ph.data(endian, file.data()).expect("segment data");
            let start = usize::try_from(addr - vaddr).unwrap();
            return &data[start..start + usize::try_from(len).unwrap()];
        }
    }
    panic!("{addr:#x}+{len:#x} is not in a loaded segment's file data");
}

fn u32_at(file: &ElfFile64<'_, Endianness>, addr: u64) -> u32 {
    u32::from_le_bytes(bytes_at(file, addr, 4).try_into().unwrap())
}

fn i32_at(file: &ElfFile64<'_, Endianness>, addr: u64) -> i32 {
    i32::from_le_bytes(bytes_at(file, addr, 4).try_into().unwrap())
}

fn section_range(file: &ElfFile64<'_, Endianness>, name: &str) -> Option<(u64, u64)> {
    file.section_by_name(name).map(|s| (s.address(), s.address() + s.size()))
}

// ---------------------------------------------------------------------------------------
// A small AArch64 decoder: only the instruction classes the entry check needs.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Insn {
    /// `b target`
    B(u64),
    /// `bl target`
    Bl(u64),
    /// `blr xN`, `br xN`, `ret`: indirect control flow.
    Indirect,
    /// `b.cond`, `cbz`, `cbnz`, `tbz`, `tbnz` with their target.
    CondBranch(u64),
    /// `adrp xd, page` / `adr xd, address`: PC-relative address into xd.
    PcRel {
        rd: u32,
        value: u64,
    },
    /// `add xd, xn, #imm` (64-bit, immediate).
    AddImm {
        rd: u32,
        rn: u32,
        imm: u64,
    },
    /// `ldr xt, [xn, #imm]` (64-bit, unsigned offset).
    LdrImm {
        rn: u32,
        imm: u64,
    },
    /// `ldr xt, label` (64-bit literal).
    LdrLiteral,
    /// `str xt, [xn, xm]` (64-bit, register offset).
    StrReg {
        rt: u32,
        rn: u32,
        rm: u32,
    },
    /// `str xt, [xn], #imm` (64-bit, post-index).
    StrPost {
        rt: u32,
        rn: u32,
        imm: i64,
    },
    /// `movz xd, #imm` (hw = 0).
    Movz {
        imm: u64,
    },
    Svc(u32),
    Other,
}

fn sign_extend(value: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((value << shift) as i64) >> shift
}

fn decode(word: u32, pc: u64) -> Insn {
    let w = u64::from(word);
    let reg = |shift: u32| (word >> shift) & 0x1F;
    let branch = |imm_bits: u64, bits: u32| pc.wrapping_add_signed(sign_extend(imm_bits, bits) * 4);
    match word {
        _ if word & 0xFC00_0000 == 0x1400_0000 => Insn::B(branch(w & 0x03FF_FFFF, 26)),
        _ if word & 0xFC00_0000 == 0x9400_0000 => Insn::Bl(branch(w & 0x03FF_FFFF, 26)),
        _ if word & 0xFFFF_FC1F == 0xD63F_0000 // blr
            || word & 0xFFFF_FC1F == 0xD61F_0000 // br
            || word & 0xFFFF_FC1F == 0xD65F_0000 =>
        {
            Insn::Indirect
        } // ret
        _ if word & 0xFF00_0010 == 0x5400_0000 => Insn::CondBranch(branch((w >> 5) & 0x7FFFF, 19)),
        _ if word & 0x7E00_0000 == 0x3400_0000 => Insn::CondBranch(branch((w >> 5) & 0x7FFFF, 19)),
        _ if word & 0x7E00_0000 == 0x3600_0000 => Insn::CondBranch(branch((w >> 5) & 0x3FFF, 14)),
        _ if word & 0x1F00_0000 == 0x1000_0000 => {
            let imm = ((w >> 5) & 0x7FFFF) << 2 | ((w >> 29) & 3);
            let value = if word & 0x8000_0000 != 0 {
                (pc & !0xFFF).wrapping_add_signed(sign_extend(imm, 21) << 12) // adrp
            } else {
                pc.wrapping_add_signed(sign_extend(imm, 21)) // adr
            };
            Insn::PcRel { rd: reg(0), value }
        }
        _ if word & 0xFF80_0000 == 0x9100_0000 => {
            let shift = if word & (1 << 22) != 0 { 12 } else { 0 };
            Insn::AddImm { rd: reg(0), rn: reg(5), imm: ((w >> 10) & 0xFFF) << shift }
        }
        _ if word & 0xFFC0_0000 == 0xF940_0000 => Insn::LdrImm { rn: reg(5), imm: ((w >> 10) & 0xFFF) * 8 },
        _ if word & 0xFF00_0000 == 0x5800_0000 => Insn::LdrLiteral,
        _ if word & 0xFFE0_0C00 == 0xF820_0800 => Insn::StrReg { rt: reg(0), rn: reg(5), rm: reg(16) },
        _ if word & 0xFFE0_0C00 == 0xF800_0400 => {
            Insn::StrPost { rt: reg(0), rn: reg(5), imm: sign_extend((w >> 12) & 0x1FF, 9) }
        }
        _ if word & 0xFFE0_0000 == 0xD280_0000 => Insn::Movz { imm: (w >> 5) & 0xFFFF },
        _ if word & 0xFFE0_001F == 0xD400_0001 => Insn::Svc((word >> 5) & 0xFFFF),
        _ => Insn::Other,
    }
}

/// What the straight-line walk from the entry to its first call found.
#[derive(Debug, Default)]
struct EntryPrefix {
    /// Address of the first `bl` (and its target), or None if an indirect branch came first.
    first_call: Option<(u64, u64)>,
    /// Every address the prefix computed PC-relatively (`adrp`+`add`, `adr`).
    addresses: Vec<u64>,
    /// `str xt, [xn, xm]` addresses: the relocation write.
    relocation_stores: Vec<u64>,
    /// `str xzr, [xn], #8` addresses: the .bss clear.
    zeroing_stores: Vec<u64>,
    /// Backward branches (from, to): loops.
    back_branches: Vec<(u64, u64)>,
    /// Loads from the GOT or from a literal pool.
    got_or_literal_loads: Vec<u64>,
    /// `movz` immediates.
    movz: Vec<u64>,
    indirect_before_call: bool,
}

fn walk_entry(file: &ElfFile64<'_, Endianness>, entry: u64, got: Option<(u64, u64)>) -> EntryPrefix {
    let mut prefix = EntryPrefix::default();
    let mut page: [Option<u64>; 32] = [None; 32];
    let mut pc = entry;
    for _ in 0..1024 {
        let insn = decode(u32_at(file, pc), pc);
        match insn {
            Insn::Bl(target) => {
                prefix.first_call = Some((pc, target));
                return prefix;
            }
            Insn::Indirect => {
                prefix.indirect_before_call = true;
                return prefix;
            }
            Insn::B(target) | Insn::CondBranch(target) if target <= pc => {
                prefix.back_branches.push((pc, target));
            }
            Insn::PcRel { rd, value } => {
                page[rd as usize] = Some(value);
                prefix.addresses.push(value);
            }
            Insn::AddImm { rd, rn, imm } => {
                let value = page[rn as usize].map(|base| base + imm);
                if let Some(v) = value {
                    prefix.addresses.push(v);
                }
                page[rd as usize] = value;
            }
            Insn::LdrImm { rn, imm } => {
                if let (Some(base), Some((got_start, got_end))) = (page[rn as usize], got) {
                    let address = base + imm;
                    if address >= got_start && address < got_end {
                        prefix.got_or_literal_loads.push(pc);
                    }
                }
            }
            Insn::LdrLiteral => prefix.got_or_literal_loads.push(pc),
            Insn::StrReg { .. } => prefix.relocation_stores.push(pc),
            Insn::StrPost { rt: 31, imm: 8, .. } => prefix.zeroing_stores.push(pc),
            Insn::Movz { imm } => prefix.movz.push(imm),
            _ => {}
        }
        pc += 4;
    }
    prefix
}

fn entry_of(file: &ElfFile64<'_, Endianness>) -> u64 {
    match decode(u32_at(file, 0), 0) {
        Insn::B(target) => target,
        other => panic!("word 0 must be `b <entry>`, found {other:?}"),
    }
}

fn got_range(file: &ElfFile64<'_, Endianness>) -> Option<(u64, u64)> {
    let got = section_range(file, ".got");
    let got_plt = section_range(file, ".got.plt");
    match (got, got_plt) {
        (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
        (one, other) => one.or(other),
    }
}

// ---------------------------------------------------------------------------------------

#[test]
fn decoder_reads_the_instructions_of_the_entry_pattern() {
    // Encodings from the A64 manual, as llvm-objdump prints them for rt's entry.
    assert_eq!(decode(0x1400_0020, 0), Insn::B(0x80));
    assert_eq!(decode(0x9400_0a22, 0x1c0), Insn::Bl(0x2a48));
    assert_eq!(decode(0xf82c_6ace, 0x170), Insn::StrReg { rt: 14, rn: 22, rm: 12 });
    assert_eq!(decode(0xf800_853f, 0x198), Insn::StrPost { rt: 31, rn: 9, imm: 8 });
    assert_eq!(decode(0x17ff_fffd, 0x19c), Insn::B(0x190));
    assert_eq!(decode(0x10ff_f9f6, 0xc4), Insn::PcRel { rd: 22, value: 0 }); // adr x22, #-196
    assert_eq!(decode(0xd280_8070, 0), Insn::Movz { imm: 1027 });
    assert_eq!(decode(0xd400_04e1, 0), Insn::Svc(0x27));
    assert_eq!(decode(0xd63f_0100, 0), Insn::Indirect);
    // adrp x9, page+1 at pc 0x1234 -> 0x2000; add x9, x9, #0x10
    assert_eq!(decode(0xb000_0009, 0x1234), Insn::PcRel { rd: 9, value: 0x2000 });
    assert_eq!(decode(0x9100_4129, 0), Insn::AddImm { rd: 9, rn: 9, imm: 0x10 });
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn start_is_a_branch_then_mod0_offset_then_homebrew() {
    each_binary(|name, file| {
        assert_eq!(symbol(file, "_start"), 0, "{name}: _start must be at image offset 0");
        let entry = entry_of(file);
        assert!(entry >= 0x80, "{name}: entry {entry:#x} lies inside the NRO header (0x10..0x80)");
        assert_eq!(bytes_at(file, 8, 8), b"HOMEBREW", "{name}: bytes 8..16");
        let mod0 = u64::from(u32_at(file, 4));
        assert_eq!(mod0, symbol(file, "__xcbuf_mod0"), "{name}: word at +4 is the MOD0 offset");
        assert!(symbol(file, "__text_jmp_end") <= 0x10, "{name}: .text.jmp spills into the NRO header");
    });
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn relocation_and_bss_clear_run_before_the_first_call_into_rust() {
    each_binary(|name, file| {
        let entry = entry_of(file);
        let prefix = walk_entry(file, entry, got_range(file));
        assert!(!prefix.indirect_before_call, "{name}: indirect branch before the first call");
        let (call, target) = prefix.first_call.unwrap_or_else(|| panic!("{name}: no `bl` in the entry"));
        assert_eq!(target, symbol(file, "__xcbuf_rt_start"), "{name}: first call must be __xcbuf_rt_start");

        // Relocation: a register-offset store, inside a loop that closes before the call,
        // with the R_AARCH64_RELATIVE type check.
        let reloc = *prefix.relocation_stores.first().unwrap_or_else(|| {
            panic!("{name}: no relocation store (`str xt, [base, offset]`) before the first call at {call:#x}")
        });
        assert!(
            prefix.back_branches.iter().any(|&(from, to)| to < reloc && from > reloc && from < call),
            "{name}: relocation store at {reloc:#x} is not in a loop that ends before the call at {call:#x}"
        );
        assert!(prefix.movz.contains(&u64::from(RELATIVE)), "{name}: no R_AARCH64_RELATIVE type check");

        // .bss: `str xzr, [x], #8` in a loop that closes before the call.
        let zero = *prefix
            .zeroing_stores
            .first()
            .unwrap_or_else(|| panic!("{name}: no .bss clearing store before the first call at {call:#x}"));
        assert!(
            prefix.back_branches.iter().any(|&(from, to)| to < zero && from > zero && from < call),
            "{name}: .bss clearing store at {zero:#x} is not in a loop that ends before the call"
        );

        // The addresses they use are computed PC-relatively, never loaded from the GOT.
        for (what, sym) in [("_DYNAMIC", "_DYNAMIC"), ("bss start", "__bss_start"), ("bss end", "__bss_end")] {
            let value = symbol(file, sym);
            assert!(
                prefix.addresses.contains(&value),
                "{name}: {what} ({value:#x}) is not computed PC-relatively before the first call"
            );
        }
        assert!(prefix.addresses.contains(&0), "{name}: the image base (_start) is not computed PC-relatively");
        assert!(
            prefix.got_or_literal_loads.is_empty(),
            "{name}: GOT or literal loads before relocation at {:#x?}",
            prefix.got_or_literal_loads
        );
    });
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn mod0_offsets_resolve_to_dynamic_bss_eh_frame_hdr_and_lny2_revision_1() {
    each_binary(|name, file| {
        let mod0 = u64::from(u32_at(file, 4));
        assert_eq!(mod0 % 4, 0, "{name}: MOD0 must be 4-byte aligned");
        assert_eq!(bytes_at(file, mod0, 4), b"MOD0", "{name}: magic");
        let at = |off: u64| mod0.wrapping_add_signed(i64::from(i32_at(file, mod0 + off)));
        let (dynamic, _) = section_range(file, ".dynamic").expect(".dynamic");
        assert_eq!(at(0x04), dynamic, "{name}: MOD0 dynamic");
        assert_eq!(at(0x04), symbol(file, "_DYNAMIC"), "{name}: MOD0 dynamic vs _DYNAMIC");
        assert_eq!(at(0x08), symbol(file, "__bss_start"), "{name}: MOD0 bss start");
        assert_eq!(at(0x0C), symbol(file, "__bss_end"), "{name}: MOD0 bss end");
        let (bss_start, bss_end) = section_range(file, ".bss").expect(".bss");
        assert_eq!(at(0x08), bss_start, "{name}: bss start is the .bss section");
        assert_eq!(at(0x0C), (bss_end + 7) & !7, "{name}: bss end is the .bss end, 8-aligned");
        assert_eq!(at(0x10), symbol(file, "__eh_frame_hdr_start"), "{name}: eh_frame_hdr start");
        assert_eq!(at(0x14), symbol(file, "__eh_frame_hdr_end"), "{name}: eh_frame_hdr end");
        assert_eq!(u32_at(file, mod0 + 0x18), 0, "{name}: module object offset");
        assert_eq!(bytes_at(file, mod0 + 0x1C, 4), b"LNY0", "{name}: LNY0");
        assert_eq!(at(0x20), symbol(file, "__got_start"), "{name}: LNY0 got start");
        assert_eq!(at(0x24), symbol(file, "__got_end"), "{name}: LNY0 got end");
        assert_eq!(bytes_at(file, mod0 + 0x28, 4), b"LNY1", "{name}: LNY1");
        assert_eq!(bytes_at(file, mod0 + 0x34, 4), b"LNY2", "{name}: LNY2 at MOD0+0x34");
        assert_eq!(u32_at(file, mod0 + 0x38), 1, "{name}: ABI revision 1");
    });
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn segments_are_text_rx_rodata_r_data_rw_bss_rw_on_page_boundaries() {
    each_binary(|name, file| {
        let endian = file.endian();
        assert_eq!(file.elf_header().e_type.get(endian), elf::ET_DYN, "{name}: must be a PIE");
        let loads: Vec<_> = file
            .elf_program_headers()
            .iter()
            .filter(|ph| ph.p_type(endian) == elf::PT_LOAD)
            .map(|ph| (ph.p_flags(endian).0 & 7, ph.p_vaddr(endian), ph.p_filesz(endian), ph.p_memsz(endian)))
            .collect();
        let flags: Vec<u32> = loads.iter().map(|l| l.0).collect();
        assert_eq!(
            flags,
            [5, 4, 6, 6], // R-X, R--, RW-, RW- (PF_R 4, PF_W 2, PF_X 1)
            "{name}: PT_LOAD permissions"
        );
        assert_eq!(loads[0].1, 0, "{name}: text at 0");
        for window in loads.windows(2) {
            let end = window[0].1 + window[0].3;
            assert_eq!(window[1].1 % PAGE, 0, "{name}: segment at {:#x} not page-aligned", window[1].1);
            assert!(window[1].1 >= end, "{name}: segments overlap");
        }
        let (data, bss) = (loads[2], loads[3]);
        assert_eq!(bss.2, 0, "{name}: bss segment has file data");
        assert_eq!(bss.1, (data.1 + data.3).div_ceil(PAGE) * PAGE, "{name}: bss must follow data");
        let dynamic = file
            .elf_program_headers()
            .iter()
            .find(|ph| ph.p_type(endian) == elf::PT_DYNAMIC)
            .unwrap_or_else(|| panic!("{name}: no PT_DYNAMIC"));
        assert_eq!(Some(dynamic.p_vaddr(endian)), section_range(file, ".dynamic").map(|r| r.0));
        assert!(
            !file.elf_program_headers().iter().any(|ph| ph.p_type(endian) == elf::PT_TLS),
            "{name}: thread_local statics are not supported by rt"
        );
    });
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn only_relative_relocations_and_a_build_id() {
    each_binary(|name, file| {
        assert!(file.section_by_name(".relr.dyn").is_none(), "{name}: RELR is not handled by rt");
        assert!(file.section_by_name(".rela.plt").is_none_or(|s| s.size() == 0), "{name}: PLT relocations");
        let rela = file.section_by_name(".rela.dyn").expect(".rela.dyn");
        let bytes = rela.data().unwrap();
        assert_eq!(bytes.len() % 24, 0, "{name}: RELA entries are 24 bytes");
        for entry in bytes.chunks(24) {
            let info = u64::from_le_bytes(entry[8..16].try_into().unwrap());
            assert_eq!(info & 0xFFFF_FFFF, u64::from(RELATIVE), "{name}: relocation type {info:#x}");
        }
        let note = file.section_by_name(".note.gnu.build-id").expect("GNU build-id note");
        // namesz 4, descsz 20 (SHA-1), type 3 (NT_GNU_BUILD_ID), "GNU\0".
        let data = note.data().unwrap();
        assert_eq!(&data[..16], &[4, 0, 0, 0, 20, 0, 0, 0, 3, 0, 0, 0, b'G', b'N', b'U', 0], "{name}");
    });
}

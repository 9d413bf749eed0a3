//! ELF input: the linker's output for the Switch target (ET_DYN, PIE).
//!
//! Expected program headers (runtime-abi.md §7.1; formats.md pipeline):
//! one PT_LOAD R-X (text, at 0), one R (rodata), one RW with file contents
//! (data) and one RW without (bss, in its own PT_LOAD). The bss size is taken
//! from the **bss PT_LOAD's memsz**, not from data's `memsz - filesz`
//! (formats.md "Notes on existing packers": elf2nro/elf2nso would record 0).
//! An ELF whose only RW PT_LOAD ends in zero-fill is accepted too: that tail is
//! its bss.
//!
//! The data segment is stored up to where bss begins (zero-filled), so that bss
//! always starts right after the stored data in the NRO/NSO.

use object::read::elf::{ElfFile64, FileHeader, ProgramHeader};
use object::{Endianness, Object, ObjectSection};

use crate::bytes::{PAGE_SIZE, SEGMENT_SIZE_LIMIT, to_u32, to_usize};
use crate::error::{Result, invalid};
use crate::image::{Extent, ModuleImage, Segment};
use crate::mod0::Mod0;

/// `EM_AARCH64` (ELF for the Arm 64-bit Architecture).
const EM_AARCH64: u16 = 183;
/// `ET_EXEC` and `ET_DYN`.
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
/// `PT_LOAD`.
const PT_LOAD: u32 = 1;
/// Segment permission bits `PF_X`, `PF_W`, `PF_R`.
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;
/// Longest build-id the 0x20-byte ModuleId holds (formats.md §1.1 0x40).
const MODULE_ID_SIZE: usize = 0x20;

/// What the packer takes from an ELF.
#[derive(Debug, Clone)]
pub struct ElfModule {
    /// Segments, bss, module id (= build-id, zero padded), .dynstr/.dynsym.
    pub image: ModuleImage,
    /// The GNU build-id note's descriptor, if the ELF has one.
    pub build_id: Option<Vec<u8>>,
    /// The MOD0 header that word 1 of .text points at.
    pub mod0: Mod0,
    /// The bss PT_LOAD as `(p_vaddr, p_memsz)`, if the ELF has a separate one.
    pub bss_load: Option<(u64, u64)>,
}

/// One PT_LOAD, as read.
struct Load<'a> {
    index: usize,
    vaddr: u64,
    memsz: u64,
    filesz: u64,
    data: &'a [u8],
}

fn perm_name(flags: u32) -> String {
    let r = if flags & PF_R != 0 { 'R' } else { '-' };
    let w = if flags & PF_W != 0 { 'W' } else { '-' };
    let x = if flags & PF_X != 0 { 'X' } else { '-' };
    format!("{r}{w}{x}")
}

/// Reads an AArch64 ELF; `file` names it in errors.
pub fn read_elf(file: &str, bytes: &[u8]) -> Result<ElfModule> {
    let elf = ElfFile64::<Endianness>::parse(bytes)
        .map_err(|e| invalid(file, "ELF header", format!("not a 64-bit ELF file ({e})")))?;
    let endian = elf.endian();
    if !elf.is_little_endian() {
        return Err(invalid(file, "e_ident[EI_DATA]", "big-endian ELF; AArch64 Horizon is little-endian"));
    }
    let header = elf.elf_header();
    let machine = header.e_machine(endian).0;
    if machine != EM_AARCH64 {
        return Err(invalid(file, "e_machine", format!("{machine} is not EM_AARCH64 ({EM_AARCH64})")));
    }
    let e_type = header.e_type(endian).0;
    if e_type != ET_DYN && e_type != ET_EXEC {
        return Err(invalid(file, "e_type", format!("{e_type} is neither ET_DYN nor ET_EXEC")));
    }

    let mut text = Vec::new();
    let mut rodata = Vec::new();
    let mut rw = Vec::new();
    for (index, ph) in elf.elf_program_headers().iter().enumerate() {
        if ph.p_type(endian).0 != PT_LOAD {
            continue;
        }
        let flags = ph.p_flags(endian).0 & (PF_R | PF_W | PF_X);
        let field = format!("PT_LOAD[{index}]");
        let filesz = ph.p_filesz(endian);
        let memsz = ph.p_memsz(endian);
        if filesz > memsz {
            return Err(invalid(file, format!("{field}.p_filesz"), format!("{filesz:#x} > p_memsz {memsz:#x}")));
        }
        let data = ph
            .data(endian, bytes)
            .map_err(|()| invalid(file, format!("{field}.p_offset"), "segment contents lie outside the file"))?;
        let load = Load { index, vaddr: ph.p_vaddr(endian), memsz, filesz, data };
        match flags {
            f if f == PF_R | PF_X => text.push(load),
            f if f == PF_R => rodata.push(load),
            f if f == PF_R | PF_W => rw.push(load),
            f => {
                return Err(invalid(
                    file,
                    format!("{field}.p_flags"),
                    format!("{} is not R-X, R-- or RW-", perm_name(f)),
                ));
            }
        }
    }

    let text = exactly_one(file, text, "R-X")?;
    let rodata = exactly_one(file, rodata, "R")?;
    rw.sort_by_key(|l| l.vaddr);
    if rw.is_empty() {
        return Err(invalid(file, "PT_LOAD", "no PT_LOAD with RW"));
    }
    if rw.len() > 2 {
        return Err(invalid(file, "PT_LOAD", format!("{} PT_LOADs with RW (expected data and bss)", rw.len())));
    }
    for l in [&text, &rodata].into_iter().chain(rw.iter()) {
        if l.vaddr % PAGE_SIZE != 0 {
            return Err(invalid(
                file,
                format!("PT_LOAD[{}].p_vaddr", l.index),
                format!("segment not page-aligned ({:#x})", l.vaddr),
            ));
        }
    }
    if text.vaddr != 0 {
        return Err(invalid(file, format!("PT_LOAD[{}].p_vaddr", text.index), "the R-X segment must start at 0"));
    }

    let data = &rw[0];
    let (data_bytes, bss_size, bss_load) = match rw.get(1) {
        Some(bss) => {
            if bss.filesz != 0 {
                return Err(invalid(
                    file,
                    format!("PT_LOAD[{}].p_filesz", bss.index),
                    "the second RW PT_LOAD (bss) has file contents",
                ));
            }
            let data_end = data
                .vaddr
                .checked_add(data.memsz)
                .ok_or_else(|| invalid(file, format!("PT_LOAD[{}].p_memsz", data.index), "segment end overflows"))?;
            if bss.vaddr < data_end {
                return Err(invalid(
                    file,
                    format!("PT_LOAD[{}].p_vaddr", bss.index),
                    format!("bss at {:#x} overlaps data (ends at {data_end:#x})", bss.vaddr),
                ));
            }
            // Data is stored up to the start of bss.
            let stored = padded(file, data, bss.vaddr - data.vaddr)?;
            (stored, bss.memsz, Some((bss.vaddr, bss.memsz)))
        }
        None => (padded(file, data, data.filesz)?, data.memsz - data.filesz, None),
    };

    let build_id = elf
        .build_id()
        .map_err(|e| invalid(file, ".note.gnu.build-id", format!("malformed note ({e})")))?
        .map(<[u8]>::to_vec);
    let mut module_id = [0u8; MODULE_ID_SIZE];
    if let Some(id) = &build_id {
        if id.len() > MODULE_ID_SIZE {
            return Err(invalid(
                file,
                ".note.gnu.build-id",
                format!("{} bytes; the ModuleId holds at most {MODULE_ID_SIZE}", id.len()),
            ));
        }
        module_id[..id.len()].copy_from_slice(id);
    }

    let image = ModuleImage {
        text: Segment {
            memory_offset: to_u32(file, "R-X p_vaddr", text.vaddr)?,
            bytes: padded(file, &text, text.memsz)?,
        },
        rodata: Segment {
            memory_offset: to_u32(file, "R p_vaddr", rodata.vaddr)?,
            bytes: padded(file, &rodata, rodata.memsz)?,
        },
        data: Segment { memory_offset: to_u32(file, "RW p_vaddr", data.vaddr)?, bytes: data_bytes },
        bss_size: to_u32(file, "bss p_memsz", bss_size)?,
        module_id,
        dynstr: section_extent(file, &elf, ".dynstr")?,
        dynsym: section_extent(file, &elf, ".dynsym")?,
    };
    image.validate(file)?;
    let mod0_offset = image.mod0_offset(file)?;
    let mod0 = image.mod0(file).map_err(|e| match e {
        crate::PackError::Invalid { problem, .. } => invalid(
            file,
            "MOD0",
            format!("word 1 of .text names offset {mod0_offset:#x}, but no valid MOD0 is there: {problem}"),
        ),
        other => other,
    })?;
    Ok(ElfModule { image, build_id, mod0, bss_load })
}

fn exactly_one<'a>(file: &str, mut loads: Vec<Load<'a>>, perm: &str) -> Result<Load<'a>> {
    match loads.len() {
        0 => Err(invalid(file, "PT_LOAD", format!("no PT_LOAD with {perm}"))),
        1 => Ok(loads.remove(0)),
        n => Err(invalid(file, "PT_LOAD", format!("{n} PT_LOADs with {perm} (expected one)"))),
    }
}

/// The segment's file bytes followed by zeros up to `len` bytes.
fn padded(file: &str, load: &Load<'_>, len: u64) -> Result<Vec<u8>> {
    let field = format!("PT_LOAD[{}].p_memsz", load.index);
    if len > SEGMENT_SIZE_LIMIT {
        return Err(invalid(file, field, format!("{len:#x} bytes; segments are limited to {SEGMENT_SIZE_LIMIT:#x}")));
    }
    let len = to_usize(file, &field, len)?;
    let mut v = load.data.to_vec();
    v.resize(len.max(load.data.len()), 0);
    Ok(v)
}

fn section_extent(file: &str, elf: &ElfFile64<'_, Endianness>, name: &str) -> Result<Extent> {
    match elf.section_by_name(name) {
        Some(s) => Ok(Extent {
            offset: to_u32(file, &format!("{name}.sh_addr"), s.address())?,
            size: to_u32(file, &format!("{name}.sh_size"), s.size())?,
        }),
        None => Ok(Extent::default()),
    }
}

//! NRO: the homebrew executable hbloader launches (formats.md §1.1).
//!
//! The file is the module image itself (file offset == memory offset), with the
//! 0x70-byte NRO header written over .text bytes 0x10..0x80, which the linker
//! script reserves. Bytes 0..0x10 (the branch to the entry, the MOD0 offset and
//! "HOMEBREW") come from the image. Segment sizes and bss are page-aligned. An
//! optional ASET block follows at `size` (formats.md §1.3).

use crate::aset::{ASET_MAGIC, Assets};
use crate::bytes::{Bytes, PAGE_SIZE, align_up, put_u32, to_u32, to_usize};
use crate::error::{Result, invalid};
use crate::image::{Extent, ModuleImage, Segment, pad_to_page};

/// `NRO0` at file offset 0x10 (formats.md §1.1).
pub const NRO_MAGIC: &[u8; 4] = b"NRO0";
/// Where the NRO header starts: after the 0x10-byte NroStart.
pub const NRO_HEADER_OFFSET: usize = 0x10;
/// End of the NRO header (the linker script's `. = 0x80`).
pub const NRO_HEADER_END: usize = 0x80;

/// An NRO as read back.
#[derive(Debug, Clone)]
pub struct Nro {
    /// Segments (page-aligned sizes; text includes the header bytes), bss, module id.
    pub image: ModuleImage,
    /// Header `size`: end of the image, start of ASET.
    pub size: u32,
    /// Header `flags`.
    pub flags: u32,
    /// Assets, when the file carries an ASET block.
    pub assets: Option<Assets>,
}

/// Writes an NRO from `image`, appending `assets` if given.
pub fn write_nro(file: &str, image: &ModuleImage, assets: Option<&Assets>) -> Result<Vec<u8>> {
    image.validate(file)?;
    let reserved = image
        .text
        .bytes
        .get(NRO_HEADER_OFFSET..NRO_HEADER_END)
        .ok_or_else(|| invalid(file, "text", "shorter than 0x80 bytes: no room for the NRO header"))?;
    if reserved.iter().any(|b| *b != 0) {
        return Err(invalid(
            file,
            "text[0x10..0x80]",
            "not zero: these bytes must be reserved for the NRO header (`. = 0x80` after .text.jmp)",
        ));
    }
    // Page-aligned segments; gaps between them are zero (offsets are page-aligned).
    let segs = [&image.text, &image.rodata, &image.data]
        .map(|s| Segment { memory_offset: s.memory_offset, bytes: pad_to_page(&s.bytes) });
    let padded = ModuleImage { text: segs[0].clone(), rodata: segs[1].clone(), data: segs[2].clone(), ..image.clone() };
    padded.validate(file)?;
    let size = padded.bss_offset();
    let bss_end = image
        .bss_offset()
        .checked_add(u64::from(image.bss_size))
        .and_then(|e| align_up(e, PAGE_SIZE))
        .ok_or_else(|| invalid(file, "bss_size", "bss end overflows"))?;
    let bss_size = bss_end.saturating_sub(size);

    let mut out = padded.flat(file)?;
    let h = NRO_HEADER_OFFSET;
    out[h..h + 4].copy_from_slice(NRO_MAGIC);
    put_u32(&mut out, h + 0x04, 0); // version
    put_u32(&mut out, h + 0x08, to_u32(file, "size", size)?);
    put_u32(&mut out, h + 0x0C, 0); // flags
    for (i, s) in segs.iter().enumerate() {
        put_u32(&mut out, h + 0x10 + i * 8, s.memory_offset);
        put_u32(&mut out, h + 0x14 + i * 8, to_u32(file, "segment size", s.bytes.len() as u64)?);
    }
    put_u32(&mut out, h + 0x28, to_u32(file, "bss_size", bss_size)?);
    put_u32(&mut out, h + 0x2C, 0);
    out[h + 0x30..h + 0x50].copy_from_slice(&image.module_id);
    // 0x60 DsoHandleOffset, 0x64 reserved, 0x68 api info: zero.
    for (off, e) in [(0x60usize, image.dynstr), (0x68, image.dynsym)] {
        put_u32(&mut out, h + off, e.offset);
        put_u32(&mut out, h + off + 4, e.size);
    }
    if let Some(a) = assets {
        out.extend_from_slice(&a.to_bytes());
    }
    Ok(out)
}

/// Reads an NRO, checking every extent against the file.
pub fn read_nro(file: &str, bytes: &[u8]) -> Result<Nro> {
    let b = Bytes::new(file, bytes);
    let h = NRO_HEADER_OFFSET as u64;
    b.expect_magic(h, NRO_MAGIC, "NRO header magic (0x10)")?;
    let size = b.u32(h + 0x08, "size (0x18)")?;
    let flags = b.u32(h + 0x0C, "flags (0x1C)")?;
    b.slice(0, u64::from(size), "size (0x18)")?;
    let segment = |i: u64, name: &str| -> Result<Segment> {
        let base = h + 0x10 + i * 8;
        let off = b.u32(base, &format!("{name}.offset"))?;
        let len = b.u32(base + 4, &format!("{name}.size"))?;
        let end = u64::from(off) + u64::from(len);
        if end > u64::from(size) {
            return Err(invalid(
                file,
                format!("{name}.size"),
                format!("segment ends at {end:#x}, past size {size:#x}"),
            ));
        }
        Ok(Segment { memory_offset: off, bytes: b.slice(u64::from(off), u64::from(len), name)?.to_vec() })
    };
    let text = segment(0, "text")?;
    let rodata = segment(1, "rodata")?;
    let data = segment(2, "data")?;
    let bss_size = b.u32(h + 0x28, "bss_size (0x38)")?;
    let mut module_id = [0u8; 0x20];
    module_id.copy_from_slice(b.slice(h + 0x30, 0x20, "module_id (0x40)")?);
    let extent = |off: u64, field: &str| -> Result<Extent> {
        Ok(Extent { offset: b.u32(h + off, field)?, size: b.u32(h + off + 4, field)? })
    };
    let image = ModuleImage {
        text,
        rodata,
        data,
        bss_size,
        module_id,
        dynstr: extent(0x60, "dynstr (0x70)")?,
        dynsym: extent(0x68, "dynsym (0x78)")?,
    };
    image.validate(file)?;
    let size_usize = to_usize(file, "size", u64::from(size))?;
    let rest = &bytes[size_usize..];
    let assets = if rest.len() >= 4 && &rest[..4] == ASET_MAGIC { Some(Assets::parse(file, rest)?) } else { None };
    Ok(Nro { image, size, flags, assets })
}

/// ELF -> NRO with the project's icon and a NACP carrying `nacp`.
pub fn pack_elf(file: &str, elf: &[u8], nacp: &crate::nacp::Nacp) -> Result<Vec<u8>> {
    let module = crate::elf::read_elf(file, elf)?;
    let assets = Assets { icon: crate::icon::icon_jpeg()?, nacp: nacp.to_bytes(file)?, romfs: Vec::new() };
    write_nro(file, &module.image, Some(&assets))
}

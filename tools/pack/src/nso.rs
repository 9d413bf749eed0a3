//! NSO: the executable format Atmosphère's loader starts a sysmodule from
//! (formats.md §2). A 0x100-byte header, then text, rodata and data, each an
//! LZ4 block (no frame) when that is smaller, or else stored as is, with the
//! SHA-256 of its decompressed bytes.

use sha2::{Digest, Sha256};

use crate::bytes::{Bytes, SEGMENT_SIZE_LIMIT, put_u32, to_u32, to_usize};
use crate::error::{Result, invalid};
use crate::image::{Extent, ModuleImage, Segment};

/// `NSO0` (formats.md §2 0x00).
pub const NSO_MAGIC: &[u8; 4] = b"NSO0";
/// Header size; segment data follows (formats.md §2 0x100).
pub const NSO_HEADER_SIZE: usize = 0x100;

/// Header flags (formats.md §2 0x0C).
pub mod flags {
    pub const TEXT_COMPRESSED: u32 = 1 << 0;
    pub const RODATA_COMPRESSED: u32 = 1 << 1;
    pub const DATA_COMPRESSED: u32 = 1 << 2;
    pub const TEXT_HASHED: u32 = 1 << 3;
    pub const RODATA_HASHED: u32 = 1 << 4;
    pub const DATA_HASHED: u32 = 1 << 5;
    /// Execute-only text; the loader rejects it.
    pub const PREVENT_CODE_READS: u32 = 1 << 6;
    /// zstd "zbic"; only for `main` with rtld+sdk present.
    pub const ZBIC: u32 = 1 << 7;
    /// What elf2nso and linkle write, and so do we when LZ4 shrinks every segment:
    /// everything compressed and hashed.
    pub const ALL_COMPRESSED_AND_HASHED: u32 = 0x3F;
    /// Every segment hashed (set whether or not a segment is compressed).
    pub const ALL_HASHED: u32 = TEXT_HASHED | RODATA_HASHED | DATA_HASHED;
}

/// Most an LZ4 block can expand (a 1-byte token + 255-byte length runs).
const LZ4_MAX_RATIO: u64 = 255;

const SEGMENT_NAMES: [&str; 3] = ["text", "rodata", "data"];

/// An NSO as read back (segments decompressed and hash-checked).
#[derive(Debug, Clone)]
pub struct Nso {
    /// Segments, bss, module id; .dynstr/.dynsym converted to image-relative.
    pub image: ModuleImage,
    pub flags: u32,
    /// On-disk sizes of text, rodata, data (header 0x60): the LZ4 block size, or
    /// the segment size for a segment stored uncompressed.
    pub file_sizes: [u32; 3],
    /// SHA-256 of the decompressed text, rodata, data as stored in the header.
    pub hashes: [[u8; 32]; 3],
}

/// Writes an NSO with every segment SHA-256-hashed, and LZ4-compressed when
/// that makes it smaller.
///
/// Atmosphère's loader (`stratosphere/loader/source/ldr_process_creation.cpp`,
/// `LoadAutoLoadModuleSegment`) reads `compressed_size` bytes of a segment whose
/// flag bit is set and fails with InvalidNso when that is more than the segment
/// size (it decompresses in place, at the end of the segment's pages); boot2
/// ignores the failure, so the sysmodule would just not start. An incompressible
/// segment (LZ4 only adds its tokens) is therefore stored as is, its flag bit
/// clear and its on-disk size equal to its size: with the bit clear the loader
/// reads exactly `segment_size` bytes and ignores `compressed_size`.
pub fn write_nso(file: &str, image: &ModuleImage) -> Result<Vec<u8>> {
    image.validate(file)?;
    let segs = [&image.text, &image.rodata, &image.data];
    let mut header = vec![0u8; NSO_HEADER_SIZE];
    header[..4].copy_from_slice(NSO_MAGIC);
    let mut nso_flags = flags::ALL_HASHED;
    let mut body = Vec::new();
    for (i, seg) in segs.iter().enumerate() {
        let name = SEGMENT_NAMES[i];
        let lz4 = lz4_flex::block::compress(&seg.bytes);
        let stored: &[u8] = if lz4.len() < seg.bytes.len() {
            nso_flags |= flags::TEXT_COMPRESSED << i;
            &lz4
        } else {
            &seg.bytes
        };
        let file_offset = to_u32(file, &format!("{name}.file_offset"), (NSO_HEADER_SIZE + body.len()) as u64)?;
        let at = 0x10 + i * 0x10;
        put_u32(&mut header, at, file_offset);
        put_u32(&mut header, at + 4, seg.memory_offset);
        put_u32(&mut header, at + 8, to_u32(file, &format!("{name}.size"), seg.bytes.len() as u64)?);
        // at + 0xC: text module-name offset / rodata module-name size (0), data bss size.
        put_u32(&mut header, 0x60 + i * 4, to_u32(file, &format!("{name}.file_size"), stored.len() as u64)?);
        header[0xA0 + i * 0x20..0xC0 + i * 0x20].copy_from_slice(&Sha256::digest(&seg.bytes));
        body.extend_from_slice(stored);
    }
    put_u32(&mut header, 0x0C, nso_flags);
    put_u32(&mut header, 0x3C, image.bss_size);
    header[0x40..0x60].copy_from_slice(&image.module_id);
    // 0x88 api-info stays zero; .dynstr/.dynsym are rodata-relative (formats.md §2).
    for (off, e) in [(0x90usize, image.dynstr), (0x98, image.dynsym)] {
        let rel = rodata_relative(image, e);
        put_u32(&mut header, off, rel.offset);
        put_u32(&mut header, off + 4, rel.size);
    }
    header.extend_from_slice(&body);
    Ok(header)
}

/// An image-relative extent as an offset inside rodata; zero when it is not
/// wholly inside rodata (the loader ignores these fields).
fn rodata_relative(image: &ModuleImage, e: Extent) -> Extent {
    let start = u64::from(image.rodata.memory_offset);
    let end = image.rodata.end().unwrap_or(start);
    let e_start = u64::from(e.offset);
    let e_end = e_start + u64::from(e.size);
    if e.size == 0 || e_start < start || e_end > end {
        return Extent::default();
    }
    Extent { offset: e.offset - image.rodata.memory_offset, size: e.size }
}

/// Reads an NSO: checks the loader's rules, decompresses and verifies hashes.
pub fn read_nso(file: &str, bytes: &[u8]) -> Result<Nso> {
    let b = Bytes::new(file, bytes);
    b.expect_magic(0, NSO_MAGIC, "NSO header magic")?;
    let nso_flags = b.u32(0x0C, "flags (0x0C)")?;
    if nso_flags & flags::PREVENT_CODE_READS != 0 {
        return Err(invalid(file, "flags (0x0C)", "bit 6 PreventCodeReads is set; the loader rejects it"));
    }
    if nso_flags & flags::ZBIC != 0 {
        return Err(invalid(file, "flags (0x0C)", "bit 7 (zstd) is not supported"));
    }
    let mut segs: Vec<Segment> = Vec::with_capacity(3);
    let mut file_sizes = [0u32; 3];
    let mut hashes = [[0u8; 32]; 3];
    for (i, name) in SEGMENT_NAMES.iter().enumerate() {
        let at = 0x10 + i as u64 * 0x10;
        let file_offset = b.u32(at, &format!("{name}.file_offset"))?;
        let memory_offset = b.u32(at + 4, &format!("{name}.memory_offset"))?;
        let size = b.u32(at + 8, &format!("{name}.size"))?;
        let file_size = b.u32(0x60 + i as u64 * 4, &format!("{name}.file_size"))?;
        hashes[i].copy_from_slice(b.slice(0xA0 + i as u64 * 0x20, 0x20, &format!("{name}.hash"))?);
        let compressed = nso_flags & (flags::TEXT_COMPRESSED << i) != 0;
        // The loader's bound (ldr_process_creation.cpp, LoadAutoLoadModuleSegment):
        // a compressed segment's on-disk size is at most its size, or InvalidNso
        // (and boot2 silently does not start the program). With the flag clear it
        // reads `size` bytes and never looks at `file_size`.
        if compressed && file_size > size {
            return Err(invalid(
                file,
                format!("{name}.file_size ({:#x})", 0x60 + i * 4),
                format!(
                    "compressed size {file_size:#x} is larger than the segment size {size:#x}; \
                     Atmosphère's loader rejects it (store the segment uncompressed, flag bit {i} clear)"
                ),
            ));
        }
        let stored_len = if compressed { file_size } else { size };
        let stored = b.slice(u64::from(file_offset), u64::from(stored_len), &format!("{name}.file_offset"))?;
        // An LZ4 block expands at most ~255x; a larger size is a corrupt header,
        // rejected before anything is allocated.
        let max_expansion = u64::from(stored_len).saturating_mul(LZ4_MAX_RATIO).saturating_add(16);
        if u64::from(size) > SEGMENT_SIZE_LIMIT || (compressed && u64::from(size) > max_expansion) {
            return Err(invalid(
                file,
                format!("{name}.size"),
                format!("{size:#x} is not a plausible size for {stored_len:#x} stored bytes"),
            ));
        }
        let data = if compressed {
            let want = to_usize(file, &format!("{name}.size"), u64::from(size))?;
            let out = lz4_flex::block::decompress(stored, want)
                .map_err(|e| invalid(file, format!("{name} (LZ4 block)"), e.to_string()))?;
            if out.len() != want {
                return Err(invalid(
                    file,
                    format!("{name}.size"),
                    format!("decompressed to {:#x} bytes, header says {size:#x}", out.len()),
                ));
            }
            out
        } else {
            stored.to_vec()
        };
        if nso_flags & (flags::TEXT_HASHED << i) != 0 && Sha256::digest(&data).as_slice() != hashes[i] {
            return Err(invalid(file, format!("{name}.hash"), "SHA-256 of the decompressed segment does not match"));
        }
        file_sizes[i] = file_size;
        segs.push(Segment { memory_offset, bytes: data });
    }
    let bss_size = b.u32(0x3C, "bss_size (0x3C)")?;
    let mut module_id = [0u8; 0x20];
    module_id.copy_from_slice(b.slice(0x40, 0x20, "module_id (0x40)")?);
    let mut it = segs.into_iter();
    let (Some(text), Some(rodata), Some(data)) = (it.next(), it.next(), it.next()) else {
        return Err(invalid(file, "segments", "three segments expected"));
    };
    let from_rodata = |off: u64, field: &str| -> Result<Extent> {
        let e = Extent { offset: b.u32(off, field)?, size: b.u32(off + 4, field)? };
        if e.size == 0 {
            return Ok(Extent::default());
        }
        let offset =
            e.offset.checked_add(rodata.memory_offset).ok_or_else(|| invalid(file, field, "offset overflows"))?;
        Ok(Extent { offset, size: e.size })
    };
    let dynstr = from_rodata(0x90, "dynstr (0x90)")?;
    let dynsym = from_rodata(0x98, "dynsym (0x98)")?;
    let image = ModuleImage { text, rodata, data, bss_size, module_id, dynstr, dynsym };
    image.validate(file)?;
    Ok(Nso { image, flags: nso_flags, file_sizes, hashes })
}

/// ELF -> NSO.
pub fn pack_elf(file: &str, elf: &[u8]) -> Result<Vec<u8>> {
    write_nso(file, &crate::elf::read_elf(file, elf)?.image)
}

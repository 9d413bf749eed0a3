//! The module image both NRO and NSO carry: three segments at page-aligned memory
//! offsets (text R-X at 0, rodata R, data RW) followed by bss (RW, zero-filled).
//!
//! Rules checked by [`ModuleImage::validate`] are the ones the loaders enforce
//! (formats.md §2 `CheckAutoLoad`; §1.5 hbloader's segment bounds): text at 0,
//! page-aligned offsets, text end <= rodata offset <= rodata end <= data offset.

use crate::bytes::{PAGE_SIZE, SEGMENT_SIZE_LIMIT, to_usize};
use crate::error::{Result, invalid};
use crate::mod0::Mod0;

/// One loadable segment: where it goes in memory and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Offset from the module base (NRO: also the file offset).
    pub memory_offset: u32,
    /// Contents; the loader maps exactly these bytes.
    pub bytes: Vec<u8>,
}

impl Segment {
    /// First byte after the segment, relative to the module base.
    pub fn end(&self) -> Option<u64> {
        u64::from(self.memory_offset).checked_add(self.bytes.len() as u64)
    }
}

/// An `{offset, size}` pair inside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extent {
    pub offset: u32,
    pub size: u32,
}

/// The module as the loader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleImage {
    /// .text, executable (R-X), at memory offset 0.
    pub text: Segment,
    /// .rodata, read-only (R--).
    pub rodata: Segment,
    /// .data, read-write (RW-).
    pub data: Segment,
    /// Zero-filled bytes right after `data` (RW-).
    pub bss_size: u32,
    /// GNU build-id, zero padded (formats.md §1.1 0x40, §2 0x40).
    pub module_id: [u8; 0x20],
    /// `.dynstr`, image-relative.
    pub dynstr: Extent,
    /// `.dynsym`, image-relative.
    pub dynsym: Extent,
}

impl ModuleImage {
    /// Checks the loader's layout rules; `file` names the source in errors.
    pub fn validate(&self, file: &str) -> Result<()> {
        if self.text.memory_offset != 0 {
            return Err(invalid(file, "text.memory_offset", "text must start at offset 0"));
        }
        let mut previous_end = 0u64;
        for (name, seg) in self.segments() {
            let field = format!("{name}.memory_offset");
            if u64::from(seg.memory_offset) % PAGE_SIZE != 0 {
                return Err(invalid(file, field, format!("segment not page-aligned ({:#x})", seg.memory_offset)));
            }
            if u64::from(seg.memory_offset) < previous_end {
                return Err(invalid(
                    file,
                    field,
                    format!("{:#x} overlaps the previous segment (which ends at {previous_end:#x})", seg.memory_offset),
                ));
            }
            previous_end = seg
                .end()
                .filter(|e| *e <= u64::from(u32::MAX))
                .ok_or_else(|| invalid(file, format!("{name}.size"), "segment end overflows 32 bits"))?;
        }
        previous_end
            .checked_add(u64::from(self.bss_size))
            .filter(|e| *e <= u64::from(u32::MAX))
            .ok_or_else(|| invalid(file, "bss_size", "bss end overflows 32 bits"))?;
        Ok(())
    }

    /// The three segments with their names, in memory order.
    pub fn segments(&self) -> [(&'static str, &Segment); 3] {
        [("text", &self.text), ("rodata", &self.rodata), ("data", &self.data)]
    }

    /// Offset of the first bss byte (= end of data).
    pub fn bss_offset(&self) -> u64 {
        u64::from(self.data.memory_offset) + self.data.bytes.len() as u64
    }

    /// Total bytes the module occupies in memory, bss included.
    pub fn memory_size(&self) -> u64 {
        self.bss_offset() + u64::from(self.bss_size)
    }

    /// text|rodata|data laid out at their memory offsets, gaps zero-filled
    /// (bss not included). Call [`ModuleImage::validate`] first.
    pub fn flat(&self, file: &str) -> Result<Vec<u8>> {
        if self.bss_offset() > 3 * SEGMENT_SIZE_LIMIT {
            return Err(invalid(file, "data.end", format!("{:#x}: image too large", self.bss_offset())));
        }
        let len = to_usize(file, "data.end", self.bss_offset())?;
        let mut out = vec![0u8; len];
        for (name, seg) in self.segments() {
            let start = seg.memory_offset as usize;
            let end = start
                .checked_add(seg.bytes.len())
                .filter(|e| *e <= len)
                .ok_or_else(|| invalid(file, format!("{name}.size"), "segment past the end of data"))?;
            out[start..end].copy_from_slice(&seg.bytes);
        }
        Ok(out)
    }

    /// The MOD0 offset stored in word 1 of the image (formats.md §1.1 `+4`).
    pub fn mod0_offset(&self, file: &str) -> Result<u32> {
        let w = self
            .text
            .bytes
            .get(4..8)
            .ok_or_else(|| invalid(file, "text[4..8] (MOD0 offset)", "text is shorter than 8 bytes"))?;
        Ok(u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
    }

    /// Parses the MOD0 header the image points at (it must lie inside one segment).
    pub fn mod0(&self, file: &str) -> Result<Mod0> {
        let offset = self.mod0_offset(file)?;
        let (_, seg) = self
            .segments()
            .into_iter()
            .find(|(_, s)| offset >= s.memory_offset && s.end().is_some_and(|e| u64::from(offset) < e))
            .ok_or_else(|| invalid(file, "MOD0 offset", format!("{offset:#x} is not inside text, rodata or data")))?;
        let mut m = Mod0::parse(file, &seg.bytes, offset - seg.memory_offset)?;
        m.offset = offset;
        Ok(m)
    }

    /// Which segment holds `offset` ("text", "rodata", "data", "bss") if any.
    pub fn segment_at(&self, offset: u64) -> Option<&'static str> {
        for (name, seg) in self.segments() {
            let start = u64::from(seg.memory_offset);
            if offset >= start && seg.end().is_some_and(|e| offset < e) {
                return Some(name);
            }
        }
        if offset >= self.bss_offset() && offset < self.memory_size() {
            return Some("bss");
        }
        None
    }
}

/// Pads `bytes` with zeros to a multiple of a page.
pub(crate) fn pad_to_page(bytes: &[u8]) -> Vec<u8> {
    let len = bytes.len().div_ceil(PAGE_SIZE as usize) * PAGE_SIZE as usize;
    let mut v = bytes.to_vec();
    v.resize(len, 0);
    v
}

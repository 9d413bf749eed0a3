//! Bounds-checked little-endian access to a byte buffer, with errors that name
//! the file and the field being read.

use crate::error::{Result, invalid};

/// A read-only view of one file's bytes.
#[derive(Clone, Copy)]
pub(crate) struct Bytes<'a> {
    pub file: &'a str,
    pub data: &'a [u8],
}

impl<'a> Bytes<'a> {
    pub fn new(file: &'a str, data: &'a [u8]) -> Self {
        Bytes { file, data }
    }

    /// `len` bytes at `offset`, or an error naming `field`.
    pub fn slice(&self, offset: u64, len: u64, field: &str) -> Result<&'a [u8]> {
        let end = offset
            .checked_add(len)
            .ok_or_else(|| invalid(self.file, field, format!("offset {offset:#x} + size {len:#x} overflows")))?;
        if end > self.data.len() as u64 {
            return Err(invalid(
                self.file,
                field,
                format!("{offset:#x}..{end:#x} is outside the file ({:#x} bytes)", self.data.len()),
            ));
        }
        // Both bounds are <= data.len(), which is a usize.
        Ok(&self.data[offset as usize..end as usize])
    }

    pub fn u8(&self, offset: u64, field: &str) -> Result<u8> {
        Ok(self.slice(offset, 1, field)?[0])
    }

    pub fn u32(&self, offset: u64, field: &str) -> Result<u32> {
        let b = self.slice(offset, 4, field)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn i32(&self, offset: u64, field: &str) -> Result<i32> {
        Ok(self.u32(offset, field)? as i32)
    }

    pub fn u64(&self, offset: u64, field: &str) -> Result<u64> {
        let b = self.slice(offset, 8, field)?;
        let mut w = [0u8; 8];
        w.copy_from_slice(b);
        Ok(u64::from_le_bytes(w))
    }

    /// Checks a 4-byte magic at `offset`.
    pub fn expect_magic(&self, offset: u64, magic: &[u8; 4], field: &str) -> Result<()> {
        let got = self.slice(offset, 4, field)?;
        if got != magic {
            return Err(invalid(
                self.file,
                field,
                format!("expected magic {:?}, found {:02x?}", String::from_utf8_lossy(magic), got),
            ));
        }
        Ok(())
    }
}

/// Writes `v` at `offset` of a buffer the caller sized for its fixed layout.
pub(crate) fn put_u32(buf: &mut [u8], offset: usize, v: u32) {
    buf[offset..offset + 4].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u64(buf: &mut [u8], offset: usize, v: u64) {
    buf[offset..offset + 8].copy_from_slice(&v.to_le_bytes());
}

/// Size of a page, the granule of segment offsets and sizes (formats.md §1.1, §2).
pub(crate) const PAGE_SIZE: u64 = 0x1000;

/// Largest segment the packer will hold in memory: far above any Switch module
/// (all custom sysmodules share a few MB, formats.md §5), and small enough that a
/// corrupt size field cannot make a reader allocate gigabytes.
pub(crate) const SEGMENT_SIZE_LIMIT: u64 = 0x1000_0000;

/// Rounds up to a multiple of `align` (a power of two), or None on overflow.
pub(crate) fn align_up(value: u64, align: u64) -> Option<u64> {
    debug_assert!(align.is_power_of_two());
    Some(value.checked_add(align - 1)? & !(align - 1))
}

/// Narrows a size or offset to the u32 a header field holds, or rejects it.
pub(crate) fn to_u32(file: &str, field: &str, value: u64) -> Result<u32> {
    u32::try_from(value).map_err(|_| invalid(file, field, format!("{value:#x} does not fit the 32-bit field")))
}

/// u64 to usize for indexing (hosts are 64-bit; still checked).
pub(crate) fn to_usize(file: &str, field: &str, value: u64) -> Result<usize> {
    usize::try_from(value).map_err(|_| invalid(file, field, format!("{value:#x} does not fit in memory")))
}

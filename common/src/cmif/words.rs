//! Byte access to the little-endian message words: every read and write the CMIF layer
//! does inside the raw data goes through here, checked against its bounds.

use super::error::CmifError;
use super::header::HEADER_SIZE;

/// Checks that `[offset, offset + len)` lies inside `[0, end)` bytes.
pub(super) fn check_range(offset: usize, len: usize, end: usize) -> Result<(), CmifError> {
    match offset.checked_add(len) {
        Some(stop) if stop <= end => Ok(()),
        _ => Err(CmifError::OutOfRawData { offset, len, raw_end: end }),
    }
}

// The byte helpers below are only called with ranges checked against the raw data
// (check_range, or the layout the builder reserved); a byte past the words reads as 0
// and is not written, so a wrong offset can never panic.
pub(super) fn byte_at(words: &[u32], offset: usize) -> u8 {
    words.get(offset / 4).map_or(0, |w| (w >> (8 * (offset % 4))) as u8)
}

pub(super) fn set_byte(words: &mut [u32], offset: usize, byte: u8) {
    let shift = 8 * (offset % 4);
    if let Some(w) = words.get_mut(offset / 4) {
        *w = (*w & !(0xFF << shift)) | (byte as u32) << shift;
    }
}

/// Writes a 4-word CMIF header at byte `offset` (16-byte aligned inside the raw data).
pub(super) fn write_header(words: &mut [u32], offset: usize, header: [u32; 4]) -> Result<(), CmifError> {
    let w = offset / 4;
    let raw_end = words.len() * 4;
    let to = words.get_mut(w..w + 4).ok_or(CmifError::OutOfRawData { offset, len: HEADER_SIZE, raw_end })?;
    to.copy_from_slice(&header);
    Ok(())
}

#[inline(never)] // one copy: the Switch binaries are size-optimised
pub(super) fn write_bytes(words: &mut [u32], offset: usize, data: &[u8]) {
    for (i, &b) in data.iter().enumerate() {
        set_byte(words, offset + i, b);
    }
}

#[inline(never)] // one copy
pub(super) fn read_bytes(words: &[u32], offset: usize, out: &mut [u8]) {
    for (i, b) in out.iter_mut().enumerate() {
        *b = byte_at(words, offset + i);
    }
}

/// The payload bytes after a CMIF header, `start..end` in bytes from the message start:
/// the one bounds-checked reader behind [`Request`]'s and [`Reply`]'s payload accessors.
#[derive(Clone, Copy)]
pub(super) struct PayloadWindow<'a> {
    pub(super) words: &'a [u32],
    pub(super) start: usize,
    pub(super) end: usize,
}

impl PayloadWindow<'_> {
    pub(super) fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Copies `out.len()` bytes from `offset` (relative to `start`); Err past `end`.
    pub(super) fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), CmifError> {
        let at = self.start.checked_add(offset).ok_or(CmifError::OutOfRawData {
            offset,
            len: out.len(),
            raw_end: self.end,
        })?;
        check_range(at, out.len(), self.end)?;
        read_bytes(self.words, at, out);
        Ok(())
    }

    /// `N` bytes from `offset`, for the little-endian integer accessors.
    pub(super) fn le_bytes<const N: usize>(&self, offset: usize) -> Result<[u8; N], CmifError> {
        let mut bytes = [0u8; N];
        self.read(offset, &mut bytes)?;
        Ok(bytes)
    }
}

/// The 4 words of a CMIF header at `byte_offset` (checked to lie inside the raw data by
/// the caller; zeros otherwise, which no magic matches).
pub(super) fn header_words(words: &[u32], byte_offset: usize) -> [u32; 4] {
    let w = byte_offset / 4;
    words.get(w..w + 4).and_then(|s| <[u32; 4]>::try_from(s).ok()).unwrap_or([0; 4])
}

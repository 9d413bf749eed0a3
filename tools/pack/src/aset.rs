//! ASET: the NRO's asset block (icon, NACP, RomFS), appended at the header's
//! `size` (formats.md §1.3). Offsets are relative to the ASET header; size 0
//! means absent.

use crate::bytes::Bytes;
use crate::error::{Result, invalid};

/// `ASET` (formats.md §1.3 0x00).
pub const ASET_MAGIC: &[u8; 4] = b"ASET";
/// Header: magic, version, three {u64 offset, u64 size}.
pub const ASET_HEADER_SIZE: usize = 0x38;

/// The three assets; an empty vector is an absent asset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Assets {
    /// 256x256 JPEG.
    pub icon: Vec<u8>,
    /// 0x4000-byte NACP.
    pub nacp: Vec<u8>,
    pub romfs: Vec<u8>,
}

impl Assets {
    /// Header followed by icon, NACP and RomFS, back to back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![0u8; ASET_HEADER_SIZE];
        out[..4].copy_from_slice(ASET_MAGIC);
        // version 0 at 0x04
        let mut offset = ASET_HEADER_SIZE as u64;
        for (i, blob) in [&self.icon, &self.nacp, &self.romfs].into_iter().enumerate() {
            let at = 0x08 + i * 0x10;
            let (o, s) = if blob.is_empty() { (0, 0) } else { (offset, blob.len() as u64) };
            out[at..at + 8].copy_from_slice(&o.to_le_bytes());
            out[at + 8..at + 16].copy_from_slice(&s.to_le_bytes());
            offset += s;
        }
        for blob in [&self.icon, &self.nacp, &self.romfs] {
            out.extend_from_slice(blob);
        }
        out
    }

    /// Parses an ASET block (`bytes` starts at the ASET header).
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Assets> {
        let b = Bytes::new(file, bytes);
        b.expect_magic(0, ASET_MAGIC, "ASET.magic")?;
        let version = b.u32(4, "ASET.version")?;
        if version != 0 {
            return Err(invalid(file, "ASET.version", format!("{version} (only 0 is defined)")));
        }
        let mut blobs = Vec::with_capacity(3);
        for (i, name) in ["ASET.icon", "ASET.nacp", "ASET.romfs"].into_iter().enumerate() {
            let at = 0x08 + i as u64 * 0x10;
            let offset = b.u64(at, name)?;
            let size = b.u64(at + 8, name)?;
            blobs.push(if size == 0 { Vec::new() } else { b.slice(offset, size, name)?.to_vec() });
        }
        let romfs = blobs.pop().unwrap_or_default();
        let nacp = blobs.pop().unwrap_or_default();
        let icon = blobs.pop().unwrap_or_default();
        Ok(Assets { icon, nacp, romfs })
    }
}

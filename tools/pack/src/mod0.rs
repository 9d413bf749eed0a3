//! MOD0, the module header the runtime finds through word 1 of the image
//! (formats.md §1.2; LNY2 from runtime-abi.md §0).
//!
//! Every offset is a signed 32-bit value relative to the MOD0 header itself.

use crate::bytes::Bytes;
use crate::error::{Result, invalid};

/// `MOD0` (formats.md §1.2 +0x00).
pub const MOD0_MAGIC: &[u8; 4] = b"MOD0";
/// Homebrew extension: GOT bounds (formats.md §1.2 +0x1C).
pub const LNY0_MAGIC: &[u8; 4] = b"LNY0";
/// Homebrew extension: relro bounds (formats.md §1.2 +0x28).
pub const LNY1_MAGIC: &[u8; 4] = b"LNY1";
/// Homebrew extension: ABI revision (formats.md §1.2 +0x34).
pub const LNY2_MAGIC: &[u8; 4] = b"LNY2";
/// The ABI revision hbmenu requires (runtime-abi.md §0: 21.0.0 TLS layout).
pub const LNY2_ABI_REVISION: u32 = 1;
/// Size of MOD0 with all three homebrew extensions.
pub const MOD0_FULL_SIZE: usize = 0x40;

/// A parsed MOD0 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mod0 {
    /// Image offset of the header.
    pub offset: u32,
    /// `_DYNAMIC`, relative to the header.
    pub dynamic: i32,
    pub bss_start: i32,
    pub bss_end: i32,
    pub eh_frame_hdr_start: i32,
    pub eh_frame_hdr_end: i32,
    /// Runtime-generated module object (0 in homebrew).
    pub module_object: i32,
    /// LNY0: GOT start and end.
    pub lny0: Option<(i32, i32)>,
    /// LNY1: relro start and data start (relro end).
    pub lny1: Option<(i32, i32)>,
    /// LNY2: ABI revision.
    pub lny2_revision: Option<u32>,
}

impl Mod0 {
    /// Parses the header at `offset` of the flat image.
    pub fn parse(file: &str, flat: &[u8], offset: u32) -> Result<Mod0> {
        let b = Bytes::new(file, flat);
        if !offset.is_multiple_of(4) {
            return Err(invalid(file, "MOD0 offset", format!("{offset:#x} is not 4-byte aligned")));
        }
        let o = u64::from(offset);
        b.expect_magic(o, MOD0_MAGIC, "MOD0.magic")?;
        let word = |rel: u64, field: &str| b.i32(o + rel, field);
        let mut m = Mod0 {
            offset,
            dynamic: word(0x04, "MOD0.dynamic")?,
            bss_start: word(0x08, "MOD0.bss_start")?,
            bss_end: word(0x0C, "MOD0.bss_end")?,
            eh_frame_hdr_start: word(0x10, "MOD0.eh_frame_hdr_start")?,
            eh_frame_hdr_end: word(0x14, "MOD0.eh_frame_hdr_end")?,
            module_object: word(0x18, "MOD0.module_object")?,
            lny0: None,
            lny1: None,
            lny2_revision: None,
        };
        let has = |rel: u64, magic: &[u8; 4]| b.slice(o + rel, 4, "").is_ok_and(|s| s == magic);
        if has(0x1C, LNY0_MAGIC) {
            m.lny0 = Some((word(0x20, "LNY0.got_start")?, word(0x24, "LNY0.got_end")?));
        }
        if has(0x28, LNY1_MAGIC) {
            m.lny1 = Some((word(0x2C, "LNY1.relro_start")?, word(0x30, "LNY1.data_start")?));
        }
        if has(0x34, LNY2_MAGIC) {
            m.lny2_revision = Some(b.u32(o + 0x38, "LNY2.revision")?);
        }
        Ok(m)
    }

    /// Image offset that a header-relative value designates, if it is not negative.
    pub fn absolute(&self, relative: i32) -> Option<u64> {
        u64::try_from(i64::from(self.offset) + i64::from(relative)).ok()
    }

    /// Serialises the header (0x1C bytes, or 0x40 with the homebrew extensions;
    /// a missing earlier extension is written as zeros).
    pub fn to_bytes(&self) -> Vec<u8> {
        let with_ext = self.lny0.is_some() || self.lny1.is_some() || self.lny2_revision.is_some();
        let mut v = Vec::with_capacity(MOD0_FULL_SIZE);
        v.extend_from_slice(MOD0_MAGIC);
        for w in [
            self.dynamic,
            self.bss_start,
            self.bss_end,
            self.eh_frame_hdr_start,
            self.eh_frame_hdr_end,
            self.module_object,
        ] {
            v.extend_from_slice(&w.to_le_bytes());
        }
        if with_ext {
            let mut ext = |magic: &[u8; 4], a: u32, c: u32, present: bool| {
                if present {
                    v.extend_from_slice(magic);
                    v.extend_from_slice(&a.to_le_bytes());
                    v.extend_from_slice(&c.to_le_bytes());
                } else {
                    v.extend_from_slice(&[0u8; 12]);
                }
            };
            let (g0, g1) = self.lny0.unwrap_or_default();
            ext(LNY0_MAGIC, g0 as u32, g1 as u32, self.lny0.is_some());
            let (r0, r1) = self.lny1.unwrap_or_default();
            ext(LNY1_MAGIC, r0 as u32, r1 as u32, self.lny1.is_some());
            ext(LNY2_MAGIC, self.lny2_revision.unwrap_or(0), 0, self.lny2_revision.is_some());
        }
        v
    }
}

//! `MapAliasDescriptor`: the A/B/W ("send", "receive", "exchange") descriptor
//! (`horizon-ipc.md` §2.2).
#![forbid(unsafe_code)]

use super::error::{Field, HipcError, check_field};
use super::pointer_descriptor::ADDRESS_MAX;

/// Words of an A/B/W descriptor.
pub const MAP_ALIAS_DESCRIPTOR_WORDS: usize = 3;
/// Largest A/B/W size (36 bits).
pub const MAP_ALIAS_SIZE_MAX: u64 = (1 << 36) - 1;

/// Word 2 bits 0–1 (AMS-MB; libnx `HipcBufferMode`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum MapAliasAttribute {
    /// 0: Ipc ("Normal").
    #[default]
    Ipc,
    /// 1: NonSecureIpc.
    NonSecureIpc,
    /// 2: invalid; the kernel rejects it with 0xe801. Only produced by decoding.
    Invalid,
    /// 3: NonDeviceIpc.
    NonDeviceIpc,
}

impl MapAliasAttribute {
    /// The 2-bit value.
    pub const fn raw(self) -> u32 {
        match self {
            MapAliasAttribute::Ipc => 0,
            MapAliasAttribute::NonSecureIpc => 1,
            MapAliasAttribute::Invalid => 2,
            MapAliasAttribute::NonDeviceIpc => 3,
        }
    }

    /// Decodes bits 0–1 (higher bits ignored).
    pub const fn from_raw(raw: u32) -> MapAliasAttribute {
        match raw & 3 {
            0 => MapAliasAttribute::Ipc,
            1 => MapAliasAttribute::NonSecureIpc,
            2 => MapAliasAttribute::Invalid,
            _ => MapAliasAttribute::NonDeviceIpc,
        }
    }
}

/// An A, B or W descriptor: `{address (39 bits), size (36 bits), attribute}`.
///
/// Word 0: size bits 0–31. Word 1: address bits 0–31. Word 2: attribute in bits 0–1,
/// address bits 36–38 in bits 2–4, size bits 32–35 in bits 24–27, address bits 32–35 in
/// bits 28–31; bits 5–23 reserved (zero, not read).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MapAliasDescriptor {
    address: u64,
    size: u64,
    attribute: MapAliasAttribute,
}

impl MapAliasDescriptor {
    /// Err when `address >= 2^39`, `size >= 2^36` or the attribute is `Invalid`.
    pub const fn new(address: u64, size: u64, attribute: MapAliasAttribute) -> Result<MapAliasDescriptor, HipcError> {
        if let Err(e) = check_field(Field::MapAliasAddress, address, ADDRESS_MAX) {
            return Err(e);
        }
        if let Err(e) = check_field(Field::MapAliasSize, size, MAP_ALIAS_SIZE_MAX) {
            return Err(e);
        }
        if let MapAliasAttribute::Invalid = attribute {
            return Err(HipcError::InvalidMapAliasAttribute);
        }
        Ok(MapAliasDescriptor { address, size, attribute })
    }

    /// The 39-bit address.
    pub const fn address(&self) -> u64 {
        self.address
    }

    /// The 36-bit size.
    pub const fn size(&self) -> u64 {
        self.size
    }

    /// The attribute (may be `Invalid` for a decoded descriptor).
    pub const fn attribute(&self) -> MapAliasAttribute {
        self.attribute
    }

    /// The three words.
    pub const fn encode(&self) -> [u32; 3] {
        let word2 = self.attribute.raw()
            | (((self.address >> 36) & 0x7) as u32) << 2
            | (((self.size >> 32) & 0xF) as u32) << 24
            | (((self.address >> 32) & 0xF) as u32) << 28;
        [self.size as u32, self.address as u32, word2]
    }

    /// Decodes the three words, reading only the kernel's bits. Attribute 2 decodes as
    /// [`MapAliasAttribute::Invalid`] so a kernel model can reject it with 0xe801.
    pub const fn decode(words: [u32; 3]) -> MapAliasDescriptor {
        let [w0, w1, w2] = words;
        let address = w1 as u64 | (((w2 >> 28) & 0xF) as u64) << 32 | (((w2 >> 2) & 0x7) as u64) << 36;
        let size = w0 as u64 | (((w2 >> 24) & 0xF) as u64) << 32;
        MapAliasDescriptor { address, size, attribute: MapAliasAttribute::from_raw(w2) }
    }
}

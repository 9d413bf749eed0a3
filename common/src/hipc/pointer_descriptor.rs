//! `PointerDescriptor`: the X ("pointer", "send static") descriptor (`horizon-ipc.md` §2.1).
#![forbid(unsafe_code)]

use super::error::{Field, HipcError, check_field};

/// Words of an X descriptor.
pub const POINTER_DESCRIPTOR_WORDS: usize = 2;
/// Largest X index (4 bits, AMS-MB `PointerDescriptor`).
pub const POINTER_INDEX_MAX: u8 = 15;
/// Largest address a descriptor holds (39 bits).
pub const ADDRESS_MAX: u64 = (1 << 39) - 1;
/// Largest X size (16 bits).
pub const POINTER_SIZE_MAX: u64 = 0xFFFF;

/// An X descriptor: `{index, address, size}`.
///
/// Word 0: index in bits 0–3, address bits 36–38 in bits 6–8, address bits 32–35 in
/// bits 12–15, size in bits 16–31. Word 1: address bits 0–31. Bits 4–5 and 9–11 are
/// written as zero and not read, as the kernel does (§2.1).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PointerDescriptor {
    index: u8,
    address: u64,
    size: u16,
}

impl PointerDescriptor {
    /// Err when `index > 15`, `address >= 2^39` or `size > 0xFFFF` (never truncates).
    pub const fn new(index: u8, address: u64, size: u64) -> Result<PointerDescriptor, HipcError> {
        if let Err(e) = check_field(Field::PointerIndex, index as u64, POINTER_INDEX_MAX as u64) {
            return Err(e);
        }
        if let Err(e) = check_field(Field::PointerAddress, address, ADDRESS_MAX) {
            return Err(e);
        }
        if let Err(e) = check_field(Field::PointerSize, size, POINTER_SIZE_MAX) {
            return Err(e);
        }
        Ok(PointerDescriptor { index, address, size: size as u16 })
    }

    /// The index (0..=15): which C entry it selects in indexed mode.
    pub const fn index(&self) -> u8 {
        self.index
    }

    /// The 39-bit address.
    pub const fn address(&self) -> u64 {
        self.address
    }

    /// The size in bytes.
    pub const fn size(&self) -> u16 {
        self.size
    }

    /// The two words.
    pub const fn encode(&self) -> [u32; 2] {
        let word0 = self.index as u32
            | (((self.address >> 36) & 0x7) as u32) << 6
            | (((self.address >> 32) & 0xF) as u32) << 12
            | (self.size as u32) << 16;
        [word0, self.address as u32]
    }

    /// Decodes the two words, reading only the bits the kernel reads.
    pub const fn decode(words: [u32; 2]) -> PointerDescriptor {
        let [w0, w1] = words;
        let address = w1 as u64 | (((w0 >> 12) & 0xF) as u64) << 32 | (((w0 >> 6) & 0x7) as u64) << 36;
        PointerDescriptor { index: (w0 & 0xF) as u8, address, size: (w0 >> 16) as u16 }
    }
}

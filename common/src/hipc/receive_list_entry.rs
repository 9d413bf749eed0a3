//! `ReceiveListEntry`: the C descriptor (`horizon-ipc.md` §2.3).
#![forbid(unsafe_code)]

use super::error::{Field, HipcError, check_field};
use super::pointer_descriptor::ADDRESS_MAX;

/// Words of a C entry.
pub const RECEIVE_LIST_ENTRY_WORDS: usize = 2;
/// Largest C size (16 bits).
pub const RECEIVE_LIST_SIZE_MAX: u64 = 0xFFFF;

/// A receive-list entry: `{address (39 bits), size (16 bits)}`.
///
/// Word 0: address bits 0–31. Word 1: address bits 32–38 in bits 0–6, reserved bits 7–15
/// (zero, not read), size in bits 16–31.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ReceiveListEntry {
    address: u64,
    size: u16,
}

impl ReceiveListEntry {
    /// Err when `address >= 2^39` or `size > 0xFFFF`.
    pub const fn new(address: u64, size: u64) -> Result<ReceiveListEntry, HipcError> {
        if let Err(e) = check_field(Field::ReceiveListAddress, address, ADDRESS_MAX) {
            return Err(e);
        }
        if let Err(e) = check_field(Field::ReceiveListSize, size, RECEIVE_LIST_SIZE_MAX) {
            return Err(e);
        }
        Ok(ReceiveListEntry { address, size: size as u16 })
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
        [self.address as u32, ((self.address >> 32) & 0x7F) as u32 | (self.size as u32) << 16]
    }

    /// Decodes the two words, reading only the kernel's bits.
    pub const fn decode(words: [u32; 2]) -> ReceiveListEntry {
        let [w0, w1] = words;
        ReceiveListEntry { address: w0 as u64 | ((w1 & 0x7F) as u64) << 32, size: (w1 >> 16) as u16 }
    }
}

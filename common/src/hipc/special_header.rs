//! `SpecialHeader` (1 word) and the special data that follows it (`horizon-ipc.md` §1.3).
#![forbid(unsafe_code)]

use super::error::{Field, HipcError, check_field};

/// Largest copy or move handle count (4-bit fields, §1.3).
pub const HANDLE_COUNT_MAX: u8 = 15;
/// Words of the process-id slot when `send_pid` is set (8 bytes, §1.3).
pub const PROCESS_ID_WORDS: usize = 2;

/// Special header (AMS-MB `SpecialHeader`): bit 0 HasProcessId, bits 1–4 CopyHandleCount,
/// bits 5–8 MoveHandleCount, bits 9–31 reserved (written as zero, ignored on decode).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SpecialHeader {
    /// Bit 0: an 8-byte process-id slot follows.
    pub send_pid: bool,
    /// Bits 1–4: number of copy handles (0..=15).
    pub copy_handle_count: u8,
    /// Bits 5–8: number of move handles (0..=15).
    pub move_handle_count: u8,
}

impl SpecialHeader {
    /// Encodes the word; Err when a handle count exceeds 15.
    pub const fn encode(&self) -> Result<u32, HipcError> {
        if let Err(e) = check_field(Field::CopyHandleCount, self.copy_handle_count as u64, HANDLE_COUNT_MAX as u64) {
            return Err(e);
        }
        if let Err(e) = check_field(Field::MoveHandleCount, self.move_handle_count as u64, HANDLE_COUNT_MAX as u64) {
            return Err(e);
        }
        Ok(self.send_pid as u32 | (self.copy_handle_count as u32) << 1 | (self.move_handle_count as u32) << 5)
    }

    /// Decodes the word; reserved bits are ignored.
    pub const fn decode(word: u32) -> SpecialHeader {
        SpecialHeader {
            send_pid: word & 1 != 0,
            copy_handle_count: ((word >> 1) & 0xF) as u8,
            move_handle_count: ((word >> 5) & 0xF) as u8,
        }
    }

    /// Words of special data after the header: pid slot (2 if set) + copy + move handles.
    pub const fn data_words(&self) -> usize {
        (if self.send_pid { PROCESS_ID_WORDS } else { 0 })
            + self.copy_handle_count as usize
            + self.move_handle_count as usize
    }

    /// True when any field is set; libnx writes a special header only then (§1.3).
    pub const fn is_needed(&self) -> bool {
        self.send_pid || self.copy_handle_count != 0 || self.move_handle_count != 0
    }
}

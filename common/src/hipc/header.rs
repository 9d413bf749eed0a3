//! `MessageHeader` (words 0 and 1) and the receive-list mode (`horizon-ipc.md` §1.2).
#![forbid(unsafe_code)]

use super::error::{Field, HipcError, check_field};

/// Largest number of X, A, B or W descriptors (4-bit counts, §1.2).
pub const DESCRIPTOR_COUNT_MAX: u8 = 15;
/// Largest raw-data size in words (10 bits, §1.2).
pub const RAW_COUNT_MAX: u16 = 0x3FF;
/// Largest receive-list offset in words (11 bits, §1.2).
pub const RECEIVE_LIST_OFFSET_MAX: u16 = 0x7FF;
/// Mode values at and above this are indexed; entries = mode − 2 (AMS-MB `CountOffset`).
pub const RECEIVE_LIST_COUNT_OFFSET: u8 = 2;
/// Most C entries of an indexed receive list (AMS-MB `CountMax` = 13, so mode ≤ 15).
pub const RECEIVE_LIST_ENTRY_COUNT_MAX: u8 = 13;

/// Receive-list mode, word 1 bits 10–13 (`horizon-ipc.md` §1.2, AMS-MB
/// `ReceiveListCountType`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ReceiveListMode {
    /// Raw 0: no receive list; the kernel refuses every non-empty incoming X.
    #[default]
    None,
    /// Raw 1: no C entries; incoming X data goes into the message buffer after the message.
    ToMessageBuffer,
    /// Raw 2: exactly one C entry; every incoming X is packed into it.
    ToSingleBuffer,
    /// Raw `2 + n`: `n` C entries (1..=13), each X goes to the entry its index selects.
    Index(u8),
}

impl ReceiveListMode {
    /// An indexed list of `entries` C entries; Err unless 1..=13.
    pub const fn index(entries: u8) -> Result<ReceiveListMode, HipcError> {
        if entries == 0 || entries > RECEIVE_LIST_ENTRY_COUNT_MAX {
            return Err(HipcError::InvalidReceiveListEntryCount { count: entries });
        }
        Ok(ReceiveListMode::Index(entries))
    }

    /// Decodes the 4-bit field. Every value is valid: 3..=15 are indexed with 1..=13
    /// entries. Bits above bit 3 are ignored.
    pub const fn from_raw(raw: u32) -> ReceiveListMode {
        match raw & 0xF {
            0 => ReceiveListMode::None,
            1 => ReceiveListMode::ToMessageBuffer,
            2 => ReceiveListMode::ToSingleBuffer,
            // 3..=15, so the value fits u8 and the subtraction cannot wrap.
            n => ReceiveListMode::Index((n - RECEIVE_LIST_COUNT_OFFSET as u32) as u8),
        }
    }

    /// The 4-bit field value; Err for `Index(n)` with `n` outside 1..=13.
    pub const fn raw(self) -> Result<u32, HipcError> {
        match self {
            ReceiveListMode::None => Ok(0),
            ReceiveListMode::ToMessageBuffer => Ok(1),
            ReceiveListMode::ToSingleBuffer => Ok(2),
            ReceiveListMode::Index(n) => match ReceiveListMode::index(n) {
                Ok(_) => Ok(n as u32 + RECEIVE_LIST_COUNT_OFFSET as u32),
                Err(e) => Err(e),
            },
        }
    }

    /// Number of C entries the receive list holds (AMS-SS `ReceiveList::GetEntryCount`):
    /// 0 for None and ToMessageBuffer, 1 for ToSingleBuffer, `n` for `Index(n)`.
    pub const fn entry_count(self) -> usize {
        match self {
            ReceiveListMode::None | ReceiveListMode::ToMessageBuffer => 0,
            ReceiveListMode::ToSingleBuffer => 1,
            ReceiveListMode::Index(n) => n as usize,
        }
    }

    /// True for indexed mode (mode > 2, AMS-SS `IsIndex`).
    pub const fn is_index(self) -> bool {
        matches!(self, ReceiveListMode::Index(_))
    }
}

/// HIPC header words 0 and 1, every field of `horizon-ipc.md` §1.2 (AMS-MB `MessageHeader`).
///
/// Fields are plain values; [`MessageHeader::encode`] rejects any that does not fit its
/// bit field. The reserved bits 14–19 of word 1 are written as zero and ignored on decode.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MessageHeader {
    /// Word 0 bits 0–15: message type / CMIF command type (§6.1).
    pub tag: u16,
    /// Word 0 bits 16–19: number of X descriptors (0..=15).
    pub pointer_count: u8,
    /// Word 0 bits 20–23: number of A descriptors (0..=15).
    pub send_count: u8,
    /// Word 0 bits 24–27: number of B descriptors (0..=15).
    pub receive_count: u8,
    /// Word 0 bits 28–31: number of W descriptors (0..=15).
    pub exchange_count: u8,
    /// Word 1 bits 0–9: raw data size in words (0..=1023).
    pub raw_count: u16,
    /// Word 1 bits 10–13: receive-list mode.
    pub receive_list_mode: ReceiveListMode,
    /// Word 1 bits 20–30: receive-list position in words from the message start; 0 means
    /// right after the raw data (0..=2047).
    pub receive_list_offset: u16,
    /// Word 1 bit 31: a special header follows.
    pub has_special_header: bool,
}

impl MessageHeader {
    /// Encodes words 0 and 1; Err when a count or offset does not fit its field or the
    /// receive-list mode is `Index(n)` with `n` outside 1..=13.
    pub const fn encode(&self) -> Result<[u32; 2], HipcError> {
        let counts_fit =
            (self.pointer_count | self.send_count | self.receive_count | self.exchange_count) <= DESCRIPTOR_COUNT_MAX;
        if counts_fit && self.raw_count <= RAW_COUNT_MAX && self.receive_list_offset <= RECEIVE_LIST_OFFSET_MAX {
            // Every field fits: only the mode is left to check.
            return self.encode_fitting();
        }
        // Some field does not fit: report the first one, in field order.
        let counts = [
            (Field::PointerCount, self.pointer_count),
            (Field::SendCount, self.send_count),
            (Field::ReceiveCount, self.receive_count),
            (Field::ExchangeCount, self.exchange_count),
        ];
        let mut i = 0;
        while i < counts.len() {
            // A const fn cannot use `get`: the loop bound keeps `i` inside `counts`.
            #[allow(clippy::indexing_slicing)]
            let (field, value) = counts[i];
            if let Err(e) = check_field(field, value as u64, DESCRIPTOR_COUNT_MAX as u64) {
                return Err(e);
            }
            i += 1;
        }
        if let Err(e) = check_field(Field::RawCount, self.raw_count as u64, RAW_COUNT_MAX as u64) {
            return Err(e);
        }
        if let Err(e) =
            check_field(Field::ReceiveListOffset, self.receive_list_offset as u64, RECEIVE_LIST_OFFSET_MAX as u64)
        {
            return Err(e);
        }
        self.encode_fitting()
    }

    /// [`Self::encode`] once the counts, raw count and offset are known to fit.
    const fn encode_fitting(&self) -> Result<[u32; 2], HipcError> {
        let mode = match self.receive_list_mode.raw() {
            Ok(m) => m,
            Err(e) => return Err(e),
        };
        let word0 = self.tag as u32
            | (self.pointer_count as u32) << 16
            | (self.send_count as u32) << 20
            | (self.receive_count as u32) << 24
            | (self.exchange_count as u32) << 28;
        let word1 = self.raw_count as u32
            | mode << 10
            | (self.receive_list_offset as u32) << 20
            | (self.has_special_header as u32) << 31;
        Ok([word0, word1])
    }

    /// Decodes words 0 and 1. Every bit pattern decodes; reserved bits are ignored.
    pub const fn decode(words: [u32; 2]) -> MessageHeader {
        let [w0, w1] = words;
        MessageHeader {
            tag: (w0 & 0xFFFF) as u16,
            pointer_count: ((w0 >> 16) & 0xF) as u8,
            send_count: ((w0 >> 20) & 0xF) as u8,
            receive_count: ((w0 >> 24) & 0xF) as u8,
            exchange_count: ((w0 >> 28) & 0xF) as u8,
            raw_count: (w1 & 0x3FF) as u16,
            receive_list_mode: ReceiveListMode::from_raw((w1 >> 10) & 0xF),
            receive_list_offset: ((w1 >> 20) & 0x7FF) as u16,
            has_special_header: (w1 >> 31) != 0,
        }
    }

    /// Number of A + B + W descriptors.
    pub const fn map_alias_count(&self) -> usize {
        self.send_count as usize + self.receive_count as usize + self.exchange_count as usize
    }
}

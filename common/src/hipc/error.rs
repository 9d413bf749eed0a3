//! Errors of the HIPC codec: what was wrong with a field, a descriptor or a buffer.
#![forbid(unsafe_code)]

use core::fmt;

use crate::result::{self, ResultCode};

/// Which bit field of a HIPC structure an error is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    /// Word 0 bits 0–15 (`horizon-ipc.md` §1.2).
    Tag,
    /// Word 0 bits 16–19: number of X descriptors.
    PointerCount,
    /// Word 0 bits 20–23: number of A descriptors.
    SendCount,
    /// Word 0 bits 24–27: number of B descriptors.
    ReceiveCount,
    /// Word 0 bits 28–31: number of W descriptors.
    ExchangeCount,
    /// Word 1 bits 0–9: raw data words.
    RawCount,
    /// Word 1 bits 10–13: receive-list mode.
    ReceiveListCount,
    /// Word 1 bits 20–30: receive-list offset in words.
    ReceiveListOffset,
    /// Special header bits 1–4.
    CopyHandleCount,
    /// Special header bits 5–8.
    MoveHandleCount,
    /// X descriptor index (4 bits, §2.1).
    PointerIndex,
    /// X descriptor address (39 bits).
    PointerAddress,
    /// X descriptor size (16 bits).
    PointerSize,
    /// A/B/W address (39 bits, §2.2).
    MapAliasAddress,
    /// A/B/W size (36 bits).
    MapAliasSize,
    /// A/B/W attribute (2 bits; value 2 is invalid).
    MapAliasAttribute,
    /// C entry address (39 bits, §2.3).
    ReceiveListAddress,
    /// C entry size (16 bits).
    ReceiveListSize,
}

/// Which descriptor or special-data slot array an error is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Slot {
    /// The process-id slot of the special data.
    ProcessId,
    /// Copy handles.
    CopyHandle,
    /// Move handles.
    MoveHandle,
    /// X descriptors.
    Pointer,
    /// A descriptors.
    Send,
    /// B descriptors.
    Receive,
    /// W descriptors.
    Exchange,
    /// C entries of the receive list.
    ReceiveList,
    /// Raw data words.
    Raw,
}

/// An error of the HIPC codec. Every variant says what was wrong and the numbers involved.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum HipcError {
    /// A value does not fit its bit field.
    FieldOverflow {
        /// The field.
        field: Field,
        /// The value given.
        value: u64,
        /// The largest value the field holds.
        max: u64,
    },
    /// Map-alias attribute 2 ("Invalid"; the kernel answers 0xe801, §2.2).
    InvalidMapAliasAttribute,
    /// `ReceiveListMode::Index(n)` with `n` outside 1..=13 (§1.2).
    InvalidReceiveListEntryCount {
        /// The count given.
        count: u8,
    },
    /// A buffer (message buffer or window) is shorter than what the header describes.
    BufferTooSmall {
        /// Words the message needs.
        needed_words: usize,
        /// Words available.
        available_words: usize,
    },
    /// A non-zero receive-list offset points inside the message, before the end of the
    /// raw data (the kernel answers 0xe801, §2.3).
    ReceiveListOffsetInsideMessage {
        /// The offset (words).
        offset: usize,
        /// End of the raw data (words).
        raw_end: usize,
    },
    /// `has_special_header` and the special header given to the builder disagree.
    SpecialHeaderMismatch,
    /// The number of C entries given differs from what the receive-list mode needs.
    ReceiveListLengthMismatch {
        /// Entries given.
        given: usize,
        /// Entries the mode needs (1 for ToSingleBuffer, n for Index(n), else 0).
        expected: usize,
    },
    /// A slot index beyond the count the header declares.
    SlotOutOfRange {
        /// Which slot array.
        slot: Slot,
        /// The index asked for.
        index: usize,
        /// The count the header declares.
        count: usize,
    },
}

impl HipcError {
    /// The closest Horizon result: [`result::kernel::INVALID_COMBINATION`] for a message
    /// that does not fit its buffer or is inconsistent (what the kernel answers, §3.2),
    /// [`result::xcbuf::MALFORMED_MESSAGE`] for encoding errors.
    pub const fn result(self) -> ResultCode {
        match self {
            HipcError::BufferTooSmall { .. }
            | HipcError::ReceiveListOffsetInsideMessage { .. }
            | HipcError::InvalidMapAliasAttribute => result::kernel::INVALID_COMBINATION,
            _ => result::xcbuf::MALFORMED_MESSAGE,
        }
    }
}

impl From<HipcError> for ResultCode {
    fn from(e: HipcError) -> ResultCode {
        e.result()
    }
}

impl fmt::Display for HipcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            HipcError::FieldOverflow { field, value, max } => {
                write!(f, "{field:?} {value:#x} does not fit its field (max {max:#x})")
            }
            HipcError::InvalidMapAliasAttribute => {
                write!(f, "map-alias attribute 2 is invalid")
            }
            HipcError::InvalidReceiveListEntryCount { count } => {
                write!(f, "indexed receive list with {count} entries (allowed 1..=13)")
            }
            HipcError::BufferTooSmall { needed_words, available_words } => {
                write!(f, "message needs {needed_words} words but the buffer has {available_words}")
            }
            HipcError::ReceiveListOffsetInsideMessage { offset, raw_end } => {
                write!(f, "receive-list offset {offset} lies before the end of the raw data ({raw_end})")
            }
            HipcError::SpecialHeaderMismatch => {
                write!(f, "has_special_header disagrees with the special header given")
            }
            HipcError::ReceiveListLengthMismatch { given, expected } => {
                write!(f, "{given} receive-list entries given but the mode needs {expected}")
            }
            HipcError::SlotOutOfRange { slot, index, count } => {
                write!(f, "{slot:?} slot {index} out of range (header declares {count})")
            }
        }
    }
}

impl core::error::Error for HipcError {}

/// Returns `Err(FieldOverflow)` when `value > max`.
pub(crate) const fn check_field(field: Field, value: u64, max: u64) -> Result<(), HipcError> {
    if value > max {
        return Err(HipcError::FieldOverflow { field, value, max });
    }
    Ok(())
}

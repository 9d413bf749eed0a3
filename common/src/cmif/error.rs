//! Errors of the CMIF layer, and the Result a libstratosphere-style server or client
//! would see for each.

use core::fmt;

use crate::hipc::HipcError;
use crate::result::{self, ResultCode};

/// An error of the CMIF layer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CmifError {
    /// The HIPC message itself is malformed or does not fit the buffer.
    Hipc(HipcError),
    /// The tag is not a type a CMIF server handles (Request, Control, their WithContext
    /// forms, Close).
    UnknownCommandType {
        /// The tag.
        tag: u16,
    },
    /// The raw data is shorter than the padding budget (§6.3: at least 0x10 bytes).
    RawDataTooShort {
        /// Raw data bytes.
        raw_bytes: usize,
    },
    /// The CMIF view is too small for a 16-byte header.
    HeaderTooShort {
        /// Bytes of the CMIF view.
        view_bytes: usize,
    },
    /// Bad SFCI magic or a version above 1.
    InvalidInHeader {
        /// The magic found.
        magic: u32,
        /// The version found.
        version: u32,
    },
    /// Bad SFCO magic.
    InvalidOutHeader {
        /// The magic found.
        magic: u32,
    },
    /// A read of the payload or size table past the end of the raw data.
    OutOfRawData {
        /// Byte offset from the message start.
        offset: usize,
        /// Bytes asked for.
        len: usize,
        /// End of the raw data (byte offset from the message start).
        raw_end: usize,
    },
    /// A payload whose size overflows the raw-data arithmetic.
    PayloadTooLarge {
        /// The payload length.
        len: usize,
    },
    /// More out-pointers than a receive list holds (13).
    TooManyOutPointers {
        /// The count given.
        count: usize,
    },
}

impl CmifError {
    /// The Result a libstratosphere-style server or client would see for this error
    /// (`horizon-ipc.md` §6.2, §6.3, §8).
    pub const fn result(self) -> ResultCode {
        match self {
            CmifError::Hipc(_) | CmifError::RawDataTooShort { .. } => result::hipc::INVALID_REQUEST_SIZE,
            CmifError::UnknownCommandType { .. } => result::hipc::UNKNOWN_COMMAND_TYPE,
            CmifError::HeaderTooShort { .. } => result::cmif::INVALID_HEADER_SIZE,
            CmifError::InvalidInHeader { .. } => result::cmif::INVALID_IN_HEADER,
            CmifError::OutOfRawData { .. } => result::hipc::INVALID_CMIF_REQUEST,
            CmifError::InvalidOutHeader { .. } => result::xcbuf::UNEXPECTED_REPLY,
            CmifError::PayloadTooLarge { .. } | CmifError::TooManyOutPointers { .. } => {
                result::xcbuf::MALFORMED_MESSAGE
            }
        }
    }
}

impl From<HipcError> for CmifError {
    fn from(e: HipcError) -> CmifError {
        CmifError::Hipc(e)
    }
}

impl From<CmifError> for ResultCode {
    fn from(e: CmifError) -> ResultCode {
        e.result()
    }
}

impl fmt::Display for CmifError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CmifError::Hipc(e) => write!(f, "HIPC: {e}"),
            CmifError::UnknownCommandType { tag } => write!(f, "unknown command type {tag}"),
            CmifError::RawDataTooShort { raw_bytes } => {
                write!(f, "raw data of {raw_bytes} bytes is shorter than the 16-byte padding budget")
            }
            CmifError::HeaderTooShort { view_bytes } => {
                write!(f, "CMIF view of {view_bytes} bytes cannot hold a 16-byte header")
            }
            CmifError::InvalidInHeader { magic, version } => {
                write!(f, "bad in header: magic {magic:#x} (want SFCI), version {version}")
            }
            CmifError::InvalidOutHeader { magic } => {
                write!(f, "bad out header: magic {magic:#x} (want SFCO)")
            }
            CmifError::OutOfRawData { offset, len, raw_end } => {
                write!(f, "{len} bytes at byte {offset} lie past the raw data end (byte {raw_end})")
            }
            CmifError::PayloadTooLarge { len } => write!(f, "payload of {len} bytes is too large"),
            CmifError::TooManyOutPointers { count } => {
                write!(f, "{count} out-pointers (a receive list holds at most 13)")
            }
        }
    }
}

impl core::error::Error for CmifError {}

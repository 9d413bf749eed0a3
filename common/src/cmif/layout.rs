//! Where the CMIF parts of a request or a reply sit in the raw data (`horizon-ipc.md`
//! §6.3), in bytes from the message start.

use super::error::CmifError;
use super::header::HEADER_SIZE;

/// Padding budget at the start of the raw data that absorbs the 16-byte alignment of the
/// header (§6.3).
pub const PADDING_BUDGET: usize = 16;
/// Alignment of the CMIF header relative to the message start (§6.3).
pub const HEADER_ALIGNMENT: usize = 16;

pub(super) const fn align_up(value: usize, align: usize) -> usize {
    // `align` is a power of two and `value` is bounded by a message size (< 2^16).
    (value + align - 1) & !(align - 1)
}

/// Where the CMIF parts of a request sit, in bytes from the message start (§6.3).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RequestLayout {
    /// First raw-data byte (`4 * raw_idx`).
    pub raw_start: usize,
    /// The in header: `AlignUp(raw_start, 16)`.
    pub header: usize,
    /// The payload: `header + 16`.
    pub payload: usize,
    /// The u16 size table: `raw_start + AlignUp(16 + 16 + payload_len, 2)`.
    pub size_table: usize,
    /// Raw data size in words: `ceil((AlignUp(32 + payload_len, 2) + 2*entries) / 4)`.
    pub raw_count: usize,
}

impl RequestLayout {
    /// The layout for a request whose raw data starts at word `raw_idx`, with
    /// `payload_len` bytes of payload and `size_entries` u16 size-table entries.
    pub fn new(raw_idx: usize, payload_len: usize, size_entries: usize) -> Result<RequestLayout, CmifError> {
        let too_large = CmifError::PayloadTooLarge { len: payload_len };
        let size = payload_len.checked_add(PADDING_BUDGET + HEADER_SIZE).ok_or(too_large)?;
        let size = size.checked_add(1).ok_or(too_large)? & !1;
        let table_bytes = size_entries.checked_mul(2).ok_or(too_large)?;
        let raw_bytes = size.checked_add(table_bytes).ok_or(too_large)?;
        let raw_count = raw_bytes.div_ceil(4);
        let raw_start = raw_idx.checked_mul(4).ok_or(too_large)?;
        let header = align_up(raw_start, HEADER_ALIGNMENT);
        Ok(RequestLayout {
            raw_start,
            header,
            payload: header + HEADER_SIZE,
            size_table: raw_start.checked_add(size).ok_or(too_large)?,
            raw_count,
        })
    }
}

/// Raw data words of a reply with `payload_len` bytes of payload:
/// `(AlignUp(payload_len + 16, 4) + 16) / 4` (§6.3 "Response", STR-SER `PrepareForReply`).
pub fn reply_raw_count(payload_len: usize) -> Result<usize, CmifError> {
    let too_large = CmifError::PayloadTooLarge { len: payload_len };
    let bytes = payload_len.checked_add(HEADER_SIZE + 3).ok_or(too_large)? & !3;
    Ok(bytes.checked_add(PADDING_BUDGET).ok_or(too_large)? / 4)
}

/// Where the CMIF parts of a reply sit, in bytes from the message start (§6.3 "Response").
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ReplyLayout {
    /// First raw-data byte.
    pub raw_start: usize,
    /// The out header: `AlignUp(raw_start, 16)`.
    pub header: usize,
    /// The payload: `header + 16`.
    pub payload: usize,
    /// Raw data words.
    pub raw_count: usize,
}

impl ReplyLayout {
    /// The layout for a reply whose raw data starts at word `raw_idx`.
    pub fn new(raw_idx: usize, payload_len: usize) -> Result<ReplyLayout, CmifError> {
        let raw_start = raw_idx.checked_mul(4).ok_or(CmifError::PayloadTooLarge { len: payload_len })?;
        let header = align_up(raw_start, HEADER_ALIGNMENT);
        Ok(ReplyLayout { raw_start, header, payload: header + HEADER_SIZE, raw_count: reply_raw_count(payload_len)? })
    }
}

//! Replies, client side: [`parse_reply`] checks the SFCO header and gives a [`Reply`] with
//! the command's result and bounds-checked payload accessors.

use super::error::CmifError;
use super::header::{HEADER_SIZE, OutHeader};
use super::layout::{HEADER_ALIGNMENT, align_up};
use super::words::{PayloadWindow, header_words};
use crate::hipc::Message;
use crate::result::ResultCode;

/// A parsed CMIF reply.
#[derive(Clone, Copy, Debug)]
pub struct Reply<'a> {
    message: Message<'a>,
    header: OutHeader,
    payload: usize,
    raw_end: usize,
}

/// Parses a reply in `buf` (client side, after `svcSendSyncRequest` returned success):
/// the HIPC message must fit, the raw data must hold the padding and the SFCO header, and
/// the magic must be SFCO (NX-CMIF `cmifParseResponse`). A failure Result in the header is
/// not an Err here: read it with [`Reply::result`].
#[inline]
pub fn parse_reply(buf: &[u32]) -> Result<Reply<'_>, CmifError> {
    let message = Message::parse(buf)?;
    let layout = message.layout();
    let raw_start = 4 * layout.raw_idx();
    let raw_end = raw_start + 4 * layout.raw_count();
    let header_at = align_up(raw_start, HEADER_ALIGNMENT);
    if header_at + HEADER_SIZE > raw_end {
        return Err(CmifError::HeaderTooShort { view_bytes: raw_end.saturating_sub(header_at) });
    }
    let header = OutHeader::decode(header_words(message.words(), header_at))?;
    Ok(Reply { message, header, payload: header_at + HEADER_SIZE, raw_end })
}

impl<'a> Reply<'a> {
    /// The HIPC message (X descriptors, handles).
    pub fn message(&self) -> &Message<'a> {
        &self.message
    }

    /// The out header.
    pub fn header(&self) -> OutHeader {
        self.header
    }

    /// The command's result.
    pub fn result(&self) -> ResultCode {
        self.header.result
    }

    fn payload_window(&self) -> PayloadWindow<'_> {
        PayloadWindow { words: self.message.words(), start: self.payload, end: self.raw_end }
    }

    /// Payload bytes available after the out header (to the end of the raw data).
    pub fn payload_len(&self) -> usize {
        self.payload_window().len()
    }

    /// The payload as whole words: it starts 16-byte aligned (the out header's alignment
    /// plus its 16 bytes) and runs to the end of the raw data, a word boundary.
    pub fn payload_words(&self) -> &'a [u32] {
        self.message.words().get(self.payload / 4..self.raw_end / 4).unwrap_or(&[])
    }

    /// Copies `out.len()` payload bytes from `offset`; Err past the raw data.
    pub fn read_payload(&self, offset: usize, out: &mut [u8]) -> Result<(), CmifError> {
        self.payload_window().read(offset, out)
    }

    /// The little-endian u16 at payload `offset` (QueryPointerBufferSize's answer is at 0).
    pub fn payload_u16(&self, offset: usize) -> Result<u16, CmifError> {
        self.payload_window().le_bytes(offset).map(u16::from_le_bytes)
    }

    /// The little-endian u32 at payload `offset`.
    pub fn payload_u32(&self, offset: usize) -> Result<u32, CmifError> {
        self.payload_window().le_bytes(offset).map(u32::from_le_bytes)
    }

    /// The little-endian u64 at payload `offset`.
    pub fn payload_u64(&self, offset: usize) -> Result<u64, CmifError> {
        self.payload_window().le_bytes(offset).map(u64::from_le_bytes)
    }
}

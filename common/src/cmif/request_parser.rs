//! Requests, server side: [`parse_request`] checks what a server received in the order
//! libstratosphere does and gives a [`Request`] with bounds-checked payload accessors and
//! the out-pointer [`SizeTable`].

use super::command_type::CommandType;
use super::error::CmifError;
use super::header::{HEADER_SIZE, InHeader};
use super::layout::{HEADER_ALIGNMENT, PADDING_BUDGET, align_up};
use super::words::{PayloadWindow, check_range, header_words};
use crate::hipc::Message;

/// What a server received.
#[derive(Clone, Copy, Debug)]
pub enum Incoming<'a> {
    /// Close (type 2): close the session without replying (§6.1).
    Close(Message<'a>),
    /// A request or control command.
    Request(Request<'a>),
}

/// A parsed CMIF request: its HIPC message, command type, in header and payload.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    message: Message<'a>,
    command_type: CommandType,
    header: InHeader,
    /// Byte offsets from the message start.
    raw_start: usize,
    payload: usize,
    view_end: usize,
    raw_end: usize,
}

/// Parses what a server received in `buf` (STR-SSM `DispatchRequest`, STR-DISP):
/// the HIPC message must fit `buf` with its receive list (else InvalidRequestSize);
/// the type must be Request, Control, their WithContext forms or Close (else
/// UnknownCommandType); the raw data must hold at least 0x10 bytes (else
/// InvalidRequestSize); the CMIF view `[AlignUp(raw, 16), raw_end − 16 + pad)` must hold
/// the 16-byte header (else InvalidHeaderSize) with magic SFCI and version ≤ 1 (else
/// InvalidInHeader).
pub fn parse_request(buf: &[u32]) -> Result<Incoming<'_>, CmifError> {
    let message = Message::parse(buf)?;
    let tag = message.header().tag;
    let command_type = match CommandType::from_tag(tag) {
        Some(CommandType::Close) => return Ok(Incoming::Close(message)),
        Some(
            t @ (CommandType::Request
            | CommandType::Control
            | CommandType::RequestWithContext
            | CommandType::ControlWithContext),
        ) => t,
        _ => return Err(CmifError::UnknownCommandType { tag }),
    };
    let layout = message.layout();
    let raw_start = 4 * layout.raw_idx();
    let raw_bytes = 4 * layout.raw_count();
    if raw_bytes < PADDING_BUDGET {
        return Err(CmifError::RawDataTooShort { raw_bytes });
    }
    let header_at = align_up(raw_start, HEADER_ALIGNMENT);
    let view_bytes = raw_bytes - PADDING_BUDGET;
    if view_bytes < HEADER_SIZE {
        return Err(CmifError::HeaderTooShort { view_bytes });
    }
    let header = InHeader::decode(header_words(message.words(), header_at))?;
    Ok(Incoming::Request(Request {
        message,
        command_type,
        header,
        raw_start,
        payload: header_at + HEADER_SIZE,
        view_end: header_at + view_bytes,
        raw_end: raw_start + raw_bytes,
    }))
}

impl<'a> Request<'a> {
    /// The HIPC message (X descriptors, handles, pid...).
    pub fn message(&self) -> &Message<'a> {
        &self.message
    }

    /// Request, Control, RequestWithContext or ControlWithContext.
    pub fn command_type(&self) -> CommandType {
        self.command_type
    }

    /// The in header.
    pub fn header(&self) -> InHeader {
        self.header
    }

    /// The command id.
    pub fn command_id(&self) -> u32 {
        self.header.command_id
    }

    fn payload_window(&self) -> PayloadWindow<'_> {
        PayloadWindow { words: self.message.words(), start: self.payload, end: self.view_end }
    }

    /// Payload bytes available after the in header (to the end of the CMIF view).
    pub fn payload_len(&self) -> usize {
        self.payload_window().len()
    }

    /// Copies `out.len()` payload bytes from `offset` (relative to the payload start);
    /// Err when they lie past the CMIF view.
    pub fn read_payload(&self, offset: usize, out: &mut [u8]) -> Result<(), CmifError> {
        self.payload_window().read(offset, out)
    }

    /// The little-endian u32 at payload `offset`.
    pub fn payload_u32(&self, offset: usize) -> Result<u32, CmifError> {
        self.payload_window().le_bytes(offset).map(u32::from_le_bytes)
    }

    /// The little-endian u64 at payload `offset`.
    pub fn payload_u64(&self, offset: usize) -> Result<u64, CmifError> {
        self.payload_window().le_bytes(offset).map(u64::from_le_bytes)
    }

    /// The u16 out-pointer size table of a command whose payload is `in_data_size` bytes
    /// and which has `entries` size-table entries: at raw start + 16 + 16 +
    /// AlignUp(in_data_size, 2) (§6.3, STR-MP). Err (InvalidCmifRequest) when it lies past
    /// the raw data.
    pub fn size_table(&self, in_data_size: usize, entries: usize) -> Result<SizeTable<'a>, CmifError> {
        let out = CmifError::OutOfRawData { offset: self.raw_start, len: usize::MAX, raw_end: self.raw_end };
        let rel = in_data_size.checked_add(PADDING_BUDGET + HEADER_SIZE + 1).ok_or(out)? & !1;
        let start = self.raw_start.checked_add(rel).ok_or(out)?;
        let len = entries.checked_mul(2).ok_or(out)?;
        check_range(start, len, self.raw_end)?;
        Ok(SizeTable { words: self.message.words(), start, entries })
    }
}

/// The u16 out-pointer size table of a request.
#[derive(Clone, Copy, Debug)]
pub struct SizeTable<'a> {
    words: &'a [u32],
    start: usize,
    entries: usize,
}

impl SizeTable<'_> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True when the table has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Byte offset of the table from the message start.
    pub fn byte_offset(&self) -> usize {
        self.start
    }

    /// Entry `index`.
    pub fn get(&self, index: usize) -> Option<u16> {
        if index >= self.entries {
            return None;
        }
        // The table starts at an even byte offset (§6.3), so an entry never straddles two
        // words: it is the low or the high half of one.
        let at = self.start + 2 * index;
        let word = self.words.get(at / 4)?;
        Some((word >> (8 * (at % 4))) as u16)
    }

    /// All entries in order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..self.entries).filter_map(|i| self.get(i))
    }
}

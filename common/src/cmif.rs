//! CMIF: the command layer inside the HIPC raw data (`horizon-ipc.md` §6, §5.2).
//!
//! A request's raw data holds 16 bytes of padding budget, the 16-byte "SFCI" in header at
//! `AlignUp(raw_start_byte, 16)` (relative to the message start), the command's payload,
//! and the u16 out-pointer size table at byte `AlignUp(16 + 16 + payload, 2)` from the
//! raw-data start (§6.3, NX-CMIF `cmifMakeRequest`, STR-MP
//! `GetUnfixedOutPointerSizeOffset`). A reply's raw data holds the padding budget, the
//! "SFCO" out header at `AlignUp(raw_start_byte, 16)` and the out payload (§6.3
//! "Response", STR-SER `PrepareForReply`).
//!
//! Domains (objects inside one session) are not supported: xcbuf does not use them.
//! Nothing here allocates. All byte offsets are relative to the message start and the
//! words are little-endian whatever the host (§0 "Conventions").
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

use core::fmt;

use crate::hipc::{
    HipcError, MapAliasDescriptor, Message, MessageBuilder, MessageHeader, MessageLayout,
    PointerDescriptor, ReceiveListEntry, ReceiveListMode, SpecialHeader,
};
use crate::result::{self, ResultCode};

/// "SFCI" (`horizon-ipc.md` §6.2).
pub const IN_HEADER_MAGIC: u32 = 0x4943_4653;
/// "SFCO" (`horizon-ipc.md` §6.2).
pub const OUT_HEADER_MAGIC: u32 = 0x4F43_4653;
/// Size of the in and out headers in bytes.
pub const HEADER_SIZE: usize = 16;
/// Padding budget at the start of the raw data that absorbs the 16-byte alignment of the
/// header (§6.3).
pub const PADDING_BUDGET: usize = 16;
/// Alignment of the CMIF header relative to the message start (§6.3).
pub const HEADER_ALIGNMENT: usize = 16;
/// Highest in-header version a server accepts (5.0.0+, §6.2).
pub const IN_HEADER_VERSION_MAX: u32 = 1;

/// Control (type 5) command ids of IHipcManager (`horizon-ipc.md` §5.2, STR-IHM).
pub mod control {
    /// ConvertCurrentObjectToDomain.
    pub const CONVERT_CURRENT_OBJECT_TO_DOMAIN: u32 = 0;
    /// CopyFromCurrentDomain.
    pub const COPY_FROM_CURRENT_DOMAIN: u32 = 1;
    /// CloneCurrentObject.
    pub const CLONE_CURRENT_OBJECT: u32 = 2;
    /// QueryPointerBufferSize: replies the pointer-buffer size as a u16.
    pub const QUERY_POINTER_BUFFER_SIZE: u32 = 3;
    /// CloneCurrentObjectEx.
    pub const CLONE_CURRENT_OBJECT_EX: u32 = 4;
}

/// HIPC `type` (tag) values of CMIF (`horizon-ipc.md` §6.1). Note 1 is LegacyRequest
/// and 2 is Close.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u16)]
pub enum CommandType {
    /// 0: invalid; libstratosphere uses it as the reply type.
    Invalid = 0,
    /// 1.
    LegacyRequest = 1,
    /// 2: close the session (no payload, no reply).
    Close = 2,
    /// 3.
    LegacyControl = 3,
    /// 4: a command of the service.
    Request = 4,
    /// 5: a command of IHipcManager (see [`control`]).
    Control = 5,
    /// 6 (5.0.0+).
    RequestWithContext = 6,
    /// 7 (5.0.0+).
    ControlWithContext = 7,
}

impl CommandType {
    /// The type for a HIPC tag, if it is one of §6.1.
    pub const fn from_tag(tag: u16) -> Option<CommandType> {
        Some(match tag {
            0 => CommandType::Invalid,
            1 => CommandType::LegacyRequest,
            2 => CommandType::Close,
            3 => CommandType::LegacyControl,
            4 => CommandType::Request,
            5 => CommandType::Control,
            6 => CommandType::RequestWithContext,
            7 => CommandType::ControlWithContext,
            _ => return None,
        })
    }

    /// The HIPC tag.
    pub const fn tag(self) -> u16 {
        self as u16
    }
}

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
            CmifError::Hipc(_) | CmifError::RawDataTooShort { .. } => {
                result::hipc::INVALID_REQUEST_SIZE
            }
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
            CmifError::OutOfRawData { offset, len, raw_end } => write!(
                f,
                "{len} bytes at byte {offset} lie past the raw data end (byte {raw_end})"
            ),
            CmifError::PayloadTooLarge { len } => write!(f, "payload of {len} bytes is too large"),
            CmifError::TooManyOutPointers { count } => {
                write!(f, "{count} out-pointers (a receive list holds at most 13)")
            }
        }
    }
}

impl core::error::Error for CmifError {}

/// The "SFCI" in header (NX-CMIF `CmifInHeader`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct InHeader {
    /// 0, or 1 when a token (context) is given.
    pub version: u32,
    /// The command id.
    pub command_id: u32,
    /// The token (context), or 0.
    pub token: u32,
}

impl InHeader {
    /// The four words, magic first.
    pub const fn encode(&self) -> [u32; 4] {
        [IN_HEADER_MAGIC, self.version, self.command_id, self.token]
    }

    /// Decodes and checks the magic and `version ≤ 1` (§6.2), else InvalidInHeader.
    pub const fn decode(words: [u32; 4]) -> Result<InHeader, CmifError> {
        let [magic, version, command_id, token] = words;
        if magic != IN_HEADER_MAGIC || version > IN_HEADER_VERSION_MAX {
            return Err(CmifError::InvalidInHeader { magic, version });
        }
        Ok(InHeader { version, command_id, token })
    }
}

/// The "SFCO" out header (NX-CMIF `CmifOutHeader`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OutHeader {
    /// 0.
    pub version: u32,
    /// The command's result.
    pub result: ResultCode,
    /// libstratosphere writes the interface id here; free for the server.
    pub token: u32,
}

impl OutHeader {
    /// The four words, magic first.
    pub const fn encode(&self) -> [u32; 4] {
        [OUT_HEADER_MAGIC, self.version, self.result.raw(), self.token]
    }

    /// Decodes and checks the magic.
    pub const fn decode(words: [u32; 4]) -> Result<OutHeader, CmifError> {
        let [magic, version, result, token] = words;
        if magic != OUT_HEADER_MAGIC {
            return Err(CmifError::InvalidOutHeader { magic });
        }
        Ok(OutHeader { version, result: ResultCode::from_raw(result), token })
    }
}

// ---------------------------------------------------------------------------------------
// Byte access to little-endian words.

const fn align_up(value: usize, align: usize) -> usize {
    // `align` is a power of two and `value` is bounded by a message size (< 2^16).
    (value + align - 1) & !(align - 1)
}

/// Checks that `[offset, offset + len)` lies inside `[0, end)` bytes.
fn check_range(offset: usize, len: usize, end: usize) -> Result<(), CmifError> {
    match offset.checked_add(len) {
        Some(stop) if stop <= end => Ok(()),
        _ => Err(CmifError::OutOfRawData { offset, len, raw_end: end }),
    }
}

// The byte helpers below are only called with ranges checked against the raw data
// (check_range, or the layout the builder reserved); a byte past the words reads as 0
// and is not written, so a wrong offset can never panic.
fn byte_at(words: &[u32], offset: usize) -> u8 {
    words.get(offset / 4).map_or(0, |w| (w >> (8 * (offset % 4))) as u8)
}

fn set_byte(words: &mut [u32], offset: usize, byte: u8) {
    let shift = 8 * (offset % 4);
    if let Some(w) = words.get_mut(offset / 4) {
        *w = (*w & !(0xFF << shift)) | (byte as u32) << shift;
    }
}

/// Writes a 4-word CMIF header at byte `offset` (16-byte aligned inside the raw data).
fn write_header(words: &mut [u32], offset: usize, header: [u32; 4]) -> Result<(), CmifError> {
    let w = offset / 4;
    let raw_end = words.len() * 4;
    let to = words.get_mut(w..w + 4).ok_or(CmifError::OutOfRawData { offset, len: HEADER_SIZE, raw_end })?;
    to.copy_from_slice(&header);
    Ok(())
}

fn write_bytes(words: &mut [u32], offset: usize, data: &[u8]) {
    for (i, &b) in data.iter().enumerate() {
        set_byte(words, offset + i, b);
    }
}

fn read_bytes(words: &[u32], offset: usize, out: &mut [u8]) {
    for (i, b) in out.iter_mut().enumerate() {
        *b = byte_at(words, offset + i);
    }
}

/// The payload bytes after a CMIF header, `start..end` in bytes from the message start:
/// the one bounds-checked reader behind [`Request`]'s and [`Reply`]'s payload accessors.
#[derive(Clone, Copy)]
struct PayloadWindow<'a> {
    words: &'a [u32],
    start: usize,
    end: usize,
}

impl PayloadWindow<'_> {
    fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Copies `out.len()` bytes from `offset` (relative to `start`); Err past `end`.
    fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), CmifError> {
        let at = self
            .start
            .checked_add(offset)
            .ok_or(CmifError::OutOfRawData { offset, len: out.len(), raw_end: self.end })?;
        check_range(at, out.len(), self.end)?;
        read_bytes(self.words, at, out);
        Ok(())
    }

    /// `N` bytes from `offset`, for the little-endian integer accessors.
    fn le_bytes<const N: usize>(&self, offset: usize) -> Result<[u8; N], CmifError> {
        let mut bytes = [0u8; N];
        self.read(offset, &mut bytes)?;
        Ok(bytes)
    }
}

/// The 4 words of a CMIF header at `byte_offset` (checked to lie inside the raw data by
/// the caller; zeros otherwise, which no magic matches).
fn header_words(words: &[u32], byte_offset: usize) -> [u32; 4] {
    let w = byte_offset / 4;
    words.get(w..w + 4).and_then(|s| <[u32; 4]>::try_from(s).ok()).unwrap_or([0; 4])
}

// ---------------------------------------------------------------------------------------
// Raw-data layouts.

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

fn u16_count(len: usize, field: crate::hipc::Field) -> Result<u16, CmifError> {
    u16::try_from(len).map_err(|_| CmifError::Hipc(HipcError::FieldOverflow { field, value: len as u64, max: 0xFFFF }))
}

fn u8_count(len: usize, field: crate::hipc::Field) -> Result<u8, CmifError> {
    match u8::try_from(len) {
        Ok(n) if n <= 15 => Ok(n),
        _ => Err(CmifError::Hipc(HipcError::FieldOverflow { field, value: len as u64, max: 15 })),
    }
}

/// Special header for a pid flag and handles, `None` when nothing is set (§1.3).
fn special_for(process_id: Option<u64>, copy: &[u32], mv: &[u32]) -> Result<Option<SpecialHeader>, CmifError> {
    use crate::hipc::Field;
    let s = SpecialHeader {
        send_pid: process_id.is_some(),
        copy_handle_count: u8_count(copy.len(), Field::CopyHandleCount)?,
        move_handle_count: u8_count(mv.len(), Field::MoveHandleCount)?,
    };
    Ok(if s.is_needed() { Some(s) } else { None })
}

fn fill_special(b: &mut MessageBuilder<'_>, process_id: Option<u64>, copy: &[u32], mv: &[u32]) -> Result<(), CmifError> {
    if let Some(pid) = process_id {
        b.set_process_id(pid)?;
    }
    for (i, &h) in copy.iter().enumerate() {
        b.set_copy_handle(i, h)?;
    }
    for (i, &h) in mv.iter().enumerate() {
        b.set_move_handle(i, h)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Requests (client side).

/// One output buffer of a request: a C entry of the receive list, and whether the command
/// also takes its size in the u16 size table (libnx: non-FixedSize pointer buffers, §5.3).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OutPointer {
    /// The C entry (client buffer address and size).
    pub entry: ReceiveListEntry,
    /// Write `entry.size()` into the size table.
    pub has_size_entry: bool,
}

/// A CMIF request (no domain). Built by [`build_request`].
#[derive(Clone, Copy, Debug)]
pub struct RequestSpec<'s> {
    /// Request, Control, or their WithContext forms.
    pub command_type: CommandType,
    /// The command id.
    pub command_id: u32,
    /// In-header version (0, or 1 with a token).
    pub version: u32,
    /// In-header token.
    pub token: u32,
    /// Send the pid (the kernel fills it in).
    pub process_id: Option<u64>,
    /// Copy handles.
    pub copy_handles: &'s [u32],
    /// X descriptors of the inputs, in index order.
    pub in_pointers: &'s [PointerDescriptor],
    /// A descriptors.
    pub sends: &'s [MapAliasDescriptor],
    /// B descriptors.
    pub receives: &'s [MapAliasDescriptor],
    /// W descriptors.
    pub exchanges: &'s [MapAliasDescriptor],
    /// Outputs: the receive list, in out-pointer index order.
    pub out_pointers: &'s [OutPointer],
    /// `None`: libnx's choice, `Index(n)` for n out-pointers and `None` for none (§5.3).
    /// `Some(mode)`: that mode; its entry count must equal `out_pointers.len()`.
    pub receive_list_mode: Option<ReceiveListMode>,
    /// The command's payload bytes (after the in header).
    pub payload: &'s [u8],
}

impl Default for RequestSpec<'_> {
    fn default() -> Self {
        RequestSpec {
            command_type: CommandType::Request,
            command_id: 0,
            version: 0,
            token: 0,
            process_id: None,
            copy_handles: &[],
            in_pointers: &[],
            sends: &[],
            receives: &[],
            exchanges: &[],
            out_pointers: &[],
            receive_list_mode: None,
            payload: &[],
        }
    }
}

/// Builds a CMIF request into `buf` (`horizon-ipc.md` §6.3, §9) and returns the message
/// size in bytes. Padding bytes are zero.
pub fn build_request(buf: &mut [u32], spec: &RequestSpec<'_>) -> Result<usize, CmifError> {
    use crate::hipc::Field;
    let n_out = spec.out_pointers.len();
    let mode = match spec.receive_list_mode {
        Some(m) => m,
        None if n_out == 0 => ReceiveListMode::None,
        None => {
            let n = u8::try_from(n_out).map_err(|_| CmifError::TooManyOutPointers { count: n_out })?;
            ReceiveListMode::index(n).map_err(|_| CmifError::TooManyOutPointers { count: n_out })?
        }
    };
    if mode.entry_count() != n_out {
        return Err(HipcError::ReceiveListLengthMismatch { given: n_out, expected: mode.entry_count() }.into());
    }
    let special = special_for(spec.process_id, spec.copy_handles, &[])?;
    let mut header = MessageHeader {
        tag: spec.command_type.tag(),
        pointer_count: u8_count(spec.in_pointers.len(), Field::PointerCount)?,
        send_count: u8_count(spec.sends.len(), Field::SendCount)?,
        receive_count: u8_count(spec.receives.len(), Field::ReceiveCount)?,
        exchange_count: u8_count(spec.exchanges.len(), Field::ExchangeCount)?,
        raw_count: 0,
        receive_list_mode: mode,
        receive_list_offset: 0,
        has_special_header: special.is_some(),
    };
    let raw_idx = MessageLayout::new(header, special).raw_idx();
    let entries = spec.out_pointers.iter().filter(|o| o.has_size_entry).count();
    let layout = RequestLayout::new(raw_idx, spec.payload.len(), entries)?;
    header.raw_count = u16_count(layout.raw_count, Field::RawCount)?;

    let mut b = MessageBuilder::new(buf, header, special)?;
    fill_special(&mut b, spec.process_id, spec.copy_handles, &[])?;
    for (i, d) in spec.in_pointers.iter().enumerate() {
        b.set_pointer_descriptor(i, d)?;
    }
    for (i, d) in spec.sends.iter().enumerate() {
        b.set_send_buffer(i, d)?;
    }
    for (i, d) in spec.receives.iter().enumerate() {
        b.set_receive_buffer(i, d)?;
    }
    for (i, d) in spec.exchanges.iter().enumerate() {
        b.set_exchange_buffer(i, d)?;
    }
    for (i, o) in spec.out_pointers.iter().enumerate() {
        b.set_receive_list_entry(i, &o.entry)?;
    }
    let size = b.message_size_bytes();
    let (words, _) = b.into_buffer();
    // All offsets below lie inside the raw data the builder reserved and zeroed:
    // header + 16 + payload <= raw_start + 32 + payload <= size_table, and the table
    // ends at raw_start + 4*raw_count at the latest.
    let hdr = InHeader { version: spec.version, command_id: spec.command_id, token: spec.token }.encode();
    write_header(words, layout.header, hdr)?;
    write_bytes(words, layout.payload, spec.payload);
    let mut at = layout.size_table;
    for o in spec.out_pointers.iter().filter(|o| o.has_size_entry) {
        write_bytes(words, at, &o.entry.size().to_le_bytes());
        at += 2;
    }
    Ok(size)
}

/// Builds a Close message (type 2, nothing else; §6.1) and returns its size in bytes.
pub fn build_close(buf: &mut [u32]) -> Result<usize, CmifError> {
    let header = MessageHeader { tag: CommandType::Close.tag(), ..MessageHeader::default() };
    Ok(MessageBuilder::new(buf, header, None)?.message_size_bytes())
}

/// Builds the Control request QueryPointerBufferSize (type 5, command 3, §5.2).
pub fn build_query_pointer_buffer_size(buf: &mut [u32]) -> Result<usize, CmifError> {
    build_request(
        buf,
        &RequestSpec {
            command_type: CommandType::Control,
            command_id: control::QUERY_POINTER_BUFFER_SIZE,
            ..RequestSpec::default()
        },
    )
}

// ---------------------------------------------------------------------------------------
// Requests (server side).

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
        let mut b = [0u8; 2];
        read_bytes(self.words, self.start + 2 * index, &mut b);
        Some(u16::from_le_bytes(b))
    }

    /// All entries in order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..self.entries).filter_map(|i| self.get(i))
    }
}

// ---------------------------------------------------------------------------------------
// Replies.

/// A CMIF reply (type 0). Built by [`build_reply`].
#[derive(Clone, Copy, Debug)]
pub struct ReplySpec<'s> {
    /// The command's result (SFCO `result`).
    pub result: ResultCode,
    /// SFCO `token`.
    pub token: u32,
    /// X descriptors for the out-pointers: `{address in the pointer buffer, size, index of
    /// the client's C entry}` (§5.1). Must be empty in an error reply (§6.3).
    pub out_pointers: &'s [PointerDescriptor],
    /// Copy handles.
    pub copy_handles: &'s [u32],
    /// Move handles (allowed in replies, §4).
    pub move_handles: &'s [u32],
    /// The out payload after the SFCO header.
    pub payload: &'s [u8],
    /// The server's own receive list for the receive that follows the reply in the same
    /// `svcReplyAndReceive` (design.md "Data flow"): mode, offset (0 = after the raw data)
    /// and entries.
    pub receive_list_mode: ReceiveListMode,
    /// Receive-list offset in words.
    pub receive_list_offset: u16,
    /// C entries (as many as the mode needs).
    pub receive_list: &'s [ReceiveListEntry],
}

impl Default for ReplySpec<'_> {
    fn default() -> Self {
        ReplySpec {
            result: ResultCode::SUCCESS,
            token: 0,
            out_pointers: &[],
            copy_handles: &[],
            move_handles: &[],
            payload: &[],
            receive_list_mode: ReceiveListMode::None,
            receive_list_offset: 0,
            receive_list: &[],
        }
    }
}

impl<'s> ReplySpec<'s> {
    /// An error reply: the headers only, no X descriptors and no payload (§6.3,
    /// STR-SER `PrepareForErrorReply`).
    pub fn error(result: ResultCode) -> ReplySpec<'s> {
        ReplySpec { result, ..ReplySpec::default() }
    }
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

/// Builds a CMIF reply into `buf` and returns the message size in bytes (receive list
/// included). Padding bytes are zero.
pub fn build_reply(buf: &mut [u32], spec: &ReplySpec<'_>) -> Result<usize, CmifError> {
    use crate::hipc::Field;
    let expected = spec.receive_list_mode.entry_count();
    if spec.receive_list.len() != expected {
        return Err(HipcError::ReceiveListLengthMismatch { given: spec.receive_list.len(), expected }.into());
    }
    let special = special_for(None, spec.copy_handles, spec.move_handles)?;
    let mut header = MessageHeader {
        tag: CommandType::Invalid.tag(),
        pointer_count: u8_count(spec.out_pointers.len(), Field::PointerCount)?,
        receive_list_mode: spec.receive_list_mode,
        receive_list_offset: spec.receive_list_offset,
        has_special_header: special.is_some(),
        ..MessageHeader::default()
    };
    let raw_idx = MessageLayout::new(header, special).raw_idx();
    let layout = ReplyLayout::new(raw_idx, spec.payload.len())?;
    header.raw_count = u16_count(layout.raw_count, Field::RawCount)?;

    let mut b = MessageBuilder::new(buf, header, special)?;
    fill_special(&mut b, None, spec.copy_handles, spec.move_handles)?;
    for (i, d) in spec.out_pointers.iter().enumerate() {
        b.set_pointer_descriptor(i, d)?;
    }
    for (i, e) in spec.receive_list.iter().enumerate() {
        b.set_receive_list_entry(i, e)?;
    }
    let size = b.message_size_bytes();
    let (words, _) = b.into_buffer();
    // header + 16 + payload <= raw_start + 32 + payload <= raw end: inside the reserved raw data.
    let hdr = OutHeader { version: 0, result: spec.result, token: spec.token }.encode();
    write_header(words, layout.header, hdr)?;
    write_bytes(words, layout.payload, spec.payload);
    Ok(size)
}

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

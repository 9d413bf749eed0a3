//! Client side of the xcbuf protocol, on the codec ([`crate::cmif`]): building requests
//! with in-pointers (X, index 0, 1, ...), out-pointers (C entries plus the u16 size
//! table) and raw arguments, and parsing replies: SFCO magic, result, out-data, and the
//! size each out buffer received (from the reply's X descriptors, which the kernel
//! rewrote to `{C address, size, index}`, `horizon-ipc.md` §4).
//!
//! ```text
//! let tls: &mut [u32] = ...;                     // the thread's message buffer
//! client::build_echo(tls, Buffer::new(src_addr, 16), Buffer::new(dst_addr, 16))?;
//! svcSendSyncRequest(session)?;                  // kernel errors (0xce01...) come here
//! let reply = client::parse_reply(tls)?;         // Err(Service(rc)) on a failure result
//! let echo: EchoResponse = reply.read()?;
//! assert_eq!(reply.received(0), Some(16));
//! ```
//!
//! Buffers are given by address because the kernel reads and writes them by address:
//! on the Switch the address of the caller's own memory, in the bench a guest address.
#![forbid(unsafe_code)]

use core::fmt;

use crate::cmif::{self, CmifError, CommandType, InHeader, RequestLayout};
use crate::hipc::{
    DESCRIPTOR_COUNT_MAX, Descriptors, Field, HipcError, MessageHeader, POINTER_DESCRIPTOR_WORDS, POINTER_INDEX_MAX,
    PointerDescriptor, RECEIVE_LIST_ENTRY_WORDS, ReceiveListEntry, ReceiveListMode,
};
use crate::result::{self, ResultCode};
use crate::xcbuf::{Command, QueryPointerBufferSizeResponse, RawData, SplitRequest, StatsResponse};

/// A client buffer: address and size. Sizes travel as 16 bits (X size, C size); a larger
/// size is rejected when the request is built, never truncated.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Buffer {
    /// Address of the first byte.
    pub address: u64,
    /// Size in bytes.
    pub size: usize,
}

impl Buffer {
    /// `{address, size}`.
    pub const fn new(address: u64, size: usize) -> Buffer {
        Buffer { address, size }
    }
}

/// A request to build: command type and id, inputs, outputs, raw arguments.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// Request (4) for the xcbuf commands, Control (5) for QueryPointerBufferSize.
    pub command_type: CommandType,
    /// The command id.
    pub command_id: u32,
    /// In-pointers: X descriptor *i* gets index *i*.
    pub inputs: &'a [Buffer],
    /// Out-pointers: C entry *k* and size-table entry *k*, in order.
    pub outputs: &'a [Buffer],
    /// Raw arguments after the SFCI header.
    pub args: &'a [u8],
    /// `None`: indexed mode with one entry per output, as libnx does (§5.3); or the
    /// given mode, whose entry count must equal `outputs.len()`.
    pub receive_list_mode: Option<ReceiveListMode>,
}

impl<'a> Call<'a> {
    /// A type-4 request of `command` with no buffers and no arguments.
    pub const fn new(command: Command) -> Call<'a> {
        Call {
            command_type: CommandType::Request,
            command_id: command.id(),
            inputs: &[],
            outputs: &[],
            args: &[],
            receive_list_mode: None,
        }
    }
}

/// Why a request could not be built or a reply not be used.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClientError {
    /// A buffer size above 0xFFFF, an address above 39 bits, more than 16 inputs or 13
    /// outputs, or a message that does not fit the buffer.
    Build(CmifError),
    /// The reply is not a well-formed CMIF reply (bad SFCO magic, too short).
    MalformedReply(CmifError),
    /// The service answered with this failure result.
    Service(ResultCode),
    /// The reply's out-data is shorter than the response struct.
    ShortReply {
        /// Bytes the response needs.
        needed: usize,
        /// Bytes the reply holds.
        available: usize,
    },
}

impl ClientError {
    /// One result code for reports: the service's result, or xcbuf UnexpectedReply for
    /// a malformed or short reply, or the codec's result for a build error.
    pub const fn result(self) -> ResultCode {
        match self {
            ClientError::Build(e) => e.result(),
            ClientError::MalformedReply(_) | ClientError::ShortReply { .. } => result::xcbuf::UNEXPECTED_REPLY,
            ClientError::Service(rc) => rc,
        }
    }
}

impl From<ClientError> for ResultCode {
    fn from(e: ClientError) -> ResultCode {
        e.result()
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Build(e) => write!(f, "cannot build request: {e}"),
            ClientError::MalformedReply(e) => write!(f, "malformed reply: {e}"),
            ClientError::Service(rc) => write!(f, "service returned {rc}"),
            ClientError::ShortReply { needed, available } => {
                write!(f, "reply holds {available} bytes of out-data, {needed} needed")
            }
        }
    }
}

impl core::error::Error for ClientError {}

/// Most inputs of one request (X indices are 4 bits).
pub const MAX_INPUTS: usize = POINTER_INDEX_MAX as usize + 1;
/// Most outputs of one request (13 C entries, §1.2).
pub const MAX_OUTPUTS: usize = crate::hipc::RECEIVE_LIST_ENTRY_COUNT_MAX as usize;

fn size_u64(size: usize) -> u64 {
    // usize is at most 64 bits on every target this crate builds for.
    u64::try_from(size).unwrap_or(u64::MAX)
}

/// The X descriptor of input `b` at `index`; Err for an address above 39 bits or a size
/// above 0xFFFF.
fn x_descriptor(index: u8, b: &Buffer) -> Result<PointerDescriptor, ClientError> {
    PointerDescriptor::new(index, b.address, size_u64(b.size)).map_err(|e| ClientError::Build(e.into()))
}

/// The C entry of output `b`; Err as for [`x_descriptor`].
fn c_entry(b: &Buffer) -> Result<ReceiveListEntry, ClientError> {
    ReceiveListEntry::new(b.address, size_u64(b.size)).map_err(|e| ClientError::Build(e.into()))
}

/// Builds `call` into `msg` and returns the message size in bytes.
///
/// The message is the one [`cmif::build_request`] lays out for X descriptors, C entries
/// each with a size-table entry, and no special header or A/B/W (word for word, error
/// for error: `tests/client_builder_proptest.rs` compares the two), written straight from
/// `call`'s buffers: header, X descriptors (`horizon-ipc.md` §1.4), raw data (padding, SFCI
/// header, arguments, u16 size table, §6.3), receive list. Every buffer and count is
/// checked before the first word is written; words after the message are not touched.
pub fn build_request(msg: &mut [u32], call: &Call<'_>) -> Result<usize, ClientError> {
    let hipc = |e: HipcError| ClientError::Build(e.into());
    let (n_in, n_out) = (call.inputs.len(), call.outputs.len());
    let too_many_in = HipcError::FieldOverflow {
        field: Field::PointerCount,
        value: size_u64(n_in),
        max: u64::from(DESCRIPTOR_COUNT_MAX),
    };
    if n_in > MAX_INPUTS {
        return Err(hipc(too_many_in));
    }
    if n_out > MAX_OUTPUTS {
        return Err(ClientError::Build(CmifError::TooManyOutPointers { count: n_out }));
    }
    for (index, b) in (0u8..).zip(call.inputs) {
        x_descriptor(index, b)?;
    }
    for b in call.outputs {
        c_entry(b)?;
    }
    // libnx's choice without a mode: indexed with one entry per output (§5.3).
    let mode = match (call.receive_list_mode, u8::try_from(n_out)) {
        (Some(m), _) => m,
        (None, Ok(0)) => ReceiveListMode::None,
        (None, Ok(n)) => {
            ReceiveListMode::index(n).map_err(|_| ClientError::Build(CmifError::TooManyOutPointers { count: n_out }))?
        }
        (None, Err(_)) => return Err(ClientError::Build(CmifError::TooManyOutPointers { count: n_out })),
    };
    if mode.entry_count() != n_out {
        return Err(hipc(HipcError::ReceiveListLengthMismatch { given: n_out, expected: mode.entry_count() }));
    }
    let pointer_count = match u8::try_from(n_in) {
        Ok(n) if n <= DESCRIPTOR_COUNT_MAX => n,
        _ => return Err(hipc(too_many_in)),
    };
    // Word indices (§1.4) without a special header and A/B/W, as `MessageLayout` computes
    // them: X descriptors from word 2, the raw data after them, the receive list after
    // the raw data.
    let raw_idx = 2 + POINTER_DESCRIPTOR_WORDS * n_in;
    let layout = RequestLayout::new(raw_idx, call.args.len(), n_out).map_err(ClientError::Build)?;
    let raw_count = u16::try_from(layout.raw_count).map_err(|_| {
        hipc(HipcError::FieldOverflow { field: Field::RawCount, value: size_u64(layout.raw_count), max: 0xFFFF })
    })?;
    let header = MessageHeader {
        tag: call.command_type.tag(),
        pointer_count,
        raw_count,
        receive_list_mode: mode,
        ..MessageHeader::default()
    };
    let header_words = header.encode().map_err(hipc)?;
    let needed_words = raw_idx + layout.raw_count + RECEIVE_LIST_ENTRY_WORDS * n_out;
    let available_words = msg.len();
    let message =
        msg.get_mut(..needed_words).ok_or(hipc(HipcError::BufferTooSmall { needed_words, available_words }))?;
    // Header, X and C words are all written below; the raw data is zeroed first, so its
    // padding is zero.
    let (front, back) = message.split_at_mut(raw_idx.min(needed_words));
    let (raw, list) = back.split_at_mut(layout.raw_count.min(back.len()));
    raw.fill(0);
    let mut pairs = front.chunks_exact_mut(2);
    if let Some(words) = pairs.next() {
        words.copy_from_slice(&header_words);
    }
    for ((index, b), words) in (0u8..).zip(call.inputs).zip(pairs) {
        words.copy_from_slice(&x_descriptor(index, b)?.encode());
    }
    for (b, words) in call.outputs.iter().zip(list.chunks_exact_mut(2)) {
        words.copy_from_slice(&c_entry(b)?.encode());
    }
    // Raw data, by byte offsets from the message start (the layout keeps the header and
    // the arguments word-aligned, the size table after the last argument byte).
    let raw_start = layout.raw_start;
    let header_at = (layout.header - raw_start) / 4;
    if let Some(words) = raw.get_mut(header_at..header_at + 4) {
        words.copy_from_slice(&InHeader { version: 0, command_id: call.command_id, token: 0 }.encode());
    }
    let args_at = (layout.payload - raw_start) / 4;
    for (w, bytes) in raw.get_mut(args_at..).unwrap_or_default().iter_mut().zip(call.args.chunks(4)) {
        let mut le = [0u8; 4];
        for (d, s) in le.iter_mut().zip(bytes) {
            *d = *s;
        }
        *w = u32::from_le_bytes(le);
    }
    let mut at = layout.size_table - raw_start;
    for b in call.outputs {
        // The C size, checked to fit 16 bits above.
        let size = u32::try_from(b.size).unwrap_or(0) & 0xFFFF;
        if let Some(w) = raw.get_mut(at / 4) {
            let shift = 8 * (at % 4);
            *w = (*w & !(0xFFFF << shift)) | size << shift;
        }
        at += 2;
    }
    Ok(4 * needed_words)
}

/// GetInfo (command 0).
pub fn build_get_info(msg: &mut [u32]) -> Result<usize, ClientError> {
    build_request(msg, &Call::new(Command::GetInfo))
}

/// Echo (command 1): `input` as X\[0\], `output` as C\[0\].
pub fn build_echo(msg: &mut [u32], input: Buffer, output: Buffer) -> Result<usize, ClientError> {
    build_request(msg, &Call { inputs: &[input], outputs: &[output], ..Call::new(Command::Echo) })
}

/// Concat (command 2): `inputs` (1..=8) as X\[0..n\], `output` as C\[0\]. More than 8
/// inputs are sent as given (the server answers 0x3480b).
pub fn build_concat(msg: &mut [u32], inputs: &[Buffer], output: Buffer) -> Result<usize, ClientError> {
    build_request(msg, &Call { inputs, outputs: &[output], ..Call::new(Command::Concat) })
}

/// Split (command 3): `input` as X\[0\], `at` as the argument, `head` as C\[0\] and
/// `tail` as C\[1\].
pub fn build_split(msg: &mut [u32], input: Buffer, at: u32, head: Buffer, tail: Buffer) -> Result<usize, ClientError> {
    let mut args = [0u8; SplitRequest::SIZE];
    SplitRequest { at }.write_to(&mut args).map_err(ClientError::Service)?;
    build_request(msg, &Call { inputs: &[input], outputs: &[head, tail], args: &args, ..Call::new(Command::Split) })
}

/// Stats (command 4).
pub fn build_stats(msg: &mut [u32]) -> Result<usize, ClientError> {
    build_request(msg, &Call::new(Command::Stats))
}

/// Control command 3, QueryPointerBufferSize (`horizon-ipc.md` §5.2).
pub fn build_query_pointer_buffer_size(msg: &mut [u32]) -> Result<usize, ClientError> {
    cmif::build_query_pointer_buffer_size(msg).map_err(ClientError::Build)
}

/// Largest out-data this parser keeps (the largest xcbuf response).
pub const MAX_REPLY_DATA: usize = StatsResponse::SIZE;

/// A successful reply, copied out of the message buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Reply {
    pointers: [PointerDescriptor; MAX_INPUTS],
    pointer_count: usize,
    data: [u8; MAX_REPLY_DATA],
    data_len: usize,
}

impl Reply {
    /// The reply's X descriptors as the kernel rewrote them: `{C address, size, index}`,
    /// in the order the server wrote them.
    pub fn pointers(&self) -> &[PointerDescriptor] {
        self.pointers.get(..self.pointer_count).unwrap_or(&[])
    }

    /// Bytes out buffer `index` received: the size of the last reply X with that index
    /// (the kernel lets the last one win, §3.3), `None` when no X named it.
    pub fn received(&self, index: u8) -> Option<u16> {
        self.pointers().iter().rev().find(|d| d.index() == index).map(PointerDescriptor::size)
    }

    /// The out-data after the SFCO header (at most [`MAX_REPLY_DATA`] bytes are kept).
    pub fn data(&self) -> &[u8] {
        self.data.get(..self.data_len).unwrap_or(&[])
    }

    /// The out-data as a response struct; Err when the reply holds fewer bytes.
    pub fn read<T: RawData>(&self) -> Result<T, ClientError> {
        read_data(self.data())
    }
}

/// A successful reply read where the kernel wrote it (the message buffer), without
/// copying it: what a caller needs from a reply before the buffer is used again.
/// [`ReplyView::to_reply`] copies it into a [`Reply`].
#[derive(Clone, Copy, Debug)]
pub struct ReplyView<'a> {
    reply: cmif::Reply<'a>,
}

impl<'a> ReplyView<'a> {
    /// Parses the reply in `msg` (after `svcSendSyncRequest` returned success): checks the
    /// SFCO magic and returns [`ClientError::Service`] for a failure result.
    #[inline]
    pub fn parse(msg: &'a [u32]) -> Result<ReplyView<'a>, ClientError> {
        let reply = cmif::parse_reply(msg).map_err(ClientError::MalformedReply)?;
        if reply.result().is_failure() {
            return Err(ClientError::Service(reply.result()));
        }
        Ok(ReplyView { reply })
    }

    /// The reply's X descriptors as the kernel rewrote them: `{C address, size, index}`,
    /// in the order the server wrote them.
    #[inline]
    pub fn pointers(&self) -> Descriptors<'a, PointerDescriptor> {
        self.reply.message().pointer_descriptors()
    }

    /// Bytes out buffer `index` received: the size of the last reply X with that index
    /// (the kernel lets the last one win, §3.3), `None` when no X named it.
    #[inline]
    pub fn received(&self, index: u8) -> Option<u16> {
        self.pointers().filter(|d| d.index() == index).last().map(|d| d.size())
    }

    /// Copies the out-data after the SFCO header into `out`, whole words (the payload is
    /// word-aligned and a whole number of words), at most `limit` bytes rounded up to a
    /// word; returns the bytes copied.
    #[inline]
    fn copy_data(&self, out: &mut [u8; MAX_REPLY_DATA], limit: usize) -> usize {
        let mut len = 0;
        for (bytes, word) in out.chunks_exact_mut(4).zip(self.reply.payload_words()).take(limit.div_ceil(4)) {
            bytes.copy_from_slice(&word.to_le_bytes());
            len += 4;
        }
        len
    }

    /// The out-data as a response struct, as [`Reply::read`] reads it (only the words the
    /// struct needs are copied).
    #[inline]
    pub fn read<T: RawData>(&self) -> Result<T, ClientError> {
        let mut data = [0; MAX_REPLY_DATA];
        let len = self.copy_data(&mut data, T::SIZE);
        T::read_from(data.get(..len).unwrap_or(&[])).map_err(|_| ClientError::ShortReply {
            needed: T::SIZE,
            available: (4 * self.reply.payload_words().len()).min(MAX_REPLY_DATA),
        })
    }

    /// The reply copied: X descriptors and the out-data (at most [`MAX_REPLY_DATA`] bytes).
    pub fn to_reply(&self) -> Reply {
        let mut out = Reply {
            pointers: [PointerDescriptor::default(); MAX_INPUTS],
            pointer_count: 0,
            data: [0; MAX_REPLY_DATA],
            data_len: 0,
        };
        for (slot, d) in out.pointers.iter_mut().zip(self.pointers()) {
            *slot = d;
            out.pointer_count += 1;
        }
        out.data_len = self.copy_data(&mut out.data, MAX_REPLY_DATA);
        out
    }
}

/// `data` as a response struct; Err when it holds fewer bytes.
fn read_data<T: RawData>(data: &[u8]) -> Result<T, ClientError> {
    T::read_from(data).map_err(|_| ClientError::ShortReply { needed: T::SIZE, available: data.len() })
}

/// Parses the reply in `msg` (after `svcSendSyncRequest` returned success): checks the
/// SFCO magic, returns [`ClientError::Service`] for a failure result, and copies the X
/// descriptors and the out-data ([`ReplyView::to_reply`]).
pub fn parse_reply(msg: &[u32]) -> Result<Reply, ClientError> {
    ReplyView::parse(msg).map(|view| view.to_reply())
}

/// Parses a QueryPointerBufferSize reply: the server's pointer-buffer size.
pub fn parse_query_pointer_buffer_size(msg: &[u32]) -> Result<u16, ClientError> {
    Ok(parse_reply(msg)?.read::<QueryPointerBufferSizeResponse>()?.size)
}

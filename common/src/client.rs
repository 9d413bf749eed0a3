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

use crate::cmif::{self, CmifError, CommandType, OutPointer, RequestSpec};
use crate::hipc::{POINTER_INDEX_MAX, PointerDescriptor, ReceiveListEntry, ReceiveListMode};
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

/// Builds `call` into `msg` and returns the message size in bytes.
pub fn build_request(msg: &mut [u32], call: &Call<'_>) -> Result<usize, ClientError> {
    let mut xs = [PointerDescriptor::default(); MAX_INPUTS];
    let mut cs = [OutPointer { entry: ReceiveListEntry::default(), has_size_entry: true }; MAX_OUTPUTS];
    let too_many_in = CmifError::Hipc(crate::hipc::HipcError::FieldOverflow {
        field: crate::hipc::Field::PointerCount,
        value: size_u64(call.inputs.len()),
        max: size_u64(MAX_INPUTS - 1),
    });
    if call.inputs.len() > MAX_INPUTS {
        return Err(ClientError::Build(too_many_in));
    }
    if call.outputs.len() > MAX_OUTPUTS {
        return Err(ClientError::Build(CmifError::TooManyOutPointers { count: call.outputs.len() }));
    }
    for ((index, x), b) in (0u8..).zip(xs.iter_mut()).zip(call.inputs) {
        *x = PointerDescriptor::new(index, b.address, size_u64(b.size)).map_err(|e| ClientError::Build(e.into()))?;
    }
    for (c, b) in cs.iter_mut().zip(call.outputs) {
        c.entry = ReceiveListEntry::new(b.address, size_u64(b.size)).map_err(|e| ClientError::Build(e.into()))?;
    }
    let spec = RequestSpec {
        command_type: call.command_type,
        command_id: call.command_id,
        in_pointers: xs.get(..call.inputs.len()).unwrap_or(&[]),
        out_pointers: cs.get(..call.outputs.len()).unwrap_or(&[]),
        receive_list_mode: call.receive_list_mode,
        payload: call.args,
        ..RequestSpec::default()
    };
    cmif::build_request(msg, &spec).map_err(ClientError::Build)
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
        T::read_from(self.data()).map_err(|_| ClientError::ShortReply { needed: T::SIZE, available: self.data_len })
    }
}

/// Parses the reply in `msg` (after `svcSendSyncRequest` returned success): checks the
/// SFCO magic, returns [`ClientError::Service`] for a failure result, and copies the X
/// descriptors and the out-data.
pub fn parse_reply(msg: &[u32]) -> Result<Reply, ClientError> {
    let reply = cmif::parse_reply(msg).map_err(ClientError::MalformedReply)?;
    if reply.result().is_failure() {
        return Err(ClientError::Service(reply.result()));
    }
    let mut out = Reply {
        pointers: [PointerDescriptor::default(); MAX_INPUTS],
        pointer_count: 0,
        data: [0; MAX_REPLY_DATA],
        data_len: reply.payload_len().min(MAX_REPLY_DATA),
    };
    for (slot, d) in out.pointers.iter_mut().zip(reply.message().pointer_descriptors()) {
        *slot = d;
        out.pointer_count += 1;
    }
    let data = out.data.get_mut(..out.data_len).unwrap_or(&mut []);
    reply.read_payload(0, data).map_err(ClientError::MalformedReply)?;
    Ok(out)
}

/// Parses a QueryPointerBufferSize reply: the server's pointer-buffer size.
pub fn parse_query_pointer_buffer_size(msg: &[u32]) -> Result<u16, ClientError> {
    Ok(parse_reply(msg)?.read::<QueryPointerBufferSizeResponse>()?.size)
}

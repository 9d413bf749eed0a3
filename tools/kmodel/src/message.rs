//! The kernel's message copy between two message buffers: mesosphere's
//! `KServerSession::ReceiveMessage` (request, client → server) and `SendMessage` (reply,
//! server → client), as plain Rust. Spec: `horizon-ipc.md` §1–§5, §7, §8, §10.
//!
//! This module copies one message. Queues, waiting, `ReceiveRequest`/`SendReply`
//! bookkeeping, closed sessions (0xf601) and "no current request" (0xfa01) belong to
//! the caller (the svc handlers of `SendSyncRequest` / `ReplyAndReceive`).
//!
//! # What the caller implements
//!
//! - [`MessageMemory`]: guest memory of both processes, addressed by ([`Side`],
//!   address). `read`/`write` are kernel accesses (fail only where nothing is mapped);
//!   `check_user_access` tells whether a range is user-readable or user-read-writable
//!   (normal, linear-mapped, cached memory). Failures return
//!   [`kernel::INVALID_CURRENT_MEMORY`] (0xd401); whatever `ResultCode` the
//!   implementation returns is passed on unchanged as the client's result.
//! - [`HandleTranslator`]: both processes' handle tables and process ids. `from` is the
//!   sending side; the new handle goes into the other side's table.
//!   - `copy_handle(from, h)`: look `h` up in `from`'s table *accepting the pseudo-handles*
//!     [`PSEUDO_HANDLE_CURRENT_THREAD`] (the sending thread) and
//!     [`PSEUDO_HANDLE_CURRENT_PROCESS`] (the sending process) (AMS-HT
//!     `GetObjectForIpc`); add the object to the peer's table and return the new handle.
//!     `Err(INVALID_HANDLE 0xe401)` for an unknown handle, `Err(OUT_OF_HANDLES 0xd201)`
//!     for a full table. Never called with handle 0 (0 stays 0 without a call).
//!   - `move_handle(from, h)`: same lookup but *without* pseudo-handles
//!     (`GetObjectForIpcWithoutPseudoHandle`: a pseudo-handle is `INVALID_HANDLE`); when
//!     found, add to the peer's table and remove `h` from `from`'s table — removed even
//!     if the add fails. Only called on the reply path (`from == Side::Server`).
//!   - `close_handle(side, h)`: remove `h` from `side`'s table; ignore handles that are
//!     not there. Used to drop moved handles after an earlier failure and to undo
//!     installed handles when a message fails. Never called with 0.
//!   - `process_id(side)`: that side's process id (the pid slot of §3.2 step 7).
//!
//! When client and server are one process (the client hosting the server on a thread),
//! both [`Side`]s name that process; the model never assumes they differ.
//!
//! # Entry points
//!
//! ```text
//! pub fn receive_message(mem: &mut impl MessageMemory, handles: &mut impl HandleTranslator,
//!                        dst: MessageBuffer /* server's */, src: MessageBuffer /* client's */)
//!     -> Result<TransferReport, ReceiveFailure>
//! pub fn send_message(mem: &mut impl MessageMemory, handles: &mut impl HandleTranslator,
//!                     src: MessageBuffer /* server's reply */,
//!                     dst: MessageBuffer /* client's, still holding its request */)
//!     -> Result<TransferReport, SendFailure>
//! ```
//!
//! A [`MessageBuffer`] is the (address, size) the kernel uses: the thread's TLS message
//! buffer, [`MessageBuffer::thread_local`] (size 0x100), for `SendSyncRequest` and
//! `ReplyAndReceive`; [`MessageBuffer::user`] for the `*WithUserBuffer` svcs (the svc
//! checks alignment itself, §1.1).
//!
//! Result routing (§3.4, §4 step 4, §10 item 5):
//! - `receive_message` `Err(f)`: the request is completed either way and the client's
//!   `SendSyncRequest` returns `f.client_result`; the server's `ReplyAndReceive` returns
//!   0x20401 with its index set when `f.server_sees == ServerOutcome::ReceiveListBroken`,
//!   and keeps waiting when it is `ServerOutcome::NotFound`. Before returning, the
//!   kernel's cleanup has run: handles installed in the server are closed and their slots
//!   (and the pid slot) zeroed, and — only for `NotFound` — the server's header words 0–1
//!   (and its special header word) are restored, so its receive list is armed as before.
//!   Failures found before anything is written (size checks, move handles) are always
//!   `NotFound`.
//! - `send_message` `Err(f)`: the client's `SendSyncRequest` returns `f.client_result`;
//!   **the server's reply still succeeds** and it goes on to receive.
//!
//! [`TransferReport`] counts what was copied (header, special data, X payload, raw data)
//! and lists each X's placement, for the bench's "bytes copied per echo16" figure.
//!
//! # Map-alias (A/B/W) buffers
//!
//! This model does not map memory between processes. A zero-size A/B/W passes and is
//! rewritten `{address 0, size 0, same attribute}`; attribute 2 fails with
//! InvalidCombination 0xe801 as in the kernel; **a non-zero A/B/W fails with
//! OutOfAddressSpace 0x20601** ([`MAP_ALIAS_NOT_SUPPORTED`]) and
//! [`FailedStep::MapAliasNotSupported`], so logs can tell it from a real kernel failure.
//! Replies with any A/B/W fail with 0xe801 (§4).
//!
//! # Where the model reads messages
//!
//! The source message is read from its buffer up to its raw-data end
//! (`raw_idx + RawCount`); the destination's header and receive list are read from the
//! destination buffer. Every read and write goes through [`MessageMemory`]; a failing
//! access to a message buffer itself (the emulator gave an unmapped TLS address) fails
//! the message with the memory's result and [`FailedStep::MessageBufferAccess`].
#![forbid(unsafe_code)]

use core::fmt;

use xcbuf_common::hipc::{
    ADDRESS_MAX, MAP_ALIAS_DESCRIPTOR_WORDS, MapAliasAttribute, MapAliasDescriptor, MessageHeader, MessageLayout,
    POINTER_DESCRIPTOR_WORDS, PROCESS_ID_WORDS, PointerDescriptor, RECEIVE_LIST_ENTRY_WORDS, ReceiveListEntry,
    ReceiveListMode, SpecialHeader, TLS_MESSAGE_BUFFER_SIZE,
};
use xcbuf_common::result::{ResultCode, kernel};

use crate::receive_list::ReceiveList;

// Ryujinx's copy (`--kernel ryujinx`): same bytes on success, other failure paths.
pub mod ryujinx;

/// The pseudo-handles for the calling thread and process (AMS-HT; `horizon-ipc.md` §3.2
/// step 7), defined with the codec.
pub use xcbuf_common::hipc::{PSEUDO_HANDLE_CURRENT_PROCESS, PSEUDO_HANDLE_CURRENT_THREAD};
/// The invalid handle: a handle slot holding 0 stays 0 (§3.2 step 7).
pub const INVALID_HANDLE_VALUE: u32 = 0;
/// Top 16 bits of a pid slot value that Atmosphère passes through (§3.2 step 7,
/// AMS-SS "Atmosphere extends the official kernel").
pub const PROCESS_ID_PASSTHROUGH_MASK: u64 = 0xFFFF_0000_0000_0000;
/// The value those top 16 bits must have: 0xFFFE.
pub const PROCESS_ID_PASSTHROUGH_VALUE: u64 = 0xFFFE_0000_0000_0000;
/// What a non-zero A/B/W gives in this model, which does not map memory: the kernel's
/// map-alias failure OutOfAddressSpace 0x20601 (§8). See the module doc.
pub const MAP_ALIAS_NOT_SUPPORTED: ResultCode = kernel::OUT_OF_ADDRESS_SPACE;

/// Which process of the session a memory access or handle is about.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Side {
    /// The process that sent the request (`svcSendSyncRequest`).
    Client,
    /// The process that receives it and replies (`svcReplyAndReceive`).
    Server,
}

impl Side {
    /// The other side.
    pub const fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// The user permission an X copy needs (§3.3 "Memory checks", §4 step 3).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum UserAccess {
    /// User-readable: the source of every X copy.
    Read,
    /// User-read-writable: the destination of every X copy (server pointer buffer or
    /// client C buffer).
    ReadWrite,
}

/// Guest memory of both processes of a session.
pub trait MessageMemory {
    /// Kernel read of `out.len()` bytes at `address` in `side`'s address space.
    /// `Err(INVALID_CURRENT_MEMORY)` when any byte is unmapped.
    fn read(&mut self, side: Side, address: u64, out: &mut [u8]) -> Result<(), ResultCode>;
    /// Kernel write of `data` at `address` in `side`'s address space.
    /// `Err(INVALID_CURRENT_MEMORY)` when any byte is unmapped.
    fn write(&mut self, side: Side, address: u64, data: &[u8]) -> Result<(), ResultCode>;
    /// `Ok` when all of `[address, address + size)` is mapped in `side` as normal
    /// (linear-mapped, cached) memory the user may access with `access`;
    /// `Err(INVALID_CURRENT_MEMORY)` otherwise. Called with `size > 0` only, and only for
    /// ranges that do not wrap.
    fn check_user_access(&mut self, side: Side, address: u64, size: u64, access: UserAccess) -> Result<(), ResultCode>;
}

/// Handle tables and process ids of both processes of a session (see the module doc).
pub trait HandleTranslator {
    /// The process id of `side`.
    fn process_id(&mut self, side: Side) -> u64;
    /// Copies `handle` (non-zero; pseudo-handles accepted) from `from`'s table into the
    /// peer's table; returns the peer's new handle.
    fn copy_handle(&mut self, from: Side, handle: u32) -> Result<u32, ResultCode>;
    /// Moves `handle` (non-zero; pseudo-handles refused) from `from`'s table into the
    /// peer's table; returns the peer's new handle.
    fn move_handle(&mut self, from: Side, handle: u32) -> Result<u32, ResultCode>;
    /// Removes `handle` (non-zero) from `side`'s table, if it is there.
    fn close_handle(&mut self, side: Side, handle: u32);
}

/// Whether a message buffer is the thread's TLS buffer or a `*WithUserBuffer` buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum MessageBufferKind {
    /// The calling thread's TLS message buffer (0x100 bytes, §1.1).
    ThreadLocal,
    /// A page-aligned buffer given to a `*WithUserBuffer` svc (§1.1). In mode 1 the
    /// kernel writes X data into it without a user-permission check (§3.3).
    User,
}

/// A message buffer in guest memory: `(address, size)` as the kernel sees it (§10 item 1).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct MessageBuffer {
    /// Guest address of word 0.
    pub address: u64,
    /// Size in bytes.
    pub size: u64,
    /// TLS or user buffer.
    pub kind: MessageBufferKind,
}

impl MessageBuffer {
    /// The TLS message buffer at `address` (size 0x100, §1.1).
    pub const fn thread_local(address: u64) -> MessageBuffer {
        MessageBuffer { address, size: TLS_MESSAGE_BUFFER_SIZE as u64, kind: MessageBufferKind::ThreadLocal }
    }

    /// A user message buffer (`*WithUserBuffer` svcs).
    pub const fn user(address: u64, size: u64) -> MessageBuffer {
        MessageBuffer { address, size, kind: MessageBufferKind::User }
    }

    fn is_user(&self) -> bool {
        self.kind == MessageBufferKind::User
    }
}

/// Where one X descriptor's bytes went.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PointerTransfer {
    /// The X's index (bits 0–3).
    pub index: u8,
    /// Source address (sender's memory).
    pub source: u64,
    /// Destination address (receiver's memory); 0 for a zero-size X.
    pub destination: u64,
    /// Bytes copied.
    pub size: u16,
}

/// What a successful copy transferred.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct TransferReport {
    /// Header words 0–1: always 8.
    pub header_bytes: u64,
    /// Special header plus its data (pid slot, handles): `4 * (1 + data words)`, or 0.
    pub special_bytes: u64,
    /// X payload bytes copied (sum of the X sizes).
    pub pointer_bytes: u64,
    /// X descriptors processed (zero-size ones included).
    pub pointer_count: usize,
    /// A/B/W descriptors processed (all zero-size; see the module doc).
    pub map_alias_count: usize,
    /// Raw data bytes: `4 * RawCount`.
    pub raw_bytes: u64,
    /// Each X in message order.
    pub pointers: Vec<PointerTransfer>,
}

impl TransferReport {
    /// Every byte the copy moved: header, special data, X payloads and raw data (the
    /// rewritten descriptor words are not counted).
    pub fn total_bytes(&self) -> u64 {
        self.header_bytes
            .saturating_add(self.special_bytes)
            .saturating_add(self.pointer_bytes)
            .saturating_add(self.raw_bytes)
    }
}

/// What the server's `ReplyAndReceive` sees when a request fails (§3.4).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum ServerOutcome {
    /// The kernel wrote at or past the server's receive list: the svc returns
    /// ReceiveListBroken 0x20401 with the session's index.
    ReceiveListBroken,
    /// The receive list is intact and the header was restored: the svc keeps waiting
    /// (internal NotFound 0xf201, never returned to the server).
    NotFound,
}

impl ServerOutcome {
    /// 0x20401 or 0xf201.
    pub const fn result(self) -> ResultCode {
        match self {
            ServerOutcome::ReceiveListBroken => kernel::RECEIVE_LIST_BROKEN,
            ServerOutcome::NotFound => kernel::NOT_FOUND,
        }
    }
}

/// The step of the copy that failed (for logs and tests; the results are the kernel's).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum FailedStep {
    /// A message buffer wraps around the address space, or reading/writing a message
    /// buffer itself failed.
    MessageBufferAccess,
    /// §3.2 step 3 / §4 step 3: a message does not fit its buffer (0xe801), the
    /// destination's ReceiveListOffset lies inside its raw data (0xe801), or the
    /// destination is smaller than the source's raw-data end (0x20801).
    SizeCheck,
    /// §3.2 step 5: a request carries move handles (0xe801).
    MoveHandleFromClient,
    /// §4 step 3: a reply carries A/B/W descriptors (0xe801).
    ReplyWithMapAlias,
    /// §3.2 step 7 / §4 step 3: a handle could not be translated (0xe401, 0xd201).
    SpecialData,
    /// The X descriptor at this position (0-based) had no receive buffer (0xce01) or
    /// its memory was invalid (0xd401).
    Pointer {
        /// Position among the message's X descriptors.
        descriptor: usize,
    },
    /// The A/B/W descriptor at this position (A first, then B, then W) has attribute 2
    /// (0xe801).
    MapAlias {
        /// Position among the message's A/B/W descriptors.
        descriptor: usize,
    },
    /// A non-zero A/B/W: this model does not map memory (0x20601, see the module doc).
    MapAliasNotSupported {
        /// Position among the message's A/B/W descriptors.
        descriptor: usize,
    },
    /// Copying the raw data failed.
    RawData,
}

impl fmt::Display for FailedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            FailedStep::MessageBufferAccess => write!(f, "message buffer access"),
            FailedStep::SizeCheck => write!(f, "message size checks"),
            FailedStep::MoveHandleFromClient => write!(f, "move handles in a request"),
            FailedStep::ReplyWithMapAlias => write!(f, "A/B/W descriptors in a reply"),
            FailedStep::SpecialData => write!(f, "special data (pid, handles)"),
            FailedStep::Pointer { descriptor } => write!(f, "X descriptor {descriptor}"),
            FailedStep::MapAlias { descriptor } => write!(f, "A/B/W descriptor {descriptor}"),
            FailedStep::MapAliasNotSupported { descriptor } => write!(
                f,
                "A/B/W descriptor {descriptor}: non-zero map-alias buffers are not supported by the kernel model"
            ),
            FailedStep::RawData => write!(f, "raw data"),
        }
    }
}

/// A failed request copy (`receive_message`), routed as in §3.4.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct ReceiveFailure {
    /// The client's `SendSyncRequest` result.
    pub client_result: ResultCode,
    /// What the server's `ReplyAndReceive` sees.
    pub server_sees: ServerOutcome,
    /// Which step failed.
    pub step: FailedStep,
}

impl fmt::Display for ReceiveFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "request copy failed at {}: client gets {}, server gets {}",
            self.step,
            self.client_result,
            self.server_sees.result()
        )
    }
}

impl core::error::Error for ReceiveFailure {}

/// A failed reply copy (`send_message`): the client gets `client_result`, the server
/// gets success (§4 step 4).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct SendFailure {
    /// The client's `SendSyncRequest` result.
    pub client_result: ResultCode,
    /// Which step failed.
    pub step: FailedStep,
}

impl fmt::Display for SendFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reply copy failed at {}: client gets {}, server gets success", self.step, self.client_result)
    }
}

impl core::error::Error for SendFailure {}

/// A failure inside the copy, before it is routed.
type StepResult<T> = Result<T, (ResultCode, FailedStep)>;

/// `words * 4` as a byte count; saturates so that size comparisons stay correct.
fn words_to_bytes(words: usize) -> u64 {
    u64::try_from(words).ok().and_then(|w| w.checked_mul(4)).unwrap_or(u64::MAX)
}

/// Address of word `word` of `buf`, or `None` when it would pass 2^64.
fn word_address(buf: MessageBuffer, word: usize) -> Option<u64> {
    buf.address.checked_add(words_to_bytes(word))
}

/// Reads `count` words starting at word `first` of `buf`.
fn read_words(
    mem: &mut impl MessageMemory,
    side: Side,
    buf: MessageBuffer,
    first: usize,
    count: usize,
) -> StepResult<Vec<u32>> {
    let fail = |rc| (rc, FailedStep::MessageBufferAccess);
    let address = word_address(buf, first).ok_or(fail(kernel::INVALID_CURRENT_MEMORY))?;
    let len = count.checked_mul(4).ok_or(fail(kernel::INVALID_CURRENT_MEMORY))?;
    let mut bytes = vec![0u8; len];
    mem.read(side, address, &mut bytes).map_err(fail)?;
    Ok(bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Writes `words` starting at word `first` of `buf`.
fn write_words(
    mem: &mut impl MessageMemory,
    side: Side,
    buf: MessageBuffer,
    first: usize,
    words: &[u32],
    step: FailedStep,
) -> StepResult<()> {
    let address = word_address(buf, first).ok_or((kernel::INVALID_CURRENT_MEMORY, step))?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    mem.write(side, address, &bytes).map_err(|rc| (rc, step))
}

/// A message's header as the kernel parses it: the raw words (restored and copied
/// verbatim, reserved bits included) and the layout computed from them (§1.4).
#[derive(Clone, Copy, Debug)]
struct ParsedHeader {
    words: [u32; 2],
    special_word: Option<u32>,
    layout: MessageLayout,
}

impl ParsedHeader {
    fn header(&self) -> MessageHeader {
        self.layout.header()
    }

    fn special(&self) -> Option<SpecialHeader> {
        self.layout.special_header()
    }

    /// `GetMessageBufferSize(header, special) <= buffer size` (§3.2 step 3).
    fn fits(&self, buf: MessageBuffer) -> bool {
        words_to_bytes(self.layout.message_size_words()) <= buf.size
    }

    /// A non-zero ReceiveListOffset must be at or after the raw-data end (§2.3, §3.2).
    fn receive_list_offset_is_valid(&self) -> bool {
        self.layout.check_receive_list_offset().is_ok()
    }
}

/// Parses the header (and special header) of the message in `buf`.
///
/// A buffer too small to hold a word that the header needs parses as if that word were
/// absent; the size checks then refuse it (every message is at least 8 bytes, 12 with a
/// special header), exactly where the kernel's checks would.
fn read_header(mem: &mut impl MessageMemory, side: Side, buf: MessageBuffer) -> StepResult<ParsedHeader> {
    let mut words = [0u32; 2];
    if buf.size >= 8 {
        let w = read_words(mem, side, buf, 0, 2)?;
        words.copy_from_slice(&w);
    }
    let header = MessageHeader::decode(words);
    let mut special_word = None;
    if header.has_special_header {
        let word = if buf.size >= 12 { read_words(mem, side, buf, 2, 1)?[0] } else { 0 };
        special_word = Some(word);
    }
    let layout = MessageLayout::new(header, special_word.map(SpecialHeader::decode));
    Ok(ParsedHeader { words, special_word, layout })
}

/// `Ok` unless `[buf.address, buf.address + buf.size)` wraps (§1.1: the svc's wrap check
/// gives InvalidCurrentMemory).
fn check_buffer_does_not_wrap(buf: MessageBuffer) -> StepResult<()> {
    if buf.address.checked_add(buf.size).is_none() {
        return Err((kernel::INVALID_CURRENT_MEMORY, FailedStep::MessageBufferAccess));
    }
    Ok(())
}

/// Builds the destination's `ReceiveList` before anything is written (§3.2 step 4,
/// §4 step 3): its mode and C entries, `msg_buffer_end = dst + 4 * src_end_offset` and
/// `msg_buffer_space_end = dst + dst_size`.
fn snapshot_receive_list(
    mem: &mut impl MessageMemory,
    side: Side,
    dst: MessageBuffer,
    dst_header: &ParsedHeader,
    src_end_offset: usize,
) -> StepResult<ReceiveList> {
    let mode = dst_header.header().receive_list_mode;
    let count = mode.entry_count();
    let words = read_words(mem, side, dst, dst_header.layout.recv_list_idx(), count * RECEIVE_LIST_ENTRY_WORDS)?;
    let entries: Vec<ReceiveListEntry> =
        words.chunks_exact(RECEIVE_LIST_ENTRY_WORDS).map(|c| ReceiveListEntry::decode([c[0], c[1]])).collect();
    // Both sums stay inside the destination buffer, which was checked not to wrap and to
    // be at least 4 * src_end_offset bytes long.
    let overflow = (kernel::INVALID_CURRENT_MEMORY, FailedStep::MessageBufferAccess);
    let msg_buffer_end = word_address(dst, src_end_offset).ok_or(overflow)?;
    let msg_buffer_space_end = dst.address.checked_add(dst.size).ok_or(overflow)?;
    Ok(ReceiveList::new(mode, &entries, msg_buffer_end, msg_buffer_space_end))
}

/// The checks of §3.2 step 3 (request) and §4 step 3 (reply), in the kernel's order.
/// The request checks the destination first, the reply the source first (AMS-SS); both
/// fail with the same result, so only the order of the later checks is visible.
fn check_sizes(
    fit_checks: [(&ParsedHeader, MessageBuffer); 2],
    dst: (&ParsedHeader, MessageBuffer),
    src_end_offset: usize,
) -> StepResult<()> {
    let fail = |rc| Err((rc, FailedStep::SizeCheck));
    for (header, buf) in fit_checks {
        if !header.fits(buf) {
            return fail(kernel::INVALID_COMBINATION);
        }
    }
    if !dst.0.receive_list_offset_is_valid() {
        return fail(kernel::INVALID_COMBINATION);
    }
    if dst.1.size < words_to_bytes(src_end_offset) {
        return fail(kernel::MESSAGE_TOO_LARGE);
    }
    Ok(())
}

/// Which way a message goes; selects the per-direction rules.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Direction {
    /// Client → server (`ReceiveMessage`).
    Request,
    /// Server → client (`SendMessage`).
    Reply,
}

impl Direction {
    fn source(self) -> Side {
        match self {
            Direction::Request => Side::Client,
            Direction::Reply => Side::Server,
        }
    }

    fn destination(self) -> Side {
        self.source().peer()
    }
}

/// The state of one copy: the two buffers, the source message's words and the
/// destination's receive list.
struct MessageCopy<'a, M: MessageMemory, H: HandleTranslator> {
    mem: &'a mut M,
    handles: &'a mut H,
    direction: Direction,
    dst: MessageBuffer,
    src_words: Vec<u32>,
    src_header: ParsedHeader,
    recv_list: ReceiveList,
    /// The kernel's `dst_user && mode == ToMessageBuffer`: X data goes into a locked
    /// user message buffer, written without a user-permission check (§3.3).
    dst_is_user_message_buffer: bool,
    report: TransferReport,
}

impl<M: MessageMemory, H: HandleTranslator> MessageCopy<'_, M, H> {
    fn src_word(&self, idx: usize) -> u32 {
        // Every index read lies below src_end_offset, and src_words holds exactly that
        // many words; a missing word reads as 0 rather than panicking.
        self.src_words.get(idx).copied().unwrap_or(0)
    }

    fn write(&mut self, first: usize, words: &[u32], step: FailedStep) -> StepResult<()> {
        write_words(self.mem, self.direction.destination(), self.dst, first, words, step)
    }

    /// Header words 0–1, verbatim (§3.2 step 6, §4 step 3). Returns the next offset (2).
    fn set_header(&mut self) -> StepResult<usize> {
        let words = self.src_header.words;
        self.write(0, &words, FailedStep::MessageBufferAccess)?;
        self.report.header_bytes = 8;
        Ok(2)
    }

    /// `ProcessMessageSpecialData` (§3.2 step 7, §4 step 3). Writes every word of the
    /// special data even after a handle fails (later handles become 0), as the kernel
    /// does, then returns the first failure. `offset` ends past the special data.
    fn process_special_data(&mut self, offset: &mut usize) -> StepResult<()> {
        let (Some(special_word), Some(special)) = (self.src_header.special_word, self.src_header.special()) else {
            return Ok(());
        };
        let from = self.direction.source();
        let layout = self.src_header.layout;
        let mut words = Vec::with_capacity(1 + special.data_words());
        words.push(special_word);
        if special.send_pid {
            let pid_idx = layout.special_data_idx();
            let value = u64::from(self.src_word(pid_idx)) | u64::from(self.src_word(pid_idx + 1)) << 32;
            let pid = if value & PROCESS_ID_PASSTHROUGH_MASK == PROCESS_ID_PASSTHROUGH_VALUE {
                value & !PROCESS_ID_PASSTHROUGH_MASK
            } else {
                self.handles.process_id(from)
            };
            // Low word first: the slot is a little-endian u64.
            words.push((pid & 0xFFFF_FFFF) as u32);
            words.push((pid >> 32) as u32);
        }
        let mut result: Result<(), ResultCode> = Ok(());
        for i in 0..layout.copy_handle_count() {
            let src_handle = self.src_word(layout.copy_handle_idx() + i);
            let mut dst_handle = INVALID_HANDLE_VALUE;
            if result.is_ok() && src_handle != INVALID_HANDLE_VALUE {
                match self.handles.copy_handle(from, src_handle) {
                    Ok(h) => dst_handle = h,
                    Err(rc) => result = Err(rc),
                }
            }
            words.push(dst_handle);
        }
        for i in 0..layout.move_handle_count() {
            let src_handle = self.src_word(layout.move_handle_idx() + i);
            let mut dst_handle = INVALID_HANDLE_VALUE;
            if src_handle != INVALID_HANDLE_VALUE {
                if result.is_ok() {
                    match self.handles.move_handle(from, src_handle) {
                        Ok(h) => dst_handle = h,
                        Err(rc) => result = Err(rc),
                    }
                } else {
                    // Moved handles leave the sender even when the message fails.
                    self.handles.close_handle(from, src_handle);
                }
            }
            words.push(dst_handle);
        }
        let first = layout.special_header_idx().unwrap_or(2);
        self.write(first, &words, FailedStep::SpecialData)?;
        *offset = first + words.len();
        self.report.special_bytes = words_to_bytes(words.len());
        result.map_err(|rc| (rc, FailedStep::SpecialData))
    }

    /// `ProcessReceiveMessagePointerDescriptors` / `ProcessSendMessagePointerDescriptors`
    /// (§3.3, §4 step 3). `offset` moves past the descriptor before the copy, so a
    /// failing X still counts as written for the broken-list rule (§3.4).
    fn process_pointer(&mut self, descriptor: usize, offset: &mut usize, key: &mut u64) -> StepResult<()> {
        let cur = *offset;
        let src_desc = PointerDescriptor::decode([self.src_word(cur), self.src_word(cur + 1)]);
        *offset = cur + POINTER_DESCRIPTOR_WORDS;
        let step = FailedStep::Pointer { descriptor };
        let size = src_desc.size();
        let mut recv_pointer = 0;
        if size > 0 {
            if self.recv_list.is_index() {
                *key = u64::from(src_desc.index());
            }
            recv_pointer = self.recv_list.get_buffer(u64::from(size), key).ok_or((kernel::OUT_OF_RESOURCE, step))?;
            self.copy_pointer_data(src_desc.address(), recv_pointer, u64::from(size)).map_err(|rc| (rc, step))?;
        }
        // The kernel rebuilds the descriptor: reserved bits 4–5 and 9–11 become zero.
        let dst_desc = PointerDescriptor::new(src_desc.index(), recv_pointer, u64::from(size))
            .map_err(|_| (kernel::INVALID_CURRENT_MEMORY, step))?;
        self.write(cur, &dst_desc.encode(), step)?;
        self.report.pointer_count += 1;
        self.report.pointer_bytes = self.report.pointer_bytes.saturating_add(u64::from(size));
        self.report.pointers.push(PointerTransfer {
            index: src_desc.index(),
            source: src_desc.address(),
            destination: recv_pointer,
            size,
        });
        Ok(())
    }

    /// Copies one X's bytes with the kernel's memory checks (§3.3 "Memory checks", §4):
    /// the source must be user-readable, the destination user-read-writable (except a
    /// mode-1 user message buffer). Page 0 is never mapped in a Horizon process, so a
    /// null source fails here whatever the emulator maps.
    fn copy_pointer_data(&mut self, src_address: u64, dst_address: u64, size: u64) -> Result<(), ResultCode> {
        let from = self.direction.source();
        let to = self.direction.destination();
        if src_address == 0 {
            return Err(kernel::INVALID_CURRENT_MEMORY);
        }
        let src_end = src_address.checked_add(size).ok_or(kernel::INVALID_CURRENT_MEMORY)?;
        let dst_end = dst_address.checked_add(size).ok_or(kernel::INVALID_CURRENT_MEMORY)?;
        if src_end > ADDRESS_MAX + 1 || dst_end > ADDRESS_MAX + 1 {
            return Err(kernel::INVALID_CURRENT_MEMORY);
        }
        let check_dst = !self.dst_is_user_message_buffer;
        match self.direction {
            // CopyMemoryFromLinearToUser: source state first, then the user write.
            Direction::Request => {
                self.mem.check_user_access(from, src_address, size, UserAccess::Read)?;
                if check_dst {
                    self.mem.check_user_access(to, dst_address, size, UserAccess::ReadWrite)?;
                }
            }
            // CopyMemoryFromUserToLinear: destination state first, then the user read.
            Direction::Reply => {
                if check_dst {
                    self.mem.check_user_access(to, dst_address, size, UserAccess::ReadWrite)?;
                }
                self.mem.check_user_access(from, src_address, size, UserAccess::Read)?;
            }
        }
        let len = usize::try_from(size).map_err(|_| kernel::INVALID_CURRENT_MEMORY)?;
        let mut bytes = vec![0u8; len];
        self.mem.read(from, src_address, &mut bytes)?;
        self.mem.write(to, dst_address, &bytes)
    }

    /// `ProcessReceiveMessageMapAliasDescriptors` (§3.2 step 9) for this model, which does
    /// not map memory: attribute 2 fails with 0xe801 (checked before the size, as the
    /// kernel's `GetMapAliasMemoryState`), zero-size passes as `{0, 0, attribute}`,
    /// non-zero fails with [`MAP_ALIAS_NOT_SUPPORTED`].
    fn process_map_alias(&mut self, descriptor: usize, offset: &mut usize) -> StepResult<()> {
        let cur = *offset;
        let src_desc = MapAliasDescriptor::decode([self.src_word(cur), self.src_word(cur + 1), self.src_word(cur + 2)]);
        *offset = cur + MAP_ALIAS_DESCRIPTOR_WORDS;
        let attribute = src_desc.attribute();
        if attribute == MapAliasAttribute::Invalid {
            return Err((kernel::INVALID_COMBINATION, FailedStep::MapAlias { descriptor }));
        }
        if src_desc.size() > 0 {
            return Err((MAP_ALIAS_NOT_SUPPORTED, FailedStep::MapAliasNotSupported { descriptor }));
        }
        let dst_desc = MapAliasDescriptor::new(0, 0, attribute)
            .map_err(|_| (kernel::INVALID_COMBINATION, FailedStep::MapAlias { descriptor }))?;
        self.write(cur, &dst_desc.encode(), FailedStep::MapAlias { descriptor })?;
        self.report.map_alias_count += 1;
        Ok(())
    }

    /// Raw data: RawCount words, verbatim, to the same word offsets (§3.2 step 10).
    fn process_raw_data(&mut self, offset: usize) -> StepResult<()> {
        let raw_count = self.src_header.layout.raw_count();
        let end = offset.checked_add(raw_count).ok_or((kernel::INVALID_COMBINATION, FailedStep::RawData))?;
        let words: Vec<u32> = (offset..end).map(|i| self.src_word(i)).collect();
        self.write(offset, &words, FailedStep::RawData)?;
        self.report.raw_bytes = words_to_bytes(raw_count);
        Ok(())
    }
}

/// `CleanupSpecialData`: re-parses the message now in `buf` (its special data was
/// written by this copy), zeroes the pid slot and every handle slot and closes each
/// non-zero handle in `side`'s table. Does nothing if that message does not fit `buf`.
/// Best effort: a failing memory access stops it (the kernel's cleanup cannot fail).
fn cleanup_special_data(
    mem: &mut impl MessageMemory,
    handles: &mut impl HandleTranslator,
    side: Side,
    buf: MessageBuffer,
) {
    let Ok(parsed) = read_header(mem, side, buf) else { return };
    if !parsed.fits(buf) {
        return;
    }
    let layout = parsed.layout;
    if let Some(pid_idx) = layout.process_id_idx()
        && write_words(mem, side, buf, pid_idx, &[0; PROCESS_ID_WORDS], FailedStep::SpecialData).is_err()
    {
        return;
    }
    let first = layout.copy_handle_idx();
    let count = layout.copy_handle_count() + layout.move_handle_count();
    let Ok(slots) = read_words(mem, side, buf, first, count) else { return };
    for &handle in &slots {
        if handle != INVALID_HANDLE_VALUE {
            handles.close_handle(side, handle);
        }
    }
    let _ = write_words(mem, side, buf, first, &vec![0; count], FailedStep::SpecialData);
}

/// `CleanupServerHandles`: a reply that failed before its special data was processed
/// still gives up its move handles: close them in the server's table.
fn cleanup_server_handles(mem: &mut impl MessageMemory, handles: &mut impl HandleTranslator, buf: MessageBuffer) {
    let Ok(parsed) = read_header(mem, Side::Server, buf) else { return };
    if !parsed.fits(buf) || parsed.special().is_none() {
        return;
    }
    let layout = parsed.layout;
    let Ok(slots) = read_words(mem, Side::Server, buf, layout.move_handle_idx(), layout.move_handle_count()) else {
        return;
    };
    for &handle in &slots {
        if handle != INVALID_HANDLE_VALUE {
            handles.close_handle(Side::Server, handle);
        }
    }
}

/// `CleanupServerHandles` as `KServerSession::SendReply` runs it instead of the copy when
/// the client is gone (no client thread, or the client side closed): the move handles of
/// the server's reply in `buf` are closed in the server's table (copy handles stay).
/// `Err(INVALID_COMBINATION 0xe801)` when the message does not fit `buf` (nothing is
/// closed then); the caller routes the result (the server sees success on that error,
/// SessionClosed otherwise).
pub fn cleanup_reply_to_closed_client(
    mem: &mut impl MessageMemory,
    handles: &mut impl HandleTranslator,
    buf: MessageBuffer,
) -> Result<(), ResultCode> {
    let parsed = read_header(mem, Side::Server, buf).map_err(|(r, _)| r)?;
    if !parsed.fits(buf) {
        return Err(kernel::INVALID_COMBINATION);
    }
    cleanup_server_handles(mem, handles, buf);
    Ok(())
}

/// The request copy, mesosphere `KServerSession::ReceiveMessage` (§3.2–§3.4): copies the
/// client's request in `src` into the server's message buffer `dst`, using the receive
/// list the server armed in `dst`.
///
/// On success the server's buffer holds the client's header words, the special data
/// (pid injected, copy handles translated), the X descriptors rewritten to where their
/// bytes now are in the server (`{address, size, index}`, reserved bits zero), the A/B/W
/// descriptors (zero-size only, see the module doc) and the raw data. Nothing after the
/// raw data is written: the client's C entries never reach the server.
///
/// On failure see [`ReceiveFailure`] and the module doc for the routing; the server's
/// header words (and special header word) are restored unless its receive list was
/// written over (`server_sees == ReceiveListBroken`).
pub fn receive_message(
    mem: &mut impl MessageMemory,
    handles: &mut impl HandleTranslator,
    dst: MessageBuffer,
    src: MessageBuffer,
) -> Result<TransferReport, ReceiveFailure> {
    let before_writes =
        |(client_result, step)| ReceiveFailure { client_result, server_sees: ServerOutcome::NotFound, step };
    check_buffer_does_not_wrap(dst).map_err(before_writes)?;
    check_buffer_does_not_wrap(src).map_err(before_writes)?;

    // 1. Parse both headers: the server's own (its receive list) and the client's.
    let dst_header = read_header(mem, Side::Server, dst).map_err(before_writes)?;
    let src_header = read_header(mem, Side::Client, src).map_err(before_writes)?;
    // 2. The end of the client's raw data.
    let src_end_offset = src_header.layout.raw_end_idx();
    // 3. Size checks: dst fits, src fits, dst receive-list offset, MessageTooLarge.
    check_sizes([(&dst_header, dst), (&src_header, src)], (&dst_header, dst), src_end_offset).map_err(before_writes)?;
    // 4. The server's receive list, before anything is written.
    let dst_recv_list_idx = dst_header.layout.recv_list_idx();
    let recv_list =
        snapshot_receive_list(mem, Side::Server, dst, &dst_header, src_end_offset).map_err(before_writes)?;
    // 5. A client may not send move handles.
    if src_header.layout.move_handle_count() != 0 {
        return Err(before_writes((kernel::INVALID_COMBINATION, FailedStep::MoveHandleFromClient)));
    }
    let src_words = read_words(mem, Side::Client, src, 0, src_end_offset).map_err(before_writes)?;

    let dst_is_user_message_buffer =
        dst.is_user() && dst_header.header().receive_list_mode == ReceiveListMode::ToMessageBuffer;
    let mut copy = MessageCopy {
        mem,
        handles,
        direction: Direction::Request,
        dst,
        src_words,
        src_header,
        recv_list,
        dst_is_user_message_buffer,
        report: TransferReport::default(),
    };
    let mut recv_list_broken = false;
    let outcome = receive_body(&mut copy, dst_recv_list_idx, &mut recv_list_broken);
    let Err((client_result, step)) = outcome else {
        return Ok(copy.report);
    };

    // The kernel's failure guard: undo mappings (none here), undo special data, restore
    // the server's header unless its receive list was written over.
    let mem = copy.mem;
    let handles = copy.handles;
    if src_header.header().has_special_header {
        cleanup_special_data(mem, handles, Side::Server, dst);
    }
    if !recv_list_broken {
        let _ = write_words(mem, Side::Server, dst, 0, &dst_header.words, step);
        if let Some(word) = dst_header.special_word {
            let _ = write_words(mem, Side::Server, dst, 2, &[word], step);
        }
    }
    let server_sees = if recv_list_broken { ServerOutcome::ReceiveListBroken } else { ServerOutcome::NotFound };
    Err(ReceiveFailure { client_result, server_sees, step })
}

/// Steps 6–10 of §3.2; sets `recv_list_broken` after every part that writes at or past
/// the server's `recv_list_idx` (§3.4), whether the part succeeded or not.
fn receive_body<M: MessageMemory, H: HandleTranslator>(
    copy: &mut MessageCopy<'_, M, H>,
    dst_recv_list_idx: usize,
    recv_list_broken: &mut bool,
) -> StepResult<()> {
    // 6. Header words 0–1, verbatim.
    let mut offset = copy.set_header()?;
    let mut pointer_key = 0u64;
    // 7. Special data.
    if copy.src_header.header().has_special_header {
        let r = copy.process_special_data(&mut offset);
        if offset > dst_recv_list_idx {
            *recv_list_broken = true;
        }
        r?;
    }
    // 8. X descriptors.
    for i in 0..usize::from(copy.src_header.header().pointer_count) {
        let r = copy.process_pointer(i, &mut offset, &mut pointer_key);
        if offset > dst_recv_list_idx {
            *recv_list_broken = true;
        }
        r?;
    }
    // 9. A, then B, then W.
    for i in 0..copy.src_header.header().map_alias_count() {
        let r = copy.process_map_alias(i, &mut offset);
        if offset > dst_recv_list_idx {
            *recv_list_broken = true;
        }
        r?;
    }
    // 10. Raw data.
    let raw_count = copy.src_header.layout.raw_count();
    if raw_count > 0 {
        let r = copy.process_raw_data(offset);
        if offset.saturating_add(raw_count) > dst_recv_list_idx {
            *recv_list_broken = true;
        }
        r?;
    }
    Ok(())
}

/// The reply copy, mesosphere `KServerSession::SendMessage` (§4): copies the server's
/// reply in `src` into the client's message buffer `dst`, which still holds the client's
/// original request — its ReceiveListCount, ReceiveListOffset and C entries are the
/// receive list the reply's X descriptors are matched against (in index mode, reply X
/// index `i` goes to the request's `C[i]`).
///
/// On success the client's buffer holds the reply header words verbatim, the special
/// data (the server's pid, copied and moved handles translated into the client), the X
/// descriptors rewritten to `{C address, size, index}` and the raw data.
///
/// On failure the client gets [`SendFailure::client_result`] and the server gets
/// success. Cleanup as the kernel's: handles already installed in the client are closed
/// and their slots zeroed, or — when the reply failed before its special data — the
/// move handles of the server's reply are closed in the server.
pub fn send_message(
    mem: &mut impl MessageMemory,
    handles: &mut impl HandleTranslator,
    src: MessageBuffer,
    dst: MessageBuffer,
) -> Result<TransferReport, SendFailure> {
    let to_failure = |(client_result, step)| SendFailure { client_result, step };
    let mut processed_special_data = false;
    let mut src_has_special = false;
    let outcome = send_inner(mem, handles, src, dst, &mut processed_special_data, &mut src_has_special);
    match outcome {
        Ok(report) => Ok(report),
        Err(failure) => {
            if processed_special_data {
                if src_has_special {
                    cleanup_special_data(mem, handles, Side::Client, dst);
                }
            } else {
                cleanup_server_handles(mem, handles, src);
            }
            Err(to_failure(failure))
        }
    }
}

fn send_inner(
    mem: &mut impl MessageMemory,
    handles: &mut impl HandleTranslator,
    src: MessageBuffer,
    dst: MessageBuffer,
    processed_special_data: &mut bool,
    src_has_special: &mut bool,
) -> StepResult<TransferReport> {
    check_buffer_does_not_wrap(src)?;
    check_buffer_does_not_wrap(dst)?;
    let src_header = read_header(mem, Side::Server, src)?;
    let dst_header = read_header(mem, Side::Client, dst)?;
    *src_has_special = src_header.header().has_special_header;
    let src_end_offset = src_header.layout.raw_end_idx();

    // Size checks: src fits, dst fits, dst receive-list offset, MessageTooLarge.
    check_sizes([(&src_header, src), (&dst_header, dst)], (&dst_header, dst), src_end_offset)?;
    // Replies must have no A/B/W.
    let header = src_header.header();
    for count in [header.send_count, header.receive_count, header.exchange_count] {
        if count != 0 {
            return Err((kernel::INVALID_COMBINATION, FailedStep::ReplyWithMapAlias));
        }
    }
    // The client's receive list, from its original request.
    let recv_list = snapshot_receive_list(mem, Side::Client, dst, &dst_header, src_end_offset)?;
    // B/W write-back: this model never maps, so a request never leaves B/W mappings.
    let src_words = read_words(mem, Side::Server, src, 0, src_end_offset)?;

    let dst_is_user_message_buffer =
        dst.is_user() && dst_header.header().receive_list_mode == ReceiveListMode::ToMessageBuffer;
    let mut copy = MessageCopy {
        mem,
        handles,
        direction: Direction::Reply,
        dst,
        src_words,
        src_header,
        recv_list,
        dst_is_user_message_buffer,
        report: TransferReport::default(),
    };
    let mut offset = copy.set_header()?;
    *processed_special_data = true;
    copy.process_special_data(&mut offset)?;
    let mut pointer_key = 0u64;
    for i in 0..usize::from(header.pointer_count) {
        copy.process_pointer(i, &mut offset, &mut pointer_key)?;
    }
    // Map-alias slots would be written as zero descriptors here; the check above leaves none.
    if header.raw_count > 0 {
        copy.process_raw_data(offset)?;
    }
    Ok(copy.report)
}

//! Commands as data: a service declares each command once, as a [`CommandMeta`] row of
//! its table ([`super::ServiceHandler::COMMANDS`]), and writes one handler function per
//! row. The row drives every check [`super::Server::handle`] makes before the handler
//! runs, the way libstratosphere's per-command metadata does
//! (`libraries/libstratosphere/include/stratosphere/sf/impl/sf_impl_command_serialization.hpp`:
//! `CommandMetaInfo` counts the in/out pointer buffers and sizes the raw data from the
//! method's signature, `HipcCommandProcessor::PrepareForProcess` rejects a request whose
//! descriptor counts or raw size do not match with InvalidCmifRequest, and
//! `ProcessBufferImpl` carves each out-pointer from the top of the pointer buffer). Here
//! the row is written by hand instead of derived from a C++ signature: it is what such a
//! macro would generate.
//!
//! The framework's limits over a table ([`max_in_x`], [`max_out_c`], [`max_reply_x`],
//! [`max_in_raw`], [`max_out_raw`], [`largest_reply_words`]) are computed from the rows;
//! [`table_fits`] checks them against what one message can carry and
//! [`super::Server::new`] refuses to compile with a table that does not fit.
//!
//! A handler sees the request through a [`Call`]:
//! - in-pointers ([`InPointer`]): each X located inside the pointer buffer, with its bytes;
//! - out-pointers ([`OutPointer`]): C entry *k*'s size-table size, carved from the top of
//!   the pointer buffer when the handler asks for it ([`Call::out_pointer`]), so a check
//!   the handler makes first (xcbuf's split point) comes before the carve's own failure;
//! - raw in ([`Call::in_raw`]) and raw out ([`Call::set_out_raw`]), typed by [`RawData`];
//! - the reply's X descriptors ([`Call::reply_out`], [`Call::reply_in_place`]), in the
//!   order the handler pushes them;
//! - what the server reports of itself ([`Call::status`]).
#![forbid(unsafe_code)]

use crate::hipc::{DESCRIPTOR_COUNT_MAX, PointerDescriptor, RECEIVE_LIST_ENTRY_COUNT_MAX, TLS_MESSAGE_BUFFER_SIZE};
use crate::result::{self, ResultCode};

use super::pointer_buffer::{Carver, PointerBufferRange, Region};
use super::raw::{QueryPointerBufferSizeResponse, RawData};
use super::{RECEIVE_LIST_OFFSET, ServerCounters, X_OUTSIDE_POINTER_BUFFER, reply_raw_words, reply_words};

/// A request the handler or its row got wrong (a handler asking for an out-pointer its
/// row does not declare, a raw struct larger than the row's size...), and descriptor
/// counts or raw sizes that do not match the row (0x3480b).
const INVALID_CMIF_REQUEST: ResultCode = result::hipc::INVALID_CMIF_REQUEST;

/// A command's body: the service's state and the request; Ok means a success reply with
/// what the handler put into the [`Call`], Err(result) an error reply with that result
/// and no X.
pub type Handler<S> = fn(&mut S, &mut Call<'_>) -> Result<(), ResultCode>;

/// One command of a service, declared once.
pub struct CommandMeta<S> {
    /// The CMIF command id.
    pub id: u32,
    /// Its name (for documentation and log lines).
    pub name: &'static str,
    /// Fewest and most X descriptors (in-pointers) a request may carry.
    pub in_x: (usize, usize),
    /// Out-pointers: C entries the client arms, each with a u16 size-table entry.
    pub out_c: usize,
    /// Bytes of raw in-data after the SFCI header (before the size table).
    pub in_raw: usize,
    /// Bytes of raw out-data after the SFCO header in a successful reply.
    pub out_raw: usize,
    /// Most X descriptors in a successful reply.
    pub reply_x: usize,
    /// The body.
    pub handler: Handler<S>,
}

impl<S> CommandMeta<S> {
    /// Words of this command's successful reply with all its X.
    pub const fn reply_words(&self) -> usize {
        reply_words(self.reply_x, self.out_raw)
    }
}

/// The row of the one control command (HIPC type 5) every server answers:
/// QueryPointerBufferSize, no X, no C, a `u16` out (horizon-ipc.md §5.2; libstratosphere
/// `source/sf/hipc/sf_i_hipc_manager.hpp` declares it as control command 3 with a `u16`
/// out, `sf_hipc_server_domain_session_manager.cpp` `QueryPointerBufferSize` answers it).
/// The other control commands are not answered: UnknownCommandId, as before.
pub const fn query_pointer_buffer_size_row<S>() -> CommandMeta<S> {
    CommandMeta {
        id: super::CONTROL_QUERY_POINTER_BUFFER_SIZE,
        name: "QueryPointerBufferSize",
        in_x: (0, 0),
        out_c: 0,
        in_raw: 0,
        out_raw: QueryPointerBufferSizeResponse::SIZE,
        reply_x: 0,
        handler: query_pointer_buffer_size,
    }
}

fn query_pointer_buffer_size<S>(_: &mut S, call: &mut Call<'_>) -> Result<(), ResultCode> {
    let size = u16::try_from(call.status().pointer_buffer_size).unwrap_or(u16::MAX);
    call.set_out_raw(&QueryPointerBufferSizeResponse { size })
}

// ---------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------

/// Most reply X one message can carry before the receive list at [`RECEIVE_LIST_OFFSET`]
/// (2 header words, 2 words per X, at least the SFCO-only raw data).
pub const REPLY_X_CAPACITY: usize = (RECEIVE_LIST_OFFSET - 2 - reply_raw_words(0)) / 2;
/// Most raw out-data bytes one reply can carry before the receive list (no X).
pub const OUT_RAW_CAPACITY: usize = (RECEIVE_LIST_OFFSET - 2) * 4 - 16 - 16;
/// Most raw in-data bytes a request can carry: the message buffer less the header words,
/// the padding budget and the SFCI header.
pub const IN_RAW_CAPACITY: usize = TLS_MESSAGE_BUFFER_SIZE - 8 - 16 - 16;

/// Most rows a command table may have: the dispatcher walks the table at compile time,
/// one arm per row ([`super::Server::handle`]).
pub const MAX_ROWS: usize = 16;

/// Row `i` of `table`, if it has one (evaluated at compile time by the dispatcher).
pub const fn nth_row<S>(table: &'static [CommandMeta<S>], i: usize) -> Option<&'static CommandMeta<S>> {
    let mut rows = table;
    let mut k = 0;
    while let [row, rest @ ..] = rows {
        if k == i {
            return Some(row);
        }
        rows = rest;
        k += 1;
    }
    None
}

/// Largest `f(row)` over a table (0 for an empty one).
macro_rules! table_max {
    ($table:expr, |$row:ident| $value:expr) => {{
        let mut rows = $table;
        let mut most = 0;
        while let [$row, rest @ ..] = rows {
            let v = $value;
            if v > most {
                most = v;
            }
            rows = rest;
        }
        most
    }};
}

/// Most X descriptors any command of `table` takes.
pub const fn max_in_x<S>(table: &[CommandMeta<S>]) -> usize {
    table_max!(table, |row| row.in_x.1)
}

/// Most out-pointers any command of `table` takes.
pub const fn max_out_c<S>(table: &[CommandMeta<S>]) -> usize {
    table_max!(table, |row| row.out_c)
}

/// Most X descriptors any successful reply of `table` carries.
pub const fn max_reply_x<S>(table: &[CommandMeta<S>]) -> usize {
    table_max!(table, |row| row.reply_x)
}

/// Largest raw in-data of `table`.
pub const fn max_in_raw<S>(table: &[CommandMeta<S>]) -> usize {
    table_max!(table, |row| row.in_raw)
}

/// Largest raw out-data of `table`.
pub const fn max_out_raw<S>(table: &[CommandMeta<S>]) -> usize {
    table_max!(table, |row| row.out_raw)
}

/// Words of the longest reply a server with `table` writes: over every command, the
/// control command and the error reply (SFCO only).
pub const fn largest_reply_words<S>(table: &[CommandMeta<S>]) -> usize {
    let commands = table_max!(table, |row| row.reply_words());
    let control = query_pointer_buffer_size_row::<S>().reply_words();
    let error = reply_words(0, 0);
    let mut most = commands;
    if control > most {
        most = control;
    }
    if error > most {
        most = error;
    }
    most
}

/// True when `table` has at most [`MAX_ROWS`] rows, every row fits what one message can
/// carry and the ids are unique: X counts within the header's 4 bits and `min <= max`, out-pointers within a
/// receive list's 13 entries, reply X and raw out within [`REPLY_X_CAPACITY`] and
/// [`OUT_RAW_CAPACITY`], raw in within [`IN_RAW_CAPACITY`], and every reply ending at or
/// before [`RECEIVE_LIST_OFFSET`] (so one `svcReplyAndReceive` replies and receives).
pub const fn table_fits<S>(table: &[CommandMeta<S>]) -> bool {
    if table.len() > MAX_ROWS {
        return false;
    }
    let mut rows = table;
    while let [row, rest @ ..] = rows {
        let fits = row.in_x.0 <= row.in_x.1
            && row.in_x.1 <= DESCRIPTOR_COUNT_MAX as usize
            && row.out_c <= RECEIVE_LIST_ENTRY_COUNT_MAX as usize
            && row.reply_x <= REPLY_X_CAPACITY
            && row.out_raw <= OUT_RAW_CAPACITY
            && row.in_raw <= IN_RAW_CAPACITY
            && row.reply_words() <= RECEIVE_LIST_OFFSET;
        if !fits {
            return false;
        }
        let mut others = rest;
        while let [other, more @ ..] = others {
            if other.id == row.id {
                return false;
            }
            others = more;
        }
        rows = rest;
    }
    largest_reply_words(table) <= RECEIVE_LIST_OFFSET
}

// ---------------------------------------------------------------------------------------
// What a handler sees
// ---------------------------------------------------------------------------------------

/// What the server reports of itself to a handler.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ServerStatus {
    /// Bytes of the pointer buffer.
    pub pointer_buffer_size: usize,
    /// Raw receive-list mode: 2, or 2 + entries.
    pub receive_mode_raw: u32,
    /// Most sessions open at once.
    pub session_limit: usize,
    /// Sessions open now.
    pub open_sessions: u32,
    /// Sessions ever opened.
    pub total_sessions: u32,
    /// The service-wide counters, this request counted as received (its bytes in
    /// included), not yet as answered.
    pub counters: ServerCounters,
}

/// An in-pointer: an X descriptor located inside the pointer buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct InPointer<'a> {
    /// The X's index field (the client's C index the kernel would use for it).
    pub index: u8,
    /// Where it lies ([`Region::EMPTY`] for a zero-size X, §3.3).
    pub region: Region,
    /// Its bytes, as the kernel copied them.
    pub bytes: &'a [u8],
}

impl InPointer<'_> {
    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.region.len
    }

    /// True for a zero-size X.
    pub fn is_empty(&self) -> bool {
        self.region.is_empty()
    }
}

/// An out-pointer: C entry `index`, carved from the top of the pointer buffer with the
/// size the client's size table asked for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct OutPointer {
    /// The C index (the reply X that fills it carries this index).
    pub index: u8,
    /// The carved region ([`Region::EMPTY`] when the size table said 0).
    pub region: Region,
}

impl OutPointer {
    /// Its size in bytes (the size-table entry).
    pub fn len(&self) -> usize {
        self.region.len
    }

    /// True when the client asked for nothing.
    pub fn is_empty(&self) -> bool {
        self.region.is_empty()
    }
}

/// A successful command's reply, staged while the request is still in the message
/// buffer: X descriptors (as the words the reply carries) and out-data. The server keeps
/// one and resets it per request ([`Reply::reset`]): only the counts are reset, not the
/// staging area (out-data bytes past what the handler set go out as 0, see
/// [`Reply::out_set`]).
#[derive(Clone, Debug)]
pub(super) struct Reply {
    /// The reply's X descriptors, encoded when pushed (their fields checked then).
    pointers: [[u32; 2]; REPLY_X_CAPACITY],
    pointer_count: usize,
    out: [u8; OUT_RAW_CAPACITY],
    out_len: usize,
    /// Bytes of `out` written for this request (from its start, rounded up to whole
    /// words, the rest of the last word zeroed); the rest of the row's `out_len` bytes
    /// read as 0.
    out_set: usize,
    /// Sum of the reply X sizes.
    bytes_out: u64,
}

impl Reply {
    pub(super) fn new() -> Reply {
        Reply {
            pointers: [[0; 2]; REPLY_X_CAPACITY],
            pointer_count: 0,
            out: [0; OUT_RAW_CAPACITY],
            out_len: 0,
            out_set: 0,
            bytes_out: 0,
        }
    }

    /// Empties the reply for a command whose row has `out_raw` bytes of out-data, all 0
    /// (what the handler does not set stays 0: [`Reply::out_set`]).
    #[inline]
    pub(super) fn reset(&mut self, out_raw: usize) {
        self.pointer_count = 0;
        self.out_len = out_raw.min(OUT_RAW_CAPACITY);
        self.out_set = 0;
        self.bytes_out = 0;
    }

    /// The reply's X descriptors (two words each), in the order the handler pushed them.
    #[inline]
    pub(super) fn pointers(&self) -> &[[u32; 2]] {
        self.pointers.get(..self.pointer_count).unwrap_or(&[])
    }

    /// The raw out-data the handler set, in whole words (a prefix of the row's `out_raw`
    /// bytes, which go out as [`Reply::out_len`] bytes, zero after this prefix; the
    /// bytes of its last word that the handler did not set are 0, see
    /// [`Call::set_out_raw`]).
    #[inline]
    pub(super) fn out_set(&self) -> &[u8] {
        self.out.get(..self.out_set.min(self.out_len.next_multiple_of(4))).unwrap_or(&[])
    }

    /// Bytes of raw out-data the reply carries (the row's `out_raw`).
    #[inline]
    pub(super) fn out_len(&self) -> usize {
        self.out_len
    }

    /// Sum of the reply X sizes.
    #[inline]
    pub(super) fn bytes_out(&self) -> u64 {
        self.bytes_out
    }
}

/// An X of the request, located inside the pointer buffer by the server's walk over the
/// descriptors (table row 10) before the handler runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(super) struct LocatedX {
    /// Where it lies in the pointer buffer slice (0 and 0 for a zero-size X); its guest
    /// address is the buffer's base plus the offset ([`LocatedX::region`]), not kept: one
    /// word less to store per X.
    pub(super) offset: usize,
    pub(super) len: usize,
    /// Its index field.
    pub(super) index: u8,
}

impl LocatedX {
    /// Its region in a pointer buffer whose guest addresses start at `base`
    /// ([`Region::EMPTY`] for a zero-size X).
    #[inline(always)]
    fn region(&self, base: u64) -> Region {
        if self.len == 0 {
            return Region::EMPTY;
        }
        // offset < the buffer's size, and base + size did not overflow.
        Region { offset: self.offset, len: self.len, guest_addr: base.wrapping_add(self.offset as u64) }
    }
}

/// Where a checked request's parts lie in the message buffer (what [`super::Server::handle`]
/// found while checking it; every range was checked to lie inside the message).
#[derive(Clone, Copy, Debug)]
pub(super) struct RequestView<'a> {
    /// The message, up to the end of its receive list.
    pub(super) words: &'a [u32],
    /// The X descriptors, located (one per X, descriptor order).
    pub(super) xs: &'a [LocatedX],
    /// Byte offset of the payload (after the SFCI header).
    pub(super) payload: usize,
    /// Byte offset of the end of the CMIF view.
    pub(super) view_end: usize,
    /// Byte offset of the u16 size table.
    pub(super) sizes_at: usize,
}

impl RequestView<'_> {
    /// Byte `at` of the message (0 past its end, which no checked range reaches).
    fn byte(&self, at: usize) -> u8 {
        self.words.get(at / 4).map_or(0, |w| (w >> (8 * (at % 4))) as u8)
    }
}

/// What the server reports of itself to a call ([`Call::status`]): the server keeps it
/// in one place, so a call holds one reference to it (one word to build per request).
#[derive(Clone, Debug)]
pub(super) struct StatusSource {
    /// Bytes of the pointer buffer.
    pub(super) pointer_buffer_size: usize,
    /// The mode field the list is armed with (2, or 2 + entries).
    pub(super) receive_mode_raw: u32,
    /// The session table.
    pub(super) sessions: super::SessionTable,
    /// The service-wide counters.
    pub(super) counters: ServerCounters,
}

/// One request, as its handler sees it. Built by [`super::Server::handle`] after the
/// row's checks passed and every X was located.
pub struct Call<'a> {
    request: RequestView<'a>,
    /// Entries of the request's size table (checked against the raw data before the
    /// handler runs).
    out_c: usize,
    in_raw: usize,
    reply_x: usize,
    status: &'a StatusSource,
    /// The pointer buffer below the end of the input data (the X payloads).
    inputs: &'a [u8],
    /// The pointer buffer from the end of the input data (where out regions are carved).
    outputs: &'a mut [u8],
    pub(super) carver: Carver,
    reply: &'a mut Reply,
}

impl<'a> Call<'a> {
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(super) fn new<S>(
        request: RequestView<'a>,
        row: &CommandMeta<S>,
        range: PointerBufferRange,
        status: &'a StatusSource,
        inputs: &'a [u8],
        outputs: &'a mut [u8],
        input_end: usize,
        reply: &'a mut Reply,
    ) -> Call<'a> {
        reply.reset(row.out_raw);
        Call {
            request,
            out_c: row.out_c,
            in_raw: row.in_raw,
            reply_x: row.reply_x,
            status,
            inputs,
            outputs,
            carver: Carver::new(range, input_end),
            reply,
        }
    }

    /// What the server reports of itself right now.
    pub fn status(&self) -> ServerStatus {
        let s = self.status;
        ServerStatus {
            pointer_buffer_size: s.pointer_buffer_size,
            receive_mode_raw: s.receive_mode_raw,
            session_limit: s.sessions.limit(),
            open_sessions: s.sessions.open_count(),
            total_sessions: s.sessions.total_count(),
            counters: s.counters,
        }
    }

    /// Number of in-pointers (X descriptors) of the request.
    pub fn in_count(&self) -> usize {
        self.request.xs.len()
    }

    #[inline]
    fn in_pointer_of(inputs: &'a [u8], base: u64, x: &LocatedX) -> InPointer<'a> {
        // Every X was located inside the pointer buffer before the handler ran (table
        // row 10), below the input end, so the slice is there; if it were not, it would
        // read as empty.
        let bytes = inputs.get(x.offset..x.offset.wrapping_add(x.len)).unwrap_or(&[]);
        InPointer { index: x.index, region: x.region(base), bytes }
    }

    /// In-pointer `i` (descriptor order), if the request has it.
    #[inline]
    pub fn in_pointer(&self, i: usize) -> Option<InPointer<'a>> {
        let (inputs, base) = (self.inputs, self.carver.base());
        self.request.xs.get(i).map(|x| Self::in_pointer_of(inputs, base, x))
    }

    /// Every in-pointer, in descriptor order. The iterator does not borrow the call, so
    /// the handler can write out-pointers while it walks the inputs.
    pub fn in_pointers(&self) -> impl Iterator<Item = InPointer<'a>> + 'a {
        let (inputs, base) = (self.inputs, self.carver.base());
        self.request.xs.iter().map(move |x| Self::in_pointer_of(inputs, base, x))
    }

    /// The row's raw in-data as `T` (`T::SIZE` at most the row's `in_raw`).
    pub fn in_raw<T: RawData>(&self) -> Result<T, ResultCode> {
        let mut bytes = [0u8; IN_RAW_CAPACITY];
        let bytes = bytes.get_mut(..T::SIZE).filter(|_| T::SIZE <= self.in_raw).ok_or(INVALID_CMIF_REQUEST)?;
        // The payload window (the CMIF view after SFCI) must hold the bytes.
        let end = self.request.payload.checked_add(T::SIZE).ok_or(INVALID_CMIF_REQUEST)?;
        if end > self.request.view_end {
            return Err(INVALID_CMIF_REQUEST);
        }
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = self.request.byte(self.request.payload + i);
        }
        T::read_from(bytes)
    }

    /// The size the client's size table gives C entry `k` (without carving it).
    #[inline]
    pub fn out_size(&self, k: usize) -> Result<usize, ResultCode> {
        if k >= self.out_c {
            return Err(INVALID_CMIF_REQUEST);
        }
        // The table starts at an even byte offset (horizon-ipc.md §6.3), so an entry is
        // the low or the high half of one word.
        let at = self.request.sizes_at + 2 * k;
        let word = self.request.words.get(at / 4).ok_or(INVALID_CMIF_REQUEST)?;
        Ok(usize::from((word >> (8 * (at % 4))) as u16))
    }

    /// Carves out-pointer `k` (C entry `k`, its size-table size) below the previous
    /// carve: `AlignDown(head − size, 0x10)`, PointerBufferTooSmall 0x11a0b when it would
    /// reach the input data (libstratosphere `ProcessBufferImpl`; see
    /// [`Carver::carve`]). Carve in C index order, as libstratosphere does.
    #[inline] // inlined into each handler: smaller and faster than one shared copy (make bench)
    pub fn out_pointer(&mut self, k: usize) -> Result<OutPointer, ResultCode> {
        let size = self.out_size(k)?;
        let region = self.carver.carve(size)?;
        let index = u8::try_from(k).map_err(|_| INVALID_CMIF_REQUEST)?;
        Ok(OutPointer { index, region })
    }

    /// Copies the part of `data` that fits into `out` from byte `at` on; returns how many
    /// bytes were written (`min(data.len(), out.len() − at)`).
    #[inline]
    pub fn write_out(&mut self, out: &OutPointer, at: usize, data: &[u8]) -> Result<usize, ResultCode> {
        let n = data.len().min(out.region.len.saturating_sub(at));
        if n == 0 {
            return Ok(0);
        }
        // A carved region lies at or above the input end (Carver: head >= tail).
        let start = out
            .region
            .offset
            .checked_sub(self.inputs.len())
            .and_then(|o| o.checked_add(at))
            .ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        let end = start.checked_add(n).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        let to = self.outputs.get_mut(start..end).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        copy_words(to, data.get(..n).ok_or(X_OUTSIDE_POINTER_BUFFER)?);
        Ok(n)
    }

    /// The bytes of out-pointer `out` (its carved region), for a handler that writes
    /// into it piece by piece (checked once here, instead of once per
    /// [`Call::write_out`]). Empty for an empty out-pointer.
    #[inline]
    pub fn out_bytes(&mut self, out: &OutPointer) -> Result<&mut [u8], ResultCode> {
        if out.region.len == 0 {
            return Ok(&mut []);
        }
        // A carved region lies at or above the input end (Carver: head >= tail).
        let start = out.region.offset.checked_sub(self.inputs.len()).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        let end = start.checked_add(out.region.len).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        self.outputs.get_mut(start..end).ok_or(X_OUTSIDE_POINTER_BUFFER)
    }

    /// Concatenates the in-pointers, in descriptor order, into out-pointer `out`: each as
    /// much as still fits, straight from the located X (no [`InPointer`] built per X), and
    /// `offsets[i]` set to the pointer-buffer offset of X `i` when it is not empty (the
    /// other entries are left as they are; X past `offsets.len()` are not copied).
    /// Returns the bytes written (`min(sum of the X sizes, out.len())`).
    #[inline]
    pub fn gather(&mut self, out: &OutPointer, offsets: &mut [u32]) -> Result<usize, ResultCode> {
        let (inputs, xs) = (self.inputs, self.request.xs);
        // The part of the out region not written yet.
        let mut rest = self.out_bytes(out)?;
        let mut written = 0usize;
        // Every offset is below the input end; a pointer buffer whose inputs end past
        // 32 bits (none: a receive list describes at most 0xFFFF bytes per entry) cannot
        // report them.
        if u32::try_from(inputs.len()).is_err() {
            return Err(INVALID_CMIF_REQUEST);
        }
        for (offset, x) in offsets.iter_mut().zip(xs) {
            let (at, len) = (x.offset, x.len);
            if len == 0 {
                continue;
            }
            // at < inputs.len() <= u32::MAX (checked above the loop).
            *offset = at as u32;
            let n = len.min(rest.len());
            // Every X was located inside the pointer buffer below the input end before
            // the handler ran (table row 10), so its bytes are there.
            let Some(from) = inputs.get(at..at.wrapping_add(n)) else {
                continue;
            };
            let Some((to, after)) = core::mem::take(&mut rest).split_at_mut_checked(n) else {
                break;
            };
            copy_words(to, from);
            rest = after;
            written += n;
        }
        Ok(written)
    }

    /// Sets the reply's raw out-data (`T::SIZE` at most the row's `out_raw`; the rest of
    /// the row's out-data stays zero).
    #[inline]
    pub fn set_out_raw<T: RawData>(&mut self, data: &T) -> Result<(), ResultCode> {
        let out = self.reply.out.get_mut(..T::SIZE).filter(|_| T::SIZE <= self.reply.out_len);
        data.write_to(out.ok_or(INVALID_CMIF_REQUEST)?)?;
        // The set prefix is kept in whole words: past a new, longer prefix, the rest of
        // its last word is zeroed (OUT_RAW_CAPACITY is a multiple of 4).
        if T::SIZE > self.reply.out_set {
            let end = T::SIZE.next_multiple_of(4);
            if let Some(rest) = self.reply.out.get_mut(T::SIZE..end) {
                rest.fill(0);
            }
            self.reply.out_set = end;
        }
        Ok(())
    }

    /// Adds a reply X filling out-pointer `out` with its first `written` bytes.
    #[inline(always)]
    pub fn reply_out(&mut self, out: &OutPointer, written: usize) -> Result<(), ResultCode> {
        self.push_reply_x(out.index, out.region, written)
    }

    /// Adds a reply X for C entry `index` that sends in-pointer `x`'s first `written`
    /// bytes straight from where the kernel put them (no carve, no copy).
    #[inline(always)]
    pub fn reply_in_place(&mut self, index: u8, x: &InPointer<'_>, written: usize) -> Result<(), ResultCode> {
        self.push_reply_x(index, x.region, written)
    }

    /// Adds an X `{region, written, index}`; a zero size is written as `{0, 0, index}`,
    /// as the kernel describes zero-size X (§3.3). Every byte it covers was written for
    /// this request (`written <= region.len`).
    #[inline(always)]
    fn push_reply_x(&mut self, index: u8, region: Region, written: usize) -> Result<(), ResultCode> {
        if written > region.len || self.reply.pointer_count >= self.reply_x {
            return Err(INVALID_CMIF_REQUEST);
        }
        let (addr, size) = if written == 0 { (0, 0) } else { (region.guest_addr, written) };
        let size = u64::try_from(size).map_err(|_| INVALID_CMIF_REQUEST)?;
        let d = PointerDescriptor::new(index, addr, size).map_err(|_| INVALID_CMIF_REQUEST)?;
        let slot = self.reply.pointers.get_mut(self.reply.pointer_count).ok_or(INVALID_CMIF_REQUEST)?;
        *slot = d.encode();
        self.reply.pointer_count += 1;
        self.reply.bytes_out = self.reply.bytes_out.saturating_add(size);
        Ok(())
    }
}

/// Copies the first `min(to.len(), from.len())` bytes of `from` into `to` without
/// calling `memcpy` (the X payloads a handler copies are short, and the call costs more
/// than the copy: make bench, concat4): sixteen bytes at a time, then the last sixteen
/// again (overlapping, the same bytes) when the length is not a multiple of 16; a length
/// under 16 as its first and last eight, four, or byte by byte under 4.
#[inline]
pub fn copy_words(to: &mut [u8], from: &[u8]) {
    let n = to.len().min(from.len());
    let (Some(to), Some(from)) = (to.get_mut(..n), from.get(..n)) else {
        return;
    };
    if n >= 16 {
        let (to16, _) = to.as_chunks_mut::<16>();
        let (from16, _) = from.as_chunks::<16>();
        for (t, f) in to16.iter_mut().zip(from16) {
            *t = *f;
        }
        if !n.is_multiple_of(16)
            && let (Some(t), Some(f)) = (to.last_chunk_mut::<16>(), from.last_chunk::<16>())
        {
            *t = *f;
        }
    } else if n >= 8 {
        copy_ends::<8>(to, from);
    } else if n >= 4 {
        copy_ends::<4>(to, from);
    } else {
        for (t, f) in to.iter_mut().zip(from) {
            *t = *f;
        }
    }
}

/// The first and the last `N` bytes of `from` into `to` (both at least `N` long and of
/// one length: together they cover up to `2N` bytes).
#[inline(always)]
fn copy_ends<const N: usize>(to: &mut [u8], from: &[u8]) {
    if let (Some(t), Some(f)) = (to.first_chunk_mut::<N>(), from.first_chunk::<N>()) {
        *t = *f;
    }
    if let (Some(t), Some(f)) = (to.last_chunk_mut::<N>(), from.last_chunk::<N>()) {
        *t = *f;
    }
}

#[cfg(test)]
mod tests {
    use super::copy_words;

    #[test]
    fn copy_words_copies_exactly_the_shorter_length_for_every_length_up_to_64() {
        let from: [u8; 70] = core::array::from_fn(|i| i as u8 + 1);
        for n in 0..=64 {
            for extra in [0, 3] {
                let mut to = [0xAAu8; 72];
                copy_words(&mut to[..n + extra], &from[..n]);
                assert_eq!(&to[..n], &from[..n], "n = {n}");
                assert!(to[n..].iter().all(|&b| b == 0xAA), "n = {n}: wrote past the length");
                let mut to = [0xAAu8; 72];
                copy_words(&mut to[..n], &from[..n + extra]);
                assert_eq!(&to[..n], &from[..n], "n = {n}");
                assert!(to[n..].iter().all(|&b| b == 0xAA), "n = {n}: wrote past the length");
            }
        }
    }
}

//! Dispatch of one received message: validate it against its command's row, run the
//! handler, and write the reply into the same message buffer (design.md "Data flow of one
//! request", "Server rules"; the checks and their order are the table of
//! [`crate::xcbuf::protocol`], which any service on this framework shares up to its own
//! handler checks).
//!
//! Every check happens before any effect on the pointer buffer, and every reply writes
//! each word the kernel copies (header to raw end, padding as 0) in `write_reply`, in
//! the layout of [`cmif::build_reply`]: the reply carries no word of the request. Every
//! byte a reply X covers was written for this request: either by the kernel (an
//! in-place reply, [`super::Call::reply_in_place`]) or by the handler, and the X size is
//! exactly the number of bytes written.
//!
//! # The cost of one request
//! The path is written for the instruction count (`make bench`, `make profile`), in one
//! pass over the message: rows 1–6 read the header fields straight from the two header
//! words (no codec views, no decoded header kept); the walk over the X descriptors sums
//! the received bytes and locates each X once (the handler's in-pointers are read from
//! it); the command table is walked at compile time (one arm per row: the row's
//! checks use its values as constants and its handler is called directly, so a small
//! handler is inlined); the receive list is encoded once
//! ([`super::receive_area::Armed`]) and copied behind each reply; the staged reply lives
//! in the server and is reset, not rebuilt, holds its X as the words it sends and its
//! out-data in whole words, and is written by cutting the message in order (header, X,
//! padding, SFCO, out-data, padding), each cut checked once; nothing the size of the
//! message buffer is zeroed or copied per request (the words between the reply's raw
//! end and the list are neither sent nor read by the kernel and are left as they are).
//! The checks and their order are exactly those of the protocol table.
#![forbid(unsafe_code)]

use crate::cmif::{self, CommandType, OutHeader, PADDING_BUDGET};
use crate::hipc::{HANDLE_COUNT_MAX, MessageHeader, MessageLayout, PointerDescriptor, SpecialHeader};
use crate::result::{self, ResultCode};

use super::command::{self, Call, CommandMeta, Handler, LocatedX, RequestView, query_pointer_buffer_size_row};
use super::pointer_buffer::PointerBufferRange;
use super::session::SESSION_NOT_OPEN;
use super::{Server, ServiceHandler, X_OUTSIDE_POINTER_BUFFER};

/// Descriptor counts, special header or raw size do not match the command (0x3480b).
const INVALID_CMIF_REQUEST: ResultCode = result::hipc::INVALID_CMIF_REQUEST;
/// Unknown command id (0x1ba0a).
const UNKNOWN_COMMAND_ID: ResultCode = result::cmif::UNKNOWN_COMMAND_ID;
/// Rows 1 and 4 (0x3240b).
const INVALID_REQUEST_SIZE: ResultCode = result::hipc::INVALID_REQUEST_SIZE;
/// Row 3 (0x3260b).
const UNKNOWN_COMMAND_TYPE: ResultCode = result::hipc::UNKNOWN_COMMAND_TYPE;
/// Row 5 (0x1940a).
const INVALID_HEADER_SIZE: ResultCode = result::cmif::INVALID_HEADER_SIZE;
/// Row 6 (0x1a60a).
const INVALID_IN_HEADER: ResultCode = result::cmif::INVALID_IN_HEADER;

/// What the transport must do after [`Server::handle`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Action {
    /// The message buffer holds the reply (receive list armed): pass it to
    /// `svcReplyAndReceive` with `reply_target` = this session.
    Reply,
    /// Close this session without replying (a Close message, or a slot that is not
    /// open): call [`Server::close_session`] and `svcCloseHandle`. The message buffer
    /// holds a receive-only message with the list armed (`reply_target` = 0).
    CloseSession,
}

/// Copy handles a request carried. None of the xcbuf commands takes a handle, but the
/// kernel has already installed them in the server's handle table (`horizon-ipc.md`
/// §3.2 step 7): the transport must close each one, or the table leaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct StrayHandles {
    handles: [u32; HANDLE_COUNT_MAX as usize],
    len: usize,
}

impl StrayHandles {
    /// The handles, in message order (handle 0 is left out: it is no handle).
    pub fn as_slice(&self) -> &[u32] {
        self.handles.get(..self.len).unwrap_or(&[])
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Replaces the contents with the copy handles of the message in `msg`, read by the
    /// layout formulas (`horizon-ipc.md` §1.4) without any other validation.
    pub fn collect(&mut self, msg: &[u32]) {
        self.len = 0;
        let (Some(&w0), Some(&w1)) = (msg.first(), msg.get(1)) else {
            return;
        };
        let header = MessageHeader::decode([w0, w1]);
        if !header.has_special_header {
            return;
        }
        let Some(&special) = msg.get(2) else {
            return;
        };
        let layout = MessageLayout::new(header, Some(SpecialHeader::decode(special)));
        let start = layout.copy_handle_idx();
        let Some(handles) = msg.get(start..start.saturating_add(layout.copy_handle_count())) else {
            return;
        };
        for &h in handles.iter().filter(|&&h| h != 0) {
            if let Some(slot) = self.handles.get_mut(self.len) {
                *slot = h;
                self.len += 1;
            }
        }
    }
}

/// The outcome of [`Server::handle`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Handled {
    /// Reply or close.
    pub action: Action,
    /// The result in the reply's SFCO header (success for a Close).
    pub result: ResultCode,
    /// Copy handles the request carried; the transport must close them.
    pub stray_handles: StrayHandles,
}

/// A request that passed the codec's checks (rows 1 and 3–6 of the protocol table).
struct Parsed {
    /// Word index of the first X descriptor, and the X count.
    x_at: usize,
    x_count: usize,
    /// A, B or W descriptors or a special header (row 8 refuses them all).
    extra: bool,
    /// Byte offsets from the message start: raw data, payload, CMIF view end, raw end.
    raw_start: usize,
    payload: usize,
    view_end: usize,
    raw_end: usize,
    /// Message words up to the end of its receive list.
    size_words: usize,
    control: bool,
    command_id: u32,
}

/// What the walk over the X descriptors found (row 10, reported after rows 7–9).
#[derive(Clone, Copy)]
struct Walk {
    /// The lent part of the pointer buffer (None: its end overflows).
    range: Option<PointerBufferRange>,
    /// Offset one past the highest input byte.
    input_end: usize,
    /// An X with a non-zero size lies outside the buffer.
    outside: bool,
    x_count: usize,
}

/// Close (type 2) or a request.
enum Incoming {
    Close,
    Request(Parsed),
}

/// Rows 1 and 3–6 of the protocol table, the checks of [`cmif::parse_request`] in its
/// order and with its results (libstratosphere `ServerSessionManager::DispatchRequest`
/// and `ServiceDispatchTableBase::ProcessMessageImpl`), computed from the two header
/// words without building the codec's views: row 1 the message, its receive list
/// included, fits the buffer and a non-zero receive-list offset is not inside the raw
/// data (the kernel's layout formulas, horizon-ipc.md §1.4, §2.3); row 2 Close; row 3 the
/// type; row 4 at least 0x10 raw bytes; row 5 a view of at least 16 bytes; row 6 SFCI and
/// version ≤ 1.
fn parse(msg: &[u32]) -> Result<Incoming, ResultCode> {
    let [w0, w1, ..] = *msg else {
        return Err(INVALID_REQUEST_SIZE);
    };
    // The fields of MessageHeader::decode and SpecialHeader::decode (horizon-ipc.md
    // §1.2, §1.3), read straight from the words.
    let has_special_header = w1 >> 31 != 0;
    let special_words = if has_special_header {
        let &w2 = msg.get(2).ok_or(INVALID_REQUEST_SIZE)?;
        1 + SpecialHeader::decode(w2).data_words()
    } else {
        0
    };
    // Every field is bounded by its bit width: none of these sums can overflow.
    let x_count = ((w0 >> 16) & 0xF) as usize;
    let abw = ((w0 >> 20) & 0xF) + ((w0 >> 24) & 0xF) + (w0 >> 28);
    let x_at = 2 + special_words;
    let raw_idx = x_at + 2 * x_count + 3 * abw as usize;
    let raw_count = (w1 & 0x3FF) as usize;
    let raw_end_idx = raw_idx + raw_count;
    let offset = ((w1 >> 20) & 0x7FF) as usize;
    if offset != 0 && offset < raw_end_idx {
        return Err(INVALID_REQUEST_SIZE);
    }
    let list_idx = if offset != 0 { offset } else { raw_end_idx };
    // Receive-list entries (ReceiveListMode::entry_count): modes 0 and 1 none, 2 one,
    // 3..=15 the mode less 2.
    let mode = ((w1 >> 10) & 0xF) as usize;
    let entries = if mode > 2 { mode - 2 } else { mode >> 1 };
    let size_words = list_idx + 2 * entries;
    if size_words > msg.len() {
        return Err(INVALID_REQUEST_SIZE);
    }
    // The command types of CommandType::from_tag: 2 Close; 4 and 6 requests, 5 and 7
    // control (the WithContext forms served as the others).
    let tag = w0 & 0xFFFF;
    if tag == CommandType::Close as u32 {
        return Ok(Incoming::Close);
    }
    if !(CommandType::Request as u32..=CommandType::ControlWithContext as u32).contains(&tag) {
        return Err(UNKNOWN_COMMAND_TYPE);
    }
    let control = tag & 1 != 0;
    let (raw_start, raw_bytes) = (4 * raw_idx, 4 * raw_count);
    if raw_bytes < PADDING_BUDGET {
        return Err(INVALID_REQUEST_SIZE);
    }
    let header_at = align_up_16(raw_start);
    let view_bytes = raw_bytes - PADDING_BUDGET;
    if view_bytes < cmif::HEADER_SIZE {
        return Err(INVALID_HEADER_SIZE);
    }
    // header_at + 16 <= raw_start + 28 <= raw_start + raw_bytes <= 4 * size_words.
    let sfci = match msg.get(header_at / 4..) {
        Some([magic, version, id, _, ..]) => (*magic, *version, *id),
        _ => (0, 0, 0),
    };
    if sfci.0 != cmif::IN_HEADER_MAGIC || sfci.1 > cmif::IN_HEADER_VERSION_MAX {
        return Err(INVALID_IN_HEADER);
    }
    Ok(Incoming::Request(Parsed {
        x_at,
        x_count,
        extra: abw != 0 || has_special_header,
        raw_start,
        payload: header_at + cmif::HEADER_SIZE,
        view_end: header_at + view_bytes,
        raw_end: raw_start + raw_bytes,
        size_words,
        control,
        command_id: sfci.2,
    }))
}

const fn align_up_16(x: usize) -> usize {
    (x + 15) & !15
}

impl<S: ServiceHandler> Server<S> {
    /// The control commands every server answers (HIPC type 5).
    const CONTROL: &'static [CommandMeta<S>] = &[query_pointer_buffer_size_row::<S>()];

    /// Handles the message the kernel delivered into `msg` (the TLS message buffer, 64
    /// words) for the session in `slot`, with `pointer_buffer` the bytes of this server's
    /// pointer buffer (the kernel wrote the X payloads there; see
    /// [`super::ReceiveArea::guest_addr`] for how X addresses map to it).
    ///
    /// Never panics and never fails: every malformed request is answered with its
    /// documented result (the table in [`crate::xcbuf::protocol`]). Afterwards `msg`
    /// holds the reply or, for [`Action::CloseSession`], a receive-only message; either
    /// way the receive list is armed.
    pub fn handle(&mut self, slot: usize, msg: &mut [u32], pointer_buffer: &mut [u8]) -> Handled {
        let mut stray_handles = StrayHandles::default();
        let (action, result) = self.handle_into(slot, msg, pointer_buffer, &mut stray_handles);
        Handled { action, result, stray_handles }
    }

    /// [`Server::handle`], with the copy handles written into `stray_handles` (its
    /// previous contents replaced) instead of returned: what a loop that keeps one
    /// [`StrayHandles`] uses.
    pub fn handle_into(
        &mut self,
        slot: usize,
        msg: &mut [u32],
        pointer_buffer: &mut [u8],
        stray_handles: &mut StrayHandles,
    ) -> (Action, ResultCode) {
        stray_handles.collect(msg);
        if !self.status.sessions.is_open(slot) {
            return self.close_without_reply(msg, SESSION_NOT_OPEN);
        }
        let mut bytes_in = 0;
        let outcome = match parse(msg) {
            Ok(Incoming::Close) => {
                return self.close_without_reply(msg, ResultCode::SUCCESS);
            }
            Ok(Incoming::Request(request)) => self.dispatch(msg, &request, pointer_buffer, &mut bytes_in),
            Err(rc) => {
                self.count_in(0);
                Err(rc)
            }
        };
        let result = match outcome {
            Ok(()) => ResultCode::SUCCESS,
            Err(rc) => rc,
        };
        let replied = outcome.is_ok();
        let bytes_out = if replied { self.reply.bytes_out() } else { 0 };
        self.count_out(slot, result, bytes_in, bytes_out);
        match self.write_reply(msg, result, replied) {
            Ok(()) => (Action::Reply, result),
            // Only a message buffer shorter than the reply gets here: nothing can be
            // replied, so the session is closed (design.md "Server rules").
            Err(rc) => self.close_without_reply(msg, rc),
        }
    }

    /// Rows 7–12 of the protocol table, after [`parse`] checked rows 1–6: the command's
    /// row by id, then what the row says of descriptor counts and the special header,
    /// the raw in-data and the size table, then every X inside the pointer buffer; then
    /// the handler (its own checks, and the carves). Counts the request as received
    /// (with its X bytes, whatever the outcome: the kernel copied them) before the
    /// handler runs (the service-wide counters a handler can report; the session's are
    /// counted with the reply, from `bytes_in`).
    fn dispatch(
        &mut self,
        msg: &[u32],
        p: &Parsed,
        pointer_buffer: &mut [u8],
        bytes_in: &mut u64,
    ) -> Result<(), ResultCode> {
        let x_count = p.x_count;
        // Row 10's range: the lent part of the pointer buffer.
        let len = self.range.size().min(pointer_buffer.len());
        let range = PointerBufferRange::new(self.range.base(), len);
        let (base, end) = range.map_or((1, 0), |r| (r.base(), r.end()));
        // Row 10, walked first for the received bytes (its result is reported in order),
        // each X located once, for the handler.
        let mut sum = 0u64;
        let (mut input_end, mut outside) = (0usize, range.is_none());
        let xs = msg.get(p.x_at..p.x_at + 2 * x_count).unwrap_or(&[]);
        for (words, located) in xs.chunks_exact(2).zip(self.xs.iter_mut()) {
            let &[w0, w1] = words else { continue };
            let x = PointerDescriptor::decode([w0, w1]);
            let (addr, size) = (x.address(), u64::from(x.size()));
            sum += size;
            // A zero-size X is {0, 0} whatever its address (horizon-ipc.md §3.3); the
            // address (39 bits) plus the size (16 bits) cannot overflow.
            let (offset, len) = if size == 0 {
                (0, 0)
            } else if addr >= base && addr + size <= end {
                let offset = (addr - base) as usize;
                input_end = input_end.max(offset + size as usize);
                (offset, size as usize)
            } else {
                outside = true;
                (0, 0)
            };
            *located = LocatedX { offset, len, index: x.index() };
        }
        *bytes_in = sum;
        self.count_in(sum);
        let walk = Walk { range, input_end, outside, x_count };
        // Row 7: the command id, in the table of its command type (libstratosphere
        // `source/sf/cmif/sf_cmif_service_dispatch.cpp` `FindCommandHandler` looks the id up
        // in the interface's `ServiceCommandMeta` table the same way). The table is
        // walked row by row at compile time: each row's checks and its handler are
        // compiled with the row's values as constants and the handler called directly
        // (so it can be inlined), with no lookup in the table at run time
        // ([`command::MAX_ROWS`] rows at most, checked by table_fits).
        let id = p.command_id;
        macro_rules! rows {
            ($table:expr; $($i:literal)*) => {
                $(
                    if let (Some(row), Some(handler)) = const {
                        let row = command::nth_row($table, $i);
                        (row, match row { Some(row) => Some(row.handler), None => None })
                    } {
                        if row.id == id {
                            return self.run(row, handler, msg, p, pointer_buffer, walk);
                        }
                    }
                )*
            };
        }
        if p.control {
            rows!(Self::CONTROL; 0);
        } else {
            rows!(S::COMMANDS; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
        }
        Err(UNKNOWN_COMMAND_ID)
    }

    /// Rows 8–12 for the request's row `row` and its `handler` (constants where it is
    /// inlined: the handler is called directly).
    #[inline(always)]
    fn run(
        &mut self,
        row: &'static CommandMeta<S>,
        handler: Handler<S>,
        msg: &[u32],
        p: &Parsed,
        pointer_buffer: &mut [u8],
        walk: Walk,
    ) -> Result<(), ResultCode> {
        let Walk { range, input_end, outside, x_count } = walk;
        // Row 8: no A/B/W, no special header, an X count the row takes
        // (libstratosphere `HipcCommandProcessor::PrepareForProcess`).
        if p.extra {
            return Err(INVALID_CMIF_REQUEST);
        }
        if x_count < row.in_x.0 || x_count > row.in_x.1 {
            return Err(INVALID_CMIF_REQUEST);
        }
        // Row 9: the raw in-data, then the u16 size table at raw start + 16 + 16 +
        // AlignUp(in_raw, 2) (horizon-ipc.md §6.3), lie inside the raw data.
        // The row's sizes are bounded by command::table_fits (in_raw <= IN_RAW_CAPACITY,
        // out_c <= 13), asserted at compile time by Server::new: no sum overflows, and
        // view_end >= payload (rows 5 and 6 passed).
        if p.view_end - p.payload < row.in_raw {
            return Err(INVALID_CMIF_REQUEST);
        }
        let sizes_at = p.raw_start + ((row.in_raw + PADDING_BUDGET + cmif::HEADER_SIZE + 1) & !1);
        if sizes_at + 2 * row.out_c > p.raw_end {
            return Err(INVALID_CMIF_REQUEST);
        }
        // Row 10: every non-empty X lies inside the (lent part of the) pointer buffer.
        let range = range.filter(|_| !outside).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        let (inputs, outputs) = pointer_buffer.split_at_mut_checked(input_end).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        // Rows 11–12 and the command's body: the handler.
        let view = RequestView {
            words: msg.get(..p.size_words).unwrap_or(&[]),
            xs: self.xs.get(..x_count).unwrap_or(&[]),
            payload: p.payload,
            view_end: p.view_end,
            sizes_at,
        };
        let mut call = Call::new(view, row, range, &self.status, inputs, outputs, input_end, &mut self.reply);
        handler(&mut self.handler, &mut call)?;
        let used = call.carver.bytes_used();
        self.note_high_water(used);
        Ok(())
    }

    fn close_without_reply(&self, msg: &mut [u32], result: ResultCode) -> (Action, ResultCode) {
        // A buffer too short for the list cannot be armed; the transport's own
        // prepare_receive will report that.
        let _ = self.prepare_receive(msg);
        (Action::CloseSession, result)
    }

    /// Counts a request as received, service-wide (what Stats reports while it runs).
    #[inline]
    fn count_in(&mut self, bytes_in: u64) {
        self.status.counters.requests = self.status.counters.requests.saturating_add(1);
        self.status.counters.bytes_in = self.status.counters.bytes_in.saturating_add(bytes_in);
    }

    /// Counts a request as answered, service-wide, and the whole request for its
    /// session.
    #[inline]
    fn count_out(&mut self, slot: usize, result: ResultCode, bytes_in: u64, bytes_out: u64) {
        let error = u64::from(result.is_failure());
        self.status.counters.errors = self.status.counters.errors.saturating_add(error);
        self.status.counters.bytes_out = self.status.counters.bytes_out.saturating_add(bytes_out);
        if let Some(s) = self.status.sessions.stats_mut(slot) {
            s.requests = s.requests.saturating_add(1);
            s.bytes_in = s.bytes_in.saturating_add(bytes_in);
            s.errors = s.errors.saturating_add(error);
            s.bytes_out = s.bytes_out.saturating_add(bytes_out);
        }
    }

    fn note_high_water(&mut self, used: u64) {
        if used > self.status.counters.pointer_buffer_high_water {
            self.status.counters.pointer_buffer_high_water = used;
        }
    }

    /// Writes the reply with the receive list armed: the staged reply when `success`,
    /// else the error reply (SFCO only, no X; libstratosphere `PrepareForErrorReply`).
    /// Every word the kernel copies (header to raw end) is written here, padding as 0:
    /// the reply carries no word of the request. The layout is `cmif::build_reply`'s
    /// (horizon-ipc.md §6.3 "Response"): type 0, X at word 2, raw data of
    /// [`super::reply_raw_words`] words with SFCO at the first 16-byte boundary, the
    /// list at [`super::RECEIVE_LIST_OFFSET`] (emulator-bench.md "Receive list at a non-zero
    /// offset").
    fn write_reply(&self, msg: &mut [u32], result: ResultCode, success: bool) -> Result<(), ResultCode> {
        let (pointers, out, out_len) = match success {
            true => (self.reply.pointers(), self.reply.out_set(), self.reply.out_len()),
            false => (&[][..], &[][..], 0),
        };
        let n = pointers.len();
        let out_words = out_len.div_ceil(4);
        // reply_raw_words(out_len) = 4 words of padding budget + SFCO + the out-data.
        let raw_count = 8 + out_words;
        let raw_end = 2 + 2 * n + raw_count;
        // The command tables end every reply before the list (command::table_fits).
        if raw_end > super::RECEIVE_LIST_OFFSET {
            return Err(INVALID_REQUEST_SIZE);
        }
        self.armed.write_list(msg).map_err(|_| INVALID_REQUEST_SIZE)?;
        // The reply's words, cut in order: header, X descriptors, raw data (each cut
        // checked once; raw_end <= RECEIVE_LIST_OFFSET, so none fails).
        let Some(([w0, w1], rest)) = msg.split_first_chunk_mut::<2>() else {
            return Err(INVALID_REQUEST_SIZE);
        };
        // n <= REPLY_X_CAPACITY (11) and raw_count < 32 fit their fields.
        *w0 = (n as u32) << 16;
        *w1 = raw_count as u32 | self.armed.word1();
        let Some((xs, raw)) = rest.split_at_mut_checked(2 * n) else {
            return Err(INVALID_REQUEST_SIZE);
        };
        let (xs, _) = xs.as_chunks_mut::<2>();
        for (to, from) in xs.iter_mut().zip(pointers) {
            *to = *from;
        }
        // The raw data starts at word 2 + 2n: SFCO is at the next 16-byte boundary, after
        // 0 (n odd) or 2 (n even) words of padding; the 4 words of padding budget less
        // those end it.
        let raw = match n % 2 {
            0 => match raw.split_first_chunk_mut::<2>() {
                Some((pad, raw)) => {
                    *pad = [0; 2];
                    raw
                }
                None => return Err(INVALID_REQUEST_SIZE),
            },
            _ => raw,
        };
        let Some((sfco, raw)) = raw.split_first_chunk_mut::<4>() else {
            return Err(INVALID_REQUEST_SIZE);
        };
        *sfco = OutHeader { version: 0, result, token: 0 }.encode();
        let Some((data, raw)) = raw.split_at_mut_checked(out_words) else {
            return Err(INVALID_REQUEST_SIZE);
        };
        // The out-data: the words the handler set (whole words, see Call::set_out_raw),
        // then 0 for the words it set nothing in (past `out`).
        let (set, _) = out.as_chunks::<4>();
        let (copied, zeros) = data.split_at_mut(set.len().min(data.len()));
        // Two words at a time, then the last one.
        let (copied2, copied) = copied.as_chunks_mut::<2>();
        let (set2, set) = set.as_chunks::<2>();
        for (w, b) in copied2.iter_mut().zip(set2) {
            *w = b.map(u32::from_le_bytes);
        }
        if let (Some(w), Some(b)) = (copied.first_mut(), set.first()) {
            *w = u32::from_le_bytes(*b);
        }
        for w in zeros {
            *w = 0;
        }
        // The padding after the out-data.
        match (n % 2, raw) {
            (0, [a, b, ..]) => [*a, *b] = [0; 2],
            (_, [a, b, c, d, ..]) => [*a, *b, *c, *d] = [0; 4],
            _ => return Err(INVALID_REQUEST_SIZE),
        }
        Ok(())
    }
}

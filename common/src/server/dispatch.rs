//! Dispatch of one received message: validate it, run the command, and write the reply
//! into the same message buffer (design.md "Data flow of one request", "Server rules";
//! the checks and their results are the table of [`crate::protocol`]).
//!
//! Every check happens before any effect on the pointer buffer, and every reply is built
//! by [`cmif::build_reply`], which zeroes the whole message first: the reply carries no
//! word of the request. Every byte a reply X covers was written for this request: either
//! by the kernel (Echo replies the input where it lies) or by the command, and the X
//! size is exactly the number of bytes written.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

use crate::cmif::{self, CommandType, Incoming, ReplySpec};
use crate::hipc::{
    HANDLE_COUNT_MAX, MessageHeader, MessageLayout, PointerDescriptor, RECEIVE_LIST_ENTRY_COUNT_MAX,
    ReceiveListEntry, SpecialHeader,
};
use crate::protocol::{
    BAD_SPLIT_POINT, Command, ConcatResponse, CONTROL_QUERY_POINTER_BUFFER_SIZE, EchoResponse,
    GetInfoResponse, INVALID_CMIF_REQUEST, MAX_CONCAT_POINTERS, PROTOCOL_VERSION,
    QueryPointerBufferSizeResponse, RawData, SplitRequest, SplitResponse, StatsResponse,
    UNKNOWN_COMMAND_ID, X_OUTSIDE_POINTER_BUFFER,
};
use crate::result::ResultCode;

use super::pointer_buffer::{Carver, PointerBufferRange, Region};
use super::session::SESSION_NOT_OPEN;
use super::Server;

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

    /// The copy handles of the message in `msg`, read by the layout formulas
    /// (`horizon-ipc.md` §1.4) without any other validation.
    fn collect(msg: &[u32]) -> StrayHandles {
        let mut out = StrayHandles::default();
        let (Some(&w0), Some(&w1)) = (msg.first(), msg.get(1)) else {
            return out;
        };
        let header = MessageHeader::decode([w0, w1]);
        if !header.has_special_header {
            return out;
        }
        let Some(&special) = msg.get(2) else {
            return out;
        };
        let layout = MessageLayout::new(header, Some(SpecialHeader::decode(special)));
        let start = layout.copy_handle_idx();
        let Some(handles) = msg.get(start..start.saturating_add(layout.copy_handle_count())) else {
            return out;
        };
        for &h in handles.iter().filter(|&&h| h != 0) {
            if let Some(slot) = out.handles.get_mut(out.len) {
                *slot = h;
                out.len += 1;
            }
        }
        out
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

/// Most X descriptors of a reply (Split's two).
const MAX_REPLY_POINTERS: usize = 2;
/// Largest out payload (Stats).
const MAX_OUT_DATA: usize = StatsResponse::SIZE;

/// A successful command's reply: X descriptors and out-data.
struct Reply {
    pointers: [PointerDescriptor; MAX_REPLY_POINTERS],
    pointer_count: usize,
    out: [u8; MAX_OUT_DATA],
    out_len: usize,
}

impl Reply {
    fn new() -> Reply {
        Reply {
            pointers: [PointerDescriptor::default(); MAX_REPLY_POINTERS],
            pointer_count: 0,
            out: [0; MAX_OUT_DATA],
            out_len: 0,
        }
    }

    fn with_data<T: RawData>(data: &T) -> Result<Reply, ResultCode> {
        let mut r = Reply::new();
        r.set_data(data)?;
        Ok(r)
    }

    fn set_data<T: RawData>(&mut self, data: &T) -> Result<(), ResultCode> {
        let out = self.out.get_mut(..T::SIZE).ok_or(INVALID_CMIF_REQUEST)?;
        data.write_to(out)?;
        self.out_len = T::SIZE;
        Ok(())
    }

    /// Adds an X `{region, written, index}`; a zero size is written as `{0, 0, index}`,
    /// as the kernel describes zero-size X (§3.3).
    fn push_pointer(&mut self, index: u8, region: Region, written: usize) -> Result<(), ResultCode> {
        let (addr, size) = if written == 0 { (0, 0) } else { (region.guest_addr, written) };
        let size = u64::try_from(size).map_err(|_| INVALID_CMIF_REQUEST)?;
        let d = PointerDescriptor::new(index, addr, size).map_err(|_| INVALID_CMIF_REQUEST)?;
        let slot = self.pointers.get_mut(self.pointer_count).ok_or(INVALID_CMIF_REQUEST)?;
        *slot = d;
        self.pointer_count += 1;
        Ok(())
    }

    fn bytes_out(&self) -> u64 {
        self.pointers
            .iter()
            .take(self.pointer_count)
            .map(|d| u64::from(d.size()))
            .sum()
    }
}

/// The command a request asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Command(Command),
    QueryPointerBufferSize,
}

/// What dispatch needs from a validated request, copied out of the message buffer so the
/// reply can be written over it.
struct Decoded {
    kind: Kind,
    pointers: [PointerDescriptor; MAX_CONCAT_POINTERS],
    pointer_count: usize,
    out_sizes: [u16; 2],
    split_at: u32,
}

impl Decoded {
    fn pointers(&self) -> &[PointerDescriptor] {
        self.pointers.get(..self.pointer_count).unwrap_or(&[])
    }
}

/// The pointer buffer lent to one request: its guest range (clamped to the bytes
/// actually lent) and its bytes.
struct Lent<'a> {
    range: PointerBufferRange,
    bytes: &'a mut [u8],
}

impl Lent<'_> {
    fn locate(&self, d: &PointerDescriptor) -> Result<Region, ResultCode> {
        self.range.locate(d.address(), u64::from(d.size()))
    }

    /// Copies `len` bytes from input offset `src` to carved offset `dst`. Inputs lie
    /// below `input_end` and carved regions at or above it, so the two are split apart.
    fn copy(&mut self, input_end: usize, src: usize, dst: usize, len: usize) -> Result<(), ResultCode> {
        if len == 0 {
            return Ok(());
        }
        let (low, high) = self.bytes.split_at_mut_checked(input_end).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        let src_end = src.checked_add(len).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        let from = low.get(src..src_end).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        let dst_rel = dst.checked_sub(input_end).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        let dst_end = dst_rel.checked_add(len).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        let to = high.get_mut(dst_rel..dst_end).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        to.copy_from_slice(from);
        Ok(())
    }
}

impl Server {
    /// Handles the message the kernel delivered into `msg` (the TLS message buffer, 64
    /// words) for the session in `slot`, with `pointer_buffer` the bytes of this server's
    /// pointer buffer (the kernel wrote the X payloads there; see
    /// [`super::ReceiveArea::guest_addr`] for how X addresses map to it).
    ///
    /// Never panics and never fails: every malformed request is answered with its
    /// documented result (table in [`crate::protocol`]). Afterwards `msg` holds the
    /// reply or, for [`Action::CloseSession`], a receive-only message; either way the
    /// receive list is armed.
    pub fn handle(&mut self, slot: usize, msg: &mut [u32], pointer_buffer: &mut [u8]) -> Handled {
        let stray_handles = StrayHandles::collect(msg);
        if !self.sessions.is_open(slot) {
            return self.close_without_reply(msg, SESSION_NOT_OPEN, stray_handles);
        }
        let decoded = match cmif::parse_request(msg) {
            Ok(Incoming::Close(_)) => {
                return self.close_without_reply(msg, ResultCode::SUCCESS, stray_handles);
            }
            Ok(Incoming::Request(request)) => {
                // Received X bytes count whatever the outcome (the kernel copied them).
                let bytes_in: u64 =
                    request.message().pointer_descriptors().map(|d| u64::from(d.size())).sum();
                self.count_in(slot, bytes_in);
                decode(&request)
            }
            Err(e) => {
                self.count_in(slot, 0);
                Err(e.result())
            }
        };
        let outcome = decoded.and_then(|d| {
            let len = self.range.size().min(pointer_buffer.len());
            let range = PointerBufferRange::new(self.range.base(), len).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
            self.execute(&d, &mut Lent { range, bytes: pointer_buffer })
        });
        let (result, reply) = match outcome {
            Ok(reply) => (ResultCode::SUCCESS, Some(reply)),
            Err(rc) => (rc, None),
        };
        self.count_out(slot, result, reply.as_ref().map_or(0, Reply::bytes_out));
        match self.write_reply(msg, result, reply.as_ref()) {
            Ok(()) => Handled { action: Action::Reply, result, stray_handles },
            // Only a message buffer shorter than the reply gets here: nothing can be
            // replied, so the session is closed (design.md "Server rules").
            Err(rc) => self.close_without_reply(msg, rc, stray_handles),
        }
    }

    fn close_without_reply(&self, msg: &mut [u32], result: ResultCode, stray_handles: StrayHandles) -> Handled {
        // A buffer too short for the list cannot be armed; the transport's own
        // prepare_receive will report that.
        let _ = self.prepare_receive(msg);
        Handled { action: Action::CloseSession, result, stray_handles }
    }

    fn count_in(&mut self, slot: usize, bytes_in: u64) {
        self.counters.requests = self.counters.requests.saturating_add(1);
        self.counters.bytes_in = self.counters.bytes_in.saturating_add(bytes_in);
        if let Some(s) = self.sessions.stats_mut(slot) {
            s.requests = s.requests.saturating_add(1);
            s.bytes_in = s.bytes_in.saturating_add(bytes_in);
        }
    }

    fn count_out(&mut self, slot: usize, result: ResultCode, bytes_out: u64) {
        let error = u64::from(result.is_failure());
        self.counters.errors = self.counters.errors.saturating_add(error);
        self.counters.bytes_out = self.counters.bytes_out.saturating_add(bytes_out);
        if let Some(s) = self.sessions.stats_mut(slot) {
            s.errors = s.errors.saturating_add(error);
            s.bytes_out = s.bytes_out.saturating_add(bytes_out);
        }
    }

    fn note_high_water(&mut self, carver: &Carver) {
        let used = carver.bytes_used();
        if used > self.counters.pointer_buffer_high_water {
            self.counters.pointer_buffer_high_water = used;
        }
    }

    /// Writes the reply (or the error reply) with the receive list armed.
    fn write_reply(&self, msg: &mut [u32], result: ResultCode, reply: Option<&Reply>) -> Result<(), ResultCode> {
        let mut entries = [ReceiveListEntry::default(); RECEIVE_LIST_ENTRY_COUNT_MAX as usize];
        let count = self.area.entry_count();
        for (i, e) in entries.iter_mut().enumerate().take(count) {
            *e = self.area.entry(i).ok_or(INVALID_CMIF_REQUEST)?;
        }
        let mut spec = ReplySpec {
            receive_list_mode: self.area.receive_list_mode(),
            receive_list_offset: self.area.receive_list_offset(),
            receive_list: entries.get(..count).unwrap_or(&[]),
            ..ReplySpec::error(result)
        };
        if let Some(r) = reply {
            spec.out_pointers = r.pointers.get(..r.pointer_count).unwrap_or(&[]);
            spec.payload = r.out.get(..r.out_len).unwrap_or(&[]);
        }
        cmif::build_reply(msg, &spec).map(|_| ()).map_err(|e| e.result())
    }

    /// Runs a validated request against the pointer buffer.
    fn execute(&mut self, d: &Decoded, pb: &mut Lent<'_>) -> Result<Reply, ResultCode> {
        // Row 10: every non-empty X must lie inside the pointer buffer.
        let mut regions = [Region::EMPTY; MAX_CONCAT_POINTERS];
        let mut input_end = 0;
        for (region, x) in regions.iter_mut().zip(d.pointers()) {
            *region = pb.locate(x)?;
            input_end = input_end.max(region.end());
        }
        let mut carver = Carver::new(pb.range, input_end);
        let reply = match d.kind {
            Kind::QueryPointerBufferSize => {
                let size = u16::try_from(self.range.size()).unwrap_or(u16::MAX);
                Reply::with_data(&QueryPointerBufferSizeResponse { size })?
            }
            Kind::Command(Command::GetInfo) => Reply::with_data(&GetInfoResponse {
                version: PROTOCOL_VERSION,
                pointer_buffer_size: u32::try_from(self.range.size()).unwrap_or(u32::MAX),
                receive_mode: self.area.receive_mode_raw(),
                max_sessions: u32::try_from(self.sessions.limit()).unwrap_or(u32::MAX),
            })?,
            Kind::Command(Command::Stats) => Reply::with_data(&self.stats())?,
            Kind::Command(Command::Echo) => {
                // Reply straight from where the kernel put X[0]: no carve, so an X of the
                // whole pointer buffer can be echoed.
                let x = regions.first().copied().unwrap_or(Region::EMPTY);
                let written = x.len.min(usize::from(d.out_sizes[0]));
                let mut r = Reply::with_data(&EchoResponse { bytes_written: to_u32(written)? })?;
                r.push_pointer(0, x, written)?;
                r
            }
            Kind::Command(Command::Concat) => {
                let out = carver.carve(usize::from(d.out_sizes[0]))?;
                let mut resp = ConcatResponse::default();
                let mut written = 0usize;
                for ((offset, region), x) in resp.offsets.iter_mut().zip(&regions).zip(d.pointers()) {
                    if x.size() == 0 {
                        continue;
                    }
                    *offset = to_u32(region.offset)?;
                    let n = region.len.min(out.len - written);
                    pb.copy(input_end, region.offset, out.offset + written, n)?;
                    written += n;
                }
                resp.bytes_written = to_u32(written)?;
                let mut r = Reply::with_data(&resp)?;
                r.push_pointer(0, out, written)?;
                r
            }
            Kind::Command(Command::Split) => {
                let x = regions.first().copied().unwrap_or(Region::EMPTY);
                let at = usize::try_from(d.split_at).map_err(|_| BAD_SPLIT_POINT)?;
                if at > x.len {
                    return Err(BAD_SPLIT_POINT);
                }
                let head_out = carver.carve(usize::from(d.out_sizes[0]))?;
                let tail_out = carver.carve(usize::from(d.out_sizes[1]))?;
                let head = at.min(head_out.len);
                let tail = (x.len - at).min(tail_out.len);
                pb.copy(input_end, x.offset, head_out.offset, head)?;
                pb.copy(input_end, x.offset + at, tail_out.offset, tail)?;
                let mut r = Reply::with_data(&SplitResponse {
                    head_written: to_u32(head)?,
                    tail_written: to_u32(tail)?,
                })?;
                // design.md: Split's reply X descriptors are written index 1 first.
                r.push_pointer(1, tail_out, tail)?;
                r.push_pointer(0, head_out, head)?;
                r
            }
        };
        self.note_high_water(&carver);
        Ok(reply)
    }
}

fn to_u32(n: usize) -> Result<u32, ResultCode> {
    u32::try_from(n).map_err(|_| INVALID_CMIF_REQUEST)
}

/// Rows 7–9 of the protocol table, after the codec checked rows 1–6: command id, then
/// descriptor counts and special header, then the raw size for arguments and size table.
fn decode(request: &cmif::Request<'_>) -> Result<Decoded, ResultCode> {
    let kind = match request.command_type() {
        CommandType::Control | CommandType::ControlWithContext => {
            if request.command_id() != CONTROL_QUERY_POINTER_BUFFER_SIZE {
                return Err(UNKNOWN_COMMAND_ID);
            }
            Kind::QueryPointerBufferSize
        }
        _ => Kind::Command(Command::from_id(request.command_id()).ok_or(UNKNOWN_COMMAND_ID)?),
    };
    let message = request.message();
    let header = message.header();
    if header.map_alias_count() != 0 || header.has_special_header {
        return Err(INVALID_CMIF_REQUEST);
    }
    let x_count = usize::from(header.pointer_count);
    let (min_x, max_x, outs, in_data) = match kind {
        Kind::QueryPointerBufferSize => (0, 0, 0, 0),
        Kind::Command(c) => (c.min_pointers(), c.max_pointers(), c.out_pointers(), c.in_data_size()),
    };
    if x_count < min_x || x_count > max_x {
        return Err(INVALID_CMIF_REQUEST);
    }
    let mut decoded = Decoded {
        kind,
        pointers: [PointerDescriptor::default(); MAX_CONCAT_POINTERS],
        pointer_count: x_count,
        out_sizes: [0; 2],
        split_at: 0,
    };
    for (slot, x) in decoded.pointers.iter_mut().zip(message.pointer_descriptors()) {
        *slot = x;
    }
    if kind == Kind::Command(Command::Split) {
        let mut args = [0u8; SplitRequest::SIZE];
        request.read_payload(0, &mut args).map_err(|e| e.result())?;
        decoded.split_at = SplitRequest::read_from(&args)?.at;
    }
    let table = request.size_table(in_data, outs).map_err(|e| e.result())?;
    for (size, entry) in decoded.out_sizes.iter_mut().zip(table.iter()) {
        *size = entry;
    }
    Ok(decoded)
}

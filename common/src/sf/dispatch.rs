//! Dispatch of one received message: validate it against its command's row, run the
//! handler, and write the reply into the same message buffer (design.md "Data flow of one
//! request", "Server rules"; the checks and their order are the table of
//! [`crate::xcbuf::protocol`], which any service on this framework shares up to its own
//! handler checks).
//!
//! Every check happens before any effect on the pointer buffer, and every reply is built
//! by [`cmif::build_reply`], which zeroes the whole message first: the reply carries no
//! word of the request. Every byte a reply X covers was written for this request: either
//! by the kernel (an in-place reply, [`super::Call::reply_in_place`]) or by the handler,
//! and the X size is exactly the number of bytes written.
#![forbid(unsafe_code)]

use crate::cmif::{self, CommandType, Incoming, ReplySpec};
use crate::hipc::{
    HANDLE_COUNT_MAX, MessageHeader, MessageLayout, RECEIVE_LIST_ENTRY_COUNT_MAX, ReceiveListEntry, SpecialHeader,
};
use crate::result::{self, ResultCode};

use super::command::{Call, CommandMeta, Reply, StatusSource, query_pointer_buffer_size_row};
use super::pointer_buffer::PointerBufferRange;
use super::session::SESSION_NOT_OPEN;
use super::{Server, ServiceHandler, X_OUTSIDE_POINTER_BUFFER};

/// Descriptor counts, special header or raw size do not match the command (0x3480b).
const INVALID_CMIF_REQUEST: ResultCode = result::hipc::INVALID_CMIF_REQUEST;
/// Unknown command id (0x1ba0a).
const UNKNOWN_COMMAND_ID: ResultCode = result::cmif::UNKNOWN_COMMAND_ID;

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
        let stray_handles = StrayHandles::collect(msg);
        if !self.sessions.is_open(slot) {
            return self.close_without_reply(msg, SESSION_NOT_OPEN, stray_handles);
        }
        let mut reply = Reply::new();
        let outcome = match cmif::parse_request(msg) {
            Ok(Incoming::Close(_)) => {
                return self.close_without_reply(msg, ResultCode::SUCCESS, stray_handles);
            }
            Ok(Incoming::Request(request)) => {
                // Received X bytes count whatever the outcome (the kernel copied them).
                let bytes_in: u64 = request.message().pointer_descriptors().map(|d| u64::from(d.size())).sum();
                self.count_in(slot, bytes_in);
                self.dispatch(&request, pointer_buffer, &mut reply)
            }
            Err(e) => {
                self.count_in(slot, 0);
                Err(e.result())
            }
        };
        let (result, reply) = match outcome {
            Ok(()) => (ResultCode::SUCCESS, Some(&reply)),
            Err(rc) => (rc, None),
        };
        self.count_out(slot, result, reply.map_or(0, Reply::bytes_out));
        match self.write_reply(msg, result, reply) {
            Ok(()) => Handled { action: Action::Reply, result, stray_handles },
            // Only a message buffer shorter than the reply gets here: nothing can be
            // replied, so the session is closed (design.md "Server rules").
            Err(rc) => self.close_without_reply(msg, rc, stray_handles),
        }
    }

    /// Rows 7–12 of the protocol table, after the codec checked rows 1–6: the command's
    /// row by id, then what the row says of descriptor counts and the special header,
    /// the raw in-data and the size table, then every X inside the pointer buffer; then
    /// the handler (its own checks, and the carves).
    fn dispatch(
        &mut self,
        request: &cmif::Request<'_>,
        pointer_buffer: &mut [u8],
        reply: &mut Reply,
    ) -> Result<(), ResultCode> {
        // Row 7: the command id, in the table of its command type (libstratosphere
        // `source/sf/cmif/sf_cmif_service_dispatch.cpp` `FindCommandHandler` looks the id up
        // in the interface's `ServiceCommandMeta` table the same way).
        let table = match request.command_type() {
            CommandType::Control | CommandType::ControlWithContext => Self::CONTROL,
            _ => S::COMMANDS,
        };
        let id = request.command_id();
        let row = table.iter().find(|row| row.id == id).ok_or(UNKNOWN_COMMAND_ID)?;
        // Row 8: no A/B/W, no special header, an X count the row takes
        // (libstratosphere `HipcCommandProcessor::PrepareForProcess`).
        let header = request.message().header();
        if header.map_alias_count() != 0 || header.has_special_header {
            return Err(INVALID_CMIF_REQUEST);
        }
        let x_count = usize::from(header.pointer_count);
        if x_count < row.in_x.0 || x_count > row.in_x.1 {
            return Err(INVALID_CMIF_REQUEST);
        }
        // Row 9: the raw in-data, then the size table, lie inside the raw data.
        if request.payload_len() < row.in_raw {
            return Err(INVALID_CMIF_REQUEST);
        }
        let sizes = request.size_table(row.in_raw, row.out_c).map_err(|e| e.result())?;
        // Row 10: every non-empty X lies inside the (lent part of the) pointer buffer.
        let len = self.range.size().min(pointer_buffer.len());
        let range = PointerBufferRange::new(self.range.base(), len).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        let mut input_end = 0;
        for x in request.message().pointer_descriptors() {
            input_end = input_end.max(range.locate(x.address(), u64::from(x.size()))?.end());
        }
        let (inputs, outputs) = pointer_buffer.split_at_mut_checked(input_end).ok_or(X_OUTSIDE_POINTER_BUFFER)?;
        // Rows 11–12 and the command's body: the handler.
        let status = StatusSource {
            pointer_buffer_size: self.range.size(),
            receive_mode_raw: self.area.mode.raw(),
            sessions: &self.sessions,
            counters: &self.counters,
        };
        let mut call = Call::new(request, sizes, row, range, status, inputs, outputs, input_end, reply);
        (row.handler)(&mut self.handler, &mut call)?;
        let used = call.carver.bytes_used();
        self.note_high_water(used);
        Ok(())
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

    fn note_high_water(&mut self, used: u64) {
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
            spec.out_pointers = r.pointers();
            spec.payload = r.out();
        }
        cmif::build_reply(msg, &spec).map(|_| ()).map_err(|e| e.result())
    }
}

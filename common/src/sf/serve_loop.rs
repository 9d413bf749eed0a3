//! One service's server loop: the svcs around the server core ([`super::Server`]),
//! generic over the svcs it needs ([`ServerSyscalls`]) so the sysmodule (rt implements
//! them: `xcbuf_rt::server`), the client's in-process server (the same code on a thread
//! of the client) and host tests (a scripted fake kernel) run the very same loop.
//!
//! # One loop per service, one thread per loop
//! `xcbuf` arms a single-buffer receive list (mode 2) and `xcbuf:i` an indexed one
//! (mode 2 + n). The kernel builds the receive list from the **server's own message
//! buffer at the moment a request is received** (horizon-ipc.md §3.2 step 4: "Build a
//! `ReceiveList` from the dst buffer *before* anything is written"), and it does so for
//! whichever session turns out to be signalled. One `svcReplyAndReceive` over the
//! sessions of both services can therefore only offer one list, of one mode, to all of
//! them: a request to `xcbuf:i` would be packed by `xcbuf`'s single-buffer rules (or the
//! reverse), and nothing the server does after the receive can undo that. So each service
//! gets its own loop on its own thread, with its own TLS message buffer and its own
//! pointer buffer; within a service one pointer buffer serves every session, because the
//! loop handles one request at a time and the kernel copies each reply out before the
//! next receive (design.md "Server rules").
//!
//! # Steady state: one svc per request
//! Every iteration is exactly one `svcReplyAndReceive(handles = [port, sessions...],
//! reply_target, timeout = -1)`: the reply to the previous request (when there is one)
//! and the wait for the next. The server core writes each reply with the receive list
//! armed at the fixed `ReceiveListOffset`, so the same message is both the reply and the
//! receive descriptor (emulator-bench.md "Receive list at a non-zero offset").
//!
//! # Outcomes of one call (horizon-ipc.md §3.4, §4, §7)
//! | what the kernel returned | what the loop does |
//! |---|---|
//! | success, index 0 (the port) | AcceptSession; a free slot takes it, else the new session is closed at once (the client's first request gets 0xf601); re-arm |
//! | success, index k > 0 | the server core handles the request of the session at k; reply in the next call, or close it (Close message) |
//! | 0xf601 with index k > 0 | that session's client closed: close and drop it; re-arm |
//! | 0x20401 | the receive list was overwritten by a failed receive: re-arm and wait again |
//! | 0xee01, 0xe601, 0xe401 | an argument check failed before anything was sent (the count, the handle array, a wait handle or the reply target): the reply did not go out, so the session it was for is dropped (its client gets 0xf601 rather than waiting forever); re-arm |
//! | 0xea01 | timed out (the reply, if any, went out first): re-arm and wait again |
//! | any other failure with index ≤ 0 while replying | the reply failed before any receive (0xf601: the client is gone; index −1 on hardware and Eden, 0 on Ryujinx, emulator-bench.md §1): drop that session; re-arm |
//! | any other failure | re-arm and wait again |
//!
//! The index is read only where the kernel writes it: on success, with 0xf601 and
//! 0x20401 (a receive error on the session at that index) and on a failed reply. The
//! argument checks and TimedOut leave it unwritten, whatever the register then holds
//! (mesosphere `svc/kern_svc_ipc.cpp` ReplyAndReceiveImpl; the bench writes a poison
//! value there).
//!
//! Nothing a client does ends the loop.
//!
//! # Stopping (the in-process server only)
//! The owner may give the loop a **stop session** ([`ServeLoop::set_stop_session`]): the
//! server end of a pair from svcCreateSession whose client end only the owner holds, so
//! no client of the service can reach it. It is waited on after the sessions; when the
//! owner closes its client end, the kernel reports 0xf601 on it (or, if the owner sends
//! a message, success) and [`ServeLoop::run`] closes every session, the stop session and
//! the port, and returns. The sysmodule sets none and serves forever.
#![forbid(unsafe_code)]

use core::fmt;

use super::{Action, MAX_SESSIONS, ReceiveMode, Server, ServiceHandler, StrayHandles};

/// What [`Server::handle_into`] returned.
struct Handled {
    action: Action,
    result: ResultCode,
}
use crate::result::{ResultCode, kernel};
use crate::text::{self, Line, Piece};

pub use super::Handle;

/// Most handles one wait takes: the port, [`MAX_SESSIONS`] sessions and the stop session.
pub const WAIT_HANDLES_MAX: usize = 2 + MAX_SESSIONS;

/// Kernel SessionClosed (horizon-ipc.md §8: 0xf601).
pub const SESSION_CLOSED: ResultCode = kernel::SESSION_CLOSED;
/// Kernel ReceiveListBroken (horizon-ipc.md §8: 0x20401).
pub const RECEIVE_LIST_BROKEN: ResultCode = kernel::RECEIVE_LIST_BROKEN;

/// A receive error on the session at the returned index: the kernel wrote the index.
fn is_receive_error(result: ResultCode) -> bool {
    result == SESSION_CLOSED || result == RECEIVE_LIST_BROKEN
}

/// The argument checks svcReplyAndReceive makes before any reply, none of which writes
/// the index: the handle count (0xee01), the handle array (0xe601), a wait handle or the
/// reply target (0xe401) (mesosphere ReplyAndReceiveImpl).
fn is_argument_error(result: ResultCode) -> bool {
    result == kernel::OUT_OF_RANGE || result == kernel::INVALID_POINTER || result == kernel::INVALID_HANDLE
}

/// A failed `svcReplyAndReceive`: the result and the index the kernel wrote.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct WaitError {
    /// The svc's result.
    pub result: ResultCode,
    /// The index register after the call: written for a receive error (0xf601, 0x20401)
    /// and a failed reply (−1, or 0 on Ryujinx); anything at all after the argument
    /// checks and TimedOut (module doc, "Outcomes").
    pub index: i32,
}

/// The svcs a server loop needs. The message buffer is the calling thread's TLS message
/// buffer: `reply_and_receive` sends what [`ServerSyscalls::message`] holds and receives into it.
pub trait ServerSyscalls {
    /// The 64-word message buffer.
    fn message(&mut self) -> &mut [u32];
    /// svcReplyAndReceive (0x43) with an infinite timeout; Ok(index of the signalled
    /// handle).
    fn reply_and_receive(&mut self, handles: &[Handle], reply_target: Handle) -> Result<usize, WaitError>;
    /// svcAcceptSession (0x41).
    fn accept_session(&mut self, port: Handle) -> Result<Handle, ResultCode>;
    /// svcCloseHandle (0x16); a failure is only logged by the caller.
    fn close_handle(&mut self, handle: Handle) -> Result<(), ResultCode>;
    /// One line of log output (svcOutputDebugString), written without `core::fmt`
    /// ([`crate::text`]).
    fn log(&mut self, line: &[Piece<'_>]);
}

/// Why a session was dropped (for its log line).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CloseReason {
    /// The client sent a Close message.
    CloseMessage,
    /// The kernel reported the client side closed (0xf601 on receive).
    ClientClosed,
    /// The reply to it failed (its client is gone) or was never sent (an argument check
    /// of svcReplyAndReceive failed).
    ReplyFailed(ResultCode),
}

impl CloseReason {
    /// The words of its log line: a text and, for a failed reply, the result after it.
    pub fn pieces(self) -> [Piece<'static>; 2] {
        match self {
            CloseReason::CloseMessage => [Piece::Str("close message"), Piece::Str("")],
            CloseReason::ClientClosed => [Piece::Str("client closed"), Piece::Str("")],
            CloseReason::ReplyFailed(rc) => [Piece::Str("reply failed "), Piece::Result(rc)],
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Line(&self.pieces()).fmt(f)
    }
}

/// What one [`ServeLoop::step`] did (for tests and counters; the loop itself needs none).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Step {
    /// A session was accepted into `slot`.
    Accepted { slot: usize },
    /// A session was accepted and closed at once: every slot is taken.
    Refused,
    /// The request of the session in `slot` was handled; its reply goes out with the next
    /// call (`replied` false: the session was closed instead, a Close message).
    Handled { slot: usize, result: ResultCode, replied: bool },
    /// The session in `slot` was closed and dropped.
    Dropped { slot: usize, reason: CloseReason },
    /// The receive list was re-armed after a failure not tied to a session.
    Rearmed { result: ResultCode },
    /// The owner signalled the stop session: [`ServeLoop::run`] returns.
    Stopped,
}

/// A service's loop: the port, the server core (its session table holds the session
/// handles by slot) and the pointer buffer.
pub struct ServeLoop<'p, Y: ServerSyscalls, S: ServiceHandler> {
    syscalls: Y,
    server: Server<S>,
    name: &'static str,
    port: Handle,
    pointer_buffer: &'p mut [u8],
    reply_target: Handle,
    stop: Handle,
    wait: WaitList,
    /// The copy handles of the request being handled (reused, not rebuilt per request).
    stray: StrayHandles,
}

/// The handles one wait takes (the port, every open session in slot order, the stop
/// session) and the slot behind each index, rebuilt only when a session opens or closes
/// or the stop session changes, not on every request.
#[derive(Clone, Copy, Debug)]
struct WaitList {
    handles: [Handle; WAIT_HANDLES_MAX],
    slots: [u8; WAIT_HANDLES_MAX],
    count: usize,
    stop_index: Option<usize>,
    stale: bool,
}

impl<'p, Y: ServerSyscalls, S: ServiceHandler> ServeLoop<'p, Y, S> {
    /// A loop serving `port` (already registered) with `server`, whose receive area must
    /// describe `pointer_buffer` (same guest address and size). Arms the receive list and
    /// logs the start line.
    pub fn new(
        mut syscalls: Y,
        server: Server<S>,
        name: &'static str,
        port: Handle,
        pointer_buffer: &'p mut [u8],
    ) -> ServeLoop<'p, Y, S> {
        let area = *server.area();
        let mode = match area.mode {
            ReceiveMode::Single => "single",
            ReceiveMode::Indexed(_) => "indexed",
        };
        syscalls.log(&[
            Piece::Str(name),
            Piece::Str(": serving, receive mode "),
            Piece::Dec(u64::from(area.mode.raw())),
            Piece::Str(" ("),
            Piece::Str(mode),
            Piece::Str("), pointer buffer "),
            text::hex(area.size),
            Piece::Str(" bytes at "),
            Piece::Hex(area.guest_addr),
            Piece::Str(", max "),
            text::dec(server.sessions().limit()),
            Piece::Str(" sessions"),
        ]);
        let wait = WaitList {
            handles: [0; WAIT_HANDLES_MAX],
            slots: [0; WAIT_HANDLES_MAX],
            count: 0,
            stop_index: None,
            stale: true,
        };
        let mut this = ServeLoop {
            syscalls,
            server,
            name,
            port,
            pointer_buffer,
            reply_target: 0,
            stop: 0,
            wait,
            stray: StrayHandles::default(),
        };
        this.rearm();
        this
    }

    /// Sets the stop session (module doc, "Stopping"); 0 = none.
    pub fn set_stop_session(&mut self, stop: Handle) {
        self.stop = stop;
        self.wait.stale = true;
    }

    /// Serves until the stop session is signalled (forever without one); then closes
    /// every session, the stop session and the port.
    pub fn run(&mut self) {
        while self.step() != Step::Stopped {}
        for slot in 0..MAX_SESSIONS {
            if let Ok(handle) = self.server.close_session(slot) {
                let _ = self.syscalls.close_handle(handle);
            }
        }
        for handle in [core::mem::take(&mut self.stop), self.port] {
            let _ = self.syscalls.close_handle(handle);
        }
        self.syscalls.log(&[Piece::Str(self.name), Piece::Str(": stopped")]);
    }

    /// The server core (counters, sessions).
    pub fn server(&self) -> &Server<S> {
        &self.server
    }

    /// The svc layer.
    pub fn syscalls(&mut self) -> &mut Y {
        &mut self.syscalls
    }

    /// The session handle in `slot` (0 when the slot is free).
    pub fn session_handle(&self, slot: usize) -> Handle {
        self.server.sessions().handle(slot).unwrap_or(0)
    }

    /// The session the next call replies to (0: none).
    pub fn reply_target(&self) -> Handle {
        self.reply_target
    }

    /// The wait list: the port, then every open session in slot order, then the stop
    /// session.
    fn rebuild_wait_list(&mut self) {
        let w = &mut self.wait;
        w.handles = [0; WAIT_HANDLES_MAX];
        w.slots = [0; WAIT_HANDLES_MAX];
        let mut count = 0;
        if let Some(h) = w.handles.first_mut() {
            *h = self.port;
            count = 1;
        }
        for (slot, h) in self.server.sessions().iter_open() {
            if let (Some(hs), Some(ss), Ok(slot)) =
                (w.handles.get_mut(count), w.slots.get_mut(count), u8::try_from(slot))
            {
                *hs = h;
                *ss = slot;
                count += 1;
            }
        }
        w.stop_index = None;
        if let (true, Some(hs)) = (self.stop != 0, w.handles.get_mut(count)) {
            *hs = self.stop;
            w.stop_index = Some(count);
            count += 1;
        }
        w.count = count;
        w.stale = false;
    }

    /// One `svcReplyAndReceive` and what follows from it.
    pub fn step(&mut self) -> Step {
        if self.wait.stale {
            self.rebuild_wait_list();
        }
        let (count, stop_index) = (self.wait.count, self.wait.stop_index);
        let reply_target = core::mem::take(&mut self.reply_target);
        let wait = self.wait.handles.get(..count).unwrap_or(&[]);
        let outcome = self.syscalls.reply_and_receive(wait, reply_target);
        // The session index a receive reported (success, or a receive error on it).
        let signalled = match outcome {
            Ok(i) => Some(i),
            Err(e) if is_receive_error(e.result) => usize::try_from(e.index).ok(),
            Err(_) => None,
        };
        if signalled.is_some() && signalled == stop_index {
            return Step::Stopped;
        }
        match outcome {
            Ok(0) => self.accept(),
            Ok(index) => match self.wait.slots.get(index).filter(|_| index < count) {
                Some(&slot) => self.handle(usize::from(slot), index),
                None => self.rearm_after(kernel::OUT_OF_RANGE),
            },
            // The reply (if any) went out before the wait timed out; no index.
            Err(e) if e.result == kernel::TIMED_OUT => self.rearm_after(e.result),
            // Nothing was sent and no index written: the reply target's reply is lost.
            Err(e) if is_argument_error(e.result) => match reply_target {
                0 => self.rearm_after(e.result),
                target => self.drop_reply_target(target, e.result),
            },
            Err(e) if is_receive_error(e.result) => {
                let index = signalled.filter(|&i| i > 0 && i < count);
                match index.and_then(|i| self.wait.slots.get(i).map(|&s| usize::from(s))) {
                    // 0x20401 is the list, not the session; 0xf601 = its client closed.
                    Some(_) if e.result == RECEIVE_LIST_BROKEN => self.rearm_after(e.result),
                    Some(slot) => self.drop_session(slot, CloseReason::ClientClosed),
                    // 0xf601 with index ≤ 0 while replying: the reply failed (the client
                    // is gone) and nothing was received.
                    None if reply_target != 0 && e.result == SESSION_CLOSED && e.index <= 0 => {
                        self.drop_reply_target(reply_target, e.result)
                    }
                    None => self.rearm_after(e.result),
                }
            }
            // Any other failure of the reply itself (index −1, 0 on Ryujinx); nothing
            // was received.
            Err(e) if reply_target != 0 && e.index <= 0 => self.drop_reply_target(reply_target, e.result),
            Err(e) => self.rearm_after(e.result),
        }
    }

    /// The reply to `target` failed or was never sent: drop that session.
    fn drop_reply_target(&mut self, target: Handle, result: ResultCode) -> Step {
        match self.server.sessions().slot_of(target) {
            Some(slot) => self.drop_session(slot, CloseReason::ReplyFailed(result)),
            None => self.rearm_after(result),
        }
    }

    fn accept(&mut self) -> Step {
        let step = match self.syscalls.accept_session(self.port) {
            Ok(handle) => match self.server.open_session(handle) {
                Ok(slot) => {
                    self.wait.stale = true;
                    let open = self.server.sessions().open_count();
                    self.syscalls.log(&[
                        Piece::Str(self.name),
                        Piece::Str(": session "),
                        text::dec(slot),
                        Piece::Str(" opened ("),
                        Piece::Dec(u64::from(open)),
                        Piece::Str(" open)"),
                    ]);
                    Step::Accepted { slot }
                }
                Err(_) => self.refuse(handle),
            },
            // Nothing pending after all (another waiter took it): just wait again.
            Err(rc) => Step::Rearmed { result: rc },
        };
        self.rearm();
        step
    }

    fn refuse(&mut self, handle: Handle) -> Step {
        let _ = self.syscalls.close_handle(handle);
        let limit = self.server.sessions().limit();
        self.syscalls.log(&[
            Piece::Str(self.name),
            Piece::Str(": session refused ("),
            text::dec(limit),
            Piece::Str(" open, the maximum)"),
        ]);
        Step::Refused
    }

    /// The request of the session in `slot`, signalled at `index` of the wait list.
    fn handle(&mut self, slot: usize, index: usize) -> Step {
        let (action, result) =
            self.server.handle_into(slot, self.syscalls.message(), self.pointer_buffer, &mut self.stray);
        for &stray in self.stray.as_slice() {
            let _ = self.syscalls.close_handle(stray);
        }
        let handled = Handled { action, result };
        match handled.action {
            Action::Reply => {
                // The wait list is current (rebuilt before the wait whenever a session
                // opened or closed): the handle at `index` is the session in `slot`.
                self.reply_target = self.wait.handles.get(index).copied().unwrap_or(0);
                Step::Handled { slot, result: handled.result, replied: true }
            }
            Action::CloseSession => {
                let _ = self.drop_session(slot, CloseReason::CloseMessage);
                Step::Handled { slot, result: handled.result, replied: false }
            }
        }
    }

    fn drop_session(&mut self, slot: usize, reason: CloseReason) -> Step {
        self.wait.stale = true;
        if let Ok(handle) = self.server.close_session(slot) {
            let _ = self.syscalls.close_handle(handle);
        }
        let open = self.server.sessions().open_count();
        let [because, result] = reason.pieces();
        self.syscalls.log(&[
            Piece::Str(self.name),
            Piece::Str(": session "),
            text::dec(slot),
            Piece::Str(" closed, "),
            because,
            result,
            Piece::Str(" ("),
            Piece::Dec(u64::from(open)),
            Piece::Str(" open)"),
        ]);
        self.rearm();
        Step::Dropped { slot, reason }
    }

    fn rearm_after(&mut self, result: ResultCode) -> Step {
        self.rearm();
        Step::Rearmed { result }
    }

    fn rearm(&mut self) {
        self.reply_target = 0;
        // Only a message buffer shorter than 0x100 bytes fails here, which no ServerSyscalls has.
        let _ = self.server.prepare_receive(self.syscalls.message());
    }
}

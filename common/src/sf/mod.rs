//! `sf`: a small server framework for HIPC/CMIF services with pointer buffers. It knows
//! nothing about svcs and nothing about any one service: a service is a
//! [`ServiceHandler`], whose commands are declared once, as rows of a [`CommandMeta`]
//! table, and a [`ServiceIdentity`] (name, pointer-buffer size, receive mode, session
//! limit). The framework does the rest:
//!
//! - [`receive_area`]: the receive list (C entries over the pointer buffer) and arming it;
//! - [`pointer_buffer`]: locating X payloads, carving out regions from the top;
//! - [`session`]: the one session table (slot → session handle and counters);
//! - [`command`]: the command table, its computed limits, and what a handler sees
//!   ([`Call`]: typed in-pointers, out-pointers carved on demand, raw in and out);
//! - [`dispatch`]: [`Server::handle`]: the checks the table drives, the control
//!   commands, the reply, the copy handles to close ([`StrayHandles`]);
//! - [`serve_loop`]: the svc loop around a server, over [`serve_loop::ServerSyscalls`]
//!   (`xcbuf_rt::server` implements it on the Switch; host tests script it).
//!
//! Driving a [`Server`] by hand (what [`serve_loop::ServeLoop`] does):
//!
//! ```text
//! let mut server = Server::new(handler, identity.config(pointer_buffer_guest_addr))?;
//! server.prepare_receive(tls)?;                 // arm the receive list
//! let mut reply_target = 0;
//! loop {
//!     // svcReplyAndReceive(handles = [port, sessions...], reply_target, timeout = -1)
//!     match what_happened {
//!         port signalled => { let h = AcceptSession; server.open_session(h) (or close h
//!                             when it is full); server.prepare_receive(tls)?;
//!                             reply_target = 0 }
//!         session `slot` received a request => {
//!             let handled = server.handle(slot, tls, pointer_buffer);
//!             close every handle in handled.stray_handles;
//!             match handled.action {
//!                 Action::Reply => reply_target = handle of slot,   // tls holds the reply
//!                 Action::CloseSession => { svcCloseHandle(server.close_session(slot)?);
//!                                           reply_target = 0 }      // tls is re-armed
//!             }
//!         }
//!         0xf601 on `slot` => { svcCloseHandle(server.close_session(slot)?);
//!                               server.prepare_receive(tls)?; reply_target = 0 }
//!         0x20401 (list broken) => { server.prepare_receive(tls)?; reply_target = 0 }
//!     }
//! }
//! ```
//!
//! After [`Server::handle`] the message buffer always holds what the next
//! `svcReplyAndReceive` needs: either the reply (to send with `reply_target` = that
//! session) with the receive list armed at [`RECEIVE_LIST_OFFSET`], or, for
//! [`Action::CloseSession`], a bare receive-only message with the list armed.
#![forbid(unsafe_code)]

pub mod command;
pub mod dispatch;
pub mod pointer_buffer;
pub mod raw;
pub mod receive_area;
pub mod serve_loop;
pub mod session;

pub use command::{Call, CommandMeta, Handler, InPointer, OutPointer, ServerStatus};
pub use dispatch::{Action, Handled, StrayHandles};
pub use pointer_buffer::{Carver, PointerBufferRange, Region};
pub use raw::{QueryPointerBufferSizeResponse, RawData};
pub use receive_area::{EntryLayout, ReceiveArea, ReceiveAreaError, ReceiveMode};
pub use session::{Handle, SESSION_NOT_OPEN, SessionStats, SessionTable};

use core::fmt;

use static_assertions::const_assert;

use crate::hipc::{HipcError, RECEIVE_LIST_ENTRY_COUNT_MAX, TLS_MESSAGE_BUFFER_SIZE};
use crate::result::{self, ResultCode};

// ---------------------------------------------------------------------------------------
// Framework limits and results
// ---------------------------------------------------------------------------------------

/// Sessions one server holds at once (the session table's size). A service's own limit
/// ([`ServiceIdentity::max_sessions`]) is at most this. The serve loop waits on the port,
/// these sessions and a stop session: 18 handles, well below the 0x40 handles
/// `svcReplyAndReceive` accepts (horizon-ipc.md §7).
pub const MAX_SESSIONS: usize = 16;

/// Fixed `ReceiveListOffset` (in words) at which a server arms its receive list, in the
/// receive-only message and in every reply. It must be at or past the end of the raw
/// data of every reply and leave room for the entries inside the 0x100-byte message
/// buffer: `offset*4 + 8*entries <= 0x100` (emulator-bench.md "Receive list at a
/// non-zero offset"). Each service's table is checked against it
/// ([`command::table_fits`]).
pub const RECEIVE_LIST_OFFSET: usize = 32;

/// CMIF Control (HIPC type 5) command 3: QueryPointerBufferSize, answers a `u16`
/// (horizon-ipc.md §5.2). The only control command a server answers.
pub const CONTROL_QUERY_POINTER_BUFFER_SIZE: u32 = 3;

/// No free session slot (kernel OutOfSessions, 0xe01); returned by
/// [`Server::open_session`], never replied.
pub const OUT_OF_SESSIONS: ResultCode = result::kernel::OUT_OF_SESSIONS;
/// An X descriptor that does not lie inside the pointer buffer (xcbuf 427/13, 0x1bab).
pub const X_OUTSIDE_POINTER_BUFFER: ResultCode = result::xcbuf::X_OUTSIDE_POINTER_BUFFER;
/// In-data plus out regions do not fit the pointer buffer (0x11a0b).
pub const POINTER_BUFFER_TOO_SMALL: ResultCode = result::hipc::POINTER_BUFFER_TOO_SMALL;

/// Raw words of a CMIF reply with `out_data` bytes after the SFCO header:
/// `(AlignUp(out_data + 16, 4) + 0x10) / 4` (horizon-ipc.md §6.3, libstratosphere
/// `sf_impl_command_serialization.hpp` `HipcCommandProcessor::PrepareForReply`).
pub const fn reply_raw_words(out_data: usize) -> usize {
    ((out_data + 16).div_ceil(4) * 4 + 0x10) / 4
}

/// Words a reply occupies: 2 header words, 2 per X, then the raw data.
pub const fn reply_words(pointers: usize, out_data: usize) -> usize {
    2 + 2 * pointers + reply_raw_words(out_data)
}

// The one-svc-per-request rule (emulator-bench.md §2): the receive list fits the message
// buffer behind every reply, even with 13 entries.
const_assert!(RECEIVE_LIST_OFFSET * 4 + 8 * RECEIVE_LIST_ENTRY_COUNT_MAX as usize <= TLS_MESSAGE_BUFFER_SIZE);
// ReceiveListOffset is an 11-bit field (horizon-ipc.md §1.2).
const_assert!(RECEIVE_LIST_OFFSET < (1 << 11));
// The error reply and QueryPointerBufferSize's reply end before the list.
const_assert!(reply_words(0, QueryPointerBufferSizeResponse::SIZE) <= RECEIVE_LIST_OFFSET);
// Port + sessions + stop session per wait, at most 0x40 handles (horizon-ipc.md §7).
const_assert!(MAX_SESSIONS + 2 <= 0x40);

// ---------------------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------------------

/// A service's commands: the table [`Server`] dispatches on. `Self` is the service's
/// own state, lent to every handler (`&mut self`).
pub trait ServiceHandler: Sized + 'static {
    /// The commands (HIPC type 4), one row each, any order, ids unique (checked at
    /// compile time by [`Server::new`] through [`command::table_fits`]).
    const COMMANDS: &'static [CommandMeta<Self>];
}

/// Who a service is, defined once: the name it registers with sm, its pointer buffer,
/// how the receive list offers it, and how many sessions it accepts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ServiceIdentity {
    /// The `sm:` name (1 to 8 bytes; runtime-abi.md "sm:").
    pub name: &'static str,
    /// Bytes of the pointer buffer (at most 0xFFFF: C entry sizes are 16 bits).
    pub pointer_buffer_size: usize,
    /// Single (one C entry over the buffer) or indexed (entries inside it).
    pub receive_mode: ReceiveMode,
    /// Sessions open at once (1..=[`MAX_SESSIONS`]); also what the port is created with.
    pub max_sessions: usize,
}

impl ServiceIdentity {
    /// The receive area for a pointer buffer at `guest_addr`.
    pub const fn area(&self, guest_addr: u64) -> ReceiveArea {
        ReceiveArea { guest_addr, size: self.pointer_buffer_size, mode: self.receive_mode }
    }

    /// The server configuration for a pointer buffer at `guest_addr`.
    pub const fn config(&self, guest_addr: u64) -> ServerConfig {
        ServerConfig { area: self.area(guest_addr), max_sessions: self.max_sessions }
    }

    /// The raw receive-list mode (what GetInfo-style commands report): 2, or 2 + entries.
    pub const fn receive_mode_raw(&self) -> u32 {
        self.receive_mode.raw()
    }

    /// Max sessions as sm's RegisterService and svcCreatePort take it.
    pub const fn max_sessions_i32(&self) -> i32 {
        // max_sessions <= MAX_SESSIONS (asserted by the service modules), far below i32::MAX.
        self.max_sessions as i32
    }
}

impl fmt::Display for ServiceIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// What a [`Server`] serves with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ServerConfig {
    /// The pointer buffer and how its receive list is armed.
    pub area: ReceiveArea,
    /// Most sessions open at once (1..=[`MAX_SESSIONS`]; clamped).
    pub max_sessions: usize,
}

/// Service-wide counters (a service may report them, e.g. xcbuf's Stats).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ServerCounters {
    /// Requests handled (types 4 and 5, errors included).
    pub requests: u64,
    /// Sum of the received X sizes.
    pub bytes_in: u64,
    /// Sum of the reply X sizes.
    pub bytes_out: u64,
    /// Requests answered with a failure result.
    pub errors: u64,
    /// Most pointer-buffer bytes one request used ([`Carver::bytes_used`]).
    pub pointer_buffer_high_water: u64,
}

/// One service's server: the handler, the receive area, the session table and the
/// counters. Holds no buffers: the message buffer and the pointer buffer are lent to
/// each call.
#[derive(Clone, Debug)]
pub struct Server<S: ServiceHandler> {
    handler: S,
    area: ReceiveArea,
    range: PointerBufferRange,
    /// The session table, the counters and what a handler reads of the server.
    status: command::StatusSource,
    /// The receive list as the message carries it, encoded once ([`receive_area::Armed`]).
    armed: receive_area::Armed,
    /// The staged reply of the request being handled, reused (reset per request).
    reply: command::Reply,
    /// The X of the request being handled, located by the walk over its descriptors.
    xs: [command::LocatedX; crate::hipc::DESCRIPTOR_COUNT_MAX as usize],
}

impl<S: ServiceHandler> Server<S> {
    /// A server running `handler` with `config`. Err when the receive area cannot be
    /// described by C entries (see [`ReceiveArea::validate`]). Does not compile when the
    /// service's command table does not fit the framework ([`command::table_fits`]): a
    /// reply of 11 X still ends before the receive list,
    /// ```
    /// use xcbuf_common::result::ResultCode;
    /// use xcbuf_common::sf::{Call, CommandMeta, Server, ServiceHandler};
    /// struct Wide;
    /// fn noop(_: &mut Wide, _: &mut Call<'_>) -> Result<(), ResultCode> { Ok(()) }
    /// impl ServiceHandler for Wide {
    ///     const COMMANDS: &'static [CommandMeta<Wide>] = &[CommandMeta {
    ///         id: 0, name: "wide", in_x: (0, 0), out_c: 0, in_raw: 0, out_raw: 0, reply_x: 11, handler: noop,
    ///     }];
    /// }
    /// assert!(Server::new(Wide, xcbuf_common::xcbuf::SINGLE.config(0x1000)).is_ok());
    /// ```
    /// a reply of 12 X would not, and the same code with `reply_x: 12` is refused:
    /// ```compile_fail
    /// use xcbuf_common::result::ResultCode;
    /// use xcbuf_common::sf::{Call, CommandMeta, Server, ServiceHandler};
    /// struct Wide;
    /// fn noop(_: &mut Wide, _: &mut Call<'_>) -> Result<(), ResultCode> { Ok(()) }
    /// impl ServiceHandler for Wide {
    ///     const COMMANDS: &'static [CommandMeta<Wide>] = &[CommandMeta {
    ///         id: 0, name: "wide", in_x: (0, 0), out_c: 0, in_raw: 0, out_raw: 0, reply_x: 12, handler: noop,
    ///     }];
    /// }
    /// assert!(Server::new(Wide, xcbuf_common::xcbuf::SINGLE.config(0x1000)).is_ok());
    /// ```
    pub fn new(handler: S, config: ServerConfig) -> Result<Server<S>, ReceiveAreaError> {
        const { assert!(command::table_fits(S::COMMANDS), "command table does not fit sf's limits") };
        let range = config.area.validate()?;
        let armed = receive_area::Armed::new(&config.area)?;
        Ok(Server {
            handler,
            area: config.area,
            range,
            status: command::StatusSource {
                pointer_buffer_size: range.size(),
                // The mode field the list is armed with (2, or 2 + entries): area.mode.raw().
                receive_mode_raw: (armed.word1() >> 10) & 0xF,
                sessions: SessionTable::new(config.max_sessions),
                counters: ServerCounters::default(),
            },
            armed,
            reply: command::Reply::new(),
            xs: [command::LocatedX::default(); crate::hipc::DESCRIPTOR_COUNT_MAX as usize],
        })
    }

    /// The receive area this server arms.
    pub fn area(&self) -> &ReceiveArea {
        &self.area
    }

    /// Guest range of the pointer buffer.
    pub fn pointer_buffer_range(&self) -> PointerBufferRange {
        self.range
    }

    /// The service's state.
    pub fn handler(&self) -> &S {
        &self.handler
    }

    /// Arms the receive list in `msg` for a receive without a reply (before the first
    /// `svcReplyAndReceive`, after accepting a session, after closing one, after
    /// 0x20401). Err only when `msg` is shorter than the list needs (< 0x100 bytes for
    /// [`RECEIVE_LIST_OFFSET`] 32 and 13 entries).
    pub fn prepare_receive(&self, msg: &mut [u32]) -> Result<(), HipcError> {
        self.armed.arm(msg)
    }

    /// Takes the lowest free session slot for the newly accepted session `handle`. Err
    /// [`OUT_OF_SESSIONS`] 0xe01 when `max_sessions` are open: the caller should then
    /// close the handle.
    pub fn open_session(&mut self, handle: Handle) -> Result<usize, ResultCode> {
        self.status.sessions.open(handle)
    }

    /// Frees a session slot (after the client closed it, or on [`Action::CloseSession`])
    /// and returns its handle, for the caller to close. Err [`SESSION_NOT_OPEN`].
    pub fn close_session(&mut self, slot: usize) -> Result<Handle, ResultCode> {
        self.status.sessions.close(slot)
    }

    /// The session table (handles, open/total counts, per-session counters).
    pub fn sessions(&self) -> &SessionTable {
        &self.status.sessions
    }

    /// Service-wide counters.
    pub fn counters(&self) -> &ServerCounters {
        &self.status.counters
    }

    /// What a handler sees of the server right now ([`Call::status`]).
    pub fn status(&self) -> ServerStatus {
        ServerStatus {
            pointer_buffer_size: self.range.size(),
            receive_mode_raw: self.area.mode.raw(),
            session_limit: self.status.sessions.limit(),
            open_sessions: self.status.sessions.open_count(),
            total_sessions: self.status.sessions.total_count(),
            counters: self.status.counters,
        }
    }
}

//! The transport-independent xcbuf server core: pointer-buffer bookkeeping, the session
//! table and dispatch. It knows nothing about svcs; the sysmodule (and the client's
//! in-process server, and the bench) drive it like this:
//!
//! ```text
//! let mut server = Server::new(ServerConfig::xcbuf(pointer_buffer_guest_addr))?;
//! server.prepare_receive(tls)?;                 // arm the receive list
//! let mut reply_target = 0;
//! loop {
//!     // svcReplyAndReceive(handles = [port, sessions...], reply_target, timeout = -1)
//!     match what_happened {
//!         port signalled => { let slot = server.open_session()?;  /* AcceptSession,
//!                             remember (slot, handle) */ server.prepare_receive(tls)?;
//!                             reply_target = 0 }
//!         session `slot` received a request => {
//!             let handled = server.handle(slot, tls, pointer_buffer);
//!             close every handle in handled.stray_handles;
//!             match handled.action {
//!                 Action::Reply => reply_target = handle of slot,   // tls holds the reply
//!                 Action::CloseSession => { server.close_session(slot)?; svcCloseHandle;
//!                                           reply_target = 0 }      // tls is re-armed
//!             }
//!         }
//!         0xf601 on `slot` => { server.close_session(slot)?; svcCloseHandle;
//!                               server.prepare_receive(tls)?; reply_target = 0 }
//!         0x20401 (list broken) => { server.prepare_receive(tls)?; reply_target = 0 }
//!     }
//! }
//! ```
//!
//! After [`Server::handle`] the message buffer always holds what the next
//! `svcReplyAndReceive` needs: either the reply (to send with `reply_target` = that
//! session) with the receive list armed at [`crate::protocol::RECEIVE_LIST_OFFSET`], or,
//! for [`Action::CloseSession`], a bare receive-only message with the list armed.
//!
//! One file per concept: [`receive_list`] (arming), [`pointer_buffer`] (locating X data,
//! carving out regions), [`session`] (the table), [`dispatch`] (validation, commands,
//! the reply).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

pub mod dispatch;
pub mod pointer_buffer;
pub mod receive_list;
pub mod session;

pub use dispatch::{Action, Handled, StrayHandles};
pub use pointer_buffer::{Carver, PointerBufferRange, Region};
pub use receive_list::{ReceiveArea, ReceiveAreaError, ReceiveMode};
pub use session::{SESSION_NOT_OPEN, SessionStats, SessionTable};

use crate::hipc::HipcError;
use crate::protocol::{MAX_SESSIONS, StatsResponse};
use crate::result::ResultCode;

/// What a [`Server`] serves with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ServerConfig {
    /// The pointer buffer and how its receive list is armed.
    pub area: ReceiveArea,
    /// Most sessions open at once (1..=[`MAX_SESSIONS`]; clamped).
    pub max_sessions: usize,
}

impl ServerConfig {
    /// The `xcbuf` service: single mode over a 0x800-byte pointer buffer at `guest_addr`,
    /// [`MAX_SESSIONS`] sessions.
    pub const fn xcbuf(guest_addr: u64) -> ServerConfig {
        ServerConfig { area: ReceiveArea::xcbuf(guest_addr), max_sessions: MAX_SESSIONS }
    }

    /// The `xcbuf:i` service: the indexed entries of
    /// [`crate::protocol::INDEXED_ENTRIES`] inside a 0x800-byte pointer buffer at
    /// `guest_addr`, [`MAX_SESSIONS`] sessions.
    pub const fn xcbuf_indexed(guest_addr: u64) -> ServerConfig {
        ServerConfig { area: ReceiveArea::xcbuf_indexed(guest_addr), max_sessions: MAX_SESSIONS }
    }
}

/// Service-wide counters (reported by Stats).
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

/// One service's server state. Holds no buffers: the message buffer and the pointer
/// buffer are lent to each call.
#[derive(Clone, Debug)]
pub struct Server {
    area: ReceiveArea,
    range: PointerBufferRange,
    sessions: SessionTable,
    counters: ServerCounters,
}

impl Server {
    /// A server for `config`. Err when the receive area cannot be described by C
    /// entries (see [`ReceiveArea::validate`]).
    pub fn new(config: ServerConfig) -> Result<Server, ReceiveAreaError> {
        let range = config.area.validate()?;
        Ok(Server {
            area: config.area,
            range,
            sessions: SessionTable::new(config.max_sessions),
            counters: ServerCounters::default(),
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

    /// Arms the receive list in `msg` for a receive without a reply (before the first
    /// `svcReplyAndReceive`, after accepting a session, after closing one, after
    /// 0x20401). Err only when `msg` is shorter than the list needs (< 0x100 bytes for
    /// the xcbuf layouts).
    pub fn prepare_receive(&self, msg: &mut [u32]) -> Result<(), HipcError> {
        receive_list::arm(msg, &self.area)
    }

    /// Takes a session slot for a newly accepted session. Err OutOfSessions 0xe01 when
    /// `max_sessions` are open: the caller should then close the accepted handle.
    pub fn open_session(&mut self) -> Result<usize, ResultCode> {
        self.sessions.open()
    }

    /// Frees a session slot (after the client closed it, or on [`Action::CloseSession`]).
    pub fn close_session(&mut self, slot: usize) -> Result<(), ResultCode> {
        self.sessions.close(slot)
    }

    /// The session table (open/total counts, per-session counters).
    pub fn sessions(&self) -> &SessionTable {
        &self.sessions
    }

    /// Service-wide counters.
    pub fn counters(&self) -> &ServerCounters {
        &self.counters
    }

    /// What Stats answers right now.
    pub fn stats(&self) -> StatsResponse {
        StatsResponse {
            requests: self.counters.requests,
            bytes_in: self.counters.bytes_in,
            bytes_out: self.counters.bytes_out,
            open_sessions: self.sessions.open_count(),
            total_sessions: self.sessions.total_count(),
            errors: self.counters.errors,
            pointer_buffer_high_water: u32::try_from(self.counters.pointer_buffer_high_water)
                .unwrap_or(u32::MAX),
            reserved: 0,
        }
    }
}

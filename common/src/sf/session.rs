//! The session table: the one place that knows which session slots are open, the kernel
//! handle of each session, how many sessions ever were, and each session's own counters.
//! Fixed-size, no allocation: memory does not grow with the session count (design.md
//! "Server rules").
//!
//! A slot number is what [`crate::sf::Server::handle`] takes; the serve loop builds its
//! wait list from the handles here, in slot order, and finds a session's slot by its
//! handle.
#![forbid(unsafe_code)]

use crate::result::{self, ResultCode};

use super::{MAX_SESSIONS, OUT_OF_SESSIONS};

/// A kernel handle.
pub type Handle = u32;

/// A slot given to a slot-taking method that is not open (kernel InvalidHandle 0xe401:
/// the transport passed a slot it never opened or already closed).
pub const SESSION_NOT_OPEN: ResultCode = result::kernel::INVALID_HANDLE;

/// Counters of one session since it was opened.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SessionStats {
    /// Requests handled (including those answered with an error).
    pub requests: u64,
    /// Sum of the sizes of the received X.
    pub bytes_in: u64,
    /// Sum of the sizes of the reply X.
    pub bytes_out: u64,
    /// Requests answered with a failure result.
    pub errors: u64,
}

/// One open session: its handle and its counters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Session {
    handle: Handle,
    stats: SessionStats,
}

/// Fixed table of [`MAX_SESSIONS`] slots, of which at most `limit` are open at once.
#[derive(Clone, Debug)]
pub struct SessionTable {
    slots: [Option<Session>; MAX_SESSIONS],
    limit: usize,
    open: u32,
    total: u32,
}

impl SessionTable {
    /// A table allowing `limit` open sessions (clamped to 1..=[`MAX_SESSIONS`]).
    pub const fn new(limit: usize) -> SessionTable {
        let limit = if limit == 0 {
            1
        } else if limit > MAX_SESSIONS {
            MAX_SESSIONS
        } else {
            limit
        };
        SessionTable { slots: [None; MAX_SESSIONS], limit, open: 0, total: 0 }
    }

    /// Most sessions open at once.
    pub const fn limit(&self) -> usize {
        self.limit
    }

    /// Opens the lowest free slot for `handle`, with zeroed counters. Err
    /// [`OUT_OF_SESSIONS`] (0xe01) when `limit` sessions are open.
    pub fn open(&mut self, handle: Handle) -> Result<usize, ResultCode> {
        if self.open as usize >= self.limit {
            return Err(OUT_OF_SESSIONS);
        }
        let (slot, entry) = self.slots.iter_mut().enumerate().find(|(_, s)| s.is_none()).ok_or(OUT_OF_SESSIONS)?;
        *entry = Some(Session { handle, stats: SessionStats::default() });
        self.open = self.open.saturating_add(1);
        self.total = self.total.saturating_add(1);
        Ok(slot)
    }

    /// Closes `slot` and returns its handle. Err [`SESSION_NOT_OPEN`] when it is not open.
    pub fn close(&mut self, slot: usize) -> Result<Handle, ResultCode> {
        let session = self.slots.get_mut(slot).and_then(Option::take).ok_or(SESSION_NOT_OPEN)?;
        self.open = self.open.saturating_sub(1);
        Ok(session.handle)
    }

    /// True when `slot` is open.
    pub fn is_open(&self, slot: usize) -> bool {
        matches!(self.slots.get(slot), Some(Some(_)))
    }

    /// The handle of an open slot.
    pub fn handle(&self, slot: usize) -> Option<Handle> {
        self.slots.get(slot).and_then(Option::as_ref).map(|s| s.handle)
    }

    /// The slot of the open session with this handle.
    pub fn slot_of(&self, handle: Handle) -> Option<usize> {
        self.slots.iter().position(|s| s.is_some_and(|s| s.handle == handle))
    }

    /// The open sessions, `(slot, handle)` in slot order.
    pub fn iter_open(&self) -> impl Iterator<Item = (usize, Handle)> + '_ {
        self.slots.iter().enumerate().filter_map(|(slot, s)| s.map(|s| (slot, s.handle)))
    }

    /// Counters of an open slot.
    pub fn stats(&self, slot: usize) -> Option<&SessionStats> {
        self.slots.get(slot).and_then(Option::as_ref).map(|s| &s.stats)
    }

    /// Mutable counters of an open slot.
    pub fn stats_mut(&mut self, slot: usize) -> Option<&mut SessionStats> {
        self.slots.get_mut(slot).and_then(Option::as_mut).map(|s| &mut s.stats)
    }

    /// Sessions open now.
    pub const fn open_count(&self) -> u32 {
        self.open
    }

    /// Sessions ever opened.
    pub const fn total_count(&self) -> u32 {
        self.total
    }
}

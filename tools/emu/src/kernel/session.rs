//! KSession (KServerSession + KClientSession): the request queue between one client
//! and one server (horizon-ipc.md §3.1, §4).
//!
//! A client's SendSyncRequest queues a [`KSessionRequest`] and blocks the client
//! thread; the server's ReplyAndReceive pops it (`receive_request`) and later answers it
//! (`send_reply`). Closing either side ends every pending request with SessionClosed
//! (0xf601).

use std::collections::VecDeque;

use super::{PortId, ProcessId, ThreadId};

/// A message buffer in some process: the thread's TLS (size 0x100) for
/// SendSyncRequest / ReplyAndReceive (horizon-ipc.md §1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageLocation {
    pub process: ProcessId,
    pub address: u64,
    pub size: u64,
}

/// One queued request (mesosphere's KSessionRequest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KSessionRequest {
    /// The blocked client thread, or `None` for a request injected by the host.
    pub client_thread: Option<ThreadId>,
    pub message: MessageLocation,
}

/// What serves the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionServer {
    Guest,
    /// The host's `sm:` and what it keeps for this session (crate::sm).
    HleSm(crate::sm::SmSession),
    /// The host's `fsp-srv`: which of its objects the session is.
    HleFsp(crate::fsp::FspObject),
}

#[derive(Debug)]
pub struct KSession {
    pub port: Option<PortId>,
    pub server: SessionServer,
    pub server_refs: u32,
    pub client_refs: u32,
    /// The server side was ever opened by a handle (accepted / created): until then a
    /// session waiting in an accept queue is not "closed".
    pub server_accepted: bool,
    pub requests: VecDeque<KSessionRequest>,
    /// The request the server received and has not replied to yet.
    pub current: Option<KSessionRequest>,
}

impl KSession {
    pub fn new(port: Option<PortId>, server: SessionServer) -> KSession {
        KSession {
            port,
            server,
            server_refs: 0,
            client_refs: 0,
            server_accepted: false,
            requests: VecDeque::new(),
            current: None,
        }
    }

    pub fn client_closed(&self) -> bool {
        self.client_refs == 0
    }

    pub fn server_closed(&self) -> bool {
        match self.server {
            SessionServer::Guest => self.server_accepted && self.server_refs == 0,
            SessionServer::HleSm(ref state) => state.closed,
            SessionServer::HleFsp(_) => false,
        }
    }

    /// The server side is signalled: a request waits, or the client is gone
    /// (horizon-ipc.md §3.1 ReceiveRequest).
    pub fn server_signalled(&self) -> bool {
        (!self.requests.is_empty() && self.current.is_none()) || self.client_closed()
    }
}

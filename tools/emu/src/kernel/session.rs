//! KSession (KServerSession + KClientSession): the request queue between one client
//! and one server (horizon-ipc.md §3.1, §4).
//!
//! A client's SendSyncRequest queues a [`KSessionRequest`] and blocks the client
//! thread; the server's ReplyAndReceive pops it (`receive_request`) and later answers it
//! (`send_reply`).
//!
//! # References and closing (mesosphere `kern_k_session.cpp`, `kern_k_client_session.cpp`)
//! Each side is an object with a reference count: a handle holds one, a thread blocked in
//! SendSyncRequest holds one on the client side (`svc/kern_svc_ipc.cpp`
//! SendSyncRequestImpl keeps the KClientSession and its KSession open until the svc
//! returns), and a session waiting in its port's accept queue holds the server side
//! (`kern_k_server_port.cpp` EnqueueSession / CleanupSessions). When a side's last
//! reference goes, that side is destroyed (KClientSession::Destroy /
//! KServerSession::Destroy) and, if the session was still [`SessionState::Normal`], the
//! peer is told (KSession::OnClientClosed / OnServerClosed). The session is finalized
//! once both sides are destroyed (KSession::Finalize): only then does its port's session
//! count drop (KClientPort::OnSessionFinalized) and the session resource the creating
//! process reserved come back (KSession::PostDestroy).

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
    /// The client thread that sent it (blocked in SendSyncRequest, or terminated since),
    /// or `None` once the client side closed while the thread was terminating
    /// (KServerSession::OnClientClosed's ClearThread).
    pub client_thread: Option<ThreadId>,
    pub message: MessageLocation,
}

/// What serves the session.
#[derive(Debug)]
pub enum SessionServer {
    Guest,
    /// An HLE service on the host (sm, fsp-srv, ...): the session's object or domain,
    /// served through `crate::hle::handle_request`.
    Hle(crate::hle::session::HleSession),
}

/// mesosphere's KSession::State: the first side to close decides it, and from then on
/// both `IsClientClosed` and `IsServerClosed` are true (`kern_k_session.hpp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    Normal,
    ClientClosed,
    ServerClosed,
}

#[derive(Debug)]
pub struct KSession {
    /// The port it was created through (None for svcCreateSession and HLE objects).
    pub port: Option<PortId>,
    pub server: SessionServer,
    /// References to the server side: its handles.
    pub server_refs: u32,
    /// References to the client side: its handles plus one per thread blocked in
    /// SendSyncRequest on it.
    pub client_refs: u32,
    /// The server side waits in its port's accept queue, which holds its reference.
    pub in_accept_queue: bool,
    pub state: SessionState,
    /// The client side's last reference went (KClientSession::Destroy).
    pub client_destroyed: bool,
    /// The server side's last reference went (KServerSession::Destroy); for an HLE
    /// server, when the client side went.
    pub server_destroyed: bool,
    /// The process whose session resource this session holds (KSession::m_process: the
    /// one that created it); released at finalization.
    pub owner: Option<ProcessId>,
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
            in_accept_queue: false,
            state: SessionState::Normal,
            client_destroyed: false,
            server_destroyed: false,
            owner: None,
            requests: VecDeque::new(),
            current: None,
        }
    }

    /// KSession::IsClientClosed: either side has closed.
    pub fn client_closed(&self) -> bool {
        self.state != SessionState::Normal
    }

    /// KSession::IsServerClosed: either side has closed.
    pub fn server_closed(&self) -> bool {
        self.state != SessionState::Normal
    }

    /// Both sides are destroyed (KSession::Finalize ran).
    pub fn finalized(&self) -> bool {
        self.client_destroyed && self.server_destroyed
    }

    /// The server side is signalled: a request waits, or the client is gone
    /// (horizon-ipc.md §3.1 ReceiveRequest).
    pub fn server_signalled(&self) -> bool {
        (!self.requests.is_empty() && self.current.is_none()) || self.client_closed()
    }
}

//! KPort (KServerPort + KClientPort): where sessions are created and wait to be
//! accepted (horizon-ipc.md §7: CreatePort, ManageNamedPort, ConnectToPort,
//! ConnectToNamedPort, AcceptSession).

use std::collections::VecDeque;

use super::SessionId;

/// Who serves the sessions of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortServer {
    /// A guest process accepts sessions through its server-port handle.
    Guest,
    /// An HLE service of the bench (no guest code): sessions are served on the host by
    /// the service with this index in `Kernel::hle.services` (crate::hle).
    Hle(usize),
}

#[derive(Debug)]
pub struct KPort {
    /// Named-port or service name, for reports.
    pub name: String,
    pub max_sessions: u32,
    pub is_light: bool,
    pub server: PortServer,
    /// Handles to the server side / client side still open.
    pub server_refs: u32,
    pub client_refs: u32,
    /// Sessions connected but not yet accepted (the server port is signalled while
    /// this is non-empty).
    pub accept_queue: VecDeque<SessionId>,
    /// Sessions created through this port and not yet fully closed.
    pub open_sessions: u32,
}

impl KPort {
    pub fn new(name: String, max_sessions: u32, is_light: bool, server: PortServer) -> KPort {
        KPort {
            name,
            max_sessions,
            is_light,
            server,
            server_refs: 0,
            client_refs: 0,
            accept_queue: VecDeque::new(),
            open_sessions: 0,
        }
    }

    pub fn server_closed(&self) -> bool {
        self.server == PortServer::Guest && self.server_refs == 0
    }
}

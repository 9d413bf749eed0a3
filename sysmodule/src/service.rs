//! The two services the sysmodule serves and what each needs: its `sm:` name, its server
//! core configuration, and the thread it runs on (serve_loop.rs explains why each service
//! has its own thread).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

use xcbuf_common::protocol::{
    INDEXED_POINTER_BUFFER_SIZE, MAX_SESSIONS, POINTER_BUFFER_SIZE, SERVICE_NAME, SERVICE_NAME_INDEXED,
};
use xcbuf_common::server::{ReceiveAreaError, Server, ServerConfig};

/// Largest pointer buffer of the two services (the buffer type below holds either).
pub const POINTER_BUFFER_CAPACITY: usize = if POINTER_BUFFER_SIZE > INDEXED_POINTER_BUFFER_SIZE {
    POINTER_BUFFER_SIZE
} else {
    INDEXED_POINTER_BUFFER_SIZE
};

/// A pointer buffer: 16-byte aligned like the kernel's packing (horizon-ipc.md §3.3
/// `PointerTransferBufferAlignment`), so the first X lands at its very start.
#[repr(C, align(16))]
pub struct PointerBuffer(pub [u8; POINTER_BUFFER_CAPACITY]);

impl PointerBuffer {
    /// A zeroed buffer.
    pub const fn new() -> PointerBuffer {
        PointerBuffer([0; POINTER_BUFFER_CAPACITY])
    }
}

impl Default for PointerBuffer {
    fn default() -> Self {
        Self::new()
    }
}

/// Which service.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Service {
    /// `xcbuf`: single-buffer receive list (mode 2).
    Single,
    /// `xcbuf:i`: indexed receive list (mode 2 + n).
    Indexed,
}

impl Service {
    /// Both, in the order the sysmodule starts them.
    pub const ALL: [Service; 2] = [Service::Single, Service::Indexed];

    /// The 8-byte `sm:` name.
    pub const fn sm_name(self) -> [u8; 8] {
        match self {
            Service::Single => SERVICE_NAME,
            Service::Indexed => SERVICE_NAME_INDEXED,
        }
    }

    /// The name for log lines.
    pub const fn display_name(self) -> &'static str {
        match self {
            Service::Single => "xcbuf",
            Service::Indexed => "xcbuf:i",
        }
    }

    /// Bytes of the pointer buffer this service announces.
    pub const fn pointer_buffer_size(self) -> usize {
        match self {
            Service::Single => POINTER_BUFFER_SIZE,
            Service::Indexed => INDEXED_POINTER_BUFFER_SIZE,
        }
    }

    /// The server core configuration for a pointer buffer at `guest_addr`.
    pub const fn config(self, guest_addr: u64) -> ServerConfig {
        match self {
            Service::Single => ServerConfig::xcbuf(guest_addr),
            Service::Indexed => ServerConfig::xcbuf_indexed(guest_addr),
        }
    }

    /// The server core for a pointer buffer at `guest_addr`.
    pub fn server(self, guest_addr: u64) -> Result<Server, ReceiveAreaError> {
        Server::new(self.config(guest_addr))
    }

    /// Max sessions passed to sm's RegisterService / svcCreatePort (per service).
    pub const fn max_sessions(self) -> i32 {
        MAX_SESSIONS as i32
    }
}

// The `as i32` above cannot truncate.
static_assertions::const_assert!(MAX_SESSIONS <= i32::MAX as usize);

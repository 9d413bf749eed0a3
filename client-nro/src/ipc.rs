//! What the scenarios need from the system: a request (build, svcSendSyncRequest, parse),
//! a way to open and close sessions to each service, and a sleep. The Switch implementation is
//! [`crate::horizon::Transport`]; the scenarios know nothing else about svcs.
//!
//! Buffers are passed to the kernel by address ([`address_of`], [`address_of_mut`]); the
//! kernel reads X sources and writes C destinations there during [`Ipc::request`].

use xcbuf_common::client::{ClientError, ReplyView};
use xcbuf_common::result::ResultCode;
use xcbuf_common::sf::ServiceIdentity;

/// A kernel handle.
pub type Handle = u32;

/// A service: one of the identities of `xcbuf_common::xcbuf` ([`SINGLE`], [`INDEXED`]),
/// which say its sm name, pointer buffer, receive mode and session limit.
pub type Service = &'static ServiceIdentity;

pub use xcbuf_common::xcbuf::{INDEXED, SINGLE};

use crate::scenarios::CallError;

/// The client's view of the system.
pub trait Ipc {
    /// One request on `session`: `build` writes it into the thread's message buffer (and
    /// returns its size), svcSendSyncRequest sends it, and `read` takes what it needs from
    /// the reply where the kernel wrote it ([`ReplyView`]: SFCO magic and result already
    /// checked). Nothing else uses the message buffer in between. Err:
    /// [`CallError::Client`] when the request could not be built, the reply is a failure
    /// or malformed, or `read` failed; [`CallError::Kernel`] with the kernel's result
    /// (0xce01, 0xf601, ...) when svcSendSyncRequest failed.
    fn request<T>(
        &mut self,
        session: Handle,
        build: impl FnOnce(&mut [u32]) -> Result<usize, ClientError>,
        read: impl FnOnce(ReplyView<'_>) -> Result<T, ClientError>,
    ) -> Result<T, CallError>;
    /// Opens a new session to `service` (sm GetServiceHandle, or svcConnectToPort).
    fn connect(&mut self, service: Service) -> Result<Handle, ResultCode>;
    /// What [`Ipc::connect`] returns when the service's port already has its maximum of
    /// sessions: through sm's GetServiceHandle, sm's OutOfSessions 0x615 (Atmosphère's sm
    /// converts the kernel's result, `impl/sm_service_manager.cpp` `GetServiceHandle`);
    /// through svcConnectToPort, the kernel's OutOfSessions 0xe01
    /// (`kern_k_client_port.cpp` `CreateSession`).
    fn full_port_result(&self) -> ResultCode;
    /// Closes a session handle (svcCloseHandle).
    fn close(&mut self, session: Handle);
    /// svcSleepThread: lets the server run (used only while waiting for it to notice
    /// closed sessions).
    fn sleep(&mut self, nanoseconds: i64);
}

/// The address the kernel reads an X source from. Casting exposes the buffer's address,
/// so the kernel (through the svc's asm, which may touch exposed memory) may use it.
pub fn address_of(buffer: &[u8]) -> u64 {
    buffer.as_ptr() as usize as u64
}

/// The address the kernel writes a C destination to (derived from a mutable borrow, so
/// writes through it are allowed).
pub fn address_of_mut(buffer: &mut [u8]) -> u64 {
    buffer.as_mut_ptr() as usize as u64
}

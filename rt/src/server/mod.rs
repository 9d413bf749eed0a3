//! Servers on rt's svcs: [`Syscalls`] implements `xcbuf_common::sf`'s
//! [`ServerSyscalls`] with the calling thread's TLS message buffer, and [`serve`] runs one
//! service's loop ([`ServeLoop`]) on the calling thread. The sysmodule calls it for each
//! service; the client NRO calls [`serve_until`] on its own server threads (in-process
//! mode) with a port from svcCreatePort.

use core::alloc::Layout;

use xcbuf_common::sf::serve_loop::{Handle, ServeLoop, ServerSyscalls, WaitError};
use xcbuf_common::sf::{Server, ServiceHandler, ServiceIdentity};
use xcbuf_common::text::Piece;

use crate::result::{ALLOCATION_FAILED, DOES_NOT_FIT, ResultCode};
use crate::svc;
use crate::tls::{MessageBuffer, with_message_buffer};

/// The two-svc reply pattern, for `make bench`'s comparison only.
#[cfg(feature = "two-svc")]
mod two_svc;

/// The svcs of a server thread: rt's svcs and this thread's message buffer.
pub struct Syscalls<'m> {
    buffer: &'m mut MessageBuffer,
}

impl<'m> Syscalls<'m> {
    /// The svcs, with `buffer` (this thread's TLS message buffer) as the message.
    pub fn new(buffer: &'m mut MessageBuffer) -> Syscalls<'m> {
        Syscalls { buffer }
    }
}

impl ServerSyscalls for Syscalls<'_> {
    fn message(&mut self) -> &mut [u32] {
        self.buffer.words()
    }

    fn reply_and_receive(&mut self, handles: &[Handle], reply_target: Handle) -> Result<usize, WaitError> {
        // Infinite timeout (horizon-ipc.md §7: < 0 waits forever): idle means blocked here.
        #[cfg(feature = "two-svc")]
        let result = two_svc::reply_then_receive(self.buffer, handles, reply_target);
        #[cfg(not(feature = "two-svc"))]
        let result = self.buffer.reply_and_receive(handles, reply_target, -1);
        match result {
            Ok(index) => usize::try_from(index).map_err(|_| WaitError { result: DOES_NOT_FIT, index }),
            Err(e) => Err(WaitError { result: e.result, index: e.index }),
        }
    }

    fn accept_session(&mut self, port: Handle) -> Result<Handle, ResultCode> {
        svc::accept_session(port)
    }

    fn close_handle(&mut self, handle: Handle) -> Result<(), ResultCode> {
        svc::close_handle(handle)
    }

    fn log(&mut self, line: &[Piece<'_>]) {
        crate::log::line(line);
    }
}

/// Serves `service` with `handler` on `port` on the calling thread, forever. See
/// [`serve_until`].
pub fn serve<S: ServiceHandler>(handler: S, service: &ServiceIdentity, port: Handle) -> Result<(), ResultCode> {
    serve_until(handler, service, port, 0)
}

/// Serves `service` with `handler` on `port` on the calling thread, returning when the
/// owner closes the client end of `stop` (the server end of an svcCreateSession pair; 0 =
/// never; `xcbuf_common::sf::serve_loop` "Stopping"). The port, `stop` and every session
/// are closed then.
///
/// The pointer buffer (`service.pointer_buffer_size` bytes, 16-byte aligned like the
/// kernel's packing, horizon-ipc.md §3.3 `PointerTransferBufferAlignment`, so the first X
/// lands at its very start) comes from the heap (a static heap in `.bss` for the
/// sysmodule) and stays allocated (leaked: a few KiB, once per server thread). The kernel
/// writes it by address during svcReplyAndReceive; the loop only reads it inside the
/// server core after that call returned. Err OutOfMemory when the heap cannot give it,
/// OutOfRange when the server core rejects the buffer's address (heap addresses are
/// below 2^39) or its size (0 or above 0xFFFF).
pub fn serve_until<S: ServiceHandler>(
    handler: S,
    service: &ServiceIdentity,
    port: Handle,
    stop: Handle,
) -> Result<(), ResultCode> {
    let size = service.pointer_buffer_size;
    let layout = Layout::from_size_align(size, 16).map_err(|_| DOES_NOT_FIT)?;
    if size == 0 {
        return Err(DOES_NOT_FIT);
    }
    // SAFETY: `layout` has a non-zero size (checked above). A null result is handled.
    let block = unsafe { alloc::alloc::alloc_zeroed(layout) };
    if block.is_null() {
        return Err(ALLOCATION_FAILED);
    }
    // SAFETY: `block` is a fresh, zeroed (so initialised) allocation of `size` bytes that
    // is never freed and that nothing else refers to: this is the only reference.
    let bytes: &'static mut [u8] = unsafe { core::slice::from_raw_parts_mut(block, size) };
    // The kernel learns the buffer by this address (a C entry); casting exposes it.
    let guest_addr = bytes.as_mut_ptr() as usize as u64;
    let server = Server::new(handler, service.config(guest_addr)).map_err(|_| DOES_NOT_FIT)?;
    with_message_buffer(|message| {
        let mut serve_loop = ServeLoop::new(Syscalls::new(message), server, service.name, port, bytes);
        serve_loop.set_stop_session(stop);
        serve_loop.run();
    });
    Ok(())
}

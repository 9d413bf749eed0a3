//! The server loop on rt's svcs: [`RtKernel`] implements [`Kernel`] with the calling
//! thread's TLS message buffer, and [`serve`] runs one service on the calling thread. The
//! sysmodule calls it for each service; the client NRO calls it on its own server threads
//! (in-process mode) with a port from svcCreatePort.
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use core::fmt;

use xcbuf_common::result::ResultCode;
use xcbuf_rt as rt;
use rt::svc;
use rt::tls::{MessageBuffer, with_message_buffer};

use xcbuf_common::sf::{Server, ServiceIdentity};
use xcbuf_common::xcbuf::Xcbuf;

use crate::serve_loop::{Handle, Kernel, ServeLoop, WaitError};

/// A pointer buffer: 16-byte aligned like the kernel's packing (horizon-ipc.md §3.3
/// `PointerTransferBufferAlignment`), so the first X lands at its very start.
#[repr(C, align(16))]
struct PointerBuffer([u8; 0x800]);

/// The svc layer of a server thread: rt's svcs and this thread's message buffer.
pub struct RtKernel<'m> {
    buffer: &'m mut MessageBuffer,
}

impl<'m> RtKernel<'m> {
    /// The svcs, with `buffer` (this thread's TLS message buffer) as the message.
    pub fn new(buffer: &'m mut MessageBuffer) -> RtKernel<'m> {
        RtKernel { buffer }
    }
}

impl Kernel for RtKernel<'_> {
    fn message(&mut self) -> &mut [u32] {
        self.buffer.words()
    }

    fn reply_and_receive(&mut self, handles: &[Handle], reply_target: Handle) -> Result<usize, WaitError> {
        // Infinite timeout (horizon-ipc.md §7: < 0 waits forever): idle means blocked here.
        #[cfg(feature = "two-svc")]
        let result = crate::two_svc::reply_then_receive(self.buffer, handles, reply_target);
        #[cfg(not(feature = "two-svc"))]
        let result = self.buffer.reply_and_receive(handles, reply_target, -1);
        match result {
            Ok(index) => usize::try_from(index).map_err(|_| WaitError { result: rt::result::OUT_OF_RANGE, index }),
            Err(e) => Err(WaitError { result: e.result, index: e.index }),
        }
    }

    fn accept_session(&mut self, port: Handle) -> Result<Handle, ResultCode> {
        svc::accept_session(port)
    }

    fn close_handle(&mut self, handle: Handle) -> Result<(), ResultCode> {
        svc::close_handle(handle)
    }

    fn log(&mut self, line: fmt::Arguments<'_>) {
        rt::log::write_line(line);
    }
}

/// Serves `service` on `port` on the calling thread, forever. Its pointer buffer comes
/// from the heap (a static heap in `.bss` for the sysmodule), 16-byte aligned; the kernel
/// writes it by address during svcReplyAndReceive, and the loop only reads it inside the
/// server core after that call returned. Err only if the server core rejects the
/// buffer's address (it cannot: heap addresses are below 2^39).
pub fn serve(service: &ServiceIdentity, port: Handle) -> Result<(), ResultCode> {
    serve_until(service, port, 0)
}

/// [`serve`], returning when the owner closes the client end of `stop` (the server end
/// of an svcCreateSession pair; 0 = never; serve_loop.rs "Stopping"). The port, `stop`
/// and every session are closed then; the pointer buffer stays allocated (leaked: a
/// few KiB, once per server thread).
pub fn serve_until(service: &ServiceIdentity, port: Handle, stop: Handle) -> Result<(), ResultCode> {
    let buffer: &'static mut PointerBuffer = Box::leak(Box::new(PointerBuffer([0; 0x800])));
    // The kernel learns the buffer by this address (a C entry); casting exposes it.
    let guest_addr = buffer.0.as_mut_ptr() as usize as u64;
    let server = Server::new(Xcbuf, service.config(guest_addr)).map_err(|_| rt::result::OUT_OF_RANGE)?;
    let bytes = buffer.0.get_mut(..service.pointer_buffer_size).ok_or(rt::result::OUT_OF_RANGE)?;
    with_message_buffer(|message| {
        let mut serve_loop = ServeLoop::new(RtKernel::new(message), server, service.name, port, bytes);
        serve_loop.set_stop_session(stop);
        serve_loop.run();
    });
    Ok(())
}

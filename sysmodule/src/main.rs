//! The xcbuf sysmodule: registers `xcbuf` and `xcbuf:i` with `sm:` and serves each on
//! its own thread with the shared server loop (`xcbuf_common::sf::serve_loop` explains
//! why one thread cannot serve both receive-list modes). Only wiring lives here: the
//! services are `xcbuf_common::xcbuf`, the loop and its svcs are `xcbuf_rt::server`.
//!
//! Footprint: the image, a static heap of [`HEAP_SIZE`] bytes in `.bss` (the second
//! thread's stack and the two pointer buffers), and the main thread's stack from the
//! NPDM (`main_thread_stack_size`).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use rt::sm::{ServiceName, Sm};
use xcbuf_common::result::ResultCode;
use xcbuf_common::text::Piece;
use xcbuf_common::xcbuf::{INDEXED, SERVICES, SINGLE, Xcbuf};
use xcbuf_rt as rt;

/// The whole heap: the `xcbuf:i` thread's stack ([`INDEXED_THREAD_STACK`], whole pages and
/// page-aligned, so up to a page of alignment padding before it, which the allocator hands
/// out again to the small blocks), two 0x800-byte pointer buffers and the thread's start
/// block. 19 KiB: the worst case below (`make bench` reports "sysmodule image" and
/// "sysmodule heap"); the heap peak the bench reads is about 0x3000 + 0x1000 + 48 bytes
/// once both servers run.
const HEAP_SIZE: usize = 19 * 1024;
/// Stack of the `xcbuf:i` thread, sized like the main stack (sysmodule/npdm.json
/// `main_thread_stack_size`) from the deepest use measured under hostile load, with a
/// margin: at least 3/2 of it (tools/emu/tests/stacks.rs measures it and fails when the
/// margin is gone). Measured: 6,624 bytes written of this stack (fuzz and session churn on
/// both services, with the lean request path's loop state on the stack: the server's
/// located X and its staged reply, the call a handler gets); 3/2 of it is 9,936, so
/// three pages.
const INDEXED_THREAD_STACK: usize = 0x3000;
// The worst case: the heap starts 16 bytes past a page, so 0xff0 bytes of padding go
// before the stack; first fit puts the start block and one pointer buffer there, the
// other buffer after the stack; 0x400 for the allocator's own rounding.
static_assertions::const_assert!(HEAP_SIZE >= 0xff0 + INDEXED_THREAD_STACK + 0x800 + 0x400);
/// Priority of the `xcbuf:i` thread: the main thread's (NPDM main_thread_priority 49,
/// inside rt's portable 28-59).
const SERVER_THREAD_PRIORITY: i32 = 49;

static HEAP: rt::heap::StaticHeap<HEAP_SIZE> = rt::heap::StaticHeap::new();

rt::entry!(main, heap = rt::heap::HeapStrategy::Static(HEAP.region()), panic = rt::PanicAction::Break);

fn main() -> Result<(), ResultCode> {
    // Register both before serving either, then DetachClient and close the sm session:
    // closing a registered session without DetachClient makes Atmosphère's sm unregister
    // both services (runtime-abi.md §5; rt::sm's module doc).
    let mut sm = Sm::connect()?;
    let mut ports = [0; SERVICES.len()];
    for (port, service) in ports.iter_mut().zip(&SERVICES) {
        let name = ServiceName::new(service.name)?;
        *port = sm.register_service(name, false, service.max_sessions_i32())?;
    }
    sm.detach()?;
    let [single_port, indexed_port] = ports;

    let indexed = rt::thread::Builder {
        stack_size: INDEXED_THREAD_STACK,
        priority: SERVER_THREAD_PRIORITY,
        core: rt::thread::CORE_DEFAULT,
    };
    let thread = indexed.spawn(move || {
        if let Err(rc) = rt::server::serve(Xcbuf, &INDEXED, indexed_port) {
            rt::log::line(&[Piece::Str("xcbuf: xcbuf:i stopped: "), Piece::Result(rc)]);
        }
    })?;
    // The thread serves forever and is never joined: closing our handle to it leaves it
    // running.
    drop(thread);
    rt::server::serve(Xcbuf, &SINGLE, single_port)
}

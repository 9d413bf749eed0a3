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
use xcbuf_common::xcbuf::{INDEXED, SERVICES, SINGLE, Xcbuf};
use xcbuf_rt as rt;

/// The whole heap: the `xcbuf:i` thread's stack ([`INDEXED_THREAD_STACK`], page-aligned),
/// two 0x800-byte pointer buffers and the thread's start block, with room for the
/// allocator's alignment padding (the bench reads the live figure: 0x3000 + 0x1000 + 40
/// bytes in use once both servers run, `make bench`).
const HEAP_SIZE: usize = 20 * 1024;
/// Stack of the `xcbuf:i` thread: as large as the main thread's (NPDM 0x3000; the bench
/// measured 5,136 bytes of the main stack written while serving 30,000 requests).
const INDEXED_THREAD_STACK: usize = 0x3000;
static_assertions::const_assert!(HEAP_SIZE >= INDEXED_THREAD_STACK + 2 * 0x800 + 0x400);
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
            rt::log!("xcbuf: xcbuf:i stopped: {}", rc);
        }
    })?;
    // The thread serves forever and is never joined: closing our handle to it leaves it
    // running.
    drop(thread);
    rt::server::serve(Xcbuf, &SINGLE, single_port)
}

//! xcbuf sysmodule, minimal version (issue 2 item 4): proves the runtime as an NSO.
//! Registers `xcbuf` with sm (max 32 sessions) and serves its port with one
//! svcReplyAndReceive per request; every request gets an UnknownCommandId reply until the
//! real server loop (common's server core) replaces this file's loop.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use xcbuf_common::result::{ResultCode, cmif, kernel};
use xcbuf_rt as rt;
use rt::sm::{ServiceName, Sm};
use rt::svc::{self, Handle};
use rt::tls::with_message_buffer;

/// Sessions served at once (sm RegisterService max_sessions).
const MAX_SESSIONS: usize = 32;
/// HIPC type of a CMIF Close (horizon-ipc.md §6.1).
const CMIF_TYPE_CLOSE: u32 = 2;
/// `SFCO` (horizon-ipc.md §6.2).
const CMIF_OUT_MAGIC: u32 = 0x4F43_4653;

/// The sysmodule's whole heap, in .bss.
static HEAP: rt::heap::StaticHeap<{ 16 * 1024 }> = rt::heap::StaticHeap::new();

rt::entry!(main, heap = rt::heap::HeapStrategy::Static(HEAP.region()), panic = rt::PanicAction::Break);

fn main() -> Result<(), ResultCode> {
    rt::log!("xcbuf-sysmodule: start");
    let name = ServiceName::new("xcbuf")?;
    let max_sessions = i32::try_from(MAX_SESSIONS).map_err(|_| rt::result::OUT_OF_RANGE)?;
    let port = Sm::connect()?.register_service(name, false, max_sessions)?;
    rt::log!("xcbuf-sysmodule: registered xcbuf, port {:#x}", port);

    // handles[0] is the port, handles[1..count] the sessions.
    let mut handles: [Handle; MAX_SESSIONS + 1] = [svc::INVALID_HANDLE; MAX_SESSIONS + 1];
    handles[0] = port;
    let mut count = 1;
    let mut reply_target = svc::INVALID_HANDLE;
    loop {
        let received = with_message_buffer(|buffer| {
            let signalled = buffer.reply_and_receive(&handles[..count], reply_target, -1);
            (signalled, buffer.words()[0] & 0xFFFF)
        });
        reply_target = svc::INVALID_HANDLE;
        match received {
            (Ok(0), _) => match svc::accept_session(port) {
                Ok(session) if count < handles.len() => {
                    handles[count] = session;
                    count += 1;
                }
                Ok(session) => {
                    let _ = svc::close_handle(session);
                }
                Err(rc) => rt::log!("xcbuf-sysmodule: AcceptSession failed: {}", rc),
            },
            (Ok(index), message_type) => {
                let Some(i) = usize::try_from(index).ok().filter(|i| *i < count) else {
                    continue;
                };
                if message_type == CMIF_TYPE_CLOSE {
                    close_session(&mut handles, &mut count, i);
                } else {
                    with_message_buffer(|buffer| write_error_reply(buffer.words(), cmif::UNKNOWN_COMMAND_ID));
                    reply_target = handles[i];
                }
            }
            (Err(error), _) => {
                let index = usize::try_from(error.index).ok().filter(|i| *i > 0 && *i < count);
                match (error.result, index) {
                    (kernel::SESSION_CLOSED, Some(i)) => close_session(&mut handles, &mut count, i),
                    (rc, _) => rt::log!("xcbuf-sysmodule: ReplyAndReceive: {}", rc),
                }
            }
        }
    }
}

fn close_session(handles: &mut [Handle], count: &mut usize, i: usize) {
    let _ = svc::close_handle(handles[i]);
    *count -= 1;
    handles[i] = handles[*count];
    handles[*count] = svc::INVALID_HANDLE;
}

/// A CMIF reply with no data: header type 0, 8 raw words, SFCO at word 4 with `result`.
fn write_error_reply(words: &mut [u32; 64], result: ResultCode) {
    words[..12].fill(0);
    words[1] = 8;
    words[4] = CMIF_OUT_MAGIC;
    words[6] = result.raw();
}

//! sessions: the documented maximum of sessions can be open at once and each works; one
//! more is refused with a clear result (at connect: sm's OutOfSessions 0x615 through
//! GetServiceHandle, the kernel's 0xe01 through svcConnectToPort, [`Ipc::full_port_result`];
//! or the server's accept-then-close, 0xf601 on the first request); closing them all
//! leaves the server serving, and their slots free again.

use alloc::format;
use alloc::vec::Vec;

use xcbuf_common::client;
use xcbuf_common::result::kernel::SESSION_CLOSED;

use super::{CallError, Ctx, unexpected};
use crate::ipc::{Handle, Ipc, SINGLE};
use crate::report::{Failure, Outcome};

/// Polls of Stats while waiting for the server to notice the closed sessions, and the
/// sleep between two polls (the server runs while this thread sleeps).
const CLOSE_POLLS: u32 = 200;
const CLOSE_POLL_SLEEP_NS: i64 = 1_000_000;

pub fn sessions<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    let max = ctx.get_info(&SINGLE)?.max_sessions as usize;
    let before = ctx.stats(&SINGLE)?.open_sessions as usize;
    if before == 0 || before > max {
        return Err(Failure::new(format!("1..={max} sessions open before"), format!("{before}")));
    }
    let mut extra: Vec<Handle> = Vec::new();
    let refused = fill_and_overflow(ctx, max, before, &mut extra);
    for h in extra.drain(..) {
        ctx.ipc().close(h);
    }
    let refused = refused?;

    // The server notices each close on its next wait; poll until it has.
    let mut polls = 0;
    loop {
        let open = ctx.stats(&SINGLE)?.open_sessions as usize;
        if open == before {
            break;
        }
        polls += 1;
        if polls > CLOSE_POLLS {
            return Err(Failure::new(format!("{before} sessions open after closing the others"), format!("{open}")));
        }
        ctx.ipc().sleep(CLOSE_POLL_SLEEP_NS);
    }
    // A freed slot takes a new session.
    let again =
        ctx.ipc().connect(&SINGLE).map_err(|rc| Failure::new("a new session after closing", format!("{rc}")))?;
    let works = ctx.call_on(again, client::build_get_info);
    ctx.ipc().close(again);
    works.map_err(|e| unexpected("GetInfo on a new session after closing", e))?;
    Ok(format!(
        "{max} sessions open at once, each answered GetInfo; one more was refused ({refused}); after closing them the server went back to {before} open and took a new session"
    ))
}

/// Opens sessions up to `max`, checks each, then tries one more; returns how it was
/// refused. Every handle opened is pushed to `extra` (the caller closes them).
fn fill_and_overflow<I: Ipc>(
    ctx: &mut Ctx<'_, I>,
    max: usize,
    before: usize,
    extra: &mut Vec<Handle>,
) -> Result<alloc::string::String, Failure> {
    for n in before..max {
        let h = ctx
            .ipc()
            .connect(&SINGLE)
            .map_err(|rc| Failure::new(format!("session {} of {max} to open", n + 1), format!("{rc}")))?;
        extra.push(h);
    }
    for &h in extra.iter() {
        ctx.call_on(h, client::build_get_info).map_err(|e| unexpected("GetInfo on every session", e))?;
    }
    let full = ctx.ipc().full_port_result();
    match ctx.ipc().connect(&SINGLE) {
        Err(rc) if rc == full => Ok(format!("connect returned {rc}")),
        Err(rc) => Err(Failure::new(format!("session {} refused with {full}", max + 1), format!("{rc}"))),
        Ok(h) => {
            extra.push(h);
            match ctx.call_on(h, client::build_get_info) {
                Err(CallError::Kernel(rc)) if rc == SESSION_CLOSED => {
                    Ok(format!("accepted then closed by the server: its first request returned {rc}"))
                }
                Ok(_) => Err(Failure::new(format!("session {} refused", max + 1), "it answered GetInfo")),
                Err(e) => {
                    Err(Failure::new(format!("session {} refused with {SESSION_CLOSED}", max + 1), format!("{e}")))
                }
            }
        }
    }
}

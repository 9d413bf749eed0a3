//! The two-svc server pattern, for comparison only (`make bench`; feature `two-svc`):
//! reply with `svcReplyAndReceive(handles = none, reply_target = session, timeout = 0)`,
//! then receive with a second `svcReplyAndReceive(handles, no reply target, timeout = -1)`.
//! The shipped sysmodule does both in one call (`xcbuf_common::sf::serve_loop` "Steady
//! state").
//!
//! The reply message stays in the message buffer after the first call (the kernel only
//! reads a reply), so the receive list it carries at `ReceiveListOffset` is still armed
//! for the second call.
#![forbid(unsafe_code)]

use xcbuf_common::result::kernel::TIMED_OUT;

use crate::svc::{Handle, ReplyAndReceiveError};
use crate::tls::MessageBuffer;

/// Replies to `reply_target` (if any) with one svc, then waits on `handles` with another.
/// A failed reply is returned as the one-call pattern returns it (index −1 on hardware),
/// so the loop handles both patterns alike.
pub fn reply_then_receive(
    buffer: &mut MessageBuffer,
    handles: &[Handle],
    reply_target: Handle,
) -> Result<i32, ReplyAndReceiveError> {
    if reply_target != 0 {
        // With no handles and timeout 0 a sent reply ends in TimedOut (horizon-ipc.md §7).
        match buffer.reply_and_receive(&[], reply_target, 0) {
            Ok(_) => {}
            Err(e) if e.result == TIMED_OUT => {}
            Err(e) => return Err(e),
        }
    }
    buffer.reply_and_receive(handles, 0, -1)
}

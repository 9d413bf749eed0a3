//! echo-small, echo-exact-fit, echo-overflow: one X into the single-buffer receive list;
//! an X of exactly the pointer-buffer size fits (`buf + size <= end`, horizon-ipc.md
//! §3.3), one byte more is OutOfResource 0xce01 on the client's svcSendSyncRequest and
//! leaves the session usable (after the one GetInfo `Ctx::call_on` sends after every
//! rejected request, which Ryujinx needs to re-arm the server's receive list).

use alloc::format;
use alloc::vec;

use xcbuf_common::client::{self, Buffer};
use xcbuf_common::result::kernel::OUT_OF_RESOURCE;
use xcbuf_common::xcbuf::EchoResponse;

use super::{CallError, Ctx, compare_bytes, expect_error, pattern, unexpected};
use crate::ipc::{Ipc, SINGLE, address_of, address_of_mut};
use crate::report::{Failure, Outcome};

/// Echoes `len` bytes on `xcbuf` and checks the reply and the bytes in C\[0\].
fn echo<I: Ipc>(ctx: &mut Ctx<'_, I>, len: usize, seed: u8) -> Result<(), Failure> {
    let input = pattern(seed, len);
    let mut output = vec![0u8; len];
    let x = Buffer::new(address_of(&input), len);
    let c = Buffer::new(address_of_mut(&mut output), len);
    let reply = ctx
        .call(&SINGLE, |m| client::build_echo(m, x, c))
        .map_err(|e| unexpected(&format!("Echo of {len:#x} bytes"), e))?;
    let resp: EchoResponse = reply.read().map_err(|e| unexpected("Echo", CallError::Client(e)))?;
    if resp.bytes_written as usize != len || reply.received(0).map(usize::from) != Some(len) {
        return Err(Failure::new(
            format!("Echo to write {len:#x} bytes into C[0]"),
            format!("bytes_written {:#x}, reply X[0] size {:?}", resp.bytes_written, reply.received(0)),
        ));
    }
    compare_bytes("C[0] = X[0]", &input, &output)
}

pub fn echo_small<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    echo(ctx, 16, 1)?;
    Ok("16 bytes went through the pointer buffer and came back in C[0] unchanged".into())
}

pub fn echo_exact_fit<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    let size = ctx.pointer_buffer_size(&SINGLE)?;
    echo(ctx, size, 2)?;
    Ok(format!("an X of exactly the pointer-buffer size ({size:#x} bytes) was accepted and echoed whole"))
}

pub fn echo_overflow<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    let size = ctx.pointer_buffer_size(&SINGLE)?;
    let len = size + 1;
    let input = pattern(3, len);
    let mut output = vec![0u8; len];
    let x = Buffer::new(address_of(&input), len);
    let c = Buffer::new(address_of_mut(&mut output), len);
    let result = ctx.call(&SINGLE, |m| client::build_echo(m, x, c));
    expect_error(&format!("Echo of {len:#x} bytes"), result, OUT_OF_RESOURCE, true)?;
    echo(ctx, 16, 4)
        .map_err(|f| Failure::new(format!("the next Echo on the session to work ({})", f.expected), f.got))?;
    Ok(format!(
        "an X of {len:#x} bytes (one more than the pointer buffer): svcSendSyncRequest returned {OUT_OF_RESOURCE}; after the GetInfo that follows a rejected request, the next Echo on the same session succeeded"
    ))
}

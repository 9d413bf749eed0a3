//! query-pointer-buffer-size: CMIF Control command 3 answers the size GetInfo reports
//! (horizon-ipc.md §5.2).

use alloc::format;

use xcbuf_common::client;

use super::{CallError, Ctx, unexpected};
use crate::ipc::{Ipc, SINGLE};
use crate::report::{Failure, Outcome};

pub fn query_pointer_buffer_size<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    let reply = ctx
        .call(&SINGLE, client::build_query_pointer_buffer_size)
        .map_err(|e| unexpected("QueryPointerBufferSize", e))?;
    let queried = reply
        .read::<xcbuf_common::xcbuf::QueryPointerBufferSizeResponse>()
        .map_err(|e| unexpected("QueryPointerBufferSize", CallError::Client(e)))?
        .size;
    let info = ctx.get_info(&SINGLE)?;
    if u32::from(queried) != info.pointer_buffer_size {
        return Err(Failure::new(
            format!("QueryPointerBufferSize = GetInfo's {:#x}", info.pointer_buffer_size),
            format!("{queried:#x}"),
        ));
    }
    Ok(format!(
        "control command 3 answered {queried:#x} = GetInfo's pointer buffer (receive mode {}, max {} sessions)",
        info.receive_mode, info.max_sessions
    ))
}

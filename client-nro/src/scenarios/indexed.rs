//! indexed-mode on `xcbuf:i`: the server's receive list has n entries (mode 2 + n) and the
//! kernel puts the X of index k at the start of entry k, unaligned packing aside
//! (horizon-ipc.md §3.3, mode n ≥ 3). An index past the last entry, or a payload larger
//! than its entry, is OutOfResource 0xce01 on the client's svcSendSyncRequest.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use xcbuf_common::client::{self, Buffer};
use xcbuf_common::result::kernel::OUT_OF_RESOURCE;
use xcbuf_common::xcbuf::{ConcatResponse, INDEXED_ENTRIES};

use super::concat::{ConcatRun, check_concat};
use super::{CallError, Ctx, expect_error, hex_list, pattern, unexpected};
use crate::ipc::{INDEXED, Ipc, address_of, address_of_mut};
use crate::report::{Failure, Outcome};

fn concat_indexed<I: Ipc>(ctx: &mut Ctx<'_, I>, sizes: &[usize]) -> Result<ConcatRun, CallError> {
    let inputs: Vec<Vec<u8>> = sizes.iter().zip(0x31u8..).map(|(&n, s)| pattern(s, n)).collect();
    let mut output = vec![0u8; 0x100];
    let xs: Vec<Buffer> = inputs.iter().map(|b| Buffer::new(address_of(b), b.len())).collect();
    let c = Buffer::new(address_of_mut(&mut output), 0x100);
    let reply = ctx.call(&INDEXED, |m| client::build_concat(m, &xs, c))?;
    let resp: ConcatResponse = reply.read().map_err(CallError::Client)?;
    Ok((resp, inputs, output))
}

pub fn indexed_mode<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    let info = ctx.get_info(&INDEXED)?;
    let entries = INDEXED_ENTRIES.len();
    if info.receive_mode as usize != 2 + entries {
        return Err(Failure::new(format!("xcbuf:i receive mode {}", 2 + entries), format!("{}", info.receive_mode)));
    }
    // Index 0 and 1 land at the start of entries 0 and 1.
    let sizes = [0x20, 0x30];
    let (resp, inputs, output) = concat_indexed(ctx, &sizes).map_err(|e| unexpected("Concat on xcbuf:i", e))?;
    let expected: Vec<Option<usize>> = INDEXED_ENTRIES.iter().take(sizes.len()).map(|e| Some(e.offset)).collect();
    check_concat(&resp, &inputs, &output, &expected)?;

    // Each 0xce01 below must come from the rule it names, not from a receive list left
    // broken by the request before (Ryujinx, `Ctx::call_on`): every rejected request is
    // followed by a GetInfo that re-arms the list, and each rejection is paired with a
    // request that differs only in the checked property and succeeds.
    let last = INDEXED_ENTRIES[entries - 1];
    // One X per entry, the last exactly its entry's size: accepted, each at its entry.
    let mut exact: Vec<usize> = (0..entries).map(|_| 0x10).collect();
    exact[entries - 1] = last.size;
    let (resp, inputs, output) =
        concat_indexed(ctx, &exact).map_err(|e| unexpected("Concat filling every entry", e))?;
    let every_entry: Vec<Option<usize>> = INDEXED_ENTRIES.iter().map(|e| Some(e.offset)).collect();
    check_concat(&resp, &inputs, &output, &every_entry)?;

    // The same plus one X at index `entries`: past the last entry.
    let mut past = exact.clone();
    past.push(0x10);
    expect_error(
        &format!("X index {entries} (past the last entry)"),
        concat_indexed(ctx, &past),
        OUT_OF_RESOURCE,
        true,
    )?;

    // The exact request with the last X one byte larger than its entry.
    let mut larger = exact.clone();
    larger[entries - 1] = last.size + 1;
    let what = format!("{:#x} bytes at index {} (entry of {:#x})", last.size + 1, entries - 1, last.size);
    expect_error(&what, concat_indexed(ctx, &larger), OUT_OF_RESOURCE, true)?;
    // And the exact one again: the session and the list are as before.
    let (resp, inputs, output) =
        concat_indexed(ctx, &exact).map_err(|e| unexpected("the same Concat after the rejections", e))?;
    check_concat(&resp, &inputs, &output, &every_entry)?;
    ctx.get_info(&INDEXED)?;
    Ok(format!(
        "mode {}: X index 0 and 1 landed at entry offsets {}; one X per entry ({:#x} bytes in the last, its size) was accepted, and the same with X index {entries} added (past the last entry) or with {what} each gave {OUT_OF_RESOURCE}",
        info.receive_mode,
        hex_list(expected.iter().flatten().copied()),
        last.size
    ))
}

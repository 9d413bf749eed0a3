//! split-index-matching: reply X descriptors go to the client's C entry their **index**
//! selects (horizon-ipc.md §4 step 3, index mode on the client side), not to the entries
//! in the order the server wrote them. The server writes index 1 first (design.md,
//! Split), and the client's C\[1\] lies at a lower address than C\[0\].

use alloc::format;
use alloc::vec;

use xcbuf_common::client::{self, Buffer};
use xcbuf_common::xcbuf::SplitResponse;

use super::{CallError, Ctx, compare_bytes, pattern, unexpected};
use crate::ipc::{Ipc, SINGLE, address_of, address_of_mut};
use crate::report::{Failure, Outcome};

pub fn split_index_matching<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    const LEN: usize = 40;
    const AT: usize = 16;
    const HALF: usize = 32;
    let input = pattern(0x55, LEN);
    // One buffer: C[1] = its first half (lower address), C[0] = its second half.
    let mut out = vec![0u8; 2 * HALF];
    let base = address_of_mut(&mut out);
    let (c0_addr, c1_addr) = (base + HALF as u64, base);
    let x = Buffer::new(address_of(&input), LEN);
    let reply = ctx
        .call(&SINGLE, |m| client::build_split(m, x, AT as u32, Buffer::new(c0_addr, HALF), Buffer::new(c1_addr, HALF)))
        .map_err(|e| unexpected("Split", e))?;
    let resp: SplitResponse = reply.read().map_err(|e| unexpected("Split", CallError::Client(e)))?;
    let order: alloc::vec::Vec<(u8, u64, u16)> =
        reply.pointers().iter().map(|d| (d.index(), d.address(), d.size())).collect();
    // The kernel rewrote each reply X to {C[index] address, size, index}.
    let want = [(1u8, c1_addr, (LEN - AT) as u16), (0u8, c0_addr, AT as u16)];
    if order != want {
        return Err(Failure::new(
            format!(
                "reply X [(index, address, size)] = [(1, {c1_addr:#x}, {:#x}), (0, {c0_addr:#x}, {AT:#x})]",
                LEN - AT
            ),
            format!("{order:x?}"),
        ));
    }
    if (resp.head_written as usize, resp.tail_written as usize) != (AT, LEN - AT) {
        return Err(Failure::new(
            format!("{AT:#x} + {:#x} bytes written", LEN - AT),
            format!("{:#x} + {:#x}", resp.head_written, resp.tail_written),
        ));
    }
    let (c1, c0) = out.split_at(HALF);
    compare_bytes("C[0] = X[..at]", &input[..AT], &c0[..AT])?;
    compare_bytes("C[1] = X[at..]", &input[AT..], &c1[..LEN - AT])?;
    compare_bytes("C[0] past its data untouched", &[0; HALF - AT], &c0[AT..])?;
    compare_bytes("C[1] past its data untouched", &[0; HALF - (LEN - AT)], &c1[LEN - AT..])?;
    Ok(format!(
        "the server wrote X index 1 first; it landed in C[1] at the lower address ({:#x} bytes) and index 0 in C[0] ({AT:#x} bytes): matched by index, not by order",
        LEN - AT
    ))
}

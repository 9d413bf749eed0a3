//! Concat-based scenarios on `xcbuf` (single mode): how the kernel packs several X into
//! one C entry (horizon-ipc.md §3.3), the overflow that only alignment causes, the
//! server's out-region check (0x11a0b, §5.1) and zero-size X.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use xcbuf_common::client::{self, Buffer};
use xcbuf_common::result::kernel::OUT_OF_RESOURCE;
use xcbuf_common::xcbuf::{ConcatResponse, NO_OFFSET, POINTER_BUFFER_TOO_SMALL};

use super::{CallError, Ctx, align16, compare_bytes, expect_error, hex_list, pattern, single_mode_offsets, unexpected};
use crate::ipc::{Ipc, SINGLE, Service, address_of, address_of_mut};
use crate::report::{Failure, Outcome};

/// A Concat's response, the inputs sent and the bytes C\[0\] received.
pub(super) type ConcatRun = (ConcatResponse, Vec<Vec<u8>>, Vec<u8>);

/// Sends Concat of inputs with `sizes` (patterns seeded 0x10, 0x20, ...) into a C of
/// `out_len` bytes.
fn concat<I: Ipc>(
    ctx: &mut Ctx<'_, I>,
    service: Service,
    sizes: &[usize],
    out_len: usize,
) -> Result<ConcatRun, CallError> {
    let inputs: Vec<Vec<u8>> = sizes.iter().zip(1u8..).map(|(&n, i)| pattern(i.wrapping_mul(0x10), n)).collect();
    let mut output = vec![0u8; out_len];
    let xs: Vec<Buffer> = inputs.iter().map(|b| Buffer::new(address_of(b), b.len())).collect();
    let c = Buffer::new(address_of_mut(&mut output), out_len);
    let reply = ctx.call(service, |m| client::build_concat(m, &xs, c))?;
    let resp: ConcatResponse = reply.read().map_err(CallError::Client)?;
    Ok((resp, inputs, output))
}

/// Checks the reported offsets against `expected` (None = [`NO_OFFSET`]) and C\[0\]
/// against the inputs in order.
pub(super) fn check_concat(
    resp: &ConcatResponse,
    inputs: &[Vec<u8>],
    output: &[u8],
    expected: &[Option<usize>],
) -> Result<(), Failure> {
    for (i, (&got, want)) in resp.offsets.iter().zip(expected.iter().chain(core::iter::repeat(&None))).enumerate() {
        let want_raw = want.map_or(NO_OFFSET, |w| w as u32);
        if got != want_raw {
            let show = |v: u32| if v == NO_OFFSET { "none".into() } else { format!("{v:#x}") };
            return Err(Failure::new(format!("X[{i}] at offset {}", show(want_raw)), show(got)));
        }
    }
    let all: Vec<u8> = inputs.iter().flatten().copied().collect();
    if resp.bytes_written as usize != all.len() {
        return Err(Failure::new(format!("{:#x} bytes written", all.len()), format!("{:#x}", resp.bytes_written)));
    }
    compare_bytes("C[0] = the X payloads in order", &all, output.get(..all.len()).unwrap_or(&[]))
}

pub fn concat_packing<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    // horizon-ipc.md §3.3's worked sizes: none a multiple of 16 except the middle one.
    let sizes = [0x13, 0x20, 0xB8];
    let expected = single_mode_offsets(&sizes);
    let (resp, inputs, output) = concat(ctx, &SINGLE, &sizes, 0x100).map_err(|e| unexpected("Concat", e))?;
    check_concat(&resp, &inputs, &output, &expected)?;
    if let Some(bad) = resp.offsets.iter().take(sizes.len()).find(|&&o| o % 16 != 0) {
        return Err(Failure::new("16-byte aligned offsets", format!("{bad:#x}")));
    }
    Ok(format!(
        "X of {} bytes packed at pointer-buffer offsets {} (each at the next 16-byte boundary); C[0] got the {:#x} bytes in order",
        hex_list(sizes),
        hex_list(expected.iter().flatten().copied()),
        resp.bytes_written
    ))
}

pub fn concat_overflow_by_alignment<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    let size = ctx.pointer_buffer_size(&SINGLE)?;
    // The plain sum is exactly the buffer; the second X starts at the next 16-byte
    // boundary after the first and ends 15 bytes past the buffer.
    let sizes = [size / 2 + 1, size / 2 - 1];
    let sum: usize = sizes.iter().sum();
    let second_end = align16(sizes[0]) + sizes[1];
    if sum > size || second_end <= size {
        return Err(Failure::new("sizes that fit by sum only", format!("{} for a {size:#x} buffer", hex_list(sizes))));
    }
    let result = concat(ctx, &SINGLE, &sizes, 0x10);
    expect_error(&format!("Concat of {}", hex_list(sizes)), result, OUT_OF_RESOURCE, true)?;
    ctx.get_info(&SINGLE)?;
    Ok(format!(
        "X of {} bytes: sum {sum:#x} fits the {size:#x}-byte buffer, but aligned the second ends at {second_end:#x}: svcSendSyncRequest returned {OUT_OF_RESOURCE}",
        hex_list(sizes)
    ))
}

pub fn out_too_large<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    let size = ctx.pointer_buffer_size(&SINGLE)?;
    // In-data up to 0x100 below the top, an out region of 0x200 from the top: they would
    // overlap, so the server refuses (horizon-ipc.md §5.1, protocol table row 12).
    let in_len = size - 0x100;
    let out_len = 0x200;
    let result = concat(ctx, &SINGLE, &[in_len], out_len);
    expect_error(
        &format!("Concat of {in_len:#x} bytes into a {out_len:#x}-byte C"),
        result,
        POINTER_BUFFER_TOO_SMALL,
        false,
    )?;
    ctx.get_info(&SINGLE)?;
    Ok(format!(
        "in-data {in_len:#x} + out region {out_len:#x} > {size:#x}: the reply carried {POINTER_BUFFER_TOO_SMALL}; the session still answers"
    ))
}

pub fn zero_size_x<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    // The zero-size X gets a real (non-null) address: the kernel must ignore it.
    let sizes = [0x10, 0, 0x10];
    let expected = single_mode_offsets(&sizes);
    let (resp, inputs, output) = concat(ctx, &SINGLE, &sizes, 0x40).map_err(|e| unexpected("Concat", e))?;
    check_concat(&resp, &inputs, &output, &expected)?;
    Ok(format!(
        "X of {} bytes: the zero-size X reached the server with no data (reported offset none) and the third was packed at {:#x}, right after the first: it consumed nothing",
        hex_list(sizes),
        expected.get(2).copied().flatten().unwrap_or(0)
    ))
}

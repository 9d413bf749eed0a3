//! malformed: each bad request gets the result the protocol table documents
//! (`xcbuf_common::xcbuf`, "Errors the server replies with"), and the server answers
//! the next request.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use xcbuf_common::client::{self, Buffer, Call, ClientError};
use xcbuf_common::cmif::{CmifError, IN_HEADER_MAGIC};
use xcbuf_common::hipc::MessageHeader;
use xcbuf_common::result::ResultCode;
use xcbuf_common::xcbuf::{
    INVALID_CMIF_REQUEST, INVALID_IN_HEADER, INVALID_REQUEST_SIZE, MAX_CONCAT_POINTERS, UNKNOWN_COMMAND_ID,
};

use super::{Ctx, expect_error, pattern};
use crate::ipc::{Ipc, SINGLE, address_of, address_of_mut};
use crate::report::{Failure, Outcome};

/// A command id no xcbuf command has.
const UNKNOWN_ID: u32 = 99;

/// GetInfo with the SFCI magic changed.
fn wrong_magic(m: &mut [u32]) -> Result<usize, ClientError> {
    let n = client::build_get_info(m)?;
    if let Some(w) = m.iter_mut().take(n / 4).find(|w| **w == IN_HEADER_MAGIC) {
        *w = IN_HEADER_MAGIC ^ 0x2000_0000;
    }
    Ok(n)
}

/// A type-4 request with 8 bytes of raw data (less than the 0x10 padding budget), all zero.
fn raw_too_short(m: &mut [u32]) -> Result<usize, ClientError> {
    let header = MessageHeader { tag: 4, raw_count: 2, ..MessageHeader::default() };
    let [w0, w1] = header.encode().map_err(|e| ClientError::Build(CmifError::Hipc(e)))?;
    m[..4].copy_from_slice(&[w0, w1, 0, 0]);
    Ok(16)
}

pub fn malformed<I: Ipc>(ctx: &mut Ctx<'_, I>) -> Outcome {
    let mut done: Vec<String> = Vec::new();
    let mut check = |ctx: &mut Ctx<'_, I>, what: &str, result, expected: ResultCode| -> Result<(), Failure> {
        expect_error(what, result, expected, false)?;
        ctx.get_info(&SINGLE)
            .map_err(|f| Failure::new(format!("the server to answer after {what} ({})", f.expected), f.got))?;
        done.push(format!("{what} -> {expected}"));
        Ok(())
    };
    let r = ctx.call(&SINGLE, wrong_magic);
    check(ctx, "wrong SFCI magic", r, INVALID_IN_HEADER)?;
    let r = ctx.call(&SINGLE, |m| {
        client::build_request(m, &Call { command_id: UNKNOWN_ID, ..Call::new(xcbuf_common::xcbuf::Command::GetInfo) })
    });
    check(ctx, &format!("command id {UNKNOWN_ID}"), r, UNKNOWN_COMMAND_ID)?;
    let r = ctx.call(&SINGLE, raw_too_short);
    check(ctx, "8 bytes of raw data", r, INVALID_REQUEST_SIZE)?;
    let inputs: Vec<Vec<u8>> = (0..=MAX_CONCAT_POINTERS).map(|i| pattern(i as u8, 0x10)).collect();
    let xs: Vec<Buffer> = inputs.iter().map(|b| Buffer::new(address_of(b), b.len())).collect();
    let mut out = [0u8; 0x10];
    let c = Buffer::new(address_of_mut(&mut out), out.len());
    let r = ctx.call(&SINGLE, |m| client::build_concat(m, &xs, c));
    check(ctx, &format!("{} X on Concat (max {MAX_CONCAT_POINTERS})", xs.len()), r, INVALID_CMIF_REQUEST)?;
    Ok(format!("{}; GetInfo answered after each", done.join(", ")))
}

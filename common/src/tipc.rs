//! TIPC, the second message format next to [`crate::cmif`]: what Atmosphère's sm serves
//! natively. A TIPC message is a plain HIPC message ([`crate::hipc`]) without a CMIF
//! header:
//!
//! - the HIPC type (word 0 bits 0-15) is the command id + [`COMMAND_TYPE_BASE`] (16);
//!   type [`CLOSE_TYPE`] (15) closes the session (libstratosphere
//!   `tipc_autogen_interface_macros.hpp`: `CMD_ID + 0x10`; `tipc_object_manager.hpp`
//!   `MethodId_CloseSession`);
//! - the request's raw data are the arguments, in the order the command declares them;
//!   the process id and handles travel in the special header;
//! - the reply keeps the request's type, its raw word 0 is the result and the outputs
//!   follow from raw word 1; out handles are move handles in the special header
//!   (`tipc_impl_command_serialization.hpp`: `OutMessageHeader{CommandId, ...}`,
//!   `OutMessageResultIndex`, `OutMessageRawDataIndex = result index + 1`; libnx
//!   `tipc.h` `tipcMakeRequest` / `tipcParseResponse`).
//!
//! Used by rt's sm client (HasService) and by the bench's HLE sm.
#![forbid(unsafe_code)]

use core::fmt;

use crate::hipc::{HipcError, Message, MessageBuilder, MessageSpec, RAW_COUNT_MAX};
use crate::result::ResultCode;

/// HIPC type of a TIPC Close (libstratosphere `tipc_object_manager.hpp`
/// `MethodId_CloseSession`).
pub const CLOSE_TYPE: u16 = 15;
/// HIPC type of command 0; command `n` is type `n + 16` (`tipc_autogen_interface_macros.hpp`).
pub const COMMAND_TYPE_BASE: u16 = 16;
/// Largest command id a 16-bit HIPC type can carry.
pub const COMMAND_ID_MAX: u32 = (u16::MAX - COMMAND_TYPE_BASE) as u32;

/// The HIPC type of command `command_id`, or None when it does not fit 16 bits.
pub const fn request_type(command_id: u32) -> Option<u16> {
    if command_id > COMMAND_ID_MAX {
        return None;
    }
    Some(command_id as u16 + COMMAND_TYPE_BASE)
}

/// The command id a HIPC type stands for, or None for the types below 16 (Close and the
/// CMIF types).
pub const fn command_id(hipc_type: u16) -> Option<u32> {
    if hipc_type < COMMAND_TYPE_BASE {
        return None;
    }
    Some((hipc_type - COMMAND_TYPE_BASE) as u32)
}

/// What was wrong with a TIPC message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TipcError {
    /// The HIPC layer refused it (header, special header, size).
    Hipc(HipcError),
    /// A command id above [`COMMAND_ID_MAX`].
    CommandIdTooLarge {
        /// The id given.
        command_id: u32,
    },
    /// A HIPC type that is neither Close nor a TIPC command (a CMIF type, 0-14).
    NotTipc {
        /// The type found.
        hipc_type: u16,
    },
    /// More raw words than the 10-bit raw count holds.
    RawTooLarge {
        /// Words given.
        words: usize,
    },
    /// A reply without raw data: there is no result word.
    NoResult,
}

impl From<HipcError> for TipcError {
    fn from(e: HipcError) -> TipcError {
        TipcError::Hipc(e)
    }
}

impl fmt::Display for TipcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TipcError::Hipc(e) => write!(f, "{e}"),
            TipcError::CommandIdTooLarge { command_id } => {
                write!(f, "TIPC command id {command_id} does not fit the 16-bit type (max {COMMAND_ID_MAX})")
            }
            TipcError::NotTipc { hipc_type } => write!(f, "HIPC type {hipc_type} is not a TIPC type (15 or above)"),
            TipcError::RawTooLarge { words } => write!(f, "{words} raw words do not fit the 10-bit raw count"),
            TipcError::NoResult => f.write_str("TIPC reply without raw data: no result word"),
        }
    }
}

impl core::error::Error for TipcError {}

fn raw_count(words: usize) -> Result<u16, TipcError> {
    match u16::try_from(words) {
        Ok(n) if n <= RAW_COUNT_MAX => Ok(n),
        _ => Err(TipcError::RawTooLarge { words }),
    }
}

/// Writes a message of type `tag` with these handles and raw words; returns its size in
/// words.
fn build(
    buf: &mut [u32],
    tag: u16,
    process_id: Option<u64>,
    copy_handles: &[u32],
    move_handles: &[u32],
    raw: &[&[u32]],
) -> Result<usize, TipcError> {
    let total: usize = raw.iter().map(|part| part.len()).sum();
    let spec = MessageSpec {
        tag,
        process_id,
        copy_handles,
        move_handles,
        raw_count: raw_count(total)?,
        ..MessageSpec::default()
    };
    let mut builder = MessageBuilder::from_spec(buf, &spec)?;
    let size_words = builder.message_size_bytes() / 4;
    let window = builder.raw_mut();
    let mut at = 0;
    for part in raw {
        // The raw window holds exactly `total` words, so every part has its place.
        let end = at + part.len();
        if let Some(place) = window.get_mut(at..end) {
            place.copy_from_slice(part);
        }
        at = end;
    }
    Ok(size_words)
}

/// A TIPC request (what libnx's `tipcMakeRequest` lays out).
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestSpec<'s> {
    /// The command id (the HIPC type is this + 16).
    pub command_id: u32,
    /// Sends the process id (the kernel writes the sender's pid over this value).
    pub process_id: Option<u64>,
    /// Copy handles.
    pub copy_handles: &'s [u32],
    /// The arguments, as raw words.
    pub raw: &'s [u32],
}

/// Writes a request; returns its size in words. Words after the message are untouched.
pub fn build_request(buf: &mut [u32], spec: &RequestSpec<'_>) -> Result<usize, TipcError> {
    let tag = request_type(spec.command_id).ok_or(TipcError::CommandIdTooLarge { command_id: spec.command_id })?;
    build(buf, tag, spec.process_id, spec.copy_handles, &[], &[spec.raw])
}

/// Writes a Close (type 15, nothing else); returns its size in words.
pub fn build_close(buf: &mut [u32]) -> Result<usize, TipcError> {
    build(buf, CLOSE_TYPE, None, &[], &[], &[])
}

/// A TIPC reply.
#[derive(Clone, Copy, Debug)]
pub struct ReplySpec<'s> {
    /// The HIPC type: the request's (libstratosphere writes the command's type back).
    pub hipc_type: u16,
    /// Raw word 0.
    pub result: ResultCode,
    /// The outputs, raw words 1 and on.
    pub out: &'s [u32],
    /// Move handles (out handles).
    pub move_handles: &'s [u32],
}

/// Writes a reply; returns its size in words.
pub fn build_reply(buf: &mut [u32], spec: &ReplySpec<'_>) -> Result<usize, TipcError> {
    build(buf, spec.hipc_type, None, &[], spec.move_handles, &[&[spec.result.raw()], spec.out])
}

/// A received TIPC message: a Close, or a request.
#[derive(Clone, Copy, Debug)]
pub enum Incoming<'a> {
    /// Type 15.
    Close(Message<'a>),
    /// Type 16 and above.
    Request(Request<'a>),
}

/// A parsed TIPC request.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    message: Message<'a>,
    command_id: u32,
}

impl<'a> Request<'a> {
    /// The HIPC message (pid, handles).
    pub fn message(&self) -> &Message<'a> {
        &self.message
    }

    /// The command id (type − 16).
    pub fn command_id(&self) -> u32 {
        self.command_id
    }

    /// The HIPC type, which the reply carries back.
    pub fn hipc_type(&self) -> u16 {
        self.message.header().tag
    }

    /// The arguments.
    pub fn raw(&self) -> &'a [u32] {
        self.message.raw()
    }
}

/// Parses a request (server side). Err for a message the HIPC layer refuses, or a type
/// below 15 (a CMIF message).
pub fn parse_request(buf: &[u32]) -> Result<Incoming<'_>, TipcError> {
    let message = Message::parse(buf)?;
    let hipc_type = message.header().tag;
    if hipc_type == CLOSE_TYPE {
        return Ok(Incoming::Close(message));
    }
    let command_id = command_id(hipc_type).ok_or(TipcError::NotTipc { hipc_type })?;
    Ok(Incoming::Request(Request { message, command_id }))
}

/// A parsed TIPC reply.
#[derive(Clone, Copy, Debug)]
pub struct Reply<'a> {
    message: Message<'a>,
    result: ResultCode,
    out: &'a [u32],
}

impl<'a> Reply<'a> {
    /// The HIPC message.
    pub fn message(&self) -> &Message<'a> {
        &self.message
    }

    /// Raw word 0.
    pub fn result(&self) -> ResultCode {
        self.result
    }

    /// The outputs (raw words after the result).
    pub fn out(&self) -> &'a [u32] {
        self.out
    }

    /// The move handles of the special header.
    pub fn move_handles(&self) -> &'a [u32] {
        self.message.move_handles()
    }
}

/// Parses a reply (client side, after `svcSendSyncRequest` succeeded). A failure result
/// is not an Err here: read it with [`Reply::result`]. Like libnx's `tipcParseResponse`,
/// the type is not checked.
pub fn parse_reply(buf: &[u32]) -> Result<Reply<'_>, TipcError> {
    let message = Message::parse(buf)?;
    let (result, out) = message.raw().split_first().ok_or(TipcError::NoResult)?;
    Ok(Reply { message, result: ResultCode::from_raw(*result), out })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hipc::TLS_MESSAGE_BUFFER_WORDS;

    #[test]
    fn request_type_is_command_plus_16_and_close_is_15() {
        assert_eq!(request_type(0), Some(16));
        assert_eq!(request_type(65100), Some(65116));
        assert_eq!(request_type(COMMAND_ID_MAX), Some(u16::MAX));
        assert_eq!(request_type(COMMAND_ID_MAX + 1), None);
        assert_eq!(command_id(65116), Some(65100));
        assert_eq!(command_id(CLOSE_TYPE), None);
        assert_eq!(command_id(4), None);
    }

    #[test]
    fn request_is_type_then_raw_count_then_the_arguments() {
        let mut buf = [0xAAAA_AAAA; TLS_MESSAGE_BUFFER_WORDS];
        let words = build_request(
            &mut buf,
            &RequestSpec { command_id: 65100, raw: &[0x7562_6378, 0x66], ..RequestSpec::default() },
        )
        .unwrap();
        assert_eq!(words, 4);
        assert_eq!(buf[..4], [65116, 2, 0x7562_6378, 0x66]);
        assert_eq!(buf[4], 0xAAAA_AAAA, "words after the message are left alone");
    }

    #[test]
    fn request_with_pid_has_the_special_header_and_pid_slot() {
        let mut buf = [0u32; TLS_MESSAGE_BUFFER_WORDS];
        let words =
            build_request(&mut buf, &RequestSpec { command_id: 0, process_id: Some(0), ..RequestSpec::default() })
                .unwrap();
        assert_eq!(buf[..words], [16, 0x8000_0000, 1, 0, 0]);
    }

    #[test]
    fn request_round_trips_through_parse_request() {
        let mut buf = [0u32; TLS_MESSAGE_BUFFER_WORDS];
        build_request(&mut buf, &RequestSpec { command_id: 2, raw: &[1, 2, 3, 4], ..RequestSpec::default() }).unwrap();
        let Ok(Incoming::Request(r)) = parse_request(&buf) else { panic!("not a request") };
        assert_eq!((r.command_id(), r.hipc_type(), r.raw()), (2, 18, &[1, 2, 3, 4][..]));
        build_close(&mut buf).unwrap();
        assert_eq!(buf[..2], [15, 0]);
        assert!(matches!(parse_request(&buf), Ok(Incoming::Close(_))));
    }

    #[test]
    fn cmif_types_are_not_tipc_requests() {
        for hipc_type in [0u16, 2, 4, 5, 14] {
            let buf = [u32::from(hipc_type), 0];
            assert_eq!(parse_request(&buf).err(), Some(TipcError::NotTipc { hipc_type }));
        }
    }

    #[test]
    fn reply_puts_the_result_in_raw_word_0_and_handles_in_the_special_header() {
        let mut buf = [0u32; TLS_MESSAGE_BUFFER_WORDS];
        let spec = ReplySpec { hipc_type: 17, result: ResultCode::SUCCESS, out: &[], move_handles: &[0xABCD] };
        let words = build_reply(&mut buf, &spec).unwrap();
        assert_eq!(buf[..words], [17, 0x8000_0001, 0x20, 0xABCD, 0]);
        let reply = parse_reply(&buf).unwrap();
        assert_eq!((reply.result(), reply.move_handles(), reply.out()), (ResultCode::SUCCESS, &[0xABCD][..], &[][..]));
    }

    #[test]
    fn reply_outputs_follow_the_result_and_round_trip() {
        let mut buf = [0u32; TLS_MESSAGE_BUFFER_WORDS];
        let failure = ResultCode::from_raw(0xC15);
        let words =
            build_reply(&mut buf, &ReplySpec { hipc_type: 65116, result: failure, out: &[1], move_handles: &[] })
                .unwrap();
        assert_eq!(buf[..words], [65116, 2, 0xC15, 1]);
        let reply = parse_reply(&buf).unwrap();
        assert_eq!((reply.result(), reply.out()), (failure, &[1][..]));
    }

    #[test]
    fn reply_without_raw_data_has_no_result() {
        assert_eq!(parse_reply(&[16, 0]).err(), Some(TipcError::NoResult));
    }

    #[test]
    fn reply_whose_raw_data_runs_past_the_buffer_is_refused() {
        let mut buf = [0u32; TLS_MESSAGE_BUFFER_WORDS];
        buf[1] = 0x3FF;
        assert!(matches!(parse_reply(&buf), Err(TipcError::Hipc(_))));
    }

    #[test]
    fn raw_data_past_the_10_bit_count_is_refused() {
        let mut buf = [0u32; 0x500];
        let raw = [0u32; 0x400];
        let spec = RequestSpec { command_id: 1, raw: &raw, ..RequestSpec::default() };
        assert_eq!(build_request(&mut buf, &spec).err(), Some(TipcError::RawTooLarge { words: 0x400 }));
    }
}

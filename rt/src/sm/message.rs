//! The messages rt sends to `sm:` and the replies it reads, on the TLS message buffer.
//! Pure functions, tested on the host.
//!
//! The requests, the CMIF/TIPC choice and the layouts Atmosphère's CMIF shim compares are
//! defined once in [`xcbuf_common::sm`] (which pins the shim's bytes in its tests):
//! RegisterClient (0), GetServiceHandle (1), RegisterService (2), UnregisterService (3)
//! and DetachClient (4) go as CMIF, HasService (65100) as TIPC. Here the codec's errors
//! become rt's results, and the replies are read with the codecs of [`xcbuf_common::cmif`]
//! and [`xcbuf_common::tipc`] (horizon-ipc.md §1.2-§1.4, §6.2-§6.3).
#![forbid(unsafe_code)]

use xcbuf_common::sm::{self as iface, RegisterServiceArgs};
use xcbuf_common::{cmif, tipc};

use crate::result::{BAD_SM_REPLY, DOES_NOT_FIT, ResultCode};

pub use xcbuf_common::sm::ServiceName;

/// RegisterClient(pid).
pub fn register_client(words: &mut [u32]) -> Result<(), ResultCode> {
    iface::build_register_client(words).map(drop).map_err(|_| DOES_NOT_FIT)
}

/// DetachClient(pid), laid out as RegisterClient.
pub fn detach_client(words: &mut [u32]) -> Result<(), ResultCode> {
    iface::build_detach_client(words).map(drop).map_err(|_| DOES_NOT_FIT)
}

/// GetServiceHandle(name).
pub fn get_service_handle(words: &mut [u32], name: ServiceName) -> Result<(), ResultCode> {
    iface::build_get_service_handle(words, name).map(drop).map_err(|_| DOES_NOT_FIT)
}

/// RegisterService(name, is_light, max_sessions). A negative `max_sessions` travels as
/// its two's-complement bits, and sm's svcCreatePort refuses it.
pub fn register_service(
    words: &mut [u32],
    name: ServiceName,
    is_light: bool,
    max_sessions: i32,
) -> Result<(), ResultCode> {
    let args = RegisterServiceArgs { name, max_sessions: max_sessions.cast_unsigned(), is_light };
    iface::build_register_service(words, &args).map(drop).map_err(|_| DOES_NOT_FIT)
}

/// UnregisterService(name).
pub fn unregister_service(words: &mut [u32], name: ServiceName) -> Result<(), ResultCode> {
    iface::build_unregister_service(words, name).map(drop).map_err(|_| DOES_NOT_FIT)
}

/// HasService(name), as TIPC.
pub fn has_service(words: &mut [u32], name: ServiceName) -> Result<(), ResultCode> {
    iface::build_has_service(words, name).map(drop).map_err(|_| DOES_NOT_FIT)
}

/// A decoded successful reply: its move handles and its output words.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    pub move_handles: &'a [u32],
    /// TIPC: the raw words after the result. CMIF: empty (no sm command rt sends over
    /// CMIF has outputs besides its handle).
    pub data: &'a [u32],
}

/// Reads a CMIF reply: a malformed one (no SFCO, outside the buffer) is
/// [`BAD_SM_REPLY`]; a failure result is returned as the error.
pub fn decode_cmif_reply(words: &[u32]) -> Result<Reply<'_>, ResultCode> {
    let reply = cmif::parse_reply(words).map_err(|_| BAD_SM_REPLY)?;
    reply.result().into_result()?;
    Ok(Reply { move_handles: reply.message().move_handles(), data: &[] })
}

/// Reads a TIPC reply: raw word 0 is the result.
pub fn decode_tipc_reply(words: &[u32]) -> Result<Reply<'_>, ResultCode> {
    let reply = tipc::parse_reply(words).map_err(|_| BAD_SM_REPLY)?;
    reply.result().into_result()?;
    Ok(Reply { move_handles: reply.move_handles(), data: reply.out() })
}

/// Takes the one move handle a GetServiceHandle/RegisterService reply must carry.
pub fn single_move_handle(reply: &Reply<'_>) -> Result<u32, ResultCode> {
    match reply.move_handles {
        [handle] => Ok(*handle),
        _ => Err(BAD_SM_REPLY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xcbuf_common::cmif::OUT_HEADER_MAGIC;
    use xcbuf_common::hipc::TLS_MESSAGE_BUFFER_WORDS;
    use xcbuf_common::sm::shim;

    #[test]
    fn register_service_sends_a_negative_max_sessions_as_its_bits() {
        let mut w = [0; TLS_MESSAGE_BUFFER_WORDS];
        register_service(&mut w, ServiceName::literal("xcbuf"), false, -1).unwrap();
        assert_eq!(w[..2], shim::REGISTER_HEADER);
        assert_eq!(w[11], 0xFFFF_FFFF);
    }

    #[test]
    fn cmif_reply_with_one_move_handle_is_decoded() {
        // The reply layout of Atmosphère's shim for GetServiceHandle/RegisterService.
        let w = shim::handle_reply(0xABCD, 0);
        let reply = decode_cmif_reply(&w).unwrap();
        assert_eq!(single_move_handle(&reply), Ok(0xABCD));
        assert!(reply.data.is_empty());
        assert_eq!(decode_cmif_reply(&shim::CLIENT_REPLY).map(|r| r.move_handles.len()), Ok(0));
    }

    #[test]
    fn cmif_reply_failure_result_is_returned_as_error() {
        assert_eq!(decode_cmif_reply(&shim::unregister_reply(0xE15)), Err(ResultCode::from_raw(0xE15)));
    }

    #[test]
    fn cmif_reply_without_sfco_is_bad_sm_reply() {
        let mut w = [0; TLS_MESSAGE_BUFFER_WORDS];
        w[1] = 8;
        assert_eq!(decode_cmif_reply(&w), Err(BAD_SM_REPLY));
        w[4] = OUT_HEADER_MAGIC;
        assert!(decode_cmif_reply(&w).is_ok());
    }

    #[test]
    fn reply_whose_raw_data_runs_past_the_buffer_is_bad_sm_reply() {
        let mut w = [0; TLS_MESSAGE_BUFFER_WORDS];
        w[1] = 0x3FF;
        assert_eq!(decode_cmif_reply(&w), Err(BAD_SM_REPLY));
        assert_eq!(decode_tipc_reply(&w), Err(BAD_SM_REPLY));
    }

    #[test]
    fn tipc_has_service_reply_gives_result_then_bool() {
        let mut w = [0; TLS_MESSAGE_BUFFER_WORDS];
        w[..4].copy_from_slice(&[65116, 2, 0, 1]);
        assert_eq!(decode_tipc_reply(&w).unwrap().data, &[1]);
        w[2] = 0xC15;
        assert_eq!(decode_tipc_reply(&w), Err(ResultCode::from_raw(0xC15)));
    }

    #[test]
    fn requests_that_do_not_fit_the_buffer_are_out_of_range() {
        let mut short = [0u32; 4];
        assert_eq!(register_client(&mut short), Err(DOES_NOT_FIT));
        assert_eq!(has_service(&mut short[..3], ServiceName::literal("xcbuf")), Err(DOES_NOT_FIT));
    }
}

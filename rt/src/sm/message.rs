//! The messages rt sends to `sm:` and the replies it reads, on a 64-word TLS message
//! buffer. Pure functions, tested on the host.
//!
//! # Encoding choice (CMIF for the base commands, TIPC for HasService)
//! - RegisterClient (0), GetServiceHandle (1), RegisterService (2) and UnregisterService (3)
//!   are sent as **CMIF** (type 4), laid out exactly as libnx's `cmifMakeRequest` does
//!   (horizon-ipc.md §6.3). That is what Nintendo's sm before 12.0.0, Eden and Ryujinx
//!   speak, and what Atmosphère's sm (which serves TIPC natively since Atmosphère 1.0.0, on
//!   every firmware) still accepts for exactly these commands: its CMIF shim compares the
//!   first header words byte for byte (`04 00 00 00 0A 00 00 80 01 00 00 00` for
//!   RegisterClient, `04 00 00 00 0A 00 00 00` for GetServiceHandle/UnregisterService,
//!   `04 00 00 00 0C 00 00 00` for RegisterService) and reads the command id at byte 0x28
//!   or 0x18 and the name at 0x20 (Atmosphère `stratosphere/sm/source/
//!   sm_user_service.cpp`, `UserService::ProcessDefaultServiceCommand`). The tests
//!   below pin those bytes.
//! - HasService (65100) is an Atmosphère extension that the shim does **not** translate
//!   ("the atmosphere extensions are not shimmed", same file), so it is sent as **TIPC**
//!   (type = command + 16, raw data = the name, reply raw = result, bool; libnx `tipc.h`
//!   `tipcMakeRequest`/`tipcParseResponse`). rt only calls it when hbloader reported
//!   Atmosphère (whose sm is TIPC-native); Eden's sm answers it in both encodings
//!   (emulator-bench.md §4).
//!
//! CMIF requests are built by xcbuf_common's codec (the same builder the client uses);
//! TIPC, which common does not speak, and the replies are read here (horizon-ipc.md
//! §1.2-§1.4, §6.2-§6.3).
#![forbid(unsafe_code)]

use xcbuf_common::cmif;

use crate::result::{BAD_SM_REPLY, BAD_SERVICE_NAME, ResultCode};

/// Words of the TLS message buffer.
pub const MESSAGE_WORDS: usize = 64;
/// `SFCO` (horizon-ipc.md §6.2).
pub const CMIF_OUT_MAGIC: u32 = 0x4F43_4653;
/// TIPC request type = command id + 16 (libnx `tipcMakeRequest`).
pub const TIPC_COMMAND_BASE: u32 = 16;

pub const REGISTER_CLIENT: u32 = 0;
pub const GET_SERVICE_HANDLE: u32 = 1;
pub const REGISTER_SERVICE: u32 = 2;
pub const UNREGISTER_SERVICE: u32 = 3;
/// DetachClient: the session stops counting as the process's registration, so closing it
/// no longer unregisters the process's services (runtime-abi.md §5; Atmosphère
/// `stratosphere/sm/source/sm_user_service.hpp` `UserService::DetachClient`).
pub const DETACH_CLIENT: u32 = 4;
/// Atmosphère extension `AtmosphereHasService` (runtime-abi.md §5).
pub const HAS_SERVICE: u32 = 65100;

/// An sm service name: up to 8 bytes, zero-padded, compared as a little-endian u64
/// (runtime-abi.md §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceName(u64);

impl ServiceName {
    /// 1 to 8 bytes of printable ASCII (0x21-0x7E); anything else is
    /// [`BAD_SERVICE_NAME`].
    pub const fn new(name: &str) -> Result<ServiceName, ResultCode> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() > 8 {
            return Err(BAD_SERVICE_NAME);
        }
        let mut packed = [0u8; 8];
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] < 0x21 || bytes[i] > 0x7E {
                return Err(BAD_SERVICE_NAME);
            }
            packed[i] = bytes[i];
            i += 1;
        }
        Ok(ServiceName(u64::from_le_bytes(packed)))
    }

    pub const fn raw(self) -> u64 {
        self.0
    }

    /// The two raw-data words (low, high).
    pub const fn words(self) -> [u32; 2] {
        let b = self.0.to_le_bytes();
        [
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        ]
    }
}

const fn align_up_4(words: usize) -> usize {
    (words + 3) & !3
}

/// Writes a CMIF request the way libnx does (xcbuf_common's [`cmif::build_request`]):
/// header, special header with PID slot when `send_pid`, raw data = 16 bytes of alignment
/// budget + SFCI header + `payload`, SFCI at the first 16-byte boundary. The rest of the
/// buffer is zeroed.
pub fn encode_cmif_request(
    words: &mut [u32; MESSAGE_WORDS],
    command_id: u32,
    send_pid: bool,
    payload: &[u32],
) -> Result<(), ResultCode> {
    // Every sm payload is at most 4 words (RegisterService).
    let mut bytes = [0u8; 16];
    let len = payload.len().checked_mul(4).filter(|&n| n <= bytes.len()).ok_or(crate::result::DOES_NOT_FIT)?;
    for (chunk, word) in bytes.chunks_exact_mut(4).zip(payload) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    words.fill(0);
    let spec = cmif::RequestSpec {
        command_id,
        process_id: send_pid.then_some(0),
        payload: &bytes[..len],
        ..cmif::RequestSpec::default()
    };
    cmif::build_request(words, &spec).map(|_| ()).map_err(|_| crate::result::DOES_NOT_FIT)
}

/// Writes a TIPC request: type = command + 16, raw data = `payload`, no descriptors.
pub fn encode_tipc_request(
    words: &mut [u32; MESSAGE_WORDS],
    command_id: u32,
    payload: &[u32],
) -> Result<(), ResultCode> {
    let tag = command_id.checked_add(TIPC_COMMAND_BASE).ok_or(crate::result::DOES_NOT_FIT)?;
    if tag > 0xFFFF || 2 + payload.len() > MESSAGE_WORDS {
        return Err(crate::result::DOES_NOT_FIT);
    }
    words.fill(0);
    words[0] = tag;
    words[1] = u32::try_from(payload.len()).map_err(|_| crate::result::DOES_NOT_FIT)?;
    words[2..2 + payload.len()].copy_from_slice(payload);
    Ok(())
}

/// Where the parts of a received message are (horizon-ipc.md §1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    move_handles: (usize, usize),
    raw: (usize, usize),
}

fn layout(words: &[u32; MESSAGE_WORDS]) -> Result<Layout, ResultCode> {
    let w0 = words[0];
    let w1 = words[1];
    let field = |word: u32, shift: u32, mask: u32| ((word >> shift) & mask) as usize;
    let pointers = field(w0, 16, 0xF);
    let map_aliases = field(w0, 20, 0xF) + field(w0, 24, 0xF) + field(w0, 28, 0xF);
    let raw_count = field(w1, 0, 0x3FF);
    let mut index = 2;
    let mut move_handles = (0, 0);
    if w1 >> 31 != 0 {
        let special = words[2];
        let pid_words = if special & 1 != 0 { 2 } else { 0 };
        let copies = field(special, 1, 0xF);
        let moves = field(special, 5, 0xF);
        index = 3 + pid_words + copies;
        move_handles = (index, moves);
        index += moves;
    }
    index += 2 * pointers + 3 * map_aliases;
    if index + raw_count > MESSAGE_WORDS {
        return Err(BAD_SM_REPLY);
    }
    Ok(Layout { move_handles, raw: (index, raw_count) })
}

/// A decoded successful reply: its move handles and the output words after the header.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    pub move_handles: &'a [u32],
    pub data: &'a [u32],
}

/// Reads a CMIF reply: checks SFCO, returns `Err(result)` when the result is a failure.
pub fn decode_cmif_reply(words: &[u32; MESSAGE_WORDS]) -> Result<Reply<'_>, ResultCode> {
    let layout = layout(words)?;
    let (raw_start, raw_count) = layout.raw;
    let header = align_up_4(raw_start);
    let raw_end = raw_start + raw_count;
    if header + 4 > raw_end {
        return Err(BAD_SM_REPLY);
    }
    if words[header] != CMIF_OUT_MAGIC {
        return Err(BAD_SM_REPLY);
    }
    ResultCode::from_raw(words[header + 2]).into_result()?;
    let (first, count) = layout.move_handles;
    Ok(Reply { move_handles: &words[first..first + count], data: &words[header + 4..raw_end] })
}

/// Reads a TIPC reply: raw word 0 is the result.
pub fn decode_tipc_reply(words: &[u32; MESSAGE_WORDS]) -> Result<Reply<'_>, ResultCode> {
    let layout = layout(words)?;
    let (raw_start, raw_count) = layout.raw;
    if raw_count == 0 {
        return Err(BAD_SM_REPLY);
    }
    ResultCode::from_raw(words[raw_start]).into_result()?;
    let (first, count) = layout.move_handles;
    Ok(Reply {
        move_handles: &words[first..first + count],
        data: &words[raw_start + 1..raw_start + raw_count],
    })
}

/// RegisterClient(pid): CMIF with send-PID and the u64 placeholder (runtime-abi.md §5).
pub fn register_client(words: &mut [u32; MESSAGE_WORDS]) -> Result<(), ResultCode> {
    encode_cmif_request(words, REGISTER_CLIENT, true, &[0, 0])
}

/// DetachClient(pid): laid out exactly as RegisterClient (send-PID and the u64
/// placeholder), which is what Atmosphère's CMIF shim compares for both commands
/// (`sm_user_service.cpp` `ProcessDefaultServiceCommand`: the first 12 bytes, then the
/// command id at byte 0x28).
pub fn detach_client(words: &mut [u32; MESSAGE_WORDS]) -> Result<(), ResultCode> {
    encode_cmif_request(words, DETACH_CLIENT, true, &[0, 0])
}

/// GetServiceHandle(name).
pub fn get_service_handle(words: &mut [u32; MESSAGE_WORDS], name: ServiceName) -> Result<(), ResultCode> {
    encode_cmif_request(words, GET_SERVICE_HANDLE, false, &name.words())
}

/// RegisterService(name, is_light, max_sessions): name@0, bool@8, i32@0xC of the payload.
pub fn register_service(
    words: &mut [u32; MESSAGE_WORDS],
    name: ServiceName,
    is_light: bool,
    max_sessions: i32,
) -> Result<(), ResultCode> {
    let [lo, hi] = name.words();
    encode_cmif_request(
        words,
        REGISTER_SERVICE,
        false,
        &[lo, hi, u32::from(is_light), max_sessions.cast_unsigned()],
    )
}

/// UnregisterService(name).
pub fn unregister_service(words: &mut [u32; MESSAGE_WORDS], name: ServiceName) -> Result<(), ResultCode> {
    encode_cmif_request(words, UNREGISTER_SERVICE, false, &name.words())
}

/// HasService(name) as TIPC.
pub fn has_service(words: &mut [u32; MESSAGE_WORDS], name: ServiceName) -> Result<(), ResultCode> {
    encode_tipc_request(words, HAS_SERVICE, &name.words())
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

    fn bytes(words: &[u32]) -> std::vec::Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn register_client_matches_atmosphere_cmif_shim_header_and_command_offset() {
        let mut w = [0xAAAA_AAAA; MESSAGE_WORDS];
        register_client(&mut w).unwrap();
        let b = bytes(&w);
        assert_eq!(&b[..12], &[0x04, 0, 0, 0, 0x0A, 0, 0, 0x80, 0x01, 0, 0, 0]);
        assert_eq!(&b[0x20..0x24], b"SFCI");
        assert_eq!(u32::from_le_bytes(b[0x28..0x2C].try_into().unwrap()), 0);
    }

    #[test]
    fn detach_client_matches_the_shim_header_of_register_client_with_command_4_at_0x28() {
        let mut w = [0xAAAA_AAAA; MESSAGE_WORDS];
        detach_client(&mut w).unwrap();
        let b = bytes(&w);
        assert_eq!(&b[..12], &[0x04, 0, 0, 0, 0x0A, 0, 0, 0x80, 0x01, 0, 0, 0]);
        assert_eq!(&b[0x20..0x24], b"SFCI");
        assert_eq!(u32::from_le_bytes(b[0x28..0x2C].try_into().unwrap()), 4);
    }

    #[test]
    fn get_service_handle_matches_the_shim_with_name_at_0x20() {
        let mut w = [0; MESSAGE_WORDS];
        get_service_handle(&mut w, ServiceName::new("xcbuf").unwrap()).unwrap();
        let b = bytes(&w);
        assert_eq!(&b[..8], &[0x04, 0, 0, 0, 0x0A, 0, 0, 0]);
        assert_eq!(&b[0x10..0x14], b"SFCI");
        assert_eq!(u32::from_le_bytes(b[0x18..0x1C].try_into().unwrap()), 1);
        assert_eq!(&b[0x20..0x28], b"xcbuf\0\0\0");
    }

    #[test]
    fn register_service_matches_the_shim_with_bool_at_0x28_and_max_at_0x2c() {
        let mut w = [0; MESSAGE_WORDS];
        register_service(&mut w, ServiceName::new("xcbuf").unwrap(), false, 32).unwrap();
        let b = bytes(&w);
        assert_eq!(&b[..8], &[0x04, 0, 0, 0, 0x0C, 0, 0, 0]);
        assert_eq!(u32::from_le_bytes(b[0x18..0x1C].try_into().unwrap()), 2);
        assert_eq!(&b[0x20..0x28], b"xcbuf\0\0\0");
        assert_eq!(b[0x28], 0);
        assert_eq!(u32::from_le_bytes(b[0x2C..0x30].try_into().unwrap()), 32);
    }

    #[test]
    fn unregister_service_uses_the_get_service_handle_header_with_command_3() {
        let mut w = [0; MESSAGE_WORDS];
        unregister_service(&mut w, ServiceName::new("xcbuf").unwrap()).unwrap();
        assert_eq!(&w[..2], &[4, 0x0A]);
        assert_eq!(w[6], 3);
    }

    #[test]
    fn has_service_is_tipc_type_65116_with_the_name_as_raw_data() {
        let mut w = [0; MESSAGE_WORDS];
        has_service(&mut w, ServiceName::new("xcbuf").unwrap()).unwrap();
        assert_eq!(w[0], 65100 + 16);
        assert_eq!(w[1], 2);
        assert_eq!(bytes(&w[2..4]), b"xcbuf\0\0\0");
    }

    #[test]
    fn cmif_reply_with_one_move_handle_is_decoded() {
        // The reply layout of Atmosphère's shim for GetServiceHandle/RegisterService.
        let mut w = [0; MESSAGE_WORDS];
        w[0] = 0;
        w[1] = 0x8000_0004;
        w[2] = 0x20; // one move handle
        w[3] = 0xABCD;
        w[4] = CMIF_OUT_MAGIC;
        let reply = decode_cmif_reply(&w).unwrap();
        assert_eq!(single_move_handle(&reply), Ok(0xABCD));
        assert!(reply.data.is_empty());
    }

    #[test]
    fn cmif_reply_failure_result_is_returned_as_error() {
        let mut w = [0; MESSAGE_WORDS];
        w[1] = 8;
        w[4] = CMIF_OUT_MAGIC;
        w[6] = 0xE15;
        assert_eq!(decode_cmif_reply(&w), Err(ResultCode::from_raw(0xE15)));
    }

    #[test]
    fn cmif_reply_without_sfco_is_bad_sm_reply() {
        let mut w = [0; MESSAGE_WORDS];
        w[1] = 8;
        assert_eq!(decode_cmif_reply(&w), Err(BAD_SM_REPLY));
    }

    #[test]
    fn reply_whose_raw_data_runs_past_the_buffer_is_bad_sm_reply() {
        let mut w = [0; MESSAGE_WORDS];
        w[1] = 0x3FF;
        assert_eq!(decode_cmif_reply(&w), Err(BAD_SM_REPLY));
        assert_eq!(decode_tipc_reply(&w), Err(BAD_SM_REPLY));
    }

    #[test]
    fn tipc_has_service_reply_gives_result_then_bool() {
        let mut w = [0; MESSAGE_WORDS];
        w[0] = 0;
        w[1] = 2;
        w[2] = 0;
        w[3] = 1;
        let reply = decode_tipc_reply(&w).unwrap();
        assert_eq!(reply.data, &[1]);
    }

    #[test]
    fn service_name_is_1_to_8_printable_bytes() {
        assert_eq!(ServiceName::new("sm:").unwrap().raw(), u64::from_le_bytes(*b"sm:\0\0\0\0\0"));
        assert_eq!(ServiceName::new(""), Err(BAD_SERVICE_NAME));
        assert_eq!(ServiceName::new("123456789"), Err(BAD_SERVICE_NAME));
        assert_eq!(ServiceName::new("a b"), Err(BAD_SERVICE_NAME));
        assert!(ServiceName::new("xcbuf:i").is_ok());
    }
}

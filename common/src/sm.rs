//! The `sm:` interface, defined once for rt's sm client and the bench's HLE sm: the port
//! name, [`ServiceName`], the command ids, RegisterService's argument layouts, the
//! requests as rt sends them, and the forms of Atmosphère's CMIF shim ([`shim`]).
//!
//! # Two encodings
//! Atmosphère's sm serves TIPC ([`crate::tipc`]) natively. For the base commands 0-4 it
//! also accepts CMIF, through a shim that compares the first header words byte for byte
//! with the layouts libnx's `cmifMakeRequest` produces and answers with fixed reply
//! layouts (Atmosphère `stratosphere/sm/source/sm_user_service.cpp`,
//! `UserService::ProcessDefaultServiceCommand`). rt sends commands 0-4 as CMIF (what
//! Nintendo's sm before 12.0.0, Eden and Ryujinx speak, and what the shim accepts) and
//! HasService, which the shim does not translate, as TIPC.
//!
//! Results: [`crate::result::sm`].
#![forbid(unsafe_code)]

use core::fmt;

use crate::cmif::{self, CmifError};
use crate::result::{ResultCode, sm as results};
use crate::tipc::{self, TipcError};

/// The named port every process connects to (`svcConnectToNamedPort("sm:")`).
pub const PORT_NAME: ServiceName = ServiceName::literal("sm:");

/// Command ids (Atmosphère `stratosphere/sm/source/sm_user_service.hpp`, the same in
/// both encodings).
pub mod command {
    /// RegisterClient(pid): the session now speaks for the sending process.
    pub const REGISTER_CLIENT: u32 = 0;
    /// GetServiceHandle(name) -> move handle to a client session.
    pub const GET_SERVICE_HANDLE: u32 = 1;
    /// RegisterService(name, max_sessions, is_light) -> move handle to the server port.
    pub const REGISTER_SERVICE: u32 = 2;
    /// UnregisterService(name).
    pub const UNREGISTER_SERVICE: u32 = 3;
    /// DetachClient(pid): the session stops counting as the process's registration, so
    /// closing it no longer unregisters the process's services (`UserService::DetachClient`).
    pub const DETACH_CLIENT: u32 = 4;
    /// Atmosphère's HasService(name) -> bool (`AtmosphereHasService`; TIPC only).
    pub const HAS_SERVICE: u32 = 65100;
}

// ---------------------------------------------------------------------------------------
// ServiceName
// ---------------------------------------------------------------------------------------

/// An sm service name: up to 8 bytes, zero-padded, compared as one little-endian u64
/// (libstratosphere `sm_types.hpp` `ServiceName`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceName([u8; 8]);

impl ServiceName {
    /// Largest name length (`ServiceName::MaxLength`).
    pub const MAX_LENGTH: usize = 8;

    /// A name for a request: 1 to 8 bytes of printable ASCII (0x21-0x7E), stricter than
    /// sm's own check so a name rt sends is one every sm accepts; anything else is sm's
    /// [`results::INVALID_SERVICE_NAME`].
    #[allow(clippy::indexing_slicing)] // i < both lengths: the loop condition
    pub const fn new(name: &str) -> Result<ServiceName, ResultCode> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() > Self::MAX_LENGTH {
            return Err(results::INVALID_SERVICE_NAME);
        }
        let mut packed = [0u8; 8];
        let mut i = 0;
        while i < bytes.len() && i < packed.len() {
            let b = bytes[i];
            if b < 0x21 || b > 0x7E {
                return Err(results::INVALID_SERVICE_NAME);
            }
            packed[i] = b;
            i += 1;
        }
        Ok(ServiceName(packed))
    }

    /// [`ServiceName::new`] for constants: an invalid name stops compilation.
    #[allow(clippy::panic)] // only ever evaluated in consts: a compile error, not a run-time panic
    pub const fn literal(name: &str) -> ServiceName {
        match ServiceName::new(name) {
            Ok(n) => n,
            Err(_) => panic!("an sm service name is 1 to 8 printable ASCII bytes"),
        }
    }

    /// A name as received: sm's `ValidateServiceName` (Atmosphère
    /// `stratosphere/sm/source/impl/sm_service_manager.cpp`): the first byte is not zero,
    /// and every byte after the first zero is zero. Any other byte value is accepted.
    #[allow(clippy::indexing_slicing)] // 0 and i < 8 on an 8-byte array
    pub const fn from_bytes(bytes: [u8; 8]) -> Result<ServiceName, ResultCode> {
        if bytes[0] == 0 {
            return Err(results::INVALID_SERVICE_NAME);
        }
        let mut ended = false;
        let mut i = 1;
        while i < bytes.len() {
            if bytes[i] == 0 {
                ended = true;
            } else if ended {
                return Err(results::INVALID_SERVICE_NAME);
            }
            i += 1;
        }
        Ok(ServiceName(bytes))
    }

    /// [`ServiceName::from_bytes`] on the first 8 bytes of `args`; too short is invalid.
    pub fn from_args(args: &[u8]) -> Result<ServiceName, ResultCode> {
        let bytes = args.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()).ok_or(results::INVALID_SERVICE_NAME)?;
        ServiceName::from_bytes(bytes)
    }

    /// The 8 zero-padded bytes.
    pub const fn bytes(self) -> [u8; 8] {
        self.0
    }

    /// The bytes up to the first zero.
    pub fn as_bytes(&self) -> &[u8] {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(self.0.len());
        self.0.get(..len).unwrap_or_default()
    }

    /// The name as text, when it is UTF-8 (every name made by [`ServiceName::new`] is).
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.as_bytes()).ok()
    }

    /// The little-endian u64 sm compares.
    pub const fn raw(self) -> u64 {
        u64::from_le_bytes(self.0)
    }

    /// The two raw-data words (low, high).
    #[allow(clippy::indexing_slicing)] // constant indices below 8
    pub const fn words(self) -> [u32; 2] {
        let b = self.0;
        [u32::from_le_bytes([b[0], b[1], b[2], b[3]]), u32::from_le_bytes([b[4], b[5], b[6], b[7]])]
    }

    /// NUL-terminated, for `svcConnectToNamedPort`.
    #[allow(clippy::indexing_slicing)] // i < 8 < 9
    pub const fn port_name(self) -> [u8; 9] {
        let mut out = [0u8; 9];
        let mut i = 0;
        while i < self.0.len() {
            out[i] = self.0[i];
            i += 1;
        }
        out
    }
}

impl fmt::Display for ServiceName {
    /// The name; bytes that are not UTF-8 print as `\xNN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => f.write_str(s),
            None => self.as_bytes().iter().try_for_each(|b| write!(f, "{}", core::ascii::escape_default(*b))),
        }
    }
}

impl fmt::Debug for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceName(\"{self}\")")
    }
}

// ---------------------------------------------------------------------------------------
// RegisterService's arguments
// ---------------------------------------------------------------------------------------

/// RegisterService's arguments.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RegisterServiceArgs {
    pub name: ServiceName,
    pub max_sessions: u32,
    pub is_light: bool,
}

/// Where RegisterService's arguments lie in the raw data (bytes from the first argument).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RegisterServiceLayout {
    /// The name (8 bytes) is at 0 in both.
    pub max_sessions: usize,
    /// Bit 0 of this byte.
    pub is_light: usize,
}

impl RegisterServiceLayout {
    /// CMIF, as libnx's `smRegisterService` packs it and the shim reads it (name, bool,
    /// 3 bytes of padding, s32: `sm_user_service.cpp` reads `is_light` at byte 0x28 and
    /// `max_sessions` at 0x2C of the message, i.e. 8 and 0xC of the arguments).
    pub const CMIF: RegisterServiceLayout = RegisterServiceLayout { is_light: 8, max_sessions: 0xC };
    /// TIPC: the arguments in declaration order, `(ServiceName, u32 max_sessions, bool
    /// is_light)` (`sm_user_service.hpp` `RegisterService`).
    pub const TIPC: RegisterServiceLayout = RegisterServiceLayout { max_sessions: 8, is_light: 0xC };
    /// Bytes of the arguments in both layouts.
    pub const SIZE: usize = 16;
}

impl RegisterServiceArgs {
    /// The 16 argument bytes in `layout`.
    pub fn encode(&self, layout: RegisterServiceLayout) -> [u8; RegisterServiceLayout::SIZE] {
        let mut out = [0u8; RegisterServiceLayout::SIZE];
        let fields: [(usize, &[u8]); 3] = [
            (0, &self.name.bytes()),
            (layout.max_sessions, &self.max_sessions.to_le_bytes()),
            (layout.is_light, &[u8::from(self.is_light)]),
        ];
        for (at, bytes) in fields {
            if let Some(place) = out.get_mut(at..at + bytes.len()) {
                place.copy_from_slice(bytes);
            }
        }
        out
    }

    /// `(max_sessions, is_light)` from argument bytes in `layout`; a field past the end of
    /// `args` reads as 0 (the name is checked on its own, [`ServiceName::from_args`]).
    pub fn decode_counts(args: &[u8], layout: RegisterServiceLayout) -> (u32, bool) {
        let at = layout.max_sessions;
        let max = args.get(at..at + 4).and_then(|b| <[u8; 4]>::try_from(b).ok()).map_or(0, u32::from_le_bytes);
        let light = args.get(layout.is_light).is_some_and(|b| b & 1 != 0);
        (max, light)
    }
}

// ---------------------------------------------------------------------------------------
// Requests, as rt sends them
// ---------------------------------------------------------------------------------------

/// Zeroes `buf`, then writes a CMIF request the way libnx's `cmifMakeRequest` does.
fn cmif_request(buf: &mut [u32], command_id: u32, send_pid: bool, payload: &[u8]) -> Result<usize, CmifError> {
    buf.fill(0);
    let spec =
        cmif::RequestSpec { command_id, process_id: send_pid.then_some(0), payload, ..cmif::RequestSpec::default() };
    cmif::build_request(buf, &spec)
}

/// RegisterClient(pid): CMIF, send-PID and the u64 placeholder; the shim's
/// [`shim::CLIENT_HEADER`] form.
pub fn build_register_client(buf: &mut [u32]) -> Result<usize, CmifError> {
    cmif_request(buf, command::REGISTER_CLIENT, true, &[0; 8])
}

/// DetachClient(pid): laid out as RegisterClient, which is what the shim compares for both.
pub fn build_detach_client(buf: &mut [u32]) -> Result<usize, CmifError> {
    cmif_request(buf, command::DETACH_CLIENT, true, &[0; 8])
}

/// GetServiceHandle(name): CMIF, the shim's [`shim::NAME_HEADER`] form.
pub fn build_get_service_handle(buf: &mut [u32], name: ServiceName) -> Result<usize, CmifError> {
    cmif_request(buf, command::GET_SERVICE_HANDLE, false, &name.bytes())
}

/// UnregisterService(name): CMIF, the shim's [`shim::NAME_HEADER`] form.
pub fn build_unregister_service(buf: &mut [u32], name: ServiceName) -> Result<usize, CmifError> {
    cmif_request(buf, command::UNREGISTER_SERVICE, false, &name.bytes())
}

/// RegisterService: CMIF in [`RegisterServiceLayout::CMIF`], the shim's
/// [`shim::REGISTER_HEADER`] form.
pub fn build_register_service(buf: &mut [u32], args: &RegisterServiceArgs) -> Result<usize, CmifError> {
    cmif_request(buf, command::REGISTER_SERVICE, false, &args.encode(RegisterServiceLayout::CMIF))
}

/// HasService(name): TIPC (the shim does not translate Atmosphère's extensions).
pub fn build_has_service(buf: &mut [u32], name: ServiceName) -> Result<usize, TipcError> {
    buf.fill(0);
    tipc::build_request(
        buf,
        &tipc::RequestSpec { command_id: command::HAS_SERVICE, raw: &name.words(), ..Default::default() },
    )
}

// ---------------------------------------------------------------------------------------
// Atmosphère's CMIF shim
// ---------------------------------------------------------------------------------------

/// The CMIF forms Atmosphère's sm translates (`sm_user_service.cpp`,
/// `ProcessDefaultServiceCommand`): the header words it compares, where it reads the
/// command id and the arguments, and the fixed replies it writes back
/// (`CmifResponseTo...`). A CMIF request in any other form is refused (InvalidMethod),
/// which closes the session.
pub mod shim {
    use crate::cmif::OUT_HEADER_MAGIC;

    /// RegisterClient/DetachClient: 12 bytes, type 4, 10 raw words + special header,
    /// send-PID.
    pub const CLIENT_HEADER: [u32; 3] = [4, 0x8000_000A, 1];
    /// GetServiceHandle/UnregisterService: 8 bytes, type 4, 10 raw words.
    pub const NAME_HEADER: [u32; 2] = [4, 0x0000_000A];
    /// RegisterService: 8 bytes, type 4, 12 raw words.
    pub const REGISTER_HEADER: [u32; 2] = [4, 0x0000_000C];
    /// Byte of the command id in the [`CLIENT_HEADER`] form.
    pub const CLIENT_COMMAND_OFFSET: usize = 0x28;
    /// Byte of the command id in the other forms.
    pub const COMMAND_OFFSET: usize = 0x18;
    /// Byte of the arguments (the name first) in the [`NAME_HEADER`] and
    /// [`REGISTER_HEADER`] forms.
    pub const ARGS_OFFSET: usize = 0x20;
    /// Byte of the result in the replies that carry one.
    pub const RESULT_OFFSET: usize = 0x18;

    /// The reply to any control request: QueryPointerBufferSize = 0, sm has no pointer
    /// buffer (`CmifResponseToQueryPointerBufferSize`).
    pub const CONTROL_REPLY: [u32; 9] = [0, 7, 0, 0, OUT_HEADER_MAGIC, 0, 0, 0, 0];
    /// The reply to RegisterClient and DetachClient: 6 raw words, always success.
    pub const CLIENT_REPLY: [u32; 8] = [0, 6, 0, 0, OUT_HEADER_MAGIC, 0, 0, 0];

    /// The reply to GetServiceHandle and RegisterService: one move-handle slot (0 on
    /// failure), 4 raw words, the result at [`RESULT_OFFSET`].
    pub const fn handle_reply(handle: u32, result: u32) -> [u32; 8] {
        [0, 0x8000_0004, 0x20, handle, OUT_HEADER_MAGIC, 0, result, 0]
    }

    /// The reply to UnregisterService: 8 raw words, the result at [`RESULT_OFFSET`].
    pub const fn unregister_reply(result: u32) -> [u32; 10] {
        [0, 8, 0, 0, OUT_HEADER_MAGIC, 0, result, 0, 0, 0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hipc::TLS_MESSAGE_BUFFER_WORDS;

    extern crate std;
    use std::string::ToString;
    use std::vec::Vec;

    fn bytes(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    fn xcbuf() -> ServiceName {
        ServiceName::literal("xcbuf")
    }

    #[test]
    fn the_shim_headers_are_atmosphere_s_bytes() {
        // sm_user_service.cpp compares these bytes before it translates a request.
        assert_eq!(bytes(&shim::CLIENT_HEADER), [0x04, 0, 0, 0, 0x0A, 0, 0, 0x80, 0x01, 0, 0, 0]);
        assert_eq!(bytes(&shim::NAME_HEADER), [0x04, 0, 0, 0, 0x0A, 0, 0, 0]);
        assert_eq!(bytes(&shim::REGISTER_HEADER), [0x04, 0, 0, 0, 0x0C, 0, 0, 0]);
    }

    #[test]
    fn the_shim_replies_are_atmosphere_s_bytes() {
        let sfco = *b"SFCO";
        let mut control = [0u8; 36];
        control[4] = 7;
        control[16..20].copy_from_slice(&sfco);
        assert_eq!(bytes(&shim::CONTROL_REPLY), control);
        let mut client = [0u8; 32];
        client[4] = 6;
        client[16..20].copy_from_slice(&sfco);
        assert_eq!(bytes(&shim::CLIENT_REPLY), client);
        let handle = bytes(&shim::handle_reply(0x1234, 0x615));
        assert_eq!(handle[..16], [0, 0, 0, 0, 0x04, 0, 0, 0x80, 0x20, 0, 0, 0, 0x34, 0x12, 0, 0]);
        assert_eq!(handle[16..20], sfco);
        assert_eq!(handle[shim::RESULT_OFFSET..shim::RESULT_OFFSET + 4], [0x15, 0x06, 0, 0]);
        let unregister = bytes(&shim::unregister_reply(0xe15));
        assert_eq!((unregister.len(), unregister[4], &unregister[16..20]), (40, 8, &sfco[..]));
        assert_eq!(unregister[0x18..0x1C], [0x15, 0x0e, 0, 0]);
    }

    #[test]
    fn register_client_matches_the_shim_client_form_with_command_0_at_0x28() {
        let mut w = [0xAAAA_AAAA; TLS_MESSAGE_BUFFER_WORDS];
        build_register_client(&mut w).unwrap();
        let b = bytes(&w);
        assert_eq!(&b[..12], &[0x04, 0, 0, 0, 0x0A, 0, 0, 0x80, 0x01, 0, 0, 0]);
        assert_eq!(&b[0x20..0x24], b"SFCI");
        assert_eq!(b[0x28..0x2C], [0, 0, 0, 0]);
        assert!(w[12..].iter().all(|&x| x == 0), "the rest of the buffer is zeroed");
    }

    #[test]
    fn detach_client_matches_the_shim_client_form_with_command_4_at_0x28() {
        let mut w = [0xAAAA_AAAA; TLS_MESSAGE_BUFFER_WORDS];
        build_detach_client(&mut w).unwrap();
        let b = bytes(&w);
        assert_eq!(&b[..12], &bytes(&shim::CLIENT_HEADER)[..]);
        assert_eq!(&b[0x20..0x24], b"SFCI");
        assert_eq!(b[shim::CLIENT_COMMAND_OFFSET..shim::CLIENT_COMMAND_OFFSET + 4], [4, 0, 0, 0]);
    }

    #[test]
    fn get_service_handle_matches_the_shim_name_form_with_the_name_at_0x20() {
        let mut w = [0; TLS_MESSAGE_BUFFER_WORDS];
        build_get_service_handle(&mut w, xcbuf()).unwrap();
        let b = bytes(&w);
        assert_eq!(&b[..8], &[0x04, 0, 0, 0, 0x0A, 0, 0, 0]);
        assert_eq!(&b[0x10..0x14], b"SFCI");
        assert_eq!(b[0x18..0x1C], [1, 0, 0, 0]);
        assert_eq!(&b[0x20..0x28], b"xcbuf\0\0\0");
    }

    #[test]
    fn unregister_service_matches_the_shim_name_form_with_command_3() {
        let mut w = [0; TLS_MESSAGE_BUFFER_WORDS];
        build_unregister_service(&mut w, xcbuf()).unwrap();
        assert_eq!(&w[..2], &[4, 0x0A]);
        assert_eq!(w[6], 3);
    }

    #[test]
    fn register_service_matches_the_shim_with_is_light_at_0x28_and_max_sessions_at_0x2c() {
        let mut w = [0; TLS_MESSAGE_BUFFER_WORDS];
        build_register_service(&mut w, &RegisterServiceArgs { name: xcbuf(), max_sessions: 32, is_light: true })
            .unwrap();
        let b = bytes(&w);
        assert_eq!(&b[..8], &[0x04, 0, 0, 0, 0x0C, 0, 0, 0]);
        assert_eq!(b[0x18..0x1C], [2, 0, 0, 0]);
        assert_eq!(&b[0x20..0x28], b"xcbuf\0\0\0");
        assert_eq!(b[0x28], 1);
        assert_eq!(b[0x2C..0x30], [32, 0, 0, 0]);
    }

    #[test]
    fn register_service_arguments_round_trip_in_both_layouts() {
        let args = RegisterServiceArgs { name: xcbuf(), max_sessions: 0x40, is_light: true };
        for layout in [RegisterServiceLayout::CMIF, RegisterServiceLayout::TIPC] {
            let encoded = args.encode(layout);
            assert_eq!(ServiceName::from_args(&encoded), Ok(xcbuf()));
            assert_eq!(RegisterServiceArgs::decode_counts(&encoded, layout), (0x40, true));
        }
        assert_eq!(args.encode(RegisterServiceLayout::TIPC)[8..], [0x40, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(RegisterServiceArgs::decode_counts(&[0; 8], RegisterServiceLayout::CMIF), (0, false));
    }

    #[test]
    fn has_service_is_tipc_type_65116_with_the_name_as_raw_data() {
        let mut w = [0xAAAA_AAAA; TLS_MESSAGE_BUFFER_WORDS];
        build_has_service(&mut w, xcbuf()).unwrap();
        assert_eq!(w[..2], [65100 + 16, 2]);
        assert_eq!(bytes(&w[2..4]), b"xcbuf\0\0\0");
        assert!(w[4..].iter().all(|&x| x == 0));
    }

    #[test]
    fn service_name_for_a_request_is_1_to_8_printable_bytes() {
        assert_eq!(PORT_NAME.raw(), u64::from_le_bytes(*b"sm:\0\0\0\0\0"));
        assert_eq!(PORT_NAME.port_name(), *b"sm:\0\0\0\0\0\0");
        assert_eq!(ServiceName::new(""), Err(results::INVALID_SERVICE_NAME));
        assert_eq!(ServiceName::new("123456789"), Err(results::INVALID_SERVICE_NAME));
        assert_eq!(ServiceName::new("a b"), Err(results::INVALID_SERVICE_NAME));
        assert_eq!(ServiceName::new("xcbuf:i").map(|n| n.words()), Ok([0x7562_6378, 0x0069_3a66]));
    }

    #[test]
    fn service_name_received_follows_validate_service_name() {
        // Non-empty, nothing but zeros after the first zero; any other byte is accepted.
        assert_eq!(ServiceName::from_args(b"ab\0c\0\0\0\0"), Err(results::INVALID_SERVICE_NAME));
        assert_eq!(ServiceName::from_args(&[0u8; 8]), Err(results::INVALID_SERVICE_NAME));
        assert_eq!(ServiceName::from_args(b"short"), Err(results::INVALID_SERVICE_NAME));
        assert_eq!(ServiceName::from_args(b"12345678").unwrap().as_str(), Some("12345678"));
        assert_eq!(ServiceName::from_args(b"a b\xff\0\0\0\0").unwrap().to_string(), "a b\\xff");
    }
}

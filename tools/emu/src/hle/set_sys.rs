//! The host's `set:sys` (HLE): only what nx's and libnx's start-up ask of it,
//! GetFirmwareVersion (3) and GetFirmwareVersion2 (4).
//!
//! Both commands take no raw arguments and one out buffer of type
//! `Out | HipcPointer | FixedSize` of 0x100 bytes: on the wire one C descriptor (a receive
//! list entry, recv_static mode 3) and no out-pointer size table entry (libnx `set.c`
//! `_setsysGetFirmwareVersionImpl`; nx `ipc/sf/set.rs` `OutFixedPointerBuffer`;
//! Atmosphère `sf::Out<settings::FirmwareVersion>` is LargeData and so a pointer
//! buffer). The real server answers with an X descriptor that the kernel copies into the
//! client's C[0]; the bench writes the bytes into C[0] the same way. The reply carries no
//! data: SFCO with the result.
//!
//! The version is `--firmware` (default 21.0.0; [`super::HleShared::firmware`]).

/// The service name.
pub const SERVICE_NAME: &str = "set:sys";
/// ISystemSettingsServer command ids (libnx `set.c`, Atmosphère `setsys_mitm_service.hpp`).
pub const GET_FIRMWARE_VERSION: u32 = 3;
pub const GET_FIRMWARE_VERSION2: u32 = 4;
/// `sizeof(SetSysFirmwareVersion)` (libnx `set.h`), `sizeof(settings::system::FirmwareVersion)`
/// (Atmosphère `settings_firmware_version.hpp`), `sizeof(FirmwareVersionFormat)` (Eden
/// `settings_types.h`).
pub const FIRMWARE_VERSION_SIZE: usize = 0x100;

/// Field offsets of the 0x100-byte FirmwareVersion (libnx `set.h` `SetSysFirmwareVersion`;
/// Atmosphère `settings_firmware_version.hpp` `FirmwareVersion`; Eden `settings_types.h`
/// `FirmwareVersionFormat`): u8 major, minor, micro, pad; u8 revision_major,
/// revision_minor, 2 pad; char platform[0x20]; char version_hash[0x40] (Atmosphère:
/// `revision`); char display_version[0x18]; char display_title[0x80] (Atmosphère:
/// `display_name`).
pub mod offset {
    pub const MAJOR: usize = 0x00;
    pub const MINOR: usize = 0x01;
    pub const MICRO: usize = 0x02;
    pub const REVISION_MAJOR: usize = 0x04;
    pub const REVISION_MINOR: usize = 0x05;
    pub const PLATFORM: usize = 0x08;
    pub const VERSION_HASH: usize = 0x28;
    pub const DISPLAY_VERSION: usize = 0x68;
    pub const DISPLAY_TITLE: usize = 0x80;
}
const PLATFORM_SIZE: usize = 0x20;
const VERSION_HASH_SIZE: usize = 0x40;
const DISPLAY_VERSION_SIZE: usize = 0x18;
const DISPLAY_TITLE_SIZE: usize = 0x80;

pub use super::FirmwareVersion;
use super::{HleEnv, HleObject, HleReply, HleRequest, HleService};
use xcbuf_common::sm::ServiceName;

/// The SDK revision in the system version file. The bench has no console's SystemVersion
/// archive (0100000000000809): it uses 1.0, as Eden's synthesized one does (Eden
/// `system_archive/system_version.cpp` `SystemVersion`, `api_version.h`).
pub const REVISION_MAJOR: u8 = 1;
pub const REVISION_MINOR: u8 = 0;
/// No real build hash is known to the bench: 40 hex zeros, the shape of the real field (a
/// 40-character git hash, NUL-padded).
pub const VERSION_HASH: &str = "0000000000000000000000000000000000000000";

/// The 0x100 bytes command `command` (3 or 4) writes for version `v`. Command 3 zeroes
/// revision_major and revision_minor, as Atmosphère's set.mitm does
/// (`setsys_mitm_service.cpp` `SetSysMitmService::GetFirmwareVersion`; Eden zeroes only
/// revision_minor, `system_settings_server.cpp` `GetFirmwareVersionImpl`); command 4 gives
/// the file unchanged (`GetFirmwareVersion2`).
pub fn firmware_version_bytes(v: FirmwareVersion, command: u32) -> [u8; FIRMWARE_VERSION_SIZE] {
    let mut out = [0u8; FIRMWARE_VERSION_SIZE];
    out[offset::MAJOR] = v.major;
    out[offset::MINOR] = v.minor;
    out[offset::MICRO] = v.micro;
    if command != GET_FIRMWARE_VERSION {
        out[offset::REVISION_MAJOR] = REVISION_MAJOR;
        out[offset::REVISION_MINOR] = REVISION_MINOR;
    }
    put_str(&mut out, offset::PLATFORM, PLATFORM_SIZE, "NX");
    put_str(&mut out, offset::VERSION_HASH, VERSION_HASH_SIZE, VERSION_HASH);
    put_str(&mut out, offset::DISPLAY_VERSION, DISPLAY_VERSION_SIZE, &v.to_string());
    // "NintendoSDK Firmware for NX 21.0.0-1.0" (the form of Eden's `DISPLAY_TITLE`).
    let title = format!("NintendoSDK Firmware for NX {v}-{REVISION_MAJOR}.{REVISION_MINOR}");
    put_str(&mut out, offset::DISPLAY_TITLE, DISPLAY_TITLE_SIZE, &title);
    out
}

/// Sessions to "set:sys" at once (Eden `service.h` `ServerSessionCountMax` 0x40, the
/// default its `RegisterNamedService` gives set:sys in `set/settings.cpp`).
pub const MAX_SESSIONS: u32 = 0x40;
/// The pointer buffer of the set:sys server a client reaches on Atmosphère (ams_mitm
/// `set_mitm/setmitm_module.cpp` `ServerOptions::PointerBufferSize` 0x200): the answer
/// to control command 3 QueryPointerBufferSize, which libnx `serviceCreate` sends.
pub const POINTER_BUFFER_SIZE: u16 = 0x200;

/// The `set:sys` registration.
pub struct SetSysService;

impl HleService for SetSysService {
    fn name(&self) -> ServiceName {
        ServiceName::literal(SERVICE_NAME)
    }
    fn max_sessions(&self) -> u32 {
        MAX_SESSIONS
    }
    fn pointer_buffer_size(&self) -> u16 {
        POINTER_BUFFER_SIZE
    }
    fn open(&mut self) -> Box<dyn HleObject> {
        Box::new(SystemSettingsServer)
    }
}

/// ISystemSettingsServer, the root object of a set:sys session.
pub struct SystemSettingsServer;

impl HleObject for SystemSettingsServer {
    fn interface(&self) -> &'static str {
        "ISystemSettingsServer"
    }

    fn handle(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        match request.command_id {
            GET_FIRMWARE_VERSION | GET_FIRMWARE_VERSION2 => {
                // libstratosphere `HipcCommandProcessor::PrepareForProcess`
                // (sf_impl_command_serialization.hpp): no pid, no X/A/B/W, no handles, or
                // InvalidCmifRequest and the session closes (`ServerSessionManager::
                // ProcessRequest` closes on every processing error). The C count is not
                // checked there (the line is commented out): the kernel copies the reply's
                // X into C[0], or fails the client's receive.
                let shape_ok = request.pid.is_none()
                    && request.x.is_empty()
                    && request.a.is_empty()
                    && request.b.is_empty()
                    && request.w.is_empty()
                    && request.copy_handles.is_empty()
                    && request.move_handles.is_empty();
                if !shape_ok {
                    env.trace(format!(
                        "set:sys: command {} from {}: not the command's buffers/handles/pid -> session closed",
                        request.command_id,
                        env.caller().thread_name
                    ));
                    return HleReply::Close;
                }
                let bytes = firmware_version_bytes(env.shared().firmware, request.command_id);
                // The reply's X descriptor index 0 (the out pointer buffer's receive index).
                env.write_c(0, bytes.to_vec());
                HleReply::ok(Vec::new())
            }
            _ => HleReply::Unknown,
        }
    }
}

/// Writes `s` NUL-padded into the field at `at` of `size` bytes (always leaving a NUL).
fn put_str(out: &mut [u8; FIRMWARE_VERSION_SIZE], at: usize, size: usize, s: &str) {
    let n = s.len().min(size - 1);
    out[at..at + n].copy_from_slice(&s.as_bytes()[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cstr(bytes: &[u8]) -> &str {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        std::str::from_utf8(&bytes[..end]).unwrap()
    }

    /// Offsets of libnx `set.h` `SetSysFirmwareVersion` (= Atmosphère
    /// `settings_firmware_version.hpp`, Eden `settings_types.h`): u8 x3 @0, revision @4/5,
    /// platform @0x08, hash @0x28, display_version @0x68, display_title @0x80, 0x100 in all.
    #[test]
    fn firmware_version_fields_sit_at_the_libnx_set_h_offsets() {
        let v = FirmwareVersion { major: 21, minor: 2, micro: 3 };
        let b = firmware_version_bytes(v, GET_FIRMWARE_VERSION2);
        assert_eq!(b.len(), 0x100);
        assert_eq!(&b[0..8], &[21, 2, 3, 0, 1, 0, 0, 0]);
        assert_eq!(cstr(&b[0x08..0x28]), "NX");
        assert_eq!(cstr(&b[0x28..0x68]).len(), 40);
        assert_eq!(cstr(&b[0x68..0x80]), "21.2.3");
        assert_eq!(cstr(&b[0x80..0x100]), "NintendoSDK Firmware for NX 21.2.3-1.0");
        // Every byte after each string up to the next field is NUL.
        assert!(b[0x0A..0x28].iter().all(|&x| x == 0));
        assert!(b[0x68 + 6..0x80].iter().all(|&x| x == 0));
    }

    /// Atmosphère `setsys_mitm_service.cpp` `SetSysMitmService::GetFirmwareVersion`
    /// zeroes revision_major and revision_minor; `GetFirmwareVersion2` does not.
    #[test]
    fn get_firmware_version_3_zeroes_both_revision_bytes_and_4_keeps_them() {
        let v = FirmwareVersion::default();
        let three = firmware_version_bytes(v, GET_FIRMWARE_VERSION);
        let four = firmware_version_bytes(v, GET_FIRMWARE_VERSION2);
        assert_eq!(&three[0..8], &[21, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&four[0..8], &[21, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&three[8..], &four[8..]);
    }

    #[test]
    fn firmware_option_parses_major_minor_micro_and_defaults_to_21_0_0() {
        assert_eq!("21.0.0".parse::<FirmwareVersion>(), Ok(FirmwareVersion::default()));
        assert_eq!(FirmwareVersion::default().to_string(), "21.0.0");
        assert_eq!("12.1.0".parse::<FirmwareVersion>(), Ok(FirmwareVersion { major: 12, minor: 1, micro: 0 }));
        for bad in ["21", "21.0", "21.0.0.0", "256.0.0", "a.b.c", ""] {
            let e = bad.parse::<FirmwareVersion>().unwrap_err();
            assert!(e.contains("firmware version"), "{bad}: {e}");
        }
    }
}

//! hbloader's loader config (the homebrew ABI): the list of 0x18-byte entries `x0` points at
//! when an NRO is started by hbloader (formats.md §1.5, runtime-abi.md §2.2).
//!
//! Handled keys: 0 EndOfList, 1 MainThreadHandle, 3 OverrideHeap, 7 AppletType,
//! 16 HosVersion. Every other key is skipped unless its Mandatory flag (bit 0) is set,
//! which is an error ([`ConfigError::UnknownMandatoryKey`]): a runtime must not ignore an
//! entry the loader says it must process. Values are read as integers; nothing unknown is
//! turned into an enum (unknown applet types stay [`AppletType::Unknown`]).
#![forbid(unsafe_code)]

use core::mem::size_of;

use xcbuf_common::text::{self, Piece, Sink};

/// One entry: `{u32 key, u32 flags, u64 value[2]}` (libnx `ConfigEntry`), 0x18 bytes:
/// libnx and hbloader step through the list with `sizeof(ConfigEntry)` = 24.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ConfigEntry {
    pub key: u32,
    pub flags: u32,
    pub value: [u64; 2],
}
static_assertions::const_assert_eq!(size_of::<ConfigEntry>(), 0x18);

pub const KEY_END_OF_LIST: u32 = 0;
pub const KEY_MAIN_THREAD_HANDLE: u32 = 1;
pub const KEY_OVERRIDE_HEAP: u32 = 3;
pub const KEY_APPLET_TYPE: u32 = 7;
pub const KEY_HOS_VERSION: u32 = 16;
/// `flags` bit 0: the entry must be processed.
pub const FLAG_MANDATORY: u32 = 1;
/// `HosVersion` value[1] when the loader runs on Atmosphère: ASCII `ATMOSPHR` read as a
/// big-endian u64 (hbloader `main.c`).
pub const ATMOSPHERE_MAGIC: u64 = 0x4154_4d4f_5350_4852;
/// Bit 31 of the HosVersion value: libnx's "is Atmosphère" flag, not part of the version.
pub const HOS_VERSION_ATMOSPHERE_BIT: u64 = 1 << 31;
/// rt reads at most this many entries; a list without EndOfList by then is malformed.
pub const MAX_ENTRIES: usize = 256;

/// libnx `AppletType`, kept as the raw value when it is not one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppletType {
    Default,
    None,
    Application,
    SystemApplet,
    LibraryApplet,
    OverlayApplet,
    SystemApplication,
    Unknown(u64),
}

impl AppletType {
    /// Decodes value[0] of the AppletType entry (a C `int` widened to 64 bits).
    pub fn from_raw(raw: u64) -> AppletType {
        match raw {
            0xFFFF_FFFF_FFFF_FFFE | 0xFFFF_FFFE => AppletType::Default,
            0xFFFF_FFFF_FFFF_FFFF | 0xFFFF_FFFF => AppletType::None,
            0 => AppletType::Application,
            1 => AppletType::SystemApplet,
            2 => AppletType::LibraryApplet,
            3 => AppletType::OverlayApplet,
            4 => AppletType::SystemApplication,
            other => AppletType::Unknown(other),
        }
    }
}

/// A firmware version as libnx packs it: `major << 16 | minor << 8 | micro`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct HosVersion {
    pub major: u8,
    pub minor: u8,
    pub micro: u8,
}

impl HosVersion {
    /// Decodes a packed version; bit 31 (Atmosphère) is ignored here.
    pub fn from_packed(packed: u64) -> Option<HosVersion> {
        let value = packed & !HOS_VERSION_ATMOSPHERE_BIT;
        if value > 0xFF_FFFF {
            return None;
        }
        let [micro, minor, major, ..] = value.to_le_bytes();
        Some(HosVersion { major, minor, micro })
    }
}

/// What rt takes from the list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoaderConfig {
    pub main_thread_handle: Option<u32>,
    /// (address, size) of the heap hbloader hands over.
    pub override_heap: Option<(usize, usize)>,
    pub applet_type: Option<AppletType>,
    pub hos_version: Option<HosVersion>,
    pub is_atmosphere: bool,
    /// Number of entries read, EndOfList included.
    pub entries: usize,
}

/// Why a list is rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// An entry rt does not handle has the Mandatory flag.
    UnknownMandatoryKey { key: u32 },
    /// No EndOfList within [`MAX_ENTRIES`] entries.
    NoEndOfList,
    /// MainThreadHandle's value does not fit a 32-bit handle.
    BadMainThreadHandle { value: u64 },
    /// OverrideHeap's address + size overflows, or does not fit the address space.
    BadOverrideHeap { address: u64, size: u64 },
    /// HosVersion's value is not a packed version.
    BadHosVersion { value: u64 },
}

impl ConfigError {
    /// What rt's "bad loader config" line says, without `core::fmt`
    /// (`xcbuf_common::text`).
    pub fn write_text(&self, sink: &mut dyn Sink) {
        match *self {
            ConfigError::UnknownMandatoryKey { key } => {
                text::write(sink, &[Piece::Str("unknown mandatory key "), Piece::Dec(u64::from(key))])
            }
            ConfigError::NoEndOfList => sink.put("no EndOfList"),
            ConfigError::BadMainThreadHandle { value } => {
                text::write(sink, &[Piece::Str("bad MainThreadHandle "), Piece::Hex(value)])
            }
            ConfigError::BadOverrideHeap { address, size } => text::write(
                sink,
                &[Piece::Str("bad OverrideHeap address "), Piece::Hex(address), Piece::Str(" size "), Piece::Hex(size)],
            ),
            ConfigError::BadHosVersion { value } => {
                text::write(sink, &[Piece::Str("bad HosVersion "), Piece::Hex(value)])
            }
        }
    }
}

/// Reads entries from `entry(i)` (i = 0, 1, ...) until EndOfList.
pub fn parse(mut entry: impl FnMut(usize) -> ConfigEntry) -> Result<LoaderConfig, ConfigError> {
    let mut config = LoaderConfig::default();
    for i in 0..MAX_ENTRIES {
        let e = entry(i);
        match e.key {
            KEY_END_OF_LIST => {
                config.entries = i + 1;
                return Ok(config);
            }
            KEY_MAIN_THREAD_HANDLE => {
                let handle =
                    u32::try_from(e.value[0]).map_err(|_| ConfigError::BadMainThreadHandle { value: e.value[0] })?;
                config.main_thread_handle = Some(handle);
            }
            KEY_OVERRIDE_HEAP => {
                let bad = ConfigError::BadOverrideHeap { address: e.value[0], size: e.value[1] };
                let address = usize::try_from(e.value[0]).map_err(|_| bad)?;
                let size = usize::try_from(e.value[1]).map_err(|_| bad)?;
                address.checked_add(size).ok_or(bad)?;
                config.override_heap = Some((address, size));
            }
            KEY_APPLET_TYPE => config.applet_type = Some(AppletType::from_raw(e.value[0])),
            KEY_HOS_VERSION => {
                let version =
                    HosVersion::from_packed(e.value[0]).ok_or(ConfigError::BadHosVersion { value: e.value[0] })?;
                config.hos_version = Some(version);
                config.is_atmosphere = e.value[1] == ATMOSPHERE_MAGIC;
            }
            key if e.flags & FLAG_MANDATORY != 0 => {
                return Err(ConfigError::UnknownMandatoryKey { key });
            }
            _ => {}
        }
    }
    Err(ConfigError::NoEndOfList)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: u32, flags: u32, v0: u64, v1: u64) -> ConfigEntry {
        ConfigEntry { key, flags, value: [v0, v1] }
    }

    fn parse_list(list: &[ConfigEntry]) -> Result<LoaderConfig, ConfigError> {
        parse(|i| list.get(i).copied().unwrap_or_else(|| entry(99, 0, 0, 0)))
    }

    /// The list hbloader builds (hbloader `main.c` `loadNro`), with sample values.
    fn hbloader_list() -> [ConfigEntry; 13] {
        [
            entry(1, 0, 0x1234, 0),
            entry(10, 0, u64::from(xcbuf_common::hipc::PSEUDO_HANDLE_CURRENT_PROCESS), 0),
            entry(7, 0, 4, 1),
            entry(3, FLAG_MANDATORY, 0x1_0000_0000, 0x2000_0000),
            entry(5, 0, 0, 0x8000),
            entry(2, 0, 0x9000, 0xA000),
            entry(11, 0, 0, 0),
            entry(6, 0, u64::MAX, u64::MAX),
            entry(17, 0, u64::MAX, 0),
            entry(14, 0, 1, 2),
            entry(15, 0, 0xB000, 0),
            entry(16, 0, (1 << 31) | (21 << 16) | (0 << 8) | 1, ATMOSPHERE_MAGIC),
            entry(0, 0, 0xC000, 0x10),
        ]
    }

    #[test]
    fn hbloader_list_gives_handle_heap_applet_and_atmosphere_version() {
        let config = parse_list(&hbloader_list()).unwrap();
        assert_eq!(config.main_thread_handle, Some(0x1234));
        assert_eq!(config.override_heap, Some((0x1_0000_0000, 0x2000_0000)));
        assert_eq!(config.applet_type, Some(AppletType::SystemApplication));
        assert_eq!(config.hos_version, Some(HosVersion { major: 21, minor: 0, micro: 1 }));
        assert!(config.is_atmosphere);
        assert_eq!(config.entries, 13);
    }

    /// Eden started with program arguments (Eden `src/core/loader/nro.cpp` `LoadNroImpl`,
    /// handle patched in by `KProcess::Run`): a config, but no HosVersion and no
    /// OverrideHeap.
    #[test]
    fn eden_list_with_argv_is_not_atmosphere_and_gives_no_heap() {
        let list = [entry(1, 0, 0x1234, 0), entry(7, 0, 0, 0), entry(5, 0, 0, 0x7100_5060), entry(0, 0, 0, 0)];
        let config = parse_list(&list).unwrap();
        assert_eq!(config.main_thread_handle, Some(0x1234));
        assert_eq!(config.applet_type, Some(AppletType::Application));
        assert_eq!(config.override_heap, None);
        assert_eq!(config.hos_version, None);
        assert!(!config.is_atmosphere);
        assert_eq!(config.entries, 4);
    }

    #[test]
    fn unknown_key_without_mandatory_flag_is_skipped() {
        let list = [entry(200, 0, 1, 2), entry(0, 0, 0, 0)];
        assert_eq!(parse_list(&list).unwrap().entries, 2);
    }

    #[test]
    fn unknown_key_with_mandatory_flag_is_rejected() {
        let list = [entry(1, 0, 5, 0), entry(4, FLAG_MANDATORY, 0, 0), entry(0, 0, 0, 0)];
        assert_eq!(parse_list(&list), Err(ConfigError::UnknownMandatoryKey { key: 4 }));
    }

    #[test]
    fn list_without_end_of_list_is_rejected() {
        assert_eq!(parse(|_| entry(200, 0, 0, 0)), Err(ConfigError::NoEndOfList));
    }

    #[test]
    fn override_heap_that_wraps_is_rejected() {
        let list = [entry(3, FLAG_MANDATORY, u64::MAX - 0xFFF, 0x2000), entry(0, 0, 0, 0)];
        assert!(matches!(parse_list(&list), Err(ConfigError::BadOverrideHeap { .. })));
    }

    #[test]
    fn main_thread_handle_above_32_bits_is_rejected() {
        let list = [entry(1, 0, 1 << 32, 0), entry(0, 0, 0, 0)];
        assert_eq!(parse_list(&list), Err(ConfigError::BadMainThreadHandle { value: 1 << 32 }));
    }

    #[test]
    fn hos_version_without_atmosphere_tag_is_not_atmosphere() {
        let list = [entry(16, 0, (12 << 16) | (1 << 8), 0), entry(0, 0, 0, 0)];
        let config = parse_list(&list).unwrap();
        assert_eq!(config.hos_version, Some(HosVersion { major: 12, minor: 1, micro: 0 }));
        assert!(!config.is_atmosphere);
    }

    #[test]
    fn unknown_applet_type_keeps_its_raw_value() {
        assert_eq!(AppletType::from_raw(77), AppletType::Unknown(77));
        assert_eq!(AppletType::from_raw(u64::MAX), AppletType::None);
        assert_eq!(AppletType::from_raw(u64::MAX - 1), AppletType::Default);
    }

    #[test]
    fn atmosphere_magic_is_atmosphr_in_ascii() {
        assert_eq!(ATMOSPHERE_MAGIC.to_be_bytes(), *b"ATMOSPHR");
    }
}

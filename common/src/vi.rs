//! The part of vi (the display service) the client uses to open a managed layer and reach
//! its buffer queue (screen-output.md §1b; §1g rows 12-13, 15, 31; the relay's own commands
//! are in `crate::binder::driver`).
//! vi sessions are not domains: returned interfaces arrive as move handles. Ids and layouts
//! as libnx `nx/source/services/vi.c` (`viInitialize`, `viOpenDisplay`, `viOpenLayer`,
//! `viSetLayerScalingMode`, `viCloseLayer`, `viCloseDisplay`) and
//! `nx/source/display/binder.c`; the same in Eden `src/core/hle/service/vi/*.cpp`,
//! `nvnflinger/hos_binder_driver.cpp` and Ryujinx `Services/Vi`, `Services/SurfaceFlinger`.
#![forbid(unsafe_code)]

use crate::sm::ServiceName;

/// One way to IApplicationDisplayService: a root service, its GetDisplayService command and
/// the policy value it sends (libnx `viInitialize`'s order: vi:m, then vi:s, then vi:u).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Root {
    pub service: ServiceName,
    pub command: u32,
    /// The u32 argument (libnx: 1 on vi:m and vi:s, 0 on vi:u; Eden accepts exactly these,
    /// Ryujinx wants 2 on vi:s: screen-output.md §1b).
    pub policy: u32,
}

/// The roots in the order libnx tries them.
pub const ROOTS: [Root; 3] = [
    Root { service: ServiceName::literal("vi:m"), command: 2, policy: 1 },
    Root { service: ServiceName::literal("vi:s"), command: 1, policy: 1 },
    Root { service: ServiceName::literal("vi:u"), command: 0, policy: 0 },
];

/// IApplicationDisplayService commands.
pub mod display_service {
    /// -> IHOSBinderDriver (move handle).
    pub const GET_RELAY_SERVICE: u32 = 100;
    /// raw [`super::DisplayName`] -> u64 display id.
    pub const OPEN_DISPLAY: u32 = 1010;
    /// raw u64 display id.
    pub const CLOSE_DISPLAY: u32 = 1020;
    /// raw [`super::OpenLayerArgs`] + PID + B (native window, 0x100) -> u64 parcel size.
    pub const OPEN_LAYER: u32 = 2020;
    /// raw u64 layer id.
    pub const CLOSE_LAYER: u32 = 2021;
    /// raw [`super::SetLayerScalingModeArgs`].
    pub const SET_LAYER_SCALING_MODE: u32 = 2101;
}

/// SetLayerScalingMode's FitToLayer (Eden accepts 2 and 4).
pub const SCALING_MODE_FIT_TO_LAYER: u32 = 2;
/// Size of OpenLayer's B buffer for the native-window parcel (libnx `viOpenLayer`).
pub const NATIVE_WINDOW_SIZE: usize = 0x100;
/// The display every path opens.
pub const DEFAULT_DISPLAY: &str = "Default";
/// Size of a display name field.
pub const DISPLAY_NAME_SIZE: usize = 0x40;

/// Copies `field` to `out` at `at` (every caller's field lies inside `out`).
fn put(out: &mut [u8], at: usize, field: &[u8]) {
    if let Some(place) = out.get_mut(at..at + field.len()) {
        place.copy_from_slice(field);
    }
}

/// A display name: NUL-padded to 0x40 bytes (at most 0x3F characters kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisplayName(pub [u8; DISPLAY_NAME_SIZE]);

impl DisplayName {
    pub fn new(name: &str) -> DisplayName {
        let mut out = [0u8; DISPLAY_NAME_SIZE];
        let bytes = name.as_bytes();
        let n = bytes.len().min(DISPLAY_NAME_SIZE - 1);
        put(&mut out, 0, bytes.get(..n).unwrap_or_default());
        DisplayName(out)
    }
}

/// OpenLayer's raw data (0x50 bytes): display name, u64 layer id at 0x40, u64 ARUID at 0x48.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenLayerArgs {
    pub display: DisplayName,
    pub layer_id: u64,
    pub aruid: u64,
}

impl OpenLayerArgs {
    pub const SIZE: usize = 0x50;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        put(&mut out, 0, &self.display.0);
        put(&mut out, 0x40, &self.layer_id.to_le_bytes());
        put(&mut out, 0x48, &self.aruid.to_le_bytes());
        out
    }
}

/// SetLayerScalingMode's raw data: u32 mode, u32 pad, u64 layer id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetLayerScalingModeArgs {
    pub mode: u32,
    pub layer_id: u64,
}

impl SetLayerScalingModeArgs {
    pub const SIZE: usize = 16;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        put(&mut out, 0, &self.mode.to_le_bytes());
        put(&mut out, 8, &self.layer_id.to_le_bytes());
        out
    }
}

/// Why a native-window parcel was not understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeWindowError {
    /// The parcel header's payload does not lie inside the bytes, or holds no binder id.
    BadHeader { payload_size: u32, payload_off: u32 },
}

/// The binder id in OpenLayer's native-window parcel: the u32 at payload + 8 (libnx
/// `viCreateLayer` takes `payload[2]`; Eden `vi_types.h` `NativeWindow`, Ryujinx
/// `Parcel.cs` `WriteObject` write a u64 there). The parcel header is {u32 payload_size,
/// u32 payload_off, u32 objects_size, u32 objects_off}.
pub fn native_window_binder_id(parcel: &[u8]) -> Result<i32, NativeWindowError> {
    let u32_at = |at: usize| -> Option<u32> {
        let b = parcel.get(at..at + 4)?;
        Some(u32::from_le_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?]))
    };
    let payload_size = u32_at(0).unwrap_or(0);
    let payload_off = u32_at(4).unwrap_or(0);
    let bad = NativeWindowError::BadHeader { payload_size, payload_off };
    let (size, off) = (usize::try_from(payload_size).map_err(|_| bad)?, usize::try_from(payload_off).map_err(|_| bad)?);
    if size < 12 || off.checked_add(size).is_none_or(|end| end > parcel.len()) {
        return Err(bad);
    }
    let id = u32_at(off + 8).ok_or(bad)?;
    Ok(i32::from_le_bytes(id.to_le_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_layer_args_are_name_then_layer_id_at_0x40_and_aruid_at_0x48() {
        let b = OpenLayerArgs { display: DisplayName::new(DEFAULT_DISPLAY), layer_id: 0x11, aruid: 0x22 }.encode();
        assert_eq!(&b[..8], b"Default\0");
        assert!(b[8..0x40].iter().all(|&x| x == 0));
        assert_eq!(b[0x40], 0x11);
        assert_eq!(b[0x48], 0x22);
    }

    #[test]
    fn scaling_mode_is_mode_pad_then_layer_id_at_8() {
        let b = SetLayerScalingModeArgs { mode: SCALING_MODE_FIT_TO_LAYER, layer_id: 5 }.encode();
        assert_eq!(b, [2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
    }

    /// The 0x3C-byte parcel both emulators return (screen-output.md §1b "native-window
    /// parcel"): payload 0x28 bytes at 0x10: type 2, 1, u64 binder id, "dispdrv".
    #[test]
    fn the_binder_id_is_the_u32_at_payload_plus_8() {
        let mut p = [0u8; NATIVE_WINDOW_SIZE];
        p[0] = 0x28;
        p[4] = 0x10;
        p[8] = 4;
        p[12] = 0x38;
        p[0x10] = 2;
        p[0x14] = 1;
        p[0x18] = 7;
        p[0x20..0x27].copy_from_slice(b"dispdrv");
        assert_eq!(native_window_binder_id(&p), Ok(7));
        p[4] = 0xF8;
        assert!(native_window_binder_id(&p).is_err());
        assert!(native_window_binder_id(&[]).is_err());
    }

    #[test]
    fn libnx_tries_vi_m_2_1_then_vi_s_1_1_then_vi_u_0_0() {
        let expected = [("vi:m", 2, 1), ("vi:s", 1, 1), ("vi:u", 0, 0)];
        for (root, (name, command, policy)) in ROOTS.iter().zip(expected) {
            assert_eq!((root.service.as_str(), root.command, root.policy), (Some(name), command, policy));
        }
    }
}

//! The part of nvdrv the client uses to hand the display a framebuffer (screen-output.md
//! §1c; §1g rows 18-22, 29-30): the service commands, the ioctl request numbers and the
//! ioctl structs of `/dev/nvmap` and `/dev/nvhost-ctrl`. nvdrv is not a domain. Ids and
//! layouts as libnx `nx/source/services/nv.c` (`nvInitialize`, `nvOpen`, `nvIoctl`,
//! `nvClose`, `nvSetClientPID`), `nx/source/nvidia/ioctl/nvmap.c`,
//! `nx/source/nvidia/ioctl/nvhost-ctrl.c` and `nx/include/switch/nvidia/ioctl.h` (`_NV_IOWR`);
//! Eden `src/core/hle/service/nvdrv/devices/nvmap.h` asserts the same struct sizes, Ryujinx
//! `Services/Nv/NvDrvServices/NvMap/Types/*.cs` and `NvHostCtrl/Types/*.cs` match.
#![forbid(unsafe_code)]

use crate::sm::ServiceName;

/// The service for an Application.
pub const NVDRV: ServiceName = ServiceName::literal("nvdrv");
/// The service for a LibraryApplet.
pub const NVDRV_A: ServiceName = ServiceName::literal("nvdrv:a");

/// nvdrv commands.
pub mod command {
    /// A (path bytes, no NUL) -> u32 fd, u32 nv error.
    pub const OPEN: u32 = 0;
    /// raw [`super::IoctlArgs`] + auto in + auto out (the struct) -> u32 nv error.
    pub const IOCTL: u32 = 1;
    /// raw u32 fd -> u32 nv error.
    pub const CLOSE: u32 = 2;
    /// raw u32 transfer-memory size + copy handles [current process, tmem] -> u32 nv error.
    pub const INITIALIZE: u32 = 3;
    /// raw u64 ARUID + PID -> u32 nv error.
    pub const SET_ARUID: u32 = 8;
}

/// The transfer memory libnx gives nvdrv (8 MiB, `nvInitialize`'s default).
pub const TRANSFER_MEMORY_SIZE: usize = 0x80_0000;
/// The nvmap device, opened without the NUL (libnx `nvOpen` sends `strlen` bytes).
pub const NVMAP_PATH: &str = "/dev/nvmap";
/// The syncpoint device (fence waits).
pub const NVHOST_CTRL_PATH: &str = "/dev/nvhost-ctrl";
/// nv error 0: success.
pub const NV_SUCCESS: u32 = 0;

/// An ioctl request number: bits 30-31 direction (3 = in and out), 16-29 struct size, 8-15
/// device type, 0-7 number (libnx `_NV_IOWR`).
pub const fn iowr(device: u32, number: u32, size: usize) -> u32 {
    3 << 30 | ((size as u32) & 0x3FFF) << 16 | (device & 0xFF) << 8 | (number & 0xFF)
}

/// The struct size an ioctl request number carries.
pub const fn ioctl_size(request: u32) -> usize {
    ((request >> 16) & 0x3FFF) as usize
}

/// nvmap NVMAP_IOC_CREATE: [`NvmapCreate`].
pub const NVMAP_CREATE: u32 = iowr(1, 0x01, NvmapCreate::SIZE);
/// nvmap NVMAP_IOC_ALLOC: [`NvmapAlloc`].
pub const NVMAP_ALLOC: u32 = iowr(1, 0x04, NvmapAlloc::SIZE);
/// nvmap NVMAP_IOC_FREE: [`NvmapFree`].
pub const NVMAP_FREE: u32 = iowr(1, 0x05, NvmapFree::SIZE);
/// nvmap NVMAP_IOC_GET_ID: [`NvmapGetId`].
pub const NVMAP_GET_ID: u32 = iowr(1, 0x0E, NvmapGetId::SIZE);
/// nvhost-ctrl NVHOST_IOCTL_CTRL_SYNCPT_WAIT: [`SyncptWait`].
pub const NVHOST_CTRL_SYNCPT_WAIT: u32 = iowr(0, 0x16, SyncptWait::SIZE);

static_assertions::const_assert_eq!(NVMAP_CREATE, 0xC008_0101);
static_assertions::const_assert_eq!(NVMAP_ALLOC, 0xC020_0104);
static_assertions::const_assert_eq!(NVMAP_FREE, 0xC018_0105);
static_assertions::const_assert_eq!(NVMAP_GET_ID, 0xC008_010E);
static_assertions::const_assert_eq!(NVHOST_CTRL_SYNCPT_WAIT, 0xC00C_0016);

/// ALLOC's flags: CPU-cacheable (libnx `nvMapCreate(..., is_cpu_cacheable = true)`).
pub const NVMAP_FLAGS_CACHEABLE: u32 = 1;
/// ALLOC's alignment for a framebuffer (libnx `framebufferCreate`).
pub const FRAMEBUFFER_ALIGN: u32 = 0x2_0000;
/// ALLOC's kind: Pitch (0).
pub const KIND_PITCH: u8 = 0;
/// SYNCPT_WAIT's timeout for "forever" (libnx passes -1 from `nvMultiFenceWait(f, -1)`).
pub const TIMEOUT_FOREVER: u32 = u32::MAX;

/// Copies `field` to `out` at `at` (every caller's field lies inside `out`).
fn put(out: &mut [u8], at: usize, field: &[u8]) {
    if let Some(place) = out.get_mut(at..at + field.len()) {
        place.copy_from_slice(field);
    }
}

/// The little-endian u32 at `at` (0 past the end).
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut le = [0u8; 4];
    if let Some(b) = bytes.get(at..at + 4) {
        le.copy_from_slice(b);
    }
    u32::from_le_bytes(le)
}

/// The little-endian u64 at `at` (0 past the end).
fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut le = [0u8; 8];
    if let Some(b) = bytes.get(at..at + 8) {
        le.copy_from_slice(b);
    }
    u64::from_le_bytes(le)
}

/// Ioctl's raw data: u32 fd, u32 request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoctlArgs {
    pub fd: u32,
    pub request: u32,
}

impl IoctlArgs {
    pub const SIZE: usize = 8;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        put(&mut out, 0, &self.fd.to_le_bytes());
        put(&mut out, 4, &self.request.to_le_bytes());
        out
    }
}

/// CREATE: 0x0 u32 size (in, whole pages), 0x4 u32 handle (out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NvmapCreate {
    pub size: u32,
    pub handle: u32,
}

impl NvmapCreate {
    pub const SIZE: usize = 8;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        put(&mut out, 0, &self.size.to_le_bytes());
        put(&mut out, 4, &self.handle.to_le_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> NvmapCreate {
        NvmapCreate { size: u32_at(b, 0), handle: u32_at(b, 4) }
    }
}

/// ALLOC (all in): 0x00 handle, 0x04 heapmask, 0x08 flags, 0x0C align, 0x10 u8 kind,
/// 7 bytes pad, 0x18 u64 CPU address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NvmapAlloc {
    pub handle: u32,
    pub heapmask: u32,
    pub flags: u32,
    pub align: u32,
    pub kind: u8,
    pub address: u64,
}

impl NvmapAlloc {
    pub const SIZE: usize = 0x20;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        put(&mut out, 0, &self.handle.to_le_bytes());
        put(&mut out, 4, &self.heapmask.to_le_bytes());
        put(&mut out, 8, &self.flags.to_le_bytes());
        put(&mut out, 0xC, &self.align.to_le_bytes());
        put(&mut out, 0x10, &[self.kind]);
        put(&mut out, 0x18, &self.address.to_le_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> NvmapAlloc {
        NvmapAlloc {
            handle: u32_at(b, 0),
            heapmask: u32_at(b, 4),
            flags: u32_at(b, 8),
            align: u32_at(b, 0xC),
            kind: b.get(0x10).copied().unwrap_or(0),
            address: u64_at(b, 0x18),
        }
    }
}

/// GET_ID: 0x0 u32 id (out), 0x4 u32 handle (in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NvmapGetId {
    pub id: u32,
    pub handle: u32,
}

impl NvmapGetId {
    pub const SIZE: usize = 8;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        put(&mut out, 0, &self.id.to_le_bytes());
        put(&mut out, 4, &self.handle.to_le_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> NvmapGetId {
        NvmapGetId { id: u32_at(b, 0), handle: u32_at(b, 4) }
    }
}

/// FREE: 0x00 u32 handle (in), pad, 0x08 u64 address (out), 0x10 u32 size (out), 0x14 u32
/// flags (out; 1 = not freed yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NvmapFree {
    pub handle: u32,
    pub address: u64,
    pub size: u32,
    pub flags: u32,
}

impl NvmapFree {
    pub const SIZE: usize = 0x18;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        put(&mut out, 0, &self.handle.to_le_bytes());
        put(&mut out, 8, &self.address.to_le_bytes());
        put(&mut out, 0x10, &self.size.to_le_bytes());
        put(&mut out, 0x14, &self.flags.to_le_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> NvmapFree {
        NvmapFree { handle: u32_at(b, 0), address: u64_at(b, 8), size: u32_at(b, 0x10), flags: u32_at(b, 0x14) }
    }
}

/// SYNCPT_WAIT (all in): 0x0 u32 syncpoint id, 0x4 u32 threshold, 0x8 u32 timeout
/// (libnx `nvioctlNvhostCtrl_SyncptWait`; Ryujinx `SyncptWaitArguments`: a fence then the
/// timeout). Eden does not implement it (`nvhost_ctrl.cpp` `Ioctl1` has no 0x16): both
/// emulators release buffers with no fence, so the client never sends it there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SyncptWait {
    pub id: u32,
    pub threshold: u32,
    pub timeout: u32,
}

impl SyncptWait {
    pub const SIZE: usize = 12;

    pub fn encode(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        put(&mut out, 0, &self.id.to_le_bytes());
        put(&mut out, 4, &self.threshold.to_le_bytes());
        put(&mut out, 8, &self.timeout.to_le_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> SyncptWait {
        SyncptWait { id: u32_at(b, 0), threshold: u32_at(b, 4), timeout: u32_at(b, 8) }
    }
}

static_assertions::const_assert_eq!(ioctl_size(NVMAP_CREATE), NvmapCreate::SIZE);
static_assertions::const_assert_eq!(ioctl_size(NVMAP_ALLOC), NvmapAlloc::SIZE);
static_assertions::const_assert_eq!(ioctl_size(NVMAP_FREE), NvmapFree::SIZE);
static_assertions::const_assert_eq!(ioctl_size(NVMAP_GET_ID), NvmapGetId::SIZE);
static_assertions::const_assert_eq!(ioctl_size(NVHOST_CTRL_SYNCPT_WAIT), SyncptWait::SIZE);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_numbers_are_libnx_iowr_of_device_number_and_size() {
        assert_eq!(NVMAP_CREATE, 0xC0080101);
        assert_eq!(NVMAP_ALLOC, 0xC0200104);
        assert_eq!(NVMAP_GET_ID, 0xC008010E);
        assert_eq!(NVMAP_FREE, 0xC0180105);
        assert_eq!(NVHOST_CTRL_SYNCPT_WAIT, 0xC00C0016);
    }

    /// The ALLOC table row of screen-output.md §1c for a framebuffer.
    #[test]
    fn alloc_is_handle_heapmask_flags_align_kind_then_the_address_at_0x18() {
        let a = NvmapAlloc {
            handle: 5,
            heapmask: 0,
            flags: NVMAP_FLAGS_CACHEABLE,
            align: FRAMEBUFFER_ALIGN,
            kind: KIND_PITCH,
            address: 0x1_2345_6000,
        };
        let b = a.encode();
        assert_eq!(&b[..0x10], &[5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0]);
        assert_eq!(&b[0x10..0x18], &[0; 8]);
        assert_eq!(&b[0x18..], &0x1_2345_6000u64.to_le_bytes());
        assert_eq!(NvmapAlloc::decode(&b), a);
    }

    #[test]
    fn create_get_id_free_and_syncpt_wait_round_trip_at_their_offsets() {
        assert_eq!(NvmapCreate::decode(&[0, 0, 0x78, 0, 9, 0, 0, 0]), NvmapCreate { size: 0x780000, handle: 9 });
        assert_eq!(NvmapGetId { id: 0, handle: 9 }.encode(), [0, 0, 0, 0, 9, 0, 0, 0]);
        let f = NvmapFree { handle: 9, address: 0x8000, size: 0x1000, flags: 1 };
        assert_eq!(NvmapFree::decode(&f.encode()), f);
        assert_eq!(f.encode()[0x14], 1);
        let w = SyncptWait { id: 7, threshold: 0x10, timeout: TIMEOUT_FOREVER };
        assert_eq!(w.encode(), [7, 0, 0, 0, 0x10, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(IoctlArgs { fd: 1, request: NVMAP_CREATE }.encode(), [1, 0, 0, 0, 1, 1, 8, 0xC0]);
    }
}

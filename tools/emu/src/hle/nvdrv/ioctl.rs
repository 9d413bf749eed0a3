//! The two nvdrv devices the client opens, `/dev/nvmap` and `/dev/nvhost-ctrl`, as
//! functions of the ioctl's argument bytes; and the syncpoint table nvhost-ctrl waits on.
//!
//! Request numbers (libnx `nx/source/nvidia/ioctl/*.c` `_NV_IOWR`; Ryujinx `NvIoctl.cs`):
//! bits 30-31 direction (bit 30: the caller passes the struct in, bit 31: the service
//! writes it back), bits 16-29 struct size, bits 8-15 device type (0 nvhost-ctrl, 1
//! nvmap), bits 0-7 number. Argument layouts: screen-output.md §1c, checked against Eden
//! `nvdrv/devices/nvmap.h` (`IocCreateParams`, `IocAllocParams`, `IocGetIdParams`,
//! `IocFreeParams`, sizes asserted there) and Ryujinx `NvMap/Types/*.cs`,
//! `NvHostCtrl/Types/SyncptWaitArguments.cs`.

use crate::hle::nvmap::{NvMap, NvMapAllocation};
use crate::kernel::ProcessId;

/// `NvResult` values (Eden `nvdrv/nvdata.h` `NvResult`; the same numbers in Ryujinx
/// `Nv/Types/NvResult.cs`): the u32 nv_err every nvdrv command returns in its raw data
/// (the IPC result stays 0).
pub mod nv_result {
    pub const SUCCESS: u32 = 0x0;
    pub const NOT_IMPLEMENTED: u32 = 0x1;
    pub const NOT_SUPPORTED: u32 = 0x2;
    pub const NOT_INITIALIZED: u32 = 0x3;
    pub const BAD_PARAMETER: u32 = 0x4;
    pub const TIMEOUT: u32 = 0x5;
    pub const INSUFFICIENT_MEMORY: u32 = 0x6;
    pub const INVALID_STATE: u32 = 0x8;
    pub const INVALID_ADDRESS: u32 = 0x9;
    pub const INVALID_SIZE: u32 = 0xA;
    pub const BAD_VALUE: u32 = 0xB;
    pub const FILE_OPERATION_FAILED: u32 = 0x30003;
    pub const ACCESS_DENIED: u32 = 0x30010;
}

/// nvmap ioctls (device type 1).
pub const NVMAP_CREATE: u32 = 0xC008_0101;
pub const NVMAP_ALLOC: u32 = 0xC020_0104;
pub const NVMAP_FREE: u32 = 0xC018_0105;
pub const NVMAP_GET_ID: u32 = 0xC008_010E;
/// nvhost-ctrl SYNCPT_WAIT (device type 0, number 0x16): {u32 id, u32 threshold, s32
/// timeout}.
pub const NVHOST_CTRL_SYNCPT_WAIT: u32 = 0xC00C_0016;

/// The page size nvmap rounds sizes and alignments to (Eden `YUZU_PAGESIZE`, Ryujinx
/// `MemoryManager.PageSize`).
pub const NVMAP_PAGE: u32 = 0x1000;

/// The struct size a request number carries (bits 16-29).
pub fn request_size(request: u32) -> usize {
    ((request >> 16) & 0x3FFF) as usize
}

/// The caller passes the struct in (bit 30, Linux `_IOC_WRITE`; Ryujinx
/// `NvIoctl.Direction.Read`).
pub fn request_is_in(request: u32) -> bool {
    request & (1 << 30) != 0
}

/// The service writes the struct back (bit 31).
pub fn request_is_out(request: u32) -> bool {
    request & (1 << 31) != 0
}

/// The syncpoints nvhost-ctrl waits on: 192 hardware counters (Eden `nvdrv/nvdata.h`
/// `MaxSyncPoints`; Ryujinx `Ryujinx.Graphics.Gpu/Synchronization/SynchronizationManager.cs`
/// `MaxHardwareSyncpoints`), each with the value reached (`min`) and the highest value
/// work was promised for (`max`), as both emulators keep them (Eden
/// `nvdrv/core/syncpoint_manager.cpp` `counter_min`/`counter_max`; Ryujinx
/// `NvHostSyncPt._counterMin/_counterMax`).
///
/// The API for whoever models the GPU or the compositor (vi's buffer queue):
/// - [`Syncpoints::reserve`]`(id) -> threshold`: promise one more increment (max + 1) and
///   get the value a fence should carry;
/// - [`Syncpoints::increment`]`(id) -> value`: the work is done (min + 1);
/// - [`Syncpoints::value`]`(id)`: the value reached.
#[derive(Debug, Clone)]
pub struct Syncpoints {
    min: Vec<u32>,
    max: Vec<u32>,
}

impl Default for Syncpoints {
    fn default() -> Syncpoints {
        Syncpoints { min: vec![0; Syncpoints::COUNT as usize], max: vec![0; Syncpoints::COUNT as usize] }
    }
}

impl Syncpoints {
    /// Number of syncpoints.
    pub const COUNT: u32 = 192;

    /// The value syncpoint `id` has reached (0 for an id out of range).
    pub fn value(&self, id: u32) -> u32 {
        self.min.get(id as usize).copied().unwrap_or(0)
    }

    /// Promises one more increment of syncpoint `id`; the threshold a fence for that work
    /// carries (None for an id out of range).
    pub fn reserve(&mut self, id: u32) -> Option<u32> {
        let max = self.max.get_mut(id as usize)?;
        *max = max.wrapping_add(1);
        Some(*max)
    }

    /// Advances syncpoint `id` by one (work done); its new value (None for an id out of
    /// range). An increment nobody reserved raises the promised value too.
    pub fn increment(&mut self, id: u32) -> Option<u32> {
        let i = id as usize;
        let min = self.min.get_mut(i)?;
        *min = min.wrapping_add(1);
        let value = *min;
        if let Some(max) = self.max.get_mut(i)
            && (value.wrapping_sub(*max) as i32) > 0
        {
            *max = value;
        }
        Some(value)
    }

    /// Has syncpoint `id` passed `threshold`? Only a threshold inside the promised but not
    /// yet reached values (min, max] is pending; any other counts as expired, with
    /// wrap-around (Eden `SyncpointManager::HasSyncpointExpired`: `(max - threshold) >=
    /// (min - threshold)` unsigned; Ryujinx `NvHostSyncPt.MinCompare` the same for
    /// syncpoints the client does not manage).
    pub fn is_reached(&self, id: u32, threshold: u32) -> bool {
        let (Some(&min), Some(&max)) = (self.min.get(id as usize), self.max.get(id as usize)) else { return true };
        max.wrapping_sub(threshold) >= min.wrapping_sub(threshold)
    }
}

/// What an ioctl gave: the nv_err and the struct to write back (when the request is out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoctlDone {
    pub nv_err: u32,
    pub args: Vec<u8>,
}

/// Why an ioctl is not answered at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoctlStop {
    /// A request the bench does not model: the run stops naming it.
    Unknown,
    /// SYNCPT_WAIT with an infinite timeout on a threshold not reached: the caller blocks.
    WaitForever { id: u32, threshold: u32 },
}

fn u32_at(args: &[u8], offset: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = args.get(offset..offset + 4) {
        b.copy_from_slice(s);
    }
    u32::from_le_bytes(b)
}

fn u64_at(args: &[u8], offset: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = args.get(offset..offset + 8) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

fn put_u32(args: &mut [u8], offset: usize, v: u32) {
    if let Some(s) = args.get_mut(offset..offset + 4) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

fn put_u64(args: &mut [u8], offset: usize, v: u64) {
    if let Some(s) = args.get_mut(offset..offset + 8) {
        s.copy_from_slice(&v.to_le_bytes());
    }
}

fn done(nv_err: u32, args: Vec<u8>) -> Result<IoctlDone, IoctlStop> {
    Ok(IoctlDone { nv_err, args })
}

/// Checks the memory an ALLOC names: `Some(true)` when `[address, address + size)` is the
/// owner's memory and may back a buffer.
pub type BackingCheck<'c> = dyn Fn(u64, u64) -> bool + 'c;

/// One `/dev/nvmap` ioctl of `owner` on the shared handle table. `args` is the struct
/// (`request_size` bytes).
pub fn nvmap(
    map: &mut NvMap,
    owner: ProcessId,
    request: u32,
    mut args: Vec<u8>,
    backing_ok: &BackingCheck<'_>,
) -> Result<IoctlDone, IoctlStop> {
    use nv_result::*;
    match request {
        // CREATE {u32 size (in), u32 handle (out)}: size 0 -> BadValue (Eden
        // `NvMap::CreateHandle`; Ryujinx `NvMapDeviceFile.Create`: InvalidInput, which
        // `ConvertInternalErrorCode` makes InvalidValue 0xB, the same number); the size is
        // rounded up to a page; the handle is the new id.
        NVMAP_CREATE => {
            let size = u32_at(&args, 0);
            if size == 0 {
                return done(BAD_VALUE, args);
            }
            let Some(aligned) = size.checked_add(NVMAP_PAGE - 1).map(|s| s & !(NVMAP_PAGE - 1)) else {
                return done(BAD_VALUE, args);
            };
            let handle = map.create(owner, aligned);
            put_u32(&mut args, 4, handle);
            done(SUCCESS, args)
        }
        // ALLOC {u32 handle, u32 heapmask, u32 flags, u32 align, u8 kind, 7 pad, u64
        // address}, in Eden's order (`devices/nvmap.cpp` `IocAlloc`): handle 0 -> BadValue;
        // align not a power of two -> BadValue (Ryujinx `Alloc` the same); align raised to
        // a page; unknown handle (or another process's: Ryujinx looks handles up per
        // owner) -> BadValue; already allocated -> InsufficientMemory (Eden; Ryujinx
        // answers Success and changes nothing); then Ryujinx's address 0 -> OutOfMemory
        // (InsufficientMemory 0x6), and the bench's own check that the range is the
        // owner's mapped, unlocked memory (Eden asserts that its
        // LockForMapDeviceAddressSpace succeeds): InvalidAddress. The struct goes back with
        // the raised alignment.
        NVMAP_ALLOC => {
            let handle = u32_at(&args, 0);
            let flags = u32_at(&args, 8);
            let mut align = u32_at(&args, 0xC);
            let kind = args.get(0x10).copied().unwrap_or(0);
            let address = u64_at(&args, 0x18);
            if handle == 0 {
                return done(BAD_VALUE, args);
            }
            if align & align.wrapping_sub(1) != 0 {
                return done(BAD_VALUE, args);
            }
            align = align.max(NVMAP_PAGE);
            put_u32(&mut args, 0xC, align);
            let Some(object) = map.get(handle).filter(|o| o.owner == owner).copied() else {
                return done(BAD_VALUE, args);
            };
            if object.allocation.is_some() {
                return done(INSUFFICIENT_MEMORY, args);
            }
            if address == 0 {
                return done(INSUFFICIENT_MEMORY, args);
            }
            if !backing_ok(address, u64::from(object.size)) {
                return done(INVALID_ADDRESS, args);
            }
            if let Some(o) = map.get_mut(handle) {
                o.allocation = Some(NvMapAllocation { address, align, flags, kind });
            }
            done(SUCCESS, args)
        }
        // GET_ID {u32 id (out), u32 handle (in)}: handle 0 -> BadValue; unknown ->
        // AccessDenied (Eden `IocGetId`, "always EPERM"; Ryujinx: InvalidValue); id =
        // handle (both emulators).
        NVMAP_GET_ID => {
            let handle = u32_at(&args, 4);
            if handle == 0 {
                return done(BAD_VALUE, args);
            }
            if map.get(handle).filter(|o| o.owner == owner).is_none() {
                return done(ACCESS_DENIED, args);
            }
            put_u32(&mut args, 0, handle);
            done(SUCCESS, args)
        }
        // FREE {u32 handle (in), pad, u64 address (out), u32 size (out), u32 flags (out)}:
        // handle 0 -> Success, nothing written (Eden `IocFree`); unknown -> Success,
        // nothing written (Eden; Ryujinx: InvalidValue); else the object goes (one
        // reference each: CREATE's) and the struct carries its address, size and flags 0
        // = freed (Ryujinx `Free`; Eden sets flags bit 0 when the memory was mapped
        // uncached).
        NVMAP_FREE => {
            let handle = u32_at(&args, 0);
            if handle == 0 || map.get(handle).filter(|o| o.owner == owner).is_none() {
                return done(SUCCESS, args);
            }
            if let Some(o) = map.remove(handle) {
                put_u64(&mut args, 8, o.allocation.map_or(0, |a| a.address));
                put_u32(&mut args, 0x10, o.size);
                put_u32(&mut args, 0x14, 0);
            }
            done(SUCCESS, args)
        }
        _ => Err(IoctlStop::Unknown),
    }
}

/// One `/dev/nvhost-ctrl` ioctl.
///
/// SYNCPT_WAIT {u32 id, u32 threshold, s32 timeout} (Ryujinx `NvHostCtrlDeviceFile`
/// `SyncptWait` -> `EventWait`): id >= 192 -> InvalidValue 0xB; threshold expired
/// ([`Syncpoints::is_reached`]) -> Success; not reached with timeout 0 -> Timeout 0x5 (TryAgain); not reached with a
/// timeout the real service blocks the request until the syncpoint reaches the threshold
/// or the timeout ends (then Timeout): the bench has no host thread that advances a
/// syncpoint during a wait, so a finite timeout returns Timeout at once (the caller sees
/// the result it would see after the timeout) and an infinite one (negative) blocks
/// forever ([`IoctlStop::WaitForever`]), which the run reports. Eden does not implement
/// this request at all (`devices/nvhost_ctrl.cpp` `Ioctl1` knows 0x1b-0x21 only: it
/// answers NotImplemented 0x1); libnx's own fence wait uses EVENT_WAIT_ASYNC (0x1E), not
/// this one (`nvidia/fence.c` `_nvFenceWait_200`).
pub fn nvhost_ctrl(syncpoints: &Syncpoints, request: u32, args: Vec<u8>) -> Result<IoctlDone, IoctlStop> {
    use nv_result::*;
    match request {
        NVHOST_CTRL_SYNCPT_WAIT => {
            let (id, threshold, timeout) = (u32_at(&args, 0), u32_at(&args, 4), u32_at(&args, 8) as i32);
            if id >= Syncpoints::COUNT {
                return done(BAD_VALUE, args);
            }
            if syncpoints.is_reached(id, threshold) {
                return done(SUCCESS, args);
            }
            if timeout < 0 {
                return Err(IoctlStop::WaitForever { id, threshold });
            }
            done(TIMEOUT, args)
        }
        _ => Err(IoctlStop::Unknown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_carry_direction_size_device_and_number() {
        assert_eq!(request_size(NVMAP_ALLOC), 0x20);
        assert_eq!(request_size(NVMAP_FREE), 0x18);
        assert_eq!(request_size(NVHOST_CTRL_SYNCPT_WAIT), 0xC);
        assert!(request_is_in(NVMAP_CREATE) && request_is_out(NVMAP_CREATE));
        assert_eq!((NVMAP_GET_ID >> 8) & 0xFF, 1);
        assert_eq!((NVHOST_CTRL_SYNCPT_WAIT >> 8) & 0xFF, 0);
    }

    #[test]
    fn a_syncpoint_threshold_is_pending_only_between_reached_and_promised() {
        let mut s = Syncpoints::default();
        assert!(s.is_reached(3, 0));
        assert!(s.is_reached(3, 1), "nothing promised: expired (Eden HasSyncpointExpired)");
        assert_eq!(s.reserve(3), Some(1));
        assert_eq!(s.reserve(3), Some(2));
        assert!(!s.is_reached(3, 1) && !s.is_reached(3, 2));
        assert!(s.is_reached(3, 3), "beyond the promised value");
        assert_eq!(s.increment(3), Some(1));
        assert!(s.is_reached(3, 1) && !s.is_reached(3, 2));
        assert_eq!(s.increment(3), Some(2));
        assert!(s.is_reached(3, 2));
        assert_eq!(s.increment(3), Some(3), "unreserved increment raises max too");
        assert!(s.is_reached(3, 3) && s.is_reached(3, 4));
        assert_eq!(s.increment(Syncpoints::COUNT), None);
        assert_eq!(s.reserve(Syncpoints::COUNT), None);
        s.min[5] = u32::MAX;
        s.max[5] = u32::MAX;
        assert_eq!(s.reserve(5), Some(0));
        assert!(!s.is_reached(5, 0), "0 comes after u32::MAX");
        assert_eq!(s.increment(5), Some(0));
        assert!(s.is_reached(5, 0) && s.is_reached(5, u32::MAX));
    }
}

//! The nvmap handle table: the memory objects nvdrv's `/dev/nvmap` creates (CREATE), backs
//! with the caller's memory (ALLOC) and names by id (GET_ID), shared between nvdrv (which
//! fills it) and vi's buffer queue (which finds a queued frame's pixels through it: Eden
//! `nvnflinger/hardware_composer.cpp` looks the GraphicBuffer's `nvmap_id` up the same way;
//! Ryujinx `SurfaceFlinger.cs` `PostFrameBuffer` through `NvMapDeviceFile.GetMapFromHandle`).
//!
//! Handle and id are the same number, as in both emulators (Eden `devices/nvmap.cpp`
//! `IocFromId`; Ryujinx `NvMapDeviceFile.cs` `GetId`).

use std::collections::BTreeMap;

use crate::kernel::ProcessId;

/// One nvmap object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NvMapObject {
    /// The process whose nvdrv session created it.
    pub owner: ProcessId,
    /// CREATE's size (bytes, a page multiple).
    pub size: u32,
    /// ALLOC's backing memory: the owner's address, the alignment, the flags and the kind;
    /// `None` until ALLOC.
    pub allocation: Option<NvMapAllocation>,
}

/// What ALLOC recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NvMapAllocation {
    pub address: u64,
    pub align: u32,
    pub flags: u32,
    pub kind: u8,
}

/// A frame's memory, as the compositor sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NvMapBuffer {
    pub owner: ProcessId,
    pub address: u64,
    pub size: u32,
}

/// The handle table (ids from 1; 0 is never a handle).
#[derive(Debug, Default)]
pub struct NvMap {
    objects: BTreeMap<u32, NvMapObject>,
    next_id: u32,
}

impl NvMap {
    /// CREATE: a new object of `size` bytes, unallocated; its id (= handle).
    pub fn create(&mut self, owner: ProcessId, size: u32) -> u32 {
        self.next_id = self.next_id.wrapping_add(1).max(1);
        while self.objects.contains_key(&self.next_id) {
            self.next_id = self.next_id.wrapping_add(1).max(1);
        }
        self.objects.insert(self.next_id, NvMapObject { owner, size, allocation: None });
        self.next_id
    }

    /// The object with id `id`.
    pub fn get(&self, id: u32) -> Option<&NvMapObject> {
        self.objects.get(&id)
    }

    /// The object with id `id`, to change (ALLOC).
    pub fn get_mut(&mut self, id: u32) -> Option<&mut NvMapObject> {
        self.objects.get_mut(&id)
    }

    /// FREE: the object goes away; what it was.
    pub fn remove(&mut self, id: u32) -> Option<NvMapObject> {
        self.objects.remove(&id)
    }

    /// Every object `owner` created goes away (its nvdrv session closed).
    pub fn remove_owned_by(&mut self, owner: ProcessId) {
        self.objects.retain(|_, o| o.owner != owner);
    }

    /// The allocated memory behind `id`, for the compositor; `None` for an unknown or
    /// unallocated id.
    pub fn buffer(&self, id: u32) -> Option<NvMapBuffer> {
        let o = self.objects.get(&id)?;
        let a = o.allocation?;
        Some(NvMapBuffer { owner: o.owner, address: a.address, size: o.size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_is_a_frame_buffer_only_once_allocated() {
        let mut map = NvMap::default();
        let id = map.create(1, 0x3C_0000);
        assert_ne!(id, 0);
        assert_eq!(map.buffer(id), None);
        map.get_mut(id).unwrap().allocation =
            Some(NvMapAllocation { address: 0x20_0000_0000, align: 0x20000, flags: 1, kind: 0 });
        assert_eq!(map.buffer(id), Some(NvMapBuffer { owner: 1, address: 0x20_0000_0000, size: 0x3C_0000 }));
        assert!(map.remove(id).is_some());
        assert_eq!(map.buffer(id), None);
    }

    #[test]
    fn ids_are_never_zero_and_never_reused_while_alive() {
        let mut map = NvMap::default();
        let a = map.create(1, 0x1000);
        let b = map.create(2, 0x1000);
        assert!(a != 0 && b != 0 && a != b);
        map.remove_owned_by(1);
        assert!(map.get(a).is_none() && map.get(b).is_some());
    }
}

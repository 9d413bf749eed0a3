//! KHandleTable: a process's handles to kernel objects (horizon-ipc.md §3.2 step 7 for
//! the pseudo-handles; AMS-HT).
//!
//! A handle is `(linear id << 15) | slot index`, like mesosphere's, so a stale handle
//! to a reused slot is refused. Handle 0 is never valid; the pseudo-handles
//! [`CURRENT_THREAD`] and [`CURRENT_PROCESS`] are resolved by the svc layer.

use xcbuf_common::result::{ResultCode, kernel};

use super::KObjectRef;

/// The pseudo-handles for the calling thread and process (runtime-abi.md §3 "Constants").
pub use xcbuf_common::hipc::{
    PSEUDO_HANDLE_CURRENT_PROCESS as CURRENT_PROCESS, PSEUDO_HANDLE_CURRENT_THREAD as CURRENT_THREAD,
};
/// Default table size when the NPDM gives none (KAC HandleTableSize, formats.md §3.5).
pub const DEFAULT_TABLE_SIZE: usize = 1024;

const INDEX_BITS: u32 = 15;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
/// Linear ids use the 15 bits above the index (mesosphere: 1..=0x7FFF).
const LINEAR_ID_MAX: u32 = 0x7FFF;

#[derive(Debug)]
pub struct HandleTable {
    slots: Vec<Option<(u32, KObjectRef)>>,
    capacity: usize,
    next_linear_id: u32,
}

impl HandleTable {
    pub fn new(capacity: usize) -> HandleTable {
        HandleTable { slots: Vec::new(), capacity: capacity.clamp(1, INDEX_MASK as usize), next_linear_id: 1 }
    }

    /// Adds an object; OutOfHandles (0xd201) when the table is full.
    pub fn add(&mut self, object: KObjectRef) -> Result<u32, ResultCode> {
        let index = match self.slots.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.slots.len() < self.capacity => {
                self.slots.push(None);
                self.slots.len() - 1
            }
            None => return Err(kernel::OUT_OF_HANDLES),
        };
        let linear = self.next_linear_id;
        self.next_linear_id = if linear >= LINEAR_ID_MAX { 1 } else { linear + 1 };
        let index_u32 = u32::try_from(index).map_err(|_| kernel::OUT_OF_HANDLES)?;
        let handle = (linear << INDEX_BITS) | index_u32;
        self.slots[index] = Some((linear, object));
        Ok(handle)
    }

    fn slot(handle: u32) -> (usize, u32) {
        ((handle & INDEX_MASK) as usize, handle >> INDEX_BITS)
    }

    pub fn get(&self, handle: u32) -> Option<KObjectRef> {
        let (index, linear) = Self::slot(handle);
        match self.slots.get(index) {
            Some(Some((l, obj))) if *l == linear => Some(*obj),
            _ => None,
        }
    }

    pub fn remove(&mut self, handle: u32) -> Option<KObjectRef> {
        let (index, linear) = Self::slot(handle);
        match self.slots.get(index) {
            Some(Some((l, _))) if *l == linear => self.slots[index].take().map(|(_, o)| o),
            _ => None,
        }
    }

    /// No slot is free: an add would give OutOfHandles (the svcs that reserve a slot
    /// before anything else check this first, mesosphere KHandleTable::Reserve).
    pub fn is_full(&self) -> bool {
        self.slots.len() >= self.capacity && self.slots.iter().all(Option::is_some)
    }

    /// Handles in use.
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every (handle, object) pair, for process teardown and leak reports.
    pub fn entries(&self) -> Vec<(u32, KObjectRef)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.map(|(l, o)| ((l << INDEX_BITS) | i as u32, o))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_handle_is_not_found_even_when_its_slot_is_reused() {
        let mut t = HandleTable::new(4);
        let a = t.add(KObjectRef::Thread(1)).unwrap();
        assert_eq!(t.remove(a), Some(KObjectRef::Thread(1)));
        let b = t.add(KObjectRef::Thread(2)).unwrap();
        assert_ne!(a, b);
        assert_eq!(t.get(a), None);
        assert_eq!(t.get(b), Some(KObjectRef::Thread(2)));
        assert_ne!(a, 0);
    }

    #[test]
    fn full_table_gives_out_of_handles() {
        let mut t = HandleTable::new(2);
        t.add(KObjectRef::Thread(1)).unwrap();
        t.add(KObjectRef::Thread(2)).unwrap();
        assert_eq!(t.add(KObjectRef::Thread(3)), Err(kernel::OUT_OF_HANDLES));
        assert_eq!(kernel::OUT_OF_HANDLES.raw(), 0xd201);
    }
}

//! `ReceiveList`: the kernel's snapshot of a destination message's receive list, and
//! `GetBuffer`, which picks where each incoming X descriptor's bytes land
//! (`horizon-ipc.md` §3.3; mesosphere `ReceiveList` in AMS-SS).
//!
//! The snapshot is taken *before* anything is written into the destination message
//! buffer (§3.2 step 4, §10 item 2), so a request that overwrites the server's list
//! still uses the entries the server armed. The same type serves both directions: on the
//! reply path the "destination" is the client's original request (§4 step 3).
//!
//! | Mode | Where an X of `size` bytes lands |
//! |---|---|
//! | 0 None | nowhere: `get_buffer` fails (OutOfResource) |
//! | 1 ToMessageBuffer | `AlignUp(msg_buffer_end + key, 0x10)`, up to the buffer's end |
//! | 2 ToSingleBuffer | `AlignUp(C[0].address + key, 0x10)`, up to `C[0]`'s end |
//! | n ≥ 3 Index | `C[key].address` exactly, `key` = the X's index, `key < n − 2` |
#![forbid(unsafe_code)]

use xcbuf_common::hipc::{
    POINTER_TRANSFER_BUFFER_ALIGNMENT, RECEIVE_LIST_ENTRY_COUNT_MAX, ReceiveListEntry, ReceiveListMode,
};

/// Most entries a receive list holds (AMS-MB `CountMax` = 13, `horizon-ipc.md` §1.2).
pub const RECEIVE_LIST_CAPACITY: usize = RECEIVE_LIST_ENTRY_COUNT_MAX as usize;

/// `AlignUp(address, PointerTransferBufferAlignment)` on the absolute address (§3.3).
///
/// `None` when the sum would pass 2^64. The kernel's `uintptr_t` arithmetic would wrap
/// to 0 there, and a 0 buffer is refused (`recv_pointer != 0`), so `None` ("no buffer")
/// gives the same result. Addresses are below 2^39, so this cannot happen for a real
/// entry.
fn align_up(address: u64) -> Option<u64> {
    let mask = POINTER_TRANSFER_BUFFER_ALIGNMENT - 1;
    Some(address.checked_add(mask)? & !mask)
}

/// The end of `[start, start + size)` when `start < start + size` holds without
/// wrapping: the kernel's overflow-safe "non-empty and does not wrap" test
/// (`buf < buf + size`, `entry_addr < entry_addr + entry_size`).
fn non_empty_end(start: u64, size: u64) -> Option<u64> {
    let end = start.checked_add(size)?;
    if start < end { Some(end) } else { None }
}

/// A snapshot of a destination message's receive list (mesosphere `ReceiveList`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiveList {
    mode: ReceiveListMode,
    entries: [ReceiveListEntry; RECEIVE_LIST_CAPACITY],
    msg_buffer_end: u64,
    msg_buffer_space_end: u64,
}

impl ReceiveList {
    /// Takes the snapshot.
    ///
    /// - `mode`: the destination header's ReceiveListCount (word 1 bits 10–13).
    /// - `entries`: the C entries read at the destination's `recv_list_idx`; exactly
    ///   `mode.entry_count()` of them are used. Missing ones count as empty entries
    ///   (any X sent to them fails with OutOfResource); extra ones are ignored.
    /// - `msg_buffer_end`: `dst_address + 4 * src_end_offset`, where `src_end_offset` is
    ///   the *source* message's raw-data end in words (§3.2 step 4, §4 step 3). Only mode
    ///   1 uses it.
    /// - `msg_buffer_space_end`: `dst_address + dst_size`. Only mode 1 uses it.
    pub fn new(
        mode: ReceiveListMode,
        entries: &[ReceiveListEntry],
        msg_buffer_end: u64,
        msg_buffer_space_end: u64,
    ) -> ReceiveList {
        let mut snapshot = [ReceiveListEntry::default(); RECEIVE_LIST_CAPACITY];
        let used = mode.entry_count().min(RECEIVE_LIST_CAPACITY);
        for (slot, entry) in snapshot.iter_mut().zip(entries.iter()).take(used) {
            *slot = *entry;
        }
        ReceiveList { mode, entries: snapshot, msg_buffer_end, msg_buffer_space_end }
    }

    /// The mode the list was armed with.
    pub fn mode(&self) -> ReceiveListMode {
        self.mode
    }

    /// True for indexed mode, ReceiveListCount > 2 (AMS-SS `IsIndex`).
    pub fn is_index(&self) -> bool {
        self.mode.is_index()
    }

    /// True for mode 1 (AMS-SS `IsToMessageBuffer`).
    pub fn is_to_message_buffer(&self) -> bool {
        self.mode == ReceiveListMode::ToMessageBuffer
    }

    /// The C entries of the snapshot (`mode.entry_count()` of them).
    pub fn entries(&self) -> &[ReceiveListEntry] {
        let used = self.mode.entry_count().min(RECEIVE_LIST_CAPACITY);
        &self.entries[..used]
    }

    /// `GetBuffer(size, key)` (§3.3 table): where `size` bytes of an X land, or `None`
    /// where the kernel's `recv_pointer` stays 0 (the caller answers OutOfResource
    /// 0xce01).
    ///
    /// `key` is the kernel's `pointer_key`: in modes 1 and 2 it is the number of bytes
    /// used so far (start it at 0 and pass the same variable for every X of a message;
    /// it moves only on success); in index mode the caller sets it to the X's index
    /// before the call and it is not changed. A `size` of 0 never gets a buffer (the
    /// kernel does not call `GetBuffer` for a zero-size X at all).
    ///
    /// An index-mode entry at address 0 gives `None` too: the kernel returns the entry's
    /// address, 0, and its `recv_pointer != 0` check refuses it.
    pub fn get_buffer(&self, size: u64, key: &mut u64) -> Option<u64> {
        match self.mode {
            ReceiveListMode::None => None,
            ReceiveListMode::ToMessageBuffer => {
                let buf = align_up(self.msg_buffer_end.checked_add(*key)?)?;
                let end = non_empty_end(buf, size)?;
                if end > self.msg_buffer_space_end {
                    return None;
                }
                *key = end.checked_sub(self.msg_buffer_end)?;
                Some(buf).filter(|&b| b != 0)
            }
            ReceiveListMode::ToSingleBuffer => {
                let entry = self.entries[0];
                let entry_addr = entry.address();
                let buf = align_up(entry_addr.checked_add(*key)?)?;
                let end = non_empty_end(buf, size)?;
                let entry_end = non_empty_end(entry_addr, u64::from(entry.size()))?;
                if end > entry_end {
                    return None;
                }
                *key = end.checked_sub(entry_addr)?;
                Some(buf).filter(|&b| b != 0)
            }
            ReceiveListMode::Index(count) => {
                // `key < n - 2`: n − 2 is the entry count (AMS-MB CountOffset = 2).
                if *key >= u64::from(count) {
                    return None;
                }
                let entry = *self.entries.get(usize::try_from(*key).ok()?)?;
                let entry_addr = entry.address();
                let entry_size = u64::from(entry.size());
                non_empty_end(entry_addr, entry_size)?;
                if entry_size < size {
                    return None;
                }
                Some(entry_addr).filter(|&a| a != 0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(address: u64, size: u64) -> ReceiveListEntry {
        ReceiveListEntry::new(address, size).expect("test entry fits")
    }

    #[test]
    fn single_mode_packs_at_16_byte_alignment_worked_example() {
        // horizon-ipc.md §3.3: entry 0x1008/0x100; X 0x13, 0x20, 0xB8 land at 0x1010,
        // 0x1030, 0x1050.
        let list = ReceiveList::new(ReceiveListMode::ToSingleBuffer, &[entry(0x1008, 0x100)], 0, 0);
        let mut key = 0;
        assert_eq!(list.get_buffer(0x13, &mut key), Some(0x1010));
        assert_eq!(list.get_buffer(0x20, &mut key), Some(0x1030));
        let mut key_b9 = key;
        assert_eq!(list.get_buffer(0xB8, &mut key), Some(0x1050));
        assert_eq!(key, 0x100, "exact fit uses the entry up to 0x1108");
        assert_eq!(list.get_buffer(0xB9, &mut key_b9), None, "0xB9 would end at 0x1109");
    }

    #[test]
    fn single_mode_failure_leaves_key_unchanged() {
        let list = ReceiveList::new(ReceiveListMode::ToSingleBuffer, &[entry(0x1008, 0x100)], 0, 0);
        // After 0x13 and 0x20 the key is 0x48 (next X at 0x1050); 0xB9 would end at 0x1109.
        let mut key = 0x48;
        assert_eq!(list.get_buffer(0xB9, &mut key), None);
        assert_eq!(key, 0x48);
    }

    #[test]
    fn single_mode_empty_entry_gives_no_buffer() {
        let list = ReceiveList::new(ReceiveListMode::ToSingleBuffer, &[entry(0x1000, 0)], 0, 0);
        assert_eq!(list.get_buffer(1, &mut 0), None);
    }

    #[test]
    fn mode_none_gives_no_buffer() {
        let list = ReceiveList::new(ReceiveListMode::None, &[], 0x2000, 0x2100);
        assert_eq!(list.get_buffer(1, &mut 0), None);
    }

    #[test]
    fn to_message_buffer_mode_packs_after_the_source_message_end() {
        // Message buffer 0x2000/0x100, source message ends at word 7 (0x201C).
        let list = ReceiveList::new(ReceiveListMode::ToMessageBuffer, &[], 0x201C, 0x2100);
        let mut key = 0;
        assert_eq!(list.get_buffer(0x10, &mut key), Some(0x2020));
        assert_eq!(list.get_buffer(0x01, &mut key), Some(0x2030));
        assert_eq!(list.get_buffer(0xC0, &mut key), Some(0x2040), "exact fit to 0x2100");
        assert_eq!(list.get_buffer(0x01, &mut key), None);
    }

    #[test]
    fn index_mode_returns_the_entry_address_unaligned() {
        let list = ReceiveList::new(ReceiveListMode::Index(2), &[entry(0x3003, 0x20), entry(0x2001, 0x10)], 0, 0);
        assert_eq!(list.get_buffer(0x10, &mut 1), Some(0x2001));
        assert_eq!(list.get_buffer(0x20, &mut 0), Some(0x3003));
        assert_eq!(list.get_buffer(0x11, &mut 1), None, "entry too small");
        assert_eq!(list.get_buffer(1, &mut 2), None, "index past last entry");
    }

    #[test]
    fn index_mode_refuses_empty_and_address_zero_entries() {
        let list = ReceiveList::new(ReceiveListMode::Index(2), &[entry(0x3000, 0), entry(0, 0x100)], 0, 0);
        assert_eq!(list.get_buffer(1, &mut 0), None);
        assert_eq!(list.get_buffer(1, &mut 1), None);
    }

    #[test]
    fn missing_entries_count_as_empty() {
        let list = ReceiveList::new(ReceiveListMode::Index(3), &[entry(0x3000, 0x10)], 0, 0);
        assert_eq!(list.entries().len(), 3);
        assert_eq!(list.get_buffer(1, &mut 2), None);
    }
}

//! A process's address space: which ranges are mapped, with which permission and
//! memory state. Unicorn holds the bytes; this map is what QueryMemory reports and what
//! the kernel's copy checks (an X source must be user-readable, a C destination
//! user-writable: horizon-ipc.md §3.3 "Memory checks on the copy").
//!
//! Layout of every process (39-bit address space, formats.md §3.1 type 3), chosen so
//! that every guest address lies above 4 GiB and X/C descriptors carry address bits
//! 32-38 (horizon-ipc.md §2.1, §2.3):
//!
//! | region | base | size |
//! |---|---|---|
//! | alias | 0x10_0000_0000 | 64 GiB |
//! | heap (SetHeapSize, OverrideHeap) | 0x20_0000_0000 | 8 GiB |
//! | stack (main stack, loader stubs) | 0x30_0000_0000 | 2 GiB |
//! | thread-local regions | 0x38_0000_0000 | |
//! | code (sysmodule / NRO image) | 0x71_0000_0000 / 0x71_8000_0000 | |
//! | ASLR region (all of the above) | 0x800_0000 | 0x7F_F800_0000 |

use std::collections::BTreeMap;

use crate::cpu::{Cpu, CpuError, PAGE_SIZE, Perm};

pub const ALIAS_REGION_BASE: u64 = 0x10_0000_0000;
pub const ALIAS_REGION_SIZE: u64 = 0x10_0000_0000;
pub const HEAP_REGION_BASE: u64 = 0x20_0000_0000;
pub const HEAP_REGION_SIZE: u64 = 0x2_0000_0000;
pub const STACK_REGION_BASE: u64 = 0x30_0000_0000;
pub const STACK_REGION_SIZE: u64 = 0x8000_0000;
pub const TLS_AREA_BASE: u64 = 0x38_0000_0000;
pub const ASLR_REGION_BASE: u64 = 0x800_0000;
pub const ASLR_REGION_SIZE: u64 = 0x7F_F800_0000;
/// End of the 39-bit address space.
pub const ADDRESS_SPACE_END: u64 = 1 << 39;
/// Code base of the sysmodule process.
pub const SYSMODULE_CODE_BASE: u64 = 0x71_0000_0000;
/// Code base of the NRO process.
pub const NRO_CODE_BASE: u64 = 0x71_8000_0000;

/// Horizon's memory state numbers as QueryMemory reports them (libnx `MemoryType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryState {
    Free = 0x00,
    Code = 0x03,
    CodeData = 0x04,
    Normal = 0x05,
    /// svcMapSharedMemory's mapping (mesosphere `KMemoryState_Shared`, svc state 0x06).
    Shared = 0x06,
    Stack = 0x0B,
    ThreadLocal = 0x0C,
    Inaccessible = 0x10,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub base: u64,
    pub size: u64,
    pub perm: Perm,
    pub state: MemoryState,
    /// Horizon's `MemoryAttribute` bits as QueryMemory reports them ([`attribute`]).
    pub attribute: u8,
}

/// `MemoryAttribute` bits (Atmosphère `libvapours/include/vapours/svc/svc_types_common.hpp`).
pub mod attribute {
    /// Locked: e.g. the owner's range of a transfer memory (KTransferMemory::Initialize ->
    /// `KPageTableBase::LockForTransferMemory`).
    pub const LOCKED: u8 = 1 << 0;
    pub const IPC_LOCKED: u8 = 1 << 1;
    pub const DEVICE_SHARED: u8 = 1 << 2;
    pub const UNCACHED: u8 = 1 << 3;
}

/// The answer to QueryMemory for one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryInfo {
    pub base: u64,
    pub size: u64,
    pub state: MemoryState,
    pub perm: Perm,
    pub attribute: u8,
}

impl MemoryInfo {
    /// The 0x28-byte `MemoryInfo` struct the svc writes to guest memory: base, size,
    /// type, attribute, permission, ipc refcount, device refcount, padding.
    pub fn encode(&self) -> [u8; 0x28] {
        let mut out = [0u8; 0x28];
        out[0..8].copy_from_slice(&self.base.to_le_bytes());
        out[8..16].copy_from_slice(&self.size.to_le_bytes());
        out[16..20].copy_from_slice(&(self.state as u32).to_le_bytes());
        out[20..24].copy_from_slice(&u32::from(self.attribute).to_le_bytes());
        out[24..28].copy_from_slice(&self.perm.horizon_bits().to_le_bytes());
        out
    }
}

#[derive(Default, Debug)]
pub struct AddressSpace {
    regions: BTreeMap<u64, Region>,
}

fn page_aligned(v: u64) -> bool {
    v % PAGE_SIZE == 0
}

impl AddressSpace {
    /// Maps a new range in the engine and records it. Overlaps are refused.
    pub fn map(&mut self, cpu: &mut Cpu, base: u64, size: u64, perm: Perm, state: MemoryState) -> Result<(), CpuError> {
        let end = base.checked_add(size).ok_or_else(|| CpuError(format!("map {base:#x}+{size:#x} wraps")))?;
        if size == 0 || !page_aligned(base) || !page_aligned(size) || end > ADDRESS_SPACE_END {
            return Err(CpuError(format!("map {base:#x}+{size:#x}: not page-aligned or out of range")));
        }
        if self.overlaps(base, end) {
            return Err(CpuError(format!("map {base:#x}+{size:#x}: overlaps an existing mapping")));
        }
        cpu.map(base, size, perm)?;
        self.regions.insert(base, Region { base, size, perm, state, attribute: 0 });
        Ok(())
    }

    /// Unmaps a whole region that starts at `base`.
    pub fn unmap(&mut self, cpu: &mut Cpu, base: u64) -> Result<Region, CpuError> {
        let region =
            self.regions.remove(&base).ok_or_else(|| CpuError(format!("unmap {base:#x}: no region starts there")))?;
        cpu.unmap(region.base, region.size)?;
        Ok(region)
    }

    fn overlaps(&self, base: u64, end: u64) -> bool {
        self.regions.values().any(|r| base < r.base + r.size && r.base < end)
    }

    /// The region containing `address`, if mapped.
    pub fn region_at(&self, address: u64) -> Option<&Region> {
        self.regions.range(..=address).next_back().map(|(_, r)| r).filter(|r| address < r.base + r.size)
    }

    /// True when every byte of `[address, address + len)` is mapped with at least `need`.
    pub fn check(&self, address: u64, len: u64, need: Perm) -> bool {
        if len == 0 {
            return true;
        }
        let Some(end) = address.checked_add(len) else { return false };
        let mut cursor = address;
        while cursor < end {
            let Some(r) = self.region_at(cursor) else { return false };
            if (need.read && !r.perm.read) || (need.write && !r.perm.write) {
                return false;
            }
            cursor = r.base + r.size;
        }
        true
    }

    /// QueryMemory: the mapped region, or the free gap, around `address`.
    pub fn query(&self, address: u64) -> MemoryInfo {
        if address >= ADDRESS_SPACE_END {
            return MemoryInfo {
                base: ADDRESS_SPACE_END,
                size: 0u64.wrapping_sub(ADDRESS_SPACE_END),
                state: MemoryState::Inaccessible,
                perm: Perm::NONE,
                attribute: 0,
            };
        }
        if let Some(r) = self.region_at(address) {
            return MemoryInfo { base: r.base, size: r.size, state: r.state, perm: r.perm, attribute: r.attribute };
        }
        let gap_start = self.regions.range(..=address).next_back().map(|(_, r)| r.base + r.size).unwrap_or(0);
        let gap_end = self.regions.range(address..).next().map(|(b, _)| *b).unwrap_or(ADDRESS_SPACE_END);
        MemoryInfo {
            base: gap_start,
            size: gap_end - gap_start,
            state: MemoryState::Free,
            perm: Perm::NONE,
            attribute: 0,
        }
    }

    /// The (state, permission, attribute) every byte of `[base, base + size)` has, free
    /// gaps counting as (Free, none, 0); `None` when they differ or the range is empty or
    /// wraps. Mesosphere's `KPageTableBase::CheckMemoryState` over a range: every block
    /// must have the first block's state, permission and attribute (else
    /// InvalidCurrentMemory), then that one is checked against the masks.
    pub fn range_state(&self, base: u64, size: u64) -> Option<(MemoryState, Perm, u8)> {
        let end = base.checked_add(size)?;
        if size == 0 {
            return None;
        }
        let first = self.query(base);
        let mut cursor = first.base.saturating_add(first.size);
        while cursor < end {
            let next = self.query(cursor);
            if (next.state, next.perm, next.attribute) != (first.state, first.perm, first.attribute) || next.size == 0 {
                return None;
            }
            cursor = next.base.saturating_add(next.size);
        }
        Some((first.state, first.perm, first.attribute))
    }

    /// Splits the region containing `address` (strictly inside it) in two, as
    /// mesosphere's memory block manager splits a block when part of it changes.
    fn split_at(&mut self, address: u64) {
        let Some(r) = self.region_at(address).copied() else { return };
        if r.base == address {
            return;
        }
        let head = Region { size: address - r.base, ..r };
        let tail = Region { base: address, size: r.base + r.size - address, ..r };
        self.regions.insert(head.base, head);
        self.regions.insert(tail.base, tail);
    }

    /// Merges adjacent regions around `[base, end)` whose state, permission and attribute
    /// are equal (mesosphere `KMemoryBlockManager::CoalesceForUpdate`), so QueryMemory
    /// reports one block again once a change is undone.
    fn coalesce(&mut self, base: u64, end: u64) {
        let start = self.regions.range(..base).next_back().map(|(b, _)| *b).unwrap_or(base);
        let mut keys: Vec<u64> = self.regions.range(start..=end).map(|(b, _)| *b).collect();
        keys.sort_unstable();
        let mut i = 0;
        while i + 1 < keys.len() {
            let (a, b) = (self.regions[&keys[i]], self.regions[&keys[i + 1]]);
            if a.base + a.size == b.base && (a.state, a.perm, a.attribute) == (b.state, b.perm, b.attribute) {
                self.regions.remove(&b.base);
                self.regions.insert(a.base, Region { size: a.size + b.size, ..a });
                keys.remove(i + 1);
            } else {
                i += 1;
            }
        }
    }

    /// Changes the permission and attribute of the mapped range `[base, base + size)`
    /// (page-aligned; every byte mapped: the caller checked the range's state), splitting
    /// and merging regions as needed; the engine's pages get `perm` too, so a guest access
    /// the new permission forbids faults as on hardware.
    pub fn set_range(
        &mut self,
        cpu: &mut Cpu,
        base: u64,
        size: u64,
        perm: Perm,
        attribute: u8,
    ) -> Result<(), CpuError> {
        let end = base.checked_add(size).ok_or_else(|| CpuError(format!("set_range {base:#x}+{size:#x} wraps")))?;
        if size == 0 || !page_aligned(base) || !page_aligned(size) || !self.check(base, size, Perm::NONE) {
            return Err(CpuError(format!("set_range {base:#x}+{size:#x}: not page-aligned or not mapped")));
        }
        cpu.protect(base, size, perm)?;
        self.split_at(base);
        self.split_at(end);
        let keys: Vec<u64> = self.regions.range(base..end).map(|(b, _)| *b).collect();
        for k in keys {
            if let Some(r) = self.regions.get_mut(&k) {
                r.perm = perm;
                r.attribute = attribute;
            }
        }
        self.coalesce(base, end);
        Ok(())
    }

    /// Unmaps `[base, base + size)` (page-aligned, every byte mapped), splitting the
    /// regions at its ends.
    pub fn unmap_range(&mut self, cpu: &mut Cpu, base: u64, size: u64) -> Result<(), CpuError> {
        let end = base.checked_add(size).ok_or_else(|| CpuError(format!("unmap {base:#x}+{size:#x} wraps")))?;
        if size == 0 || !page_aligned(base) || !page_aligned(size) || !self.check(base, size, Perm::NONE) {
            return Err(CpuError(format!("unmap {base:#x}+{size:#x}: not page-aligned or not mapped")));
        }
        cpu.unmap(base, size)?;
        self.split_at(base);
        self.split_at(end);
        let keys: Vec<u64> = self.regions.range(base..end).map(|(b, _)| *b).collect();
        for k in keys {
            self.regions.remove(&k);
        }
        Ok(())
    }

    /// Maps a new range as [`AddressSpace::map`] does, then merges it with equal neighbours
    /// (the heap growing by SetHeapSize stays one block).
    pub fn map_merging(
        &mut self,
        cpu: &mut Cpu,
        base: u64,
        size: u64,
        perm: Perm,
        state: MemoryState,
    ) -> Result<(), CpuError> {
        self.map(cpu, base, size, perm, state)?;
        self.coalesce(base, base + size);
        Ok(())
    }

    /// Bytes mapped in the given states.
    pub fn mapped_bytes(&self, states: &[MemoryState]) -> u64 {
        self.regions.values().filter(|r| states.contains(&r.state)).map(|r| r.size).sum()
    }

    pub fn regions(&self) -> impl Iterator<Item = &Region> {
        self.regions.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_reports_the_free_gap_between_mappings() {
        let mut cpu = Cpu::new().unwrap();
        let mut space = AddressSpace::default();
        space.map(&mut cpu, 0x71_0000_0000, 0x2000, Perm::RX, MemoryState::Code).unwrap();
        space.map(&mut cpu, 0x71_0000_4000, 0x1000, Perm::RW, MemoryState::CodeData).unwrap();
        let gap = space.query(0x71_0000_2800);
        assert_eq!((gap.base, gap.size, gap.state), (0x71_0000_2000, 0x2000, MemoryState::Free));
        let code = space.query(0x71_0000_1234);
        assert_eq!((code.base, code.size, code.perm), (0x71_0000_0000, 0x2000, Perm::RX));
        assert!(space.check(0x71_0000_0000, 0x2000, Perm::R));
        assert!(!space.check(0x71_0000_0000, 0x2000, Perm::RW));
        assert!(!space.check(0x71_0000_1f00, 0x200, Perm::R), "runs into the gap");
    }

    /// mesosphere's memory block manager: a change to part of a block splits it; undoing
    /// the change merges the pieces back into one block (`KMemoryBlockManager::Update`,
    /// `CoalesceForUpdate`).
    #[test]
    fn set_range_splits_and_merges_blocks() {
        let mut cpu = Cpu::new().unwrap();
        let mut space = AddressSpace::default();
        let base = HEAP_REGION_BASE;
        space.map(&mut cpu, base, 0x4000, Perm::RW, MemoryState::Normal).unwrap();
        space.set_range(&mut cpu, base + 0x1000, 0x2000, Perm::NONE, attribute::LOCKED).unwrap();
        let q = |space: &AddressSpace, a: u64| {
            let i = space.query(a);
            (i.base, i.size, i.perm, i.attribute)
        };
        assert_eq!(q(&space, base), (base, 0x1000, Perm::RW, 0));
        assert_eq!(q(&space, base + 0x2fff), (base + 0x1000, 0x2000, Perm::NONE, attribute::LOCKED));
        assert_eq!(q(&space, base + 0x3000), (base + 0x3000, 0x1000, Perm::RW, 0));
        assert_eq!(space.range_state(base + 0x1000, 0x2000), Some((MemoryState::Normal, Perm::NONE, 1)));
        assert_eq!(space.range_state(base, 0x2000), None, "two different blocks");
        assert!(!space.check(base + 0x1000, 1, Perm::R), "not readable while locked");
        space.set_range(&mut cpu, base + 0x1000, 0x2000, Perm::RW, 0).unwrap();
        assert_eq!(q(&space, base + 0x1000), (base, 0x4000, Perm::RW, 0), "one block again");
        space.unmap_range(&mut cpu, base + 0x3000, 0x1000).unwrap();
        assert_eq!(q(&space, base), (base, 0x3000, Perm::RW, 0));
        assert_eq!(space.query(base + 0x3000).state, MemoryState::Free);
        assert_eq!(space.range_state(base + 0x3000, 0x1000), Some((MemoryState::Free, Perm::NONE, 0)));
        assert!(space.set_range(&mut cpu, base + 0x2000, 0x2000, Perm::R, 0).is_err(), "runs into free memory");
    }

    /// A range locked with permission None faults on a guest load, and loads again once
    /// given back (the engine's pages follow `set_range`).
    #[test]
    fn a_guest_load_from_a_range_set_to_no_permission_faults() {
        use crate::cpu::Stop;
        use unicorn_engine::RegisterARM64;
        let mut cpu = Cpu::new().unwrap();
        let mut space = AddressSpace::default();
        let (code, data) = (NRO_CODE_BASE, HEAP_REGION_BASE);
        space.map(&mut cpu, code, PAGE_SIZE, Perm::RX, MemoryState::Code).unwrap();
        space.map(&mut cpu, data, PAGE_SIZE, Perm::RW, MemoryState::Normal).unwrap();
        // ldr x0, [x1]; svc #1
        let words: Vec<u8> = [0xf940_0020u32, 0xd400_0021].iter().flat_map(|w| w.to_le_bytes()).collect();
        cpu.write(code, &words).unwrap();
        cpu.write(data, &7u64.to_le_bytes()).unwrap();
        let run = |cpu: &mut Cpu| {
            cpu.set_reg(RegisterARM64::PC, code).unwrap();
            cpu.set_x(1, data).unwrap();
            cpu.run(100)
        };
        space.set_range(&mut cpu, data, PAGE_SIZE, Perm::NONE, attribute::LOCKED).unwrap();
        assert!(matches!(run(&mut cpu), Stop::MemoryFault { address, .. } if address == data));
        space.set_range(&mut cpu, data, PAGE_SIZE, Perm::RW, 0).unwrap();
        assert!(matches!(run(&mut cpu), Stop::Svc { imm: 1, .. }));
        assert_eq!(cpu.x(0), 7);
    }

    #[test]
    fn overlapping_map_is_refused() {
        let mut cpu = Cpu::new().unwrap();
        let mut space = AddressSpace::default();
        space.map(&mut cpu, 0x20_0000_0000, 0x2000, Perm::RW, MemoryState::Normal).unwrap();
        assert!(space.map(&mut cpu, 0x20_0000_1000, 0x1000, Perm::RW, MemoryState::Normal).is_err());
    }
}

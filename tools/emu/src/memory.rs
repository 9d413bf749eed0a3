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
}

/// The answer to QueryMemory for one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryInfo {
    pub base: u64,
    pub size: u64,
    pub state: MemoryState,
    pub perm: Perm,
}

impl MemoryInfo {
    /// The 0x28-byte `MemoryInfo` struct the svc writes to guest memory: base, size,
    /// type, attribute, permission, ipc refcount, device refcount, padding.
    pub fn encode(&self) -> [u8; 0x28] {
        let mut out = [0u8; 0x28];
        out[0..8].copy_from_slice(&self.base.to_le_bytes());
        out[8..16].copy_from_slice(&self.size.to_le_bytes());
        out[16..20].copy_from_slice(&(self.state as u32).to_le_bytes());
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
        self.regions.insert(base, Region { base, size, perm, state });
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
            };
        }
        if let Some(r) = self.region_at(address) {
            return MemoryInfo { base: r.base, size: r.size, state: r.state, perm: r.perm };
        }
        let gap_start = self.regions.range(..=address).next_back().map(|(_, r)| r.base + r.size).unwrap_or(0);
        let gap_end = self.regions.range(address..).next().map(|(b, _)| *b).unwrap_or(ADDRESS_SPACE_END);
        MemoryInfo { base: gap_start, size: gap_end - gap_start, state: MemoryState::Free, perm: Perm::NONE }
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

    #[test]
    fn overlapping_map_is_refused() {
        let mut cpu = Cpu::new().unwrap();
        let mut space = AddressSpace::default();
        space.map(&mut cpu, 0x20_0000_0000, 0x2000, Perm::RW, MemoryState::Normal).unwrap();
        assert!(space.map(&mut cpu, 0x20_0000_1000, 0x1000, Perm::RW, MemoryState::Normal).is_err());
    }
}

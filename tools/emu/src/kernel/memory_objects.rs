//! KTransferMemory and KSharedMemory, and their svcs: CreateTransferMemory (0x15),
//! MapSharedMemory (0x13), UnmapSharedMemory (0x14), with mesosphere's checks in its
//! order (Atmosphère `libmesosphere/source/svc/kern_svc_transfer_memory.cpp`,
//! `svc/kern_svc_shared_memory.cpp`, `kern_k_transfer_memory.cpp`,
//! `kern_k_shared_memory.cpp`, `kern_k_page_table_base.cpp`).
//!
//! - A transfer memory locks its owner's range while it exists: the pages keep their
//!   state, take the permission the owner gave (None for nvdrv's work memory) and the
//!   Locked attribute, so QueryMemory shows them as `Normal, ---, Locked` until the object
//!   is destroyed, i.e. until every reference is gone: the owner's handle AND every
//!   reference a service took (nvdrv keeps the one it took at Initialize until its session
//!   closes). Then the pages are RW again with no attribute. Eden and Ryujinx let it go at
//!   once (screen-output.md §1c, §1g row 30); the bench models the hardware.
//! - A shared memory is created by an HLE service (hid), which owns it and writes its
//!   bytes; a process maps it with svcMapSharedMemory. The bench keeps the bytes on the
//!   host and copies each write into every process mapping (the client only reads).

use xcbuf_common::result::{ResultCode, kernel};

use crate::cpu::{PAGE_SIZE, Perm};
use crate::memory::{self, MemoryState, attribute};

use super::svc::SvcFlow;
use super::{KObjectRef, Kernel, ProcessId, ThreadId};

/// 0xd801: a permission the svc does not accept (AMS `svc_results.hpp`).
pub const INVALID_NEW_MEMORY_PERMISSION: ResultCode = ResultCode::new(1, 108);
/// 0xdc01: a range outside the region the state must live in (`CanContain`).
pub const INVALID_MEMORY_REGION: ResultCode = ResultCode::new(1, 110);

/// `ams::svc::MemoryPermission_DontCare` (a shared memory's remote permission: the mapper
/// chooses R or RW).
pub const PERMISSION_DONT_CARE: u32 = 1 << 28;

/// Horizon's permission bits (R 1, W 2) as the bench's [`Perm`]; `None` for a value that is
/// not one of None / R / RW.
pub fn perm_from_bits(bits: u64) -> Option<Perm> {
    match bits {
        0 => Some(Perm::NONE),
        1 => Some(Perm::R),
        3 => Some(Perm::RW),
        _ => None,
    }
}

/// A transfer memory: the owner's locked range and the references to it.
#[derive(Debug, Clone)]
pub struct KTransferMemory {
    pub owner: ProcessId,
    pub address: u64,
    pub size: u64,
    /// The permission the owner keeps while the memory is lent (CreateTransferMemory's).
    pub owner_perm: Perm,
    /// References: handles and services' references (KAutoObject's count).
    pub refs: u32,
    /// Finalized: the range was unlocked.
    pub destroyed: bool,
}

/// A shared memory created by an HLE service.
#[derive(Debug, Clone)]
pub struct KSharedMemory {
    /// The owner's process id (`m_owner_process_id`): an HLE service has none of the bench's
    /// processes, so this is a pid no process has.
    pub owner_pid: u64,
    pub owner_perm: Perm,
    /// The permission others must map it with; `None` = DontCare (R or RW).
    pub remote_perm: Option<Perm>,
    /// The bytes (zeroed at creation, `KSharedMemory::Initialize`).
    pub data: Vec<u8>,
    pub refs: u32,
    /// Where it is mapped: (process, address).
    pub mappings: Vec<(ProcessId, u64)>,
}

impl KSharedMemory {
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }
}

/// The pid an HLE service's objects record as their owner (no bench process has it).
pub const HLE_OWNER_PID: u64 = u64::MAX;

impl Kernel {
    /// `KPageTableBase::Contains`: inside the process's address space (the 39-bit space
    /// from the ASLR region's base).
    fn space_contains(address: u64, size: u64) -> bool {
        let Some(end) = address.checked_add(size) else { return false };
        address >= memory::ASLR_REGION_BASE && address < end && end <= memory::ADDRESS_SPACE_END
    }

    /// `KPageTableBase::CanContain(address, size, KMemoryState_Shared)`: inside the
    /// alias-code region (the ASLR region in a 39-bit space, `GetRegionAddress`) and
    /// overlapping neither the heap region nor the alias region. The stack region is NOT
    /// excluded by the kernel (only libnx's `virtmemFindAslr` avoids it).
    pub fn can_contain_shared(address: u64, size: u64) -> bool {
        let Some(end) = address.checked_add(size) else { return false };
        if size == 0 {
            return false;
        }
        let last = end - 1;
        let in_region = memory::ASLR_REGION_BASE <= address
            && address < end
            && last < memory::ASLR_REGION_BASE + memory::ASLR_REGION_SIZE;
        let overlaps = |start: u64, len: u64| !(end <= start || start + len <= address || len == 0);
        let in_heap = overlaps(memory::HEAP_REGION_BASE, memory::HEAP_REGION_SIZE);
        let in_alias = overlaps(memory::ALIAS_REGION_BASE, memory::ALIAS_REGION_SIZE);
        in_region && !in_heap && !in_alias
    }

    /// svcCreateTransferMemory(x1 address, x2 size, w3 permission) -> w1 handle, in
    /// mesosphere's order (`svc/kern_svc_transfer_memory.cpp` CreateTransferMemory):
    /// address page-aligned (InvalidAddress 0xcc01), size page-aligned and non-zero
    /// (InvalidSize 0xca01), no wrap (InvalidCurrentMemory 0xd401), permission None, R or
    /// RW (InvalidNewMemoryPermission 0xd801), inside the address space
    /// (InvalidCurrentMemory), then `KTransferMemory::Initialize` ->
    /// `KPageTableBase::LockForTransferMemory`: every page of the range with one state that
    /// can be transferred (heap Normal or CodeData), permission exactly RW and no attribute
    /// (else InvalidCurrentMemory, so a range already lent cannot be lent twice); the
    /// pages then take the new permission and the Locked attribute. Last the handle
    /// (OutOfHandles 0xd201; the object is destroyed again, unlocking the range).
    pub(crate) fn svc_create_transfer_memory(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let (address, size, perm_bits) = (self.arg(t, 1), self.arg(t, 2), self.arg(t, 3) as u32);
        if !address.is_multiple_of(PAGE_SIZE) {
            return self.fail(t, kernel::INVALID_ADDRESS);
        }
        if !size.is_multiple_of(PAGE_SIZE) || size == 0 {
            return self.fail(t, kernel::INVALID_SIZE);
        }
        if address.checked_add(size).is_none() {
            return self.fail(t, kernel::INVALID_CURRENT_MEMORY);
        }
        let Some(owner_perm) = perm_from_bits(u64::from(perm_bits)) else {
            return self.fail(t, INVALID_NEW_MEMORY_PERMISSION);
        };
        if !Self::space_contains(address, size) {
            return self.fail(t, kernel::INVALID_CURRENT_MEMORY);
        }
        let proc_ = &mut self.processes[p];
        match proc_.space.range_state(address, size) {
            Some((MemoryState::Normal | MemoryState::CodeData, perm, 0)) if perm == Perm::RW => {}
            _ => return self.fail(t, kernel::INVALID_CURRENT_MEMORY),
        }
        if proc_.space.set_range(&mut proc_.cpu, address, size, owner_perm, attribute::LOCKED).is_err() {
            return self.fail(t, kernel::INVALID_CURRENT_MEMORY);
        }
        let id = self.transfer_memories.len();
        self.transfer_memories.push(KTransferMemory { owner: p, address, size, owner_perm, refs: 0, destroyed: false });
        match self.add_handle(p, KObjectRef::TransferMemory(id)) {
            Ok(h) => self.ok(t, &[(1, u64::from(h))]),
            Err(e) => {
                self.destroy_transfer_memory(id);
                self.fail(t, e)
            }
        }
    }

    /// `KTransferMemory::Finalize` (the last reference went): the owner's range is unlocked
    /// (`UnlockForTransferMemory`: permission back to RW, the Locked attribute cleared).
    /// Nothing to unlock when the owner is gone.
    pub(crate) fn destroy_transfer_memory(&mut self, id: usize) {
        let Some(tm) = self.transfer_memories.get_mut(id) else { return };
        if tm.destroyed {
            return;
        }
        tm.destroyed = true;
        let (owner, address, size) = (tm.owner, tm.address, tm.size);
        let proc_ = &mut self.processes[owner];
        if !proc_.is_running() {
            return;
        }
        if proc_.space.set_range(&mut proc_.cpu, address, size, Perm::RW, 0).is_err() {
            let line = format!("kernel: could not unlock transfer memory {address:#x}+{size:#x} of {}", proc_.name);
            self.trace_line(line);
        }
    }

    /// A shared memory owned by an HLE service: `size` bytes (a page multiple), zeroed,
    /// with the owner's and the others' permission (`KSharedMemory::Initialize`); `refs`
    /// starts at 1, the creator's reference, which it gives back with
    /// [`Kernel::release_object`].
    pub fn create_shared_memory(&mut self, size: u64, owner_perm: Perm, remote_perm: Option<Perm>) -> usize {
        let id = self.shared_memories.len();
        let len = usize::try_from(size).unwrap_or(0);
        self.shared_memories.push(KSharedMemory {
            owner_pid: HLE_OWNER_PID,
            owner_perm,
            remote_perm,
            data: vec![0; len],
            refs: 1,
            mappings: Vec::new(),
        });
        id
    }

    /// The owner writes `bytes` at `offset` of shared memory `id`: into its bytes and into
    /// every process's mapping of it (the mappings are the same pages on hardware).
    /// Out-of-range writes are ignored (the writer's offsets are constants).
    pub fn write_shared_memory(&mut self, id: usize, offset: usize, bytes: &[u8]) {
        let Some(sm) = self.shared_memories.get_mut(id) else { return };
        let Some(end) = offset.checked_add(bytes.len()) else { return };
        let Some(dst) = sm.data.get_mut(offset..end) else { return };
        dst.copy_from_slice(bytes);
        for &(p, base) in &sm.mappings {
            if let Some(proc_) = self.processes.get_mut(p) {
                let _ = proc_.cpu.write(base + offset as u64, bytes);
            }
        }
    }

    /// Takes one more reference to a kernel object (a service keeping a handle's object,
    /// as nvdrv keeps the transfer memory it got at Initialize).
    pub fn retain_object(&mut self, object: KObjectRef) {
        self.open_ref(object);
    }

    /// Gives back a reference taken with [`Kernel::retain_object`] (or the creator's
    /// reference of [`Kernel::create_shared_memory`]); the last one destroys the object.
    pub fn release_object(&mut self, object: KObjectRef) {
        self.close_ref(object);
    }

    /// svcMapSharedMemory(w0 handle, x1 address, x2 size, w3 permission), in mesosphere's
    /// order (`svc/kern_svc_shared_memory.cpp` MapSharedMemory, `KSharedMemory::Map`,
    /// `KPageTableBase::MapPageGroup`): address page-aligned (InvalidAddress 0xcc01),
    /// size page-aligned and non-zero (InvalidSize 0xca01), no wrap (InvalidCurrentMemory
    /// 0xd401), permission R or RW (InvalidNewMemoryPermission 0xd801), a shared-memory
    /// handle (InvalidHandle 0xe401), `CanContain(address, size, Shared)`
    /// (InvalidMemoryRegion 0xdc01), the object's size in pages (InvalidSize), the
    /// permission the owner granted to this process (the owner's for the owner, the
    /// remote one for others; DontCare accepts R or RW), else InvalidNewMemoryPermission
    /// 0xd801; then the range must be free (InvalidCurrentMemory). Mapped with state
    /// Shared.
    pub(crate) fn svc_map_shared_memory(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let handle = self.arg(t, 0) as u32;
        let (address, size, perm_bits) = (self.arg(t, 1), self.arg(t, 2), self.arg(t, 3) as u32);
        if let Err(e) = Self::check_address_size(address, size) {
            return self.fail(t, e);
        }
        let map_perm = match perm_from_bits(u64::from(perm_bits)) {
            Some(perm) if perm != Perm::NONE => perm,
            _ => return self.fail(t, INVALID_NEW_MEMORY_PERMISSION),
        };
        let Some(KObjectRef::SharedMemory(id)) = self.resolve(p, t, handle) else {
            return self.fail(t, kernel::INVALID_HANDLE);
        };
        if !Self::can_contain_shared(address, size) {
            return self.fail(t, INVALID_MEMORY_REGION);
        }
        let sm = &self.shared_memories[id];
        if sm.size() != size {
            return self.fail(t, kernel::INVALID_SIZE);
        }
        let granted = if self.processes[p].pid == sm.owner_pid { Some(sm.owner_perm) } else { sm.remote_perm };
        if granted.is_some_and(|g| g != map_perm) {
            return self.fail(t, INVALID_NEW_MEMORY_PERMISSION);
        }
        if self.processes[p].space.range_state(address, size) != Some((MemoryState::Free, Perm::NONE, 0)) {
            return self.fail(t, kernel::INVALID_CURRENT_MEMORY);
        }
        let data = self.shared_memories[id].data.clone();
        let proc_ = &mut self.processes[p];
        if proc_.space.map(&mut proc_.cpu, address, size, map_perm, MemoryState::Shared).is_err() {
            return self.fail(t, kernel::INVALID_CURRENT_MEMORY);
        }
        if proc_.cpu.write(address, &data).is_err() {
            let _ = proc_.space.unmap(&mut proc_.cpu, address);
            return self.fail(t, kernel::INVALID_CURRENT_MEMORY);
        }
        // `KProcess::AddSharedMemory`: the mapping holds a reference to the object.
        self.shared_memories[id].mappings.push((p, address));
        self.open_ref(KObjectRef::SharedMemory(id));
        self.ok(t, &[])
    }

    /// svcUnmapSharedMemory(w0 handle, x1 address, x2 size) (`kern_svc_shared_memory.cpp`
    /// UnmapSharedMemory, `KSharedMemory::Unmap`, `KPageTableBase::UnmapPageGroup`): the
    /// same address/size checks, the handle (InvalidHandle), `CanContain`
    /// (InvalidMemoryRegion), the object's size (InvalidSize), then the range must be this
    /// object's mapping, with state Shared and no attribute (InvalidCurrentMemory).
    pub(crate) fn svc_unmap_shared_memory(&mut self, t: ThreadId) -> SvcFlow {
        let p = self.threads[t].process;
        let handle = self.arg(t, 0) as u32;
        let (address, size) = (self.arg(t, 1), self.arg(t, 2));
        if let Err(e) = Self::check_address_size(address, size) {
            return self.fail(t, e);
        }
        let Some(KObjectRef::SharedMemory(id)) = self.resolve(p, t, handle) else {
            return self.fail(t, kernel::INVALID_HANDLE);
        };
        if !Self::can_contain_shared(address, size) {
            return self.fail(t, INVALID_MEMORY_REGION);
        }
        if self.shared_memories[id].size() != size {
            return self.fail(t, kernel::INVALID_SIZE);
        }
        let Some(at) = self.shared_memories[id].mappings.iter().position(|&m| m == (p, address)) else {
            return self.fail(t, kernel::INVALID_CURRENT_MEMORY);
        };
        let proc_ = &mut self.processes[p];
        match proc_.space.range_state(address, size) {
            Some((MemoryState::Shared, _, 0)) => {}
            _ => return self.fail(t, kernel::INVALID_CURRENT_MEMORY),
        }
        if proc_.space.unmap_range(&mut proc_.cpu, address, size).is_err() {
            return self.fail(t, kernel::INVALID_CURRENT_MEMORY);
        }
        self.shared_memories[id].mappings.remove(at);
        self.close_ref(KObjectRef::SharedMemory(id));
        self.ok(t, &[])
    }

    /// The address/size checks both shared-memory svcs start with.
    fn check_address_size(address: u64, size: u64) -> Result<(), ResultCode> {
        if !address.is_multiple_of(PAGE_SIZE) {
            return Err(kernel::INVALID_ADDRESS);
        }
        if !size.is_multiple_of(PAGE_SIZE) || size == 0 {
            return Err(kernel::INVALID_SIZE);
        }
        if address.checked_add(size).is_none() {
            return Err(kernel::INVALID_CURRENT_MEMORY);
        }
        Ok(())
    }
}

//! Memory the client shares with services: page-aligned heap buffers ([`PageBuffer`]), a
//! transfer memory made from one ([`TransferMemory`], for nvdrv), a mapped shared memory
//! ([`SharedMemory`], hid's input memory) at a free address of the ASLR region
//! ([`find_free_region`]), and the data-cache clean of a buffer another device reads
//! ([`clean_data_cache`]). screen-output.md §1c (transfer memory), §1e (cache), input.md §3
//! (mapping).
//!
//! The free-range search is pure (host-tested); everything else is Switch-only.

/// Page size of every mapping (runtime-abi.md; Atmosphère `PageSize`).
pub const PAGE_SIZE: usize = 0x1000;

/// svcQueryMemory's state of an unmapped range (Atmosphère `svc::MemoryState_Free`).
pub const MEMORY_STATE_FREE: u32 = 0;

/// svcGetInfo ids of the regions a shared-memory mapping must (ASLR) or must not (heap,
/// alias, stack) lie in (Atmosphère `svc_types_common.hpp` `InfoType`; libnx `virtmem.c`
/// `virtmemSetup`).
pub mod info {
    pub const ALIAS_REGION_ADDRESS: u32 = 2;
    pub const ALIAS_REGION_SIZE: u32 = 3;
    pub const HEAP_REGION_ADDRESS: u32 = 4;
    pub const HEAP_REGION_SIZE: u32 = 5;
    pub const ASLR_REGION_ADDRESS: u32 = 12;
    pub const ASLR_REGION_SIZE: u32 = 13;
    pub const STACK_REGION_ADDRESS: u32 = 14;
    pub const STACK_REGION_SIZE: u32 = 15;
}

/// An address range `[start, start + size)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Region {
    pub start: usize,
    pub size: usize,
}

impl Region {
    /// One past the last byte (saturating).
    pub fn end(&self) -> usize {
        self.start.saturating_add(self.size)
    }

    fn overlaps(&self, start: usize, end: usize) -> bool {
        self.size != 0 && start < self.end() && self.start < end
    }
}

/// The regions of the process's address space that matter for a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct AddressSpace {
    pub aslr: Region,
    pub heap: Region,
    pub alias: Region,
    pub stack: Region,
}

/// One svcQueryMemory answer: the block around an address and its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    pub base: usize,
    pub size: usize,
    pub state: u32,
}

/// The first page-aligned address `a` inside the ASLR region such that `[a, a + size)` lies
/// in one Free block and outside the heap, alias and stack regions: where mesosphere's
/// `CanContain(address, size, KMemoryState_Shared)` holds and the range is unmapped
/// (Atmosphère `kern_svc_shared_memory.cpp` `MapSharedMemory`; Ryujinx
/// `Syscall.cs` `MapSharedMemory` rejects heap and alias addresses). libnx picks a random
/// such range (`virtmem.c` `virtmemFindAslr`); the first one is as valid and repeatable.
/// `query(address)` is svcQueryMemory; None stops the search.
pub fn find_free_region(
    size: usize,
    space: &AddressSpace,
    mut query: impl FnMut(usize) -> Option<Block>,
) -> Option<usize> {
    if size == 0 {
        return None;
    }
    let size = size.checked_next_multiple_of(PAGE_SIZE)?;
    let reserved = [space.heap, space.alias, space.stack];
    let mut at = space.aslr.start.checked_next_multiple_of(PAGE_SIZE)?;
    // Every step moves `at` forward (a block or region end past it), so this ends; the
    // bound only guards against a query that never advances.
    for _ in 0..0x10000 {
        let end = at.checked_add(size)?;
        if end > space.aslr.end() {
            return None;
        }
        if let Some(r) = reserved.iter().find(|r| r.overlaps(at, end)) {
            at = r.end().checked_next_multiple_of(PAGE_SIZE)?;
            continue;
        }
        let block = query(at)?;
        let block_end = block.base.checked_add(block.size)?;
        if block.state == MEMORY_STATE_FREE && block.base <= at && end <= block_end {
            return Some(at);
        }
        let next = block_end.checked_next_multiple_of(PAGE_SIZE)?;
        if next <= at {
            return None;
        }
        at = next;
    }
    None
}

#[cfg(target_os = "horizon")]
pub use switch::*;

#[cfg(target_os = "horizon")]
mod switch {
    use core::alloc::Layout;
    use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

    use super::{AddressSpace, Block, PAGE_SIZE, Region, find_free_region, info};
    use crate::result::{ALLOCATION_FAILED, DOES_NOT_FIT, ResultCode};
    use crate::svc::{self, CURRENT_PROCESS, Handle, perm};

    /// Kernel TimedOut (0xea01): what [`TransferMemory::wait_returned`] answers when the
    /// range is not back within its time.
    pub const TIMED_OUT: ResultCode = ResultCode::new(1, 117);

    /// A zeroed, page-aligned heap allocation of whole pages.
    pub struct PageBuffer {
        ptr: *mut u8,
        layout: Layout,
    }

    impl PageBuffer {
        /// `size` rounded up to whole pages, zeroed (libnx `tmemCreate` zeroes its buffer;
        /// a framebuffer starts black).
        pub fn new(size: usize) -> Result<PageBuffer, ResultCode> {
            let size = size.checked_next_multiple_of(PAGE_SIZE).filter(|s| *s != 0).ok_or(DOES_NOT_FIT)?;
            let layout = Layout::from_size_align(size, PAGE_SIZE).map_err(|_| DOES_NOT_FIT)?;
            // SAFETY: the layout has a non-zero size.
            let ptr = unsafe { alloc::alloc::alloc_zeroed(layout) };
            if ptr.is_null() {
                return Err(ALLOCATION_FAILED);
            }
            Ok(PageBuffer { ptr, layout })
        }

        /// Its address.
        pub fn address(&self) -> usize {
            self.ptr as usize
        }

        /// Its size (whole pages).
        pub fn len(&self) -> usize {
            self.layout.size()
        }

        /// Never empty.
        pub fn is_empty(&self) -> bool {
            false
        }

        /// The bytes.
        pub fn as_slice(&self) -> &[u8] {
            // SAFETY: `ptr` is a live allocation of `len` initialised (zeroed) bytes, owned
            // by self; the borrow of self keeps it alive and unaliased by &mut.
            unsafe { core::slice::from_raw_parts(self.ptr, self.len()) }
        }

        /// The bytes, writable.
        pub fn as_mut_slice(&mut self) -> &mut [u8] {
            // SAFETY: as in `as_slice`, and &mut self makes this the only reference.
            unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len()) }
        }
    }

    impl Drop for PageBuffer {
        fn drop(&mut self) {
            // SAFETY: allocated by `new` with this layout and not freed since.
            unsafe { alloc::alloc::dealloc(self.ptr, self.layout) };
        }
    }

    /// A transfer memory over a heap buffer of its own (screen-output.md §1c: libnx
    /// `tmemCreate`, then `tmemWaitForPermission` after the server let go). The buffer is
    /// never touched while the kernel holds it, and it is freed only once svcQueryMemory
    /// shows it RW again; if that never happens, it is leaked rather than handed back to the
    /// allocator (which would write into memory the process cannot access).
    pub struct TransferMemory {
        buffer: Option<PageBuffer>,
        handle: Option<Handle>,
        returned: bool,
    }

    impl TransferMemory {
        /// `size` bytes (whole pages), zeroed, then svcCreateTransferMemory with
        /// `permission` left to this process (libnx nvdrv: [`perm::NONE`]).
        pub fn create(size: usize, permission: u32) -> Result<TransferMemory, ResultCode> {
            let buffer = PageBuffer::new(size)?;
            // SAFETY: the buffer is owned by the returned value, which never hands out a
            // reference to it, and frees it only after the permission is back (Drop).
            let handle = unsafe { svc::create_transfer_memory(buffer.address(), buffer.len(), permission)? };
            Ok(TransferMemory { buffer: Some(buffer), handle: Some(handle), returned: false })
        }

        /// The handle, until [`TransferMemory::close_handle`].
        pub fn handle(&self) -> Option<Handle> {
            self.handle
        }

        /// Its address and size.
        pub fn region(&self) -> Region {
            self.buffer.as_ref().map(|b| Region { start: b.address(), size: b.len() }).unwrap_or_default()
        }

        /// Closes this process's handle (libnx closes it right after nvdrv Initialize; the
        /// object lives on while the server holds it).
        pub fn close_handle(&mut self) {
            if let Some(h) = self.handle.take() {
                let _ = svc::close_handle(h);
            }
        }

        /// Whether svcQueryMemory shows the whole buffer readable and writable again.
        fn is_returned(&self) -> bool {
            let Some(buffer) = &self.buffer else { return true };
            let end = buffer.address() + buffer.len();
            let mut at = buffer.address();
            while at < end {
                match svc::query_memory(at) {
                    Ok((m, _)) if m.permission & perm::RW == perm::RW => {
                        let next = usize::try_from(m.base_address.saturating_add(m.size)).unwrap_or(usize::MAX);
                        if next <= at {
                            return false;
                        }
                        at = next;
                    }
                    _ => return false,
                }
            }
            true
        }

        /// Closes the handle if still open, then polls svcQueryMemory every 100 µs (libnx
        /// `tmemWaitForPermission`) until the range is RW again, for at most `timeout_ns`;
        /// Err([`TIMED_OUT`]) otherwise. Returns the number of polls that found it held.
        pub fn wait_returned(&mut self, timeout_ns: u64) -> Result<u32, ResultCode> {
            self.close_handle();
            let mut polls = 0u32;
            let mut waited = 0u64;
            loop {
                if self.is_returned() {
                    self.returned = true;
                    return Ok(polls);
                }
                if waited >= timeout_ns {
                    return Err(TIMED_OUT);
                }
                svc::sleep_thread(100_000);
                waited += 100_000;
                polls = polls.saturating_add(1);
            }
        }
    }

    impl Drop for TransferMemory {
        fn drop(&mut self) {
            if !self.returned && self.wait_returned(1_000_000_000).is_err() {
                // Still held by the kernel: never give it back to the allocator.
                core::mem::forget(self.buffer.take());
            }
        }
    }

    /// The process's regions, from svcGetInfo (ids in [`info`]).
    pub fn address_space() -> Result<AddressSpace, ResultCode> {
        let get = |id| -> Result<usize, ResultCode> {
            usize::try_from(svc::get_info(id, CURRENT_PROCESS, 0)?).map_err(|_| DOES_NOT_FIT)
        };
        let region = |a, s| -> Result<Region, ResultCode> { Ok(Region { start: get(a)?, size: get(s)? }) };
        Ok(AddressSpace {
            aslr: region(info::ASLR_REGION_ADDRESS, info::ASLR_REGION_SIZE)?,
            heap: region(info::HEAP_REGION_ADDRESS, info::HEAP_REGION_SIZE)?,
            alias: region(info::ALIAS_REGION_ADDRESS, info::ALIAS_REGION_SIZE)?,
            stack: region(info::STACK_REGION_ADDRESS, info::STACK_REGION_SIZE)?,
        })
    }

    /// A free address for `size` bytes ([`find_free_region`] over svcQueryMemory).
    pub fn free_address(size: usize) -> Result<usize, ResultCode> {
        let space = address_space()?;
        find_free_region(size, &space, |at| {
            let (m, _) = svc::query_memory(at).ok()?;
            Some(Block {
                base: usize::try_from(m.base_address).ok()?,
                size: usize::try_from(m.size).ok()?,
                state: m.state & 0xFF,
            })
        })
        .ok_or(DOES_NOT_FIT)
    }

    /// A shared memory mapped into this process (input.md §3). It does not own the
    /// handle; it unmaps on drop.
    pub struct SharedMemory {
        handle: Handle,
        address: usize,
        size: usize,
    }

    impl SharedMemory {
        /// svcMapSharedMemory(`handle`, a free address, `size`, `permission`).
        pub fn map(handle: Handle, size: usize, permission: u32) -> Result<SharedMemory, ResultCode> {
            let address = free_address(size)?;
            svc::map_shared_memory(handle, address, size, permission)?;
            Ok(SharedMemory { handle, address, size })
        }

        /// Where it is mapped.
        pub fn address(&self) -> usize {
            self.address
        }

        fn at<T>(&self, offset: usize) -> Option<*const T> {
            let width = core::mem::size_of::<T>();
            if !offset.is_multiple_of(width) || offset.checked_add(width)? > self.size {
                return None;
            }
            Some((self.address + offset) as *const T)
        }

        /// The little-endian u64 at `offset` (8-aligned, inside), read with acquire
        /// ordering: another process writes it (input.md §5).
        pub fn read_u64(&self, offset: usize) -> Option<u64> {
            let p = self.at::<AtomicU64>(offset)?;
            // SAFETY: `p` is aligned and inside the mapping, which lives as long as self;
            // the memory is only accessed atomically from this process.
            Some(unsafe { (*p).load(Ordering::Acquire) })
        }

        /// The little-endian u32 at `offset` (4-aligned, inside), acquire.
        pub fn read_u32(&self, offset: usize) -> Option<u32> {
            let p = self.at::<AtomicU32>(offset)?;
            // SAFETY: as in `read_u64`.
            Some(unsafe { (*p).load(Ordering::Acquire) })
        }

        /// svcUnmapSharedMemory (input.md §9 step 1).
        pub fn unmap(self) -> Result<(), ResultCode> {
            let this = core::mem::ManuallyDrop::new(self);
            // SAFETY: the mapping is consumed; no reference into it outlives `read_*`.
            unsafe { svc::unmap_shared_memory(this.handle, this.address, this.size) }
        }
    }

    impl Drop for SharedMemory {
        fn drop(&mut self) {
            // SAFETY: as in `unmap`: self is going away and nothing borrows the mapping.
            let _ = unsafe { svc::unmap_shared_memory(self.handle, self.address, self.size) };
        }
    }

    /// TLS offset of the kernel's `cache_maintenance_flag` (Atmosphère
    /// `svc_thread_local_region.hpp`, asserted at 0x104; read by
    /// `KThread::IsInUserCacheMaintenanceOperation`).
    const CACHE_MAINTENANCE_FLAG: usize = 0x104;

    /// Cleans and invalidates the data cache over `bytes` to the point of coherency, so a
    /// device (the display) reads what the CPU wrote: `dc civac` per line from the start
    /// rounded down to a line, the line size `4 << CTR_EL0[19:16]`, then `dsb sy`; the TLS
    /// flag at +0x104 is 1 during the loop (libnx `armDCacheFlush`, screen-output.md §1e).
    pub fn clean_data_cache(bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let ctr: u64;
        // SAFETY: reading CTR_EL0 at EL0 is allowed on Horizon (SCTLR_EL1.UCT) and has no
        // side effect.
        unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
        let line = 4usize << ((ctr >> 16) & 0xF);
        let start = (bytes.as_ptr() as usize) & !(line - 1);
        let end = bytes.as_ptr() as usize + bytes.len();
        let flag = crate::tls::base().wrapping_add(CACHE_MAINTENANCE_FLAG);
        // SAFETY: one byte of this thread's TLS that the kernel defines as the user's cache
        // maintenance flag; written volatile, never referenced.
        unsafe { flag.write_volatile(1) };
        let mut at = start;
        while at < end {
            // SAFETY: `dc civac` on an address of `bytes` (or the start of its first line),
            // memory this process owns; EL0 may do it on Horizon (SCTLR_EL1.UCI).
            unsafe { core::arch::asm!("dc civac, {}", in(reg) at, options(nostack, preserves_flags)) };
            at += line;
        }
        // SAFETY: a barrier; then the flag back to 0 as above.
        unsafe {
            core::arch::asm!("dsb sy", options(nostack, preserves_flags));
            flag.write_volatile(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> AddressSpace {
        AddressSpace {
            aslr: Region { start: 0x800_0000, size: 0x1000_0000 },
            heap: Region { start: 0x900_0000, size: 0x100_0000 },
            alias: Region { start: 0xA00_0000, size: 0x100_0000 },
            stack: Region { start: 0xB00_0000, size: 0x100_0000 },
        }
    }

    /// A map of blocks: code at 0x800_0000..0x880_0000, free up to the heap, heap and alias
    /// mapped, free after.
    fn blocks(at: usize) -> Option<Block> {
        let map = [
            Block { base: 0, size: 0x800_0000, state: 0 },
            Block { base: 0x800_0000, size: 0x80_0000, state: 3 },
            Block { base: 0x880_0000, size: 0x78_0000, state: 0 },
            Block { base: 0x900_0000, size: 0x200_0000, state: 5 },
            Block { base: 0xB00_0000, size: 0x100_0000, state: 0 },
            Block { base: 0xC00_0000, size: 0x1000_0000, state: 0 },
        ];
        map.iter().copied().find(|b| b.base <= at && at < b.base + b.size)
    }

    #[test]
    fn a_shared_memory_goes_in_the_first_free_aslr_range_that_fits() {
        assert_eq!(find_free_region(0x40000, &space(), blocks), Some(0x880_0000));
    }

    #[test]
    fn a_range_that_does_not_fit_before_the_heap_goes_past_heap_alias_and_stack() {
        // 0x780000 free before the heap: 0x800000 does not fit; heap, alias, stack skipped.
        assert_eq!(find_free_region(0x80_0000, &space(), blocks), Some(0xC00_0000));
    }

    #[test]
    fn a_free_block_inside_the_stack_region_is_never_chosen() {
        // 0xB00_0000 is Free in the map but inside the stack region.
        let mut s = space();
        s.heap.size = 0;
        s.alias.size = 0;
        let only_free_in_stack = |at: usize| {
            if (0xB00_0000..0xC00_0000).contains(&at) {
                Some(Block { base: 0xB00_0000, size: 0x100_0000, state: 0 })
            } else if at < 0xB00_0000 {
                Some(Block { base: 0x800_0000, size: 0x300_0000, state: 3 })
            } else {
                Some(Block { base: 0xC00_0000, size: 0x1000_0000, state: 0 })
            }
        };
        assert_eq!(find_free_region(0x40000, &s, only_free_in_stack), Some(0xC00_0000));
    }

    #[test]
    fn no_room_in_the_aslr_region_is_none() {
        let mut s = space();
        s.aslr.size = 0x100_0000;
        assert_eq!(find_free_region(0x80_0000, &s, blocks), None);
        assert_eq!(find_free_region(0, &s, blocks), None);
    }
}

//! Transfer memory and shared memory at the svc level (svcCreateTransferMemory 0x15,
//! svcMapSharedMemory 0x13, svcUnmapSharedMemory 0x14, QueryMemory 0x06), on code-less
//! processes whose registers the test sets before each svc. Each test names the rule it
//! proves and cites the mesosphere function it follows.

use xcbuf_common::result::{ResultCode, kernel};
use xcbuf_emu::cpu::{PAGE_SIZE, Perm};
use xcbuf_emu::kernel::memory_objects::{INVALID_MEMORY_REGION, INVALID_NEW_MEMORY_PERMISSION};
use xcbuf_emu::kernel::svc::SvcFlow;
use xcbuf_emu::kernel::{KObjectRef, Kernel, KernelOptions, ProcessId, ThreadId};
use xcbuf_emu::memory::{self, MemoryState, attribute};

/// A RW page of every test process (QueryMemory's output, handle lists).
const DATA: u64 = 0x1000_0000;
/// The test heap: 4 pages of Normal RW memory at the heap region's base.
const HEAP: u64 = memory::HEAP_REGION_BASE;
const HEAP_SIZE: u64 = 4 * PAGE_SIZE;
/// A free address in the ASLR region, outside the heap and alias regions.
const FREE_ASLR: u64 = 0x40_0000_0000;
const SHMEM_SIZE: u64 = 0x40000;

const SVC_QUERY_MEMORY: u32 = 0x06;
const SVC_MAP_SHARED_MEMORY: u32 = 0x13;
const SVC_UNMAP_SHARED_MEMORY: u32 = 0x14;
const SVC_CREATE_TRANSFER_MEMORY: u32 = 0x15;
const SVC_CLOSE_HANDLE: u32 = 0x16;
const SVC_WAIT_SYNCHRONIZATION: u32 = 0x18;

fn process(k: &mut Kernel) -> (ProcessId, ThreadId) {
    let (p, t) = k.add_codeless_process("client", DATA);
    k.threads[t].state = xcbuf_emu::kernel::thread::ThreadState::Runnable;
    let proc_ = &mut k.processes[p];
    proc_.space.map(&mut proc_.cpu, HEAP, HEAP_SIZE, Perm::RW, MemoryState::Normal).expect("heap");
    (p, t)
}

fn svc(k: &mut Kernel, t: ThreadId, n: u32, regs: &[(usize, u64)]) -> SvcFlow {
    k.call_svc(t, n, regs).expect("register")
}

fn x(k: &Kernel, t: ThreadId, n: usize) -> u64 {
    k.register(t, n)
}

fn w0(k: &Kernel, t: ThreadId) -> ResultCode {
    ResultCode::from_raw(x(k, t, 0) as u32)
}

/// svcCreateTransferMemory: Ok(handle) or the result.
fn create_tmem(k: &mut Kernel, t: ThreadId, address: u64, size: u64, perm: u64) -> Result<u32, ResultCode> {
    svc(k, t, SVC_CREATE_TRANSFER_MEMORY, &[(1, address), (2, size), (3, perm)]);
    match w0(k, t) {
        ResultCode::SUCCESS => Ok(x(k, t, 1) as u32),
        e => Err(e),
    }
}

/// svcQueryMemory as the guest sees it: (base, size, state, attribute, permission) read
/// back from the 0x28-byte MemoryInfo the svc wrote.
fn query(k: &mut Kernel, t: ThreadId, address: u64) -> (u64, u64, u32, u32, u32) {
    svc(k, t, SVC_QUERY_MEMORY, &[(0, DATA), (1, DATA + 0x100), (2, address)]);
    assert_eq!(w0(k, t), ResultCode::SUCCESS);
    let cpu = &k.processes[k.threads[t].process].cpu;
    let u32_at = |o: u64| cpu.read_u32(DATA + o).expect("read");
    (cpu.read_u64(DATA).unwrap(), cpu.read_u64(DATA + 8).unwrap(), u32_at(16), u32_at(20), u32_at(24))
}

fn close(k: &mut Kernel, t: ThreadId, handle: u32) {
    svc(k, t, SVC_CLOSE_HANDLE, &[(0, u64::from(handle))]);
    assert_eq!(w0(k, t), ResultCode::SUCCESS);
}

const NORMAL: u32 = MemoryState::Normal as u32;
const LOCKED: u32 = attribute::LOCKED as u32;

/// mesosphere `KTransferMemory::Initialize` -> `LockForTransferMemory`: the range keeps its
/// state, takes the owner's permission (None) and the Locked attribute; `Finalize` (the
/// last reference gone) -> `UnlockForTransferMemory`: RW, no attribute, one block again.
#[test]
fn transfer_memory_locks_the_owner_range_until_every_reference_is_gone() {
    let mut k = Kernel::new(KernelOptions::default());
    let (p, t) = process(&mut k);
    let h = create_tmem(&mut k, t, HEAP + PAGE_SIZE, 2 * PAGE_SIZE, 0).expect("create");
    assert_eq!(query(&mut k, t, HEAP + PAGE_SIZE), (HEAP + PAGE_SIZE, 2 * PAGE_SIZE, NORMAL, LOCKED, 0));
    assert_eq!(query(&mut k, t, HEAP), (HEAP, PAGE_SIZE, NORMAL, 0, 3), "the page before is split off, RW");
    assert_eq!(query(&mut k, t, HEAP + 3 * PAGE_SIZE), (HEAP + 3 * PAGE_SIZE, PAGE_SIZE, NORMAL, 0, 3));
    // A service (nvdrv's Initialize) keeps a reference.
    let Some(object @ KObjectRef::TransferMemory(_)) = k.resolve(p, t, h) else { panic!("not a transfer memory") };
    k.retain_object(object);
    close(&mut k, t, h);
    assert_eq!(query(&mut k, t, HEAP + PAGE_SIZE).3, LOCKED, "still lent: the service holds it");
    k.release_object(object);
    assert_eq!(query(&mut k, t, HEAP + PAGE_SIZE), (HEAP, HEAP_SIZE, NORMAL, 0, 3), "back to one RW block");
}

/// The owner's handle alone: closing it destroys the object and unlocks the range.
#[test]
fn transfer_memory_closed_by_its_only_handle_gives_the_range_back() {
    let mut k = Kernel::new(KernelOptions::default());
    let (_, t) = process(&mut k);
    let h = create_tmem(&mut k, t, HEAP, HEAP_SIZE, 1).expect("create");
    assert_eq!(query(&mut k, t, HEAP), (HEAP, HEAP_SIZE, NORMAL, LOCKED, 1), "perm R kept by the owner");
    close(&mut k, t, h);
    assert_eq!(query(&mut k, t, HEAP), (HEAP, HEAP_SIZE, NORMAL, 0, 3));
}

/// `svc/kern_svc_transfer_memory.cpp` CreateTransferMemory's checks, in order, and
/// LockForTransferMemory's state check (`KPageTableBase::CheckMemoryState`: one state
/// that can be transferred, permission RW, no attribute, over the whole range).
#[test]
fn create_transfer_memory_checks_alignment_permission_and_memory_state() {
    let mut k = Kernel::new(KernelOptions::default());
    let (_, t) = process(&mut k);
    assert_eq!(create_tmem(&mut k, t, HEAP + 0x10, PAGE_SIZE, 0), Err(kernel::INVALID_ADDRESS));
    assert_eq!(create_tmem(&mut k, t, HEAP, 0x10, 0), Err(kernel::INVALID_SIZE));
    assert_eq!(create_tmem(&mut k, t, HEAP, 0, 0), Err(kernel::INVALID_SIZE));
    assert_eq!(create_tmem(&mut k, t, !0xfffu64, PAGE_SIZE * 2, 0), Err(kernel::INVALID_CURRENT_MEMORY));
    // Write-only and execute are not transfer-memory permissions.
    assert_eq!(create_tmem(&mut k, t, HEAP, PAGE_SIZE, 2), Err(INVALID_NEW_MEMORY_PERMISSION));
    assert_eq!(create_tmem(&mut k, t, HEAP, PAGE_SIZE, 5), Err(INVALID_NEW_MEMORY_PERMISSION));
    assert_eq!(INVALID_NEW_MEMORY_PERMISSION.raw(), 0xd801);
    // Runs past the heap into free memory.
    assert_eq!(create_tmem(&mut k, t, HEAP, HEAP_SIZE + PAGE_SIZE, 0), Err(kernel::INVALID_CURRENT_MEMORY));
    // Thread-local memory cannot be transferred.
    let tls = k.threads[t].tls & !(PAGE_SIZE - 1);
    assert_eq!(create_tmem(&mut k, t, tls, PAGE_SIZE, 0), Err(kernel::INVALID_CURRENT_MEMORY));
    // A range already lent (Locked, not RW) cannot be lent again, nor can one that
    // overlaps it.
    create_tmem(&mut k, t, HEAP, PAGE_SIZE, 0).expect("first");
    assert_eq!(create_tmem(&mut k, t, HEAP, PAGE_SIZE, 0), Err(kernel::INVALID_CURRENT_MEMORY));
    assert_eq!(create_tmem(&mut k, t, HEAP, 2 * PAGE_SIZE, 0), Err(kernel::INVALID_CURRENT_MEMORY));
    assert!(create_tmem(&mut k, t, HEAP + PAGE_SIZE, PAGE_SIZE, 0).is_ok(), "the next page is still RW");
}

/// A transfer memory is not a synchronization object (`KHandleTable::GetMultipleObjects
/// <KSynchronizationObject>` fails: InvalidHandle).
#[test]
fn transfer_memory_handle_is_not_waitable() {
    let mut k = Kernel::new(KernelOptions::default());
    let (p, t) = process(&mut k);
    let h = create_tmem(&mut k, t, HEAP, PAGE_SIZE, 0).expect("create");
    k.processes[p].cpu.write(DATA, &h.to_le_bytes()).unwrap();
    svc(&mut k, t, SVC_WAIT_SYNCHRONIZATION, &[(1, DATA), (2, 1), (3, 0)]);
    assert_eq!(w0(&k, t), kernel::INVALID_HANDLE);
}

/// Shrinking the heap over a lent range fails (`KPageTableBase::SetHeapSize` checks the
/// freed part is Normal, RW, no attribute: InvalidCurrentMemory).
#[test]
fn heap_cannot_shrink_over_a_lent_range() {
    let mut k = Kernel::new(KernelOptions::default());
    let (p, t) = k.add_codeless_process("client", DATA);
    k.processes[p].memory_limit = 0x100_0000;
    svc(&mut k, t, 0x01, &[(1, 0x40_0000)]);
    assert_eq!(w0(&k, t), ResultCode::SUCCESS);
    create_tmem(&mut k, t, HEAP + 0x30_0000, PAGE_SIZE, 0).expect("create");
    svc(&mut k, t, 0x01, &[(1, 0x20_0000)]);
    assert_eq!(w0(&k, t), kernel::INVALID_CURRENT_MEMORY);
    // Growing keeps the lent range locked and the rest one block.
    svc(&mut k, t, 0x01, &[(1, 0x60_0000)]);
    assert_eq!(w0(&k, t), ResultCode::SUCCESS);
    assert_eq!(query(&mut k, t, HEAP + 0x30_0000), (HEAP + 0x30_0000, PAGE_SIZE, NORMAL, LOCKED, 0));
    assert_eq!(query(&mut k, t, HEAP + 0x50_0000), (HEAP + 0x30_1000, 0x2F_F000, NORMAL, 0, 3));
}

/// A shared memory of an HLE owner (hid's: owner RW, others R) and a handle to it in `p`.
fn shmem(k: &mut Kernel, p: ProcessId) -> (usize, u32) {
    let id = k.create_shared_memory(SHMEM_SIZE, Perm::RW, Some(Perm::R));
    let h = k.add_handle(p, KObjectRef::SharedMemory(id)).expect("handle");
    (id, h)
}

fn map(k: &mut Kernel, t: ThreadId, h: u32, address: u64, size: u64, perm: u64) -> ResultCode {
    svc(k, t, SVC_MAP_SHARED_MEMORY, &[(0, u64::from(h)), (1, address), (2, size), (3, perm)]);
    w0(k, t)
}

fn unmap(k: &mut Kernel, t: ThreadId, h: u32, address: u64, size: u64) -> ResultCode {
    svc(k, t, SVC_UNMAP_SHARED_MEMORY, &[(0, u64::from(h)), (1, address), (2, size)]);
    w0(k, t)
}

/// `KSharedMemory::Map` -> `MapPageGroup`: state Shared (6), the permission asked; the
/// owner's writes are seen in the mapping; Unmap frees the range.
#[test]
fn shared_memory_maps_read_only_and_shows_the_owner_writes() {
    let mut k = Kernel::new(KernelOptions::default());
    let (p, t) = process(&mut k);
    let (id, h) = shmem(&mut k, p);
    k.write_shared_memory(id, 0x31D88, &7u64.to_le_bytes());
    assert_eq!(map(&mut k, t, h, FREE_ASLR, SHMEM_SIZE, 1), ResultCode::SUCCESS);
    assert_eq!(query(&mut k, t, FREE_ASLR + 0x1234), (FREE_ASLR, SHMEM_SIZE, 6, 0, 1));
    assert_eq!(k.processes[p].cpu.read_u64(FREE_ASLR + 0x31D88).unwrap(), 7, "written before the map");
    k.write_shared_memory(id, 0x31D90, &9u64.to_le_bytes());
    assert_eq!(k.processes[p].cpu.read_u64(FREE_ASLR + 0x31D90).unwrap(), 9, "written after the map");
    assert!(!k.processes[p].space.check(FREE_ASLR, 8, Perm::RW), "the client cannot write it");
    // Mapped twice at another address: fine (another page-table entry for the same pages).
    assert_eq!(map(&mut k, t, h, FREE_ASLR + SHMEM_SIZE, SHMEM_SIZE, 1), ResultCode::SUCCESS);
    assert_eq!(unmap(&mut k, t, h, FREE_ASLR + SHMEM_SIZE, SHMEM_SIZE), ResultCode::SUCCESS);
    assert_eq!(unmap(&mut k, t, h, FREE_ASLR, SHMEM_SIZE), ResultCode::SUCCESS);
    assert_eq!(query(&mut k, t, FREE_ASLR).2, MemoryState::Free as u32);
    // Unmapped twice: nothing of this object is there any more.
    assert_eq!(unmap(&mut k, t, h, FREE_ASLR, SHMEM_SIZE), kernel::INVALID_CURRENT_MEMORY);
}

/// `svc/kern_svc_shared_memory.cpp` MapSharedMemory's checks in order, then
/// `KSharedMemory::Map`'s (size, permission granted) and MapPageGroup's (free range).
#[test]
fn map_shared_memory_checks_in_mesosphere_order() {
    let mut k = Kernel::new(KernelOptions::default());
    let (p, t) = process(&mut k);
    let (_, h) = shmem(&mut k, p);
    assert_eq!(map(&mut k, t, h, FREE_ASLR + 0x10, SHMEM_SIZE, 1), kernel::INVALID_ADDRESS);
    assert_eq!(map(&mut k, t, h, FREE_ASLR, SHMEM_SIZE + 1, 1), kernel::INVALID_SIZE);
    assert_eq!(map(&mut k, t, h, FREE_ASLR, 0, 1), kernel::INVALID_SIZE);
    assert_eq!(map(&mut k, t, h, !0xfffu64, SHMEM_SIZE, 1), kernel::INVALID_CURRENT_MEMORY);
    // Only R and RW are shared-memory permissions.
    for perm in [0, 2, 4, 5] {
        assert_eq!(map(&mut k, t, h, FREE_ASLR, SHMEM_SIZE, perm), INVALID_NEW_MEMORY_PERMISSION);
    }
    assert_eq!(map(&mut k, t, 0x1234_5678, FREE_ASLR, SHMEM_SIZE, 1), kernel::INVALID_HANDLE);
    assert_eq!(map(&mut k, t, 0xFFFF8001, FREE_ASLR, SHMEM_SIZE, 1), kernel::INVALID_HANDLE, "a process");
    // CanContain(Shared): not in the heap or alias region, not outside the ASLR region.
    assert_eq!(map(&mut k, t, h, HEAP, SHMEM_SIZE, 1), INVALID_MEMORY_REGION);
    assert_eq!(map(&mut k, t, h, memory::ALIAS_REGION_BASE + 0x10_0000, SHMEM_SIZE, 1), INVALID_MEMORY_REGION);
    assert_eq!(map(&mut k, t, h, memory::HEAP_REGION_BASE - PAGE_SIZE, SHMEM_SIZE, 1), INVALID_MEMORY_REGION);
    assert_eq!(map(&mut k, t, h, 0x100_0000, SHMEM_SIZE, 1), INVALID_MEMORY_REGION, "below the ASLR region");
    assert_eq!(INVALID_MEMORY_REGION.raw(), 0xdc01);
    // The object's size, in pages.
    assert_eq!(map(&mut k, t, h, FREE_ASLR, SHMEM_SIZE - PAGE_SIZE, 1), kernel::INVALID_SIZE);
    // Another permission than the one granted to others (R).
    assert_eq!(map(&mut k, t, h, FREE_ASLR, SHMEM_SIZE, 3), INVALID_NEW_MEMORY_PERMISSION);
    // Over memory already mapped (the DATA page).
    assert_eq!(map(&mut k, t, h, DATA - PAGE_SIZE, SHMEM_SIZE, 1), kernel::INVALID_CURRENT_MEMORY);
    assert_eq!(map(&mut k, t, h, FREE_ASLR, SHMEM_SIZE, 1), ResultCode::SUCCESS);
}

/// mesosphere's CanContain for Shared excludes only the heap and alias regions: the stack
/// region is allowed (input.md §3 says to avoid it; that is libnx's `virtmemFindAslr`
/// choice, not a kernel rule).
#[test]
fn map_shared_memory_may_use_the_stack_region() {
    let mut k = Kernel::new(KernelOptions::default());
    let (p, t) = process(&mut k);
    let (_, h) = shmem(&mut k, p);
    assert_eq!(map(&mut k, t, h, memory::STACK_REGION_BASE + 0x1000_0000, SHMEM_SIZE, 1), ResultCode::SUCCESS);
}

/// `UnmapSharedMemory`: the handle (InvalidHandle), CanContain (InvalidMemoryRegion), the
/// size (InvalidSize), then the range must be this object's Shared mapping
/// (`UnmapPageGroup`: InvalidCurrentMemory).
#[test]
fn unmap_shared_memory_needs_this_object_s_mapping() {
    let mut k = Kernel::new(KernelOptions::default());
    let (p, t) = process(&mut k);
    let (_, h) = shmem(&mut k, p);
    let (_, other) = shmem(&mut k, p);
    assert_eq!(map(&mut k, t, h, FREE_ASLR, SHMEM_SIZE, 1), ResultCode::SUCCESS);
    assert_eq!(unmap(&mut k, t, 0x1234_5678, FREE_ASLR, SHMEM_SIZE), kernel::INVALID_HANDLE);
    assert_eq!(unmap(&mut k, t, h, HEAP, SHMEM_SIZE), INVALID_MEMORY_REGION);
    assert_eq!(unmap(&mut k, t, h, FREE_ASLR, PAGE_SIZE), kernel::INVALID_SIZE);
    assert_eq!(unmap(&mut k, t, other, FREE_ASLR, SHMEM_SIZE), kernel::INVALID_CURRENT_MEMORY, "another object's");
    assert_eq!(unmap(&mut k, t, h, FREE_ASLR + SHMEM_SIZE, SHMEM_SIZE), kernel::INVALID_CURRENT_MEMORY);
    assert_eq!(unmap(&mut k, t, h, FREE_ASLR, SHMEM_SIZE), ResultCode::SUCCESS);
}

//! Supervisor calls, with the register conventions of runtime-abi.md §3 (and
//! horizon-ipc.md §7).
//!
//! Every wrapper is `#[inline]` with the `svc #imm` in inline assembly, so a program's
//! binary contains an svc instruction only for the calls it makes (the sysmodule's NPDM
//! lists exactly those). Each call declares `clobber_abi("C")`, which marks x0-x17, x30
//! and the vector registers clobbered: hardware zeroes x8-x17 and the caller-saved vector
//! registers, Ryujinx zeroes the non-output x0-x7 (emulator-bench.md §1 "Register ABI").
//!
//! The result is w0; any other output is only meaningful when w0 is 0.
//!
//! `svc #0x21` SendSyncRequest and `svc #0x43` ReplyAndReceive read and write the calling
//! thread's TLS message buffer: use them through [`crate::tls::MessageBuffer`], which
//! tells the compiler about that memory. The raw functions here are `unsafe` for that
//! reason.

use core::arch::asm;
use core::ffi::CStr;

use crate::result::{DOES_NOT_FIT, ResultCode};

/// A kernel handle.
pub type Handle = u32;

/// The invalid handle (runtime-abi.md §3 "Constants").
pub const INVALID_HANDLE: Handle = 0;
/// Pseudo-handles of the calling thread and process (defined with the message codec).
pub use xcbuf_common::hipc::{
    PSEUDO_HANDLE_CURRENT_PROCESS as CURRENT_PROCESS, PSEUDO_HANDLE_CURRENT_THREAD as CURRENT_THREAD,
};
/// Most handles one WaitSynchronization or ReplyAndReceive takes (horizon-ipc.md §7:
/// `ArgumentHandleCountMax`).
pub const HANDLE_COUNT_MAX: usize = 0x40;

/// svcBreak reasons (libnx `BreakReason`; bit 31 = notification only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum BreakReason {
    Panic = 0,
    Assert = 1,
    User = 2,
}

/// `svcQueryMemory`'s output (0x28 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct MemoryInfo {
    pub base_address: u64,
    pub size: u64,
    pub state: u32,
    pub attribute: u32,
    pub permission: u32,
    pub ipc_ref_count: u32,
    pub device_ref_count: u32,
    pub padding: u32,
}
static_assertions::const_assert_eq!(core::mem::size_of::<MemoryInfo>(), 0x28);

#[inline(always)]
fn check(rc: u32) -> Result<(), ResultCode> {
    ResultCode::from_raw(rc).into_result()
}

#[inline(always)]
fn handle_count(handles: &[Handle]) -> Result<u32, ResultCode> {
    if handles.len() > HANDLE_COUNT_MAX {
        return Err(DOES_NOT_FIT);
    }
    u32::try_from(handles.len()).map_err(|_| DOES_NOT_FIT)
}

/// 0x01 SetHeapSize: x1 = size (a multiple of 2 MiB) -> x1 = heap address.
///
/// # Safety
/// Shrinking the heap unmaps memory: nothing may still use the part that goes away.
#[inline]
pub unsafe fn set_heap_size(size: usize) -> Result<usize, ResultCode> {
    let rc: u32;
    let address: usize;
    // SAFETY: svc 0x01 reads x1, writes w0 and x1; the caller guarantees the unmapped
    // part is unused; registers the kernel may clobber are declared by clobber_abi.
    unsafe {
        asm!("svc #0x01", lateout("x0") rc, inlateout("x1") size => address,
             options(nostack), clobber_abi("C"));
    }
    check(rc).map(|()| address)
}

/// 0x06 QueryMemory: x0 = MemoryInfo*, x2 = address -> w1 = page info.
#[inline]
pub fn query_memory(address: usize) -> Result<(MemoryInfo, u32), ResultCode> {
    let mut info = MemoryInfo::default();
    let rc: u32;
    let page_info: u32;
    // SAFETY: the kernel writes 0x28 bytes to x0, which points at `info`, a live local of
    // that size; w0/w1 are outputs; the rest is declared clobbered.
    unsafe {
        asm!("svc #0x06", in("x0") &raw mut info, lateout("x0") rc, lateout("x1") page_info,
             in("x2") address, options(nostack), clobber_abi("C"));
    }
    check(rc).map(|()| (info, page_info))
}

/// 0x07 ExitProcess. On hardware it does not return; in eden-cli it returns
/// (emulator-bench.md §5), so this function can return and callers must park afterwards.
#[inline]
pub fn exit_process() {
    // SAFETY: svc 0x07 takes no arguments; if it returns, only clobbered registers changed.
    unsafe {
        asm!("svc #0x07", options(nostack), clobber_abi("C"));
    }
}

/// 0x08 CreateThread: x1 = entry, x2 = argument, x3 = stack top, w4 = priority,
/// w5 = core id (-2 = the process default) -> w1 = thread handle.
///
/// # Safety
/// `stack_top` must be the 16-byte aligned end of memory that only the new thread uses
/// for as long as it runs, and `entry(argument)` must be sound to run on it.
#[inline]
pub unsafe fn create_thread(
    entry: extern "C" fn(usize) -> !,
    argument: usize,
    stack_top: usize,
    priority: i32,
    core_id: i32,
) -> Result<Handle, ResultCode> {
    let rc: u32;
    let handle: Handle;
    // SAFETY: svc 0x08 reads x1-x5 and writes w0/w1; the caller vouches for the stack.
    unsafe {
        asm!("svc #0x08", lateout("x0") rc, in("x1") entry as usize, lateout("x1") handle,
             in("x2") argument, in("x3") stack_top, in("x4") priority, in("x5") core_id,
             options(nostack), clobber_abi("C"));
    }
    check(rc).map(|()| handle)
}

/// 0x09 StartThread: w0 = thread handle.
#[inline]
pub fn start_thread(thread: Handle) -> Result<(), ResultCode> {
    let rc: u32;
    // SAFETY: svc 0x09 reads w0 and writes w0.
    unsafe {
        asm!("svc #0x09", inlateout("x0") thread => rc, options(nostack), clobber_abi("C"));
    }
    check(rc)
}

/// 0x0A ExitThread. Does not return on hardware; if an emulator returns, the thread sleeps
/// forever.
#[inline]
pub fn exit_thread() -> ! {
    // SAFETY: svc 0x0A takes no arguments.
    unsafe {
        asm!("svc #0x0a", options(nostack), clobber_abi("C"));
    }
    loop {
        sleep_thread(i64::MAX);
    }
}

/// 0x0B SleepThread: x0 = nanoseconds (0, -1, -2 are the yield kinds).
#[inline]
pub fn sleep_thread(nanoseconds: i64) {
    // SAFETY: svc 0x0B reads x0 and writes w0 (always success).
    unsafe {
        asm!("svc #0x0b", inlateout("x0") nanoseconds => _, options(nostack),
             clobber_abi("C"));
    }
}

/// Memory permissions of svcMapSharedMemory, svcCreateTransferMemory and `MemoryInfo`
/// (Atmosphère `svc_types_common.hpp` `MemoryPermission`).
pub mod perm {
    pub const NONE: u32 = 0;
    pub const R: u32 = 1;
    pub const W: u32 = 2;
    pub const RW: u32 = R | W;
}

/// 0x13 MapSharedMemory: w0 = shared-memory handle, x1 = address, x2 = size, w3 =
/// permission (Atmosphère `svc_definition_macro.hpp` id 0x13; `kern_svc_shared_memory.cpp`
/// `MapSharedMemory`: page-aligned, inside the address space's alias-free regions).
///
/// Mapping only fills free address space (the kernel refuses anything else), so no Rust
/// value can be affected: safe.
#[inline]
pub fn map_shared_memory(handle: Handle, address: usize, size: usize, permission: u32) -> Result<(), ResultCode> {
    let rc: u32;
    // SAFETY: svc 0x13 reads w0-w3 and writes w0; it maps pages only where the kernel finds
    // the range free, so no memory Rust owns changes.
    unsafe {
        asm!("svc #0x13", inlateout("x0") handle => rc, in("x1") address, in("x2") size,
             in("x3") permission, options(nostack), clobber_abi("C"));
    }
    check(rc)
}

/// 0x14 UnmapSharedMemory: w0 = shared-memory handle, x1 = address, x2 = size.
///
/// # Safety
/// No reference into `address..address + size` may be used afterwards.
#[inline]
pub unsafe fn unmap_shared_memory(handle: Handle, address: usize, size: usize) -> Result<(), ResultCode> {
    let rc: u32;
    // SAFETY: svc 0x14 reads w0-x2 and writes w0; the caller vouches that nothing uses the
    // range afterwards.
    unsafe {
        asm!("svc #0x14", inlateout("x0") handle => rc, in("x1") address, in("x2") size,
             options(nostack), clobber_abi("C"));
    }
    check(rc)
}

/// 0x15 CreateTransferMemory: x1 = address, x2 = size, w3 = permission left to the owner
/// -> w1 = handle (Atmosphère `svc_definition_macro.hpp` id 0x15; libnx `svcCreateTransferMemory`
/// passes the out pointer in x0, which the kernel ignores).
///
/// # Safety
/// Until the object is gone (handle closed and every server reference released: poll
/// [`query_memory`] until the permission is back), the owner's range has `permission`:
/// with [`perm::NONE`] nothing may read or write it, not even the allocator.
#[inline]
pub unsafe fn create_transfer_memory(address: usize, size: usize, permission: u32) -> Result<Handle, ResultCode> {
    let rc: u32;
    let handle: u64;
    // SAFETY: svc 0x15 reads x1-w3 and writes w0/w1; the caller keeps the range untouched
    // while it is transfer memory.
    unsafe {
        asm!("svc #0x15", lateout("x0") rc, inlateout("x1") address as u64 => handle, in("x2") size,
             in("x3") permission, options(nostack), clobber_abi("C"));
    }
    check(rc).map(|()| handle as Handle)
}

/// 0x16 CloseHandle: w0 = handle.
#[inline]
pub fn close_handle(handle: Handle) -> Result<(), ResultCode> {
    let rc: u32;
    // SAFETY: svc 0x16 reads w0 and writes w0.
    unsafe {
        asm!("svc #0x16", inlateout("x0") handle => rc, options(nostack), clobber_abi("C"));
    }
    check(rc)
}

/// 0x18 WaitSynchronization: x1 = handles, w2 = count (<= 0x40), x3 = timeout ns
/// (negative = forever) -> w1 = index of the signalled handle.
#[inline]
pub fn wait_synchronization(handles: &[Handle], timeout_ns: i64) -> Result<usize, ResultCode> {
    let count = handle_count(handles)?;
    let rc: u32;
    let index: u32;
    // SAFETY: the kernel reads `count` handles from x1, which points at `handles`.
    unsafe {
        asm!("svc #0x18", lateout("x0") rc, in("x1") handles.as_ptr(), lateout("x1") index,
             in("x2") count, in("x3") timeout_ns, options(nostack, readonly),
             clobber_abi("C"));
    }
    check(rc)?;
    usize::try_from(index).map_err(|_| DOES_NOT_FIT)
}

/// 0x1E GetSystemTick -> x0 = ticks (19.2 MHz).
#[inline]
pub fn get_system_tick() -> u64 {
    let ticks: u64;
    // SAFETY: svc 0x1E takes no arguments and writes x0.
    unsafe {
        asm!("svc #0x1e", lateout("x0") ticks, options(nostack, nomem), clobber_abi("C"));
    }
    ticks
}

/// 0x1F ConnectToNamedPort: x1 = NUL-terminated name (at most 11 bytes + NUL) -> w1 =
/// client session.
#[inline]
pub fn connect_to_named_port(name: &CStr) -> Result<Handle, ResultCode> {
    let rc: u32;
    let session: Handle;
    // SAFETY: the kernel reads the NUL-terminated string at x1.
    unsafe {
        asm!("svc #0x1f", lateout("x0") rc, in("x1") name.as_ptr(), lateout("x1") session,
             options(nostack, readonly), clobber_abi("C"));
    }
    check(rc).map(|()| session)
}

/// 0x21 SendSyncRequest: w0 = client session; the message is the TLS message buffer.
///
/// # Safety
/// The kernel reads and rewrites the calling thread's TLS message buffer: no reference to
/// it may be live across the call (use [`crate::tls::MessageBuffer::send_sync_request`]).
#[inline]
pub unsafe fn send_sync_request(session: Handle) -> Result<(), ResultCode> {
    let rc: u32;
    // SAFETY: reads w0, writes w0 and the TLS message buffer (caller's obligation above).
    unsafe {
        asm!("svc #0x21", inlateout("x0") session => rc, options(nostack),
             clobber_abi("C"));
    }
    check(rc)
}

/// 0x26 Break: w0 = reason, x1 = info pointer, x2 = info size. Stops the process on
/// hardware; in Eden it returns (emulator-bench.md §5).
#[inline]
pub fn break_(reason: BreakReason, info: &[u8]) -> Result<(), ResultCode> {
    let rc: u32;
    // SAFETY: the kernel reads at most `info.len()` bytes at x1.
    unsafe {
        asm!("svc #0x26", inlateout("x0") reason as u32 => rc, in("x1") info.as_ptr(),
             in("x2") info.len(), options(nostack, readonly), clobber_abi("C"));
    }
    check(rc)
}

/// 0x27 OutputDebugString: x0 = pointer, x1 = length (no NUL).
#[inline]
pub fn output_debug_string(text: &[u8]) -> Result<(), ResultCode> {
    let rc: u32;
    // SAFETY: the kernel reads `text.len()` bytes at x0.
    unsafe {
        asm!("svc #0x27", in("x0") text.as_ptr(), lateout("x0") rc, in("x1") text.len(),
             options(nostack, readonly), clobber_abi("C"));
    }
    check(rc)
}

/// 0x29 GetInfo: w1 = info id, w2 = handle, x3 = sub-id -> x1 = value.
#[inline]
pub fn get_info(id: u32, handle: Handle, sub_id: u64) -> Result<u64, ResultCode> {
    let rc: u32;
    let value: u64;
    // SAFETY: svc 0x29 reads w1-x3, writes w0/x1.
    unsafe {
        asm!("svc #0x29", lateout("x0") rc, in("x1") id, lateout("x1") value, in("x2") handle,
             in("x3") sub_id, options(nostack, nomem), clobber_abi("C"));
    }
    check(rc).map(|()| value)
}

/// 0x40 CreateSession: w2 = is_light, x3 = name -> w1 = server session, w2 = client
/// session.
#[inline]
pub fn create_session(is_light: bool, name: u64) -> Result<(Handle, Handle), ResultCode> {
    let rc: u32;
    let server: Handle;
    let client: Handle;
    // SAFETY: svc 0x40 reads w2/x3, writes w0-w2.
    unsafe {
        asm!("svc #0x40", lateout("x0") rc, lateout("x1") server,
             inlateout("x2") u32::from(is_light) => client, in("x3") name,
             options(nostack, nomem), clobber_abi("C"));
    }
    check(rc).map(|()| (server, client))
}

/// 0x41 AcceptSession: w1 = server port -> w1 = server session.
#[inline]
pub fn accept_session(port: Handle) -> Result<Handle, ResultCode> {
    let rc: u32;
    let session: Handle;
    // SAFETY: svc 0x41 reads w1, writes w0/w1.
    unsafe {
        asm!("svc #0x41", lateout("x0") rc, inlateout("x1") port => session,
             options(nostack, nomem), clobber_abi("C"));
    }
    check(rc).map(|()| session)
}

/// What a failed ReplyAndReceive reports: the result and the index the kernel wrote
/// (meaningful for per-session receive errors; see emulator-bench.md "What this means"
/// item 3 for how emulators differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplyAndReceiveError {
    pub result: ResultCode,
    pub index: i32,
}

/// 0x43 ReplyAndReceive: x1 = handles, w2 = count, w3 = reply target (0 = none), x4 =
/// timeout ns -> w1 = index of the signalled handle.
///
/// # Safety
/// The kernel reads the reply from and writes the request into the calling thread's TLS
/// message buffer: no reference to it may be live across the call (use
/// [`crate::tls::MessageBuffer::reply_and_receive`]).
#[inline]
pub unsafe fn reply_and_receive(
    handles: &[Handle],
    reply_target: Handle,
    timeout_ns: i64,
) -> Result<i32, ReplyAndReceiveError> {
    let count = handle_count(handles).map_err(|result| ReplyAndReceiveError { result, index: -1 })?;
    let rc: u32;
    let index: i32;
    // SAFETY: the kernel reads `count` handles at x1 (pointing at `handles`) and the TLS
    // message buffer (the caller's obligation above).
    unsafe {
        asm!("svc #0x43", lateout("x0") rc, in("x1") handles.as_ptr(), lateout("x1") index,
             in("x2") count, in("x3") reply_target, in("x4") timeout_ns,
             options(nostack), clobber_abi("C"));
    }
    match check(rc) {
        Ok(()) => Ok(index),
        Err(result) => Err(ReplyAndReceiveError { result, index }),
    }
}

/// 0x70 CreatePort: w2 = max sessions, w3 = is_light, x4 = name -> w1 = server port,
/// w2 = client port.
#[inline]
pub fn create_port(max_sessions: i32, is_light: bool, name: u64) -> Result<(Handle, Handle), ResultCode> {
    let rc: u32;
    let server: Handle;
    let client: Handle;
    // SAFETY: svc 0x70 reads w2-x4, writes w0-w2.
    unsafe {
        asm!("svc #0x70", lateout("x0") rc, lateout("x1") server,
             in("x2") max_sessions, lateout("x2") client, in("x3") u32::from(is_light),
             in("x4") name, options(nostack, nomem), clobber_abi("C"));
    }
    check(rc).map(|()| (server, client))
}

/// 0x71 ManageNamedPort: x1 = NUL-terminated name, w2 = max sessions -> w1 = server port.
#[inline]
pub fn manage_named_port(name: &CStr, max_sessions: i32) -> Result<Handle, ResultCode> {
    let rc: u32;
    let port: Handle;
    // SAFETY: the kernel reads the NUL-terminated string at x1.
    unsafe {
        asm!("svc #0x71", lateout("x0") rc, in("x1") name.as_ptr(), lateout("x1") port,
             in("x2") max_sessions, options(nostack, readonly), clobber_abi("C"));
    }
    check(rc).map(|()| port)
}

/// 0x72 ConnectToPort: w1 = client port -> w1 = client session.
#[inline]
pub fn connect_to_port(port: Handle) -> Result<Handle, ResultCode> {
    let rc: u32;
    let session: Handle;
    // SAFETY: svc 0x72 reads w1, writes w0/w1.
    unsafe {
        asm!("svc #0x72", lateout("x0") rc, inlateout("x1") port => session,
             options(nostack, nomem), clobber_abi("C"));
    }
    check(rc).map(|()| session)
}

//! The thread-local region (TLS) under the 21.0.0 ABI (runtime-abi.md §0).
//!
//! ```text
//! tpidrro_el0 -> +0x000  message buffer, 0x100 bytes (IPC)          [MessageBuffer]
//!                +0x100  Nintendo-reserved (kernel writes 0x100-0x117): never touched,
//!                        except +0x104 (cache_maintenance_flag) by memory::clean_data_cache
//!                +0x180  rt's per-thread data (RuntimeTls, 0x60 bytes)
//!                +0x1E0  ThreadVars, libnx-compatible layout (0x20 bytes)
//!                +0x200  end
//! ```
//! rt only ever forms pointers to its own fields (0x180-0x1FF) and to the message buffer;
//! it never creates a reference that covers 0x100-0x17F, which the kernel writes behind
//! the program's back.
//!
//! When launched by hbloader, the main thread is hbloader's main thread: its 0x180-0x1FF
//! belong to hbloader's libnx and are saved at startup and restored before returning
//! ([`save_loader_area`] / [`restore_loader_area`]).

#[cfg(target_os = "horizon")]
use core::marker::PhantomData;
use core::mem::{offset_of, size_of};

#[cfg(target_os = "horizon")]
use crate::result::ResultCode;
#[cfg(target_os = "horizon")]
use crate::svc::{self, Handle, ReplyAndReceiveError};

/// Size of a thread's TLS region.
pub const TLS_SIZE: usize = 0x200;
/// Offset and size of the IPC message buffer.
pub const MESSAGE_BUFFER_OFFSET: usize = 0;
pub use xcbuf_common::hipc::TLS_MESSAGE_BUFFER_SIZE as MESSAGE_BUFFER_SIZE;
/// Start and end (exclusive) of the range firmware 21.0.0 uses: never touched.
pub const NINTENDO_RESERVED_BEGIN: usize = 0x100;
pub const NINTENDO_RESERVED_END: usize = 0x180;
/// First byte the runtime may use (libnx `USER_TLS_BEGIN`).
pub const USER_TLS_BEGIN: usize = 0x180;
/// Offset of [`ThreadVars`].
pub const THREAD_VARS_OFFSET: usize = 0x1E0;
/// `ThreadVars::magic`: `!TV$` (runtime-abi.md §0).
pub const THREAD_VARS_MAGIC: u32 = 0x2154_5624;

/// The TLS region as a layout description (never instantiated as a reference).
#[repr(C)]
pub struct ThreadLocalRegion {
    pub message_buffer: [u32; MESSAGE_BUFFER_SIZE / 4],
    pub nintendo_reserved: [u8; NINTENDO_RESERVED_END - NINTENDO_RESERVED_BEGIN],
    pub runtime: RuntimeTls,
    pub thread_vars: ThreadVars,
}

/// rt's per-thread data, TLS 0x180-0x1DF.
#[repr(C)]
pub struct RuntimeTls {
    /// Non-zero while a [`MessageBuffer`] exists on this thread.
    pub message_buffer_borrowed: u32,
    pub reserved: [u32; 23],
}

/// libnx-compatible thread variables, TLS 0x1E0-0x1FF (runtime-abi.md §0): magic, thread
/// handle, thread object pointer, reent pointer, tls_tp.
#[repr(C)]
pub struct ThreadVars {
    pub magic: u32,
    pub handle: u32,
    pub thread: u64,
    pub reent: u64,
    pub tls_tp: u64,
}

static_assertions::const_assert_eq!(size_of::<ThreadLocalRegion>(), TLS_SIZE);
static_assertions::const_assert_eq!(offset_of!(ThreadLocalRegion, message_buffer), MESSAGE_BUFFER_OFFSET);
static_assertions::const_assert_eq!(offset_of!(ThreadLocalRegion, nintendo_reserved), NINTENDO_RESERVED_BEGIN);
static_assertions::const_assert_eq!(offset_of!(ThreadLocalRegion, runtime), USER_TLS_BEGIN);
static_assertions::const_assert_eq!(offset_of!(ThreadLocalRegion, thread_vars), THREAD_VARS_OFFSET);
static_assertions::const_assert_eq!(size_of::<RuntimeTls>(), THREAD_VARS_OFFSET - USER_TLS_BEGIN);
static_assertions::const_assert_eq!(size_of::<ThreadVars>(), 0x20);
static_assertions::const_assert_eq!(offset_of!(ThreadVars, tls_tp), 0x18);

/// Size of the area saved for hbloader (0x180-0x1FF).
pub const LOADER_AREA_SIZE: usize = TLS_SIZE - USER_TLS_BEGIN;

/// The calling thread's TLS base (`tpidrro_el0`).
#[cfg(target_os = "horizon")]
#[inline(always)]
pub fn base() -> *mut u8 {
    let tls: *mut u8;
    // SAFETY: reading tpidrro_el0 has no side effect; the kernel keeps it pointing at this
    // thread's 0x200-byte TLS region.
    unsafe {
        core::arch::asm!("mrs {}, tpidrro_el0", out(reg) tls,
                         options(nomem, nostack, preserves_flags));
    }
    tls
}

#[cfg(target_os = "horizon")]
fn runtime_field<T>(offset: usize) -> *mut T {
    debug_assert!(offset >= USER_TLS_BEGIN && offset + size_of::<T>() <= TLS_SIZE);
    base().wrapping_add(offset).cast::<T>()
}

#[cfg(target_os = "horizon")]
const BORROWED_OFFSET: usize = USER_TLS_BEGIN + offset_of!(RuntimeTls, message_buffer_borrowed);

/// Writes this thread's [`ThreadVars`] (magic and handle; the other fields 0) and clears
/// rt's per-thread data. Called by rt for the main thread and for each thread it starts.
#[cfg(target_os = "horizon")]
pub(crate) fn init_thread(handle: Handle) {
    let runtime = runtime_field::<RuntimeTls>(USER_TLS_BEGIN);
    let vars = runtime_field::<ThreadVars>(THREAD_VARS_OFFSET);
    // SAFETY: both pointers are inside this thread's TLS region at 0x180-0x1FF, which only
    // rt uses (after save_loader_area for hbloader's thread); the regions are aligned
    // (TLS is 0x200-aligned) and no reference to them exists.
    unsafe {
        runtime.write(RuntimeTls { message_buffer_borrowed: 0, reserved: [0; 23] });
        vars.write(ThreadVars { magic: THREAD_VARS_MAGIC, handle, thread: 0, reent: 0, tls_tp: 0 });
    }
}

/// The calling thread's handle as rt recorded it (0 on a thread rt did not set up).
#[cfg(target_os = "horizon")]
pub fn current_thread_handle() -> Handle {
    let vars = runtime_field::<ThreadVars>(THREAD_VARS_OFFSET);
    // SAFETY: aligned, inside this thread's TLS, plain u32 reads of rt's own data.
    unsafe {
        if (&raw const (*vars).magic).read_volatile() != THREAD_VARS_MAGIC {
            return 0;
        }
        (&raw const (*vars).handle).read_volatile()
    }
}

/// Copies TLS 0x180-0x1FF (hbloader's libnx data) out before rt uses it.
#[cfg(target_os = "horizon")]
pub(crate) fn save_loader_area(save: &mut [u8; LOADER_AREA_SIZE]) {
    let src = base().wrapping_add(USER_TLS_BEGIN);
    // SAFETY: 0x80 readable bytes of this thread's TLS into a distinct local buffer.
    unsafe { core::ptr::copy_nonoverlapping(src, save.as_mut_ptr(), LOADER_AREA_SIZE) };
}

/// Puts back what [`save_loader_area`] saved, right before returning to hbloader.
#[cfg(target_os = "horizon")]
pub(crate) fn restore_loader_area(save: &[u8; LOADER_AREA_SIZE]) {
    let dst = base().wrapping_add(USER_TLS_BEGIN);
    // SAFETY: writes only 0x180-0x1FF of this thread's TLS, which rt owns; no reference to
    // that memory is live.
    unsafe { core::ptr::copy_nonoverlapping(save.as_ptr(), dst, LOADER_AREA_SIZE) };
}

/// Exclusive access to the calling thread's IPC message buffer (TLS+0, 0x100 bytes).
///
/// Obtained through [`with_message_buffer`]; at most one exists per thread at a time, and
/// it cannot leave the thread. The svcs that use the buffer are methods, so the compiler
/// knows they read and write it.
#[cfg(target_os = "horizon")]
pub struct MessageBuffer {
    words: *mut [u32; MESSAGE_BUFFER_SIZE / 4],
    _not_send: PhantomData<*mut ()>,
}

#[cfg(target_os = "horizon")]
impl MessageBuffer {
    /// The 64 words of the message buffer.
    pub fn words(&mut self) -> &mut [u32; MESSAGE_BUFFER_SIZE / 4] {
        // SAFETY: `words` is this thread's TLS+0, aligned, 0x100 bytes that only this
        // guard may touch (the borrow flag makes it unique), and the kernel writes it only
        // during the svcs below, which take `&mut self`.
        unsafe { &mut *self.words }
    }

    /// svcSendSyncRequest with the message in this buffer; the reply replaces it.
    pub fn send_sync_request(&mut self, session: Handle) -> Result<(), ResultCode> {
        let words = self.words;
        // SAFETY: no reference into the buffer outlives `&mut self`; the asm barrier below
        // publishes the pointer so the compiler treats the buffer as read and written.
        unsafe {
            escape(words);
            let result = svc::send_sync_request(session);
            escape(words);
            result
        }
    }

    /// svcReplyAndReceive: replies with this buffer's message (when `reply_target` is not
    /// 0) and receives the next request into it.
    pub fn reply_and_receive(
        &mut self,
        handles: &[Handle],
        reply_target: Handle,
        timeout_ns: i64,
    ) -> Result<i32, ReplyAndReceiveError> {
        let words = self.words;
        // SAFETY: as in send_sync_request.
        unsafe {
            escape(words);
            let result = svc::reply_and_receive(handles, reply_target, timeout_ns);
            escape(words);
            result
        }
    }
}

/// A compiler barrier that makes `pointer`'s memory count as read and written.
#[cfg(target_os = "horizon")]
#[inline(always)]
unsafe fn escape<T>(pointer: *mut T) {
    // SAFETY: an empty asm block; it only tells the compiler the memory may change.
    unsafe { core::arch::asm!("/* {0} */", in(reg) pointer, options(nostack, preserves_flags)) };
}

#[cfg(target_os = "horizon")]
impl Drop for MessageBuffer {
    fn drop(&mut self) {
        let flag = runtime_field::<u32>(BORROWED_OFFSET);
        // SAFETY: rt's own per-thread flag, aligned, inside this thread's TLS.
        unsafe { flag.write_volatile(0) };
    }
}

/// Runs `f` with exclusive access to this thread's message buffer.
///
/// Panics if called again while a [`MessageBuffer`] is alive on the same thread (a
/// programming error: two users would overwrite each other's message).
#[cfg(target_os = "horizon")]
pub fn with_message_buffer<R>(f: impl FnOnce(&mut MessageBuffer) -> R) -> R {
    let flag = runtime_field::<u32>(BORROWED_OFFSET);
    // SAFETY: rt's own per-thread flag (TLS 0x180), aligned; only this thread touches it.
    let borrowed = unsafe { flag.read_volatile() };
    assert!(borrowed == 0, "TLS message buffer already in use on this thread");
    // SAFETY: as above.
    unsafe { flag.write_volatile(1) };
    let mut buffer = MessageBuffer { words: base().wrapping_add(MESSAGE_BUFFER_OFFSET).cast(), _not_send: PhantomData };
    f(&mut buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_data_stays_in_0x180_to_0x1ff_of_the_21_0_0_tls() {
        assert_eq!(offset_of!(ThreadLocalRegion, runtime), 0x180);
        assert_eq!(offset_of!(ThreadLocalRegion, thread_vars), 0x1E0);
        assert_eq!(size_of::<ThreadLocalRegion>(), 0x200);
        assert!(USER_TLS_BEGIN >= NINTENDO_RESERVED_END);
        assert_eq!(THREAD_VARS_MAGIC.to_le_bytes(), *b"$VT!");
    }
}

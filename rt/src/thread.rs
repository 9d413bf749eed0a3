//! Threads: create, start, join. Stacks and the start block come from the global heap
//! (runtime-abi.md §6), so a program's heap must cover its threads' stacks.
//!
//! Placement is checked before the svc: priorities 28-59 and cores 0-2 or -2 (the process
//! default) are the ranges that start on hardware, Eden and Ryujinx alike
//! (emulator-bench.md §1 "CreateThread limits"); anything else is
//! [`INVALID_PRIORITY`]/[`INVALID_CORE_ID`], the kernel's own codes.
//!
//! A thread runs its closure, then svcExitThread. [`JoinHandle::join`] waits for the
//! thread handle to be signalled (thread exit), closes it and frees the stack. Dropping a
//! `JoinHandle` without joining closes the handle and leaks the stack (the thread may
//! still run on it). A panic on any thread ends the whole program (see the panic handler).
//!
//! rt counts the threads started here and not yet joined ([`alive`]): a thread is counted
//! from just before svcStartThread until [`JoinHandle::join`] has seen it exit, so a thread
//! whose `JoinHandle` was dropped stays counted for good. [`crate::exit`] returns to
//! hbloader only when the count is 0 ([`crate::exit_path`]).

use core::alloc::Layout;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::result::{INVALID_CORE_ID, INVALID_PRIORITY, ResultCode};

/// Lowest (numerically) priority accepted.
pub const PRIORITY_MIN: i32 = 28;
/// Highest (numerically) priority accepted.
pub const PRIORITY_MAX: i32 = 59;
/// The default priority (Eden's and Ryujinx's main-thread priority).
pub const PRIORITY_DEFAULT: i32 = 44;
/// "Use the process default core".
pub const CORE_DEFAULT: i32 = -2;
/// Highest core accepted.
pub const CORE_MAX: i32 = 2;
/// Default stack size (runtime-abi.md §6: 0x8000).
pub const STACK_SIZE_DEFAULT: usize = 0x8000;
/// Stacks are whole pages, page-aligned.
pub const STACK_ALIGN: usize = 0x1000;

/// Where and how a thread runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Builder {
    pub stack_size: usize,
    pub priority: i32,
    pub core: i32,
}

impl Default for Builder {
    fn default() -> Self {
        Builder { stack_size: STACK_SIZE_DEFAULT, priority: PRIORITY_DEFAULT, core: CORE_DEFAULT }
    }
}

/// Checks a priority and a core against the portable ranges.
pub fn check_placement(priority: i32, core: i32) -> Result<(), ResultCode> {
    if !(PRIORITY_MIN..=PRIORITY_MAX).contains(&priority) {
        return Err(INVALID_PRIORITY);
    }
    if core != CORE_DEFAULT && !(0..=CORE_MAX).contains(&core) {
        return Err(INVALID_CORE_ID);
    }
    Ok(())
}

/// The stack layout for `size` bytes: rounded up to whole pages; `None` for 0 or overflow.
pub fn stack_layout(size: usize) -> Option<Layout> {
    if size == 0 {
        return None;
    }
    let rounded = size.checked_add(STACK_ALIGN - 1)? & !(STACK_ALIGN - 1);
    Layout::from_size_align(rounded, STACK_ALIGN).ok()
}

/// `"XCBSTAK1"` read as a little-endian u64: marks a valid [`ThreadStacks`].
pub const THREAD_STACKS_MAGIC: u64 = u64::from_le_bytes(*b"XCBSTAK1");
/// Stacks [`XCBUF_RT_THREAD_STACKS`] can list; a thread spawned while all are taken is
/// not listed (it runs all the same).
pub const THREAD_STACK_SLOTS: usize = 4;

/// One listed stack: `base` 0 = free slot.
#[repr(C)]
pub struct StackSlot {
    /// Lowest address of the stack.
    pub base: AtomicUsize,
    /// Its size in bytes (whole pages).
    pub size: AtomicUsize,
}

/// The stacks of the threads spawned here and not joined, for an observer outside the
/// program (runtime contract, like `heap::XCBUF_RT_HEAP_STATS`): `+0x00 magic` =
/// [`THREAD_STACKS_MAGIC`], then [`THREAD_STACK_SLOTS`] pairs of little-endian u64 words
/// `base, size`. Stacks are zeroed when spawned, so an observer that reads a stack from
/// `base` up finds the lowest byte the thread ever wrote (`make bench`'s "stack peak"
/// figures, from which the sysmodule's stacks are sized).
#[repr(C)]
pub struct ThreadStacks {
    /// Always [`THREAD_STACKS_MAGIC`].
    pub magic: u64,
    pub slots: [StackSlot; THREAD_STACK_SLOTS],
}

/// The one [`ThreadStacks`] of the program, under a stable unmangled name.
#[unsafe(no_mangle)]
pub static XCBUF_RT_THREAD_STACKS: ThreadStacks = ThreadStacks {
    magic: THREAD_STACKS_MAGIC,
    slots: [const { StackSlot { base: AtomicUsize::new(0), size: AtomicUsize::new(0) } }; THREAD_STACK_SLOTS],
};

/// Lists the stack at `base` (first free slot; not listed when none is free).
fn list_stack(base: usize, size: usize) {
    for slot in &XCBUF_RT_THREAD_STACKS.slots {
        if slot.base.compare_exchange(0, base, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            slot.size.store(size, Ordering::Release);
            return;
        }
    }
}

/// Removes the stack at `base` from the list (its thread was joined).
#[cfg_attr(not(target_os = "horizon"), allow(dead_code))]
fn unlist_stack(base: usize) {
    for slot in &XCBUF_RT_THREAD_STACKS.slots {
        if slot.base.compare_exchange(base, 0, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            slot.size.store(0, Ordering::Release);
            return;
        }
    }
}

#[cfg(target_os = "horizon")]
pub use horizon::{JoinHandle, alive, spawn};

#[cfg(target_os = "horizon")]
mod horizon {
    use alloc::boxed::Box;

    use super::*;
    use crate::result::{ALLOCATION_FAILED, DOES_NOT_FIT};
    use crate::svc::{self, Handle};

    /// Threads started and not joined (module doc).
    static ALIVE: AtomicUsize = AtomicUsize::new(0);

    /// The number of threads started with [`Builder::spawn`] and not joined.
    pub fn alive() -> usize {
        ALIVE.load(Ordering::Acquire)
    }

    struct StartBlock {
        handle: Handle,
        body: Option<Box<dyn FnOnce() + Send + 'static>>,
    }

    /// A started thread; [`JoinHandle::join`] waits for it.
    pub struct JoinHandle {
        handle: Handle,
        stack: *mut u8,
        stack_layout: Layout,
        start: *mut StartBlock,
    }

    impl Builder {
        /// Creates and starts a thread running `body`.
        pub fn spawn<F: FnOnce() + Send + 'static>(self, body: F) -> Result<JoinHandle, ResultCode> {
            check_placement(self.priority, self.core)?;
            let layout = stack_layout(self.stack_size).ok_or(DOES_NOT_FIT)?;
            // Zeroed, like the main thread's stack the kernel maps: the bytes a thread ever
            // wrote are then the non-zero ones, which is how `make bench` measures the
            // stack a thread used (the sysmodule's stacks are sized from it).
            // SAFETY: the layout has a non-zero size.
            let stack = unsafe { alloc::alloc::alloc_zeroed(layout) };
            if stack.is_null() {
                return Err(ALLOCATION_FAILED);
            }
            let stack_top = (stack as usize).checked_add(layout.size()).ok_or(DOES_NOT_FIT)?;
            let start = Box::into_raw(Box::new(StartBlock { handle: 0, body: Some(Box::new(body)) }));
            // SAFETY: [stack, stack_top) is a fresh allocation only the new thread uses
            // until join frees it; `start` stays alive until join (or leaks).
            let created = unsafe {
                svc::create_thread(thread_entry, start.expose_provenance(), stack_top, self.priority, self.core)
            };
            let handle = match created {
                Ok(handle) => handle,
                Err(rc) => {
                    // SAFETY: the thread was not created: both allocations are still ours.
                    unsafe {
                        drop(Box::from_raw(start));
                        alloc::alloc::dealloc(stack, layout);
                    }
                    return Err(rc);
                }
            };
            // SAFETY: the thread has not started, nothing else touches the block.
            unsafe { (*start).handle = handle };
            // Counted before it can run, so no exit can miss it.
            ALIVE.fetch_add(1, Ordering::AcqRel);
            list_stack(stack.expose_provenance(), layout.size());
            if let Err(rc) = svc::start_thread(handle) {
                ALIVE.fetch_sub(1, Ordering::AcqRel);
                unlist_stack(stack.expose_provenance());
                let _ = svc::close_handle(handle);
                // SAFETY: the thread never ran.
                unsafe {
                    drop(Box::from_raw(start));
                    alloc::alloc::dealloc(stack, layout);
                }
                return Err(rc);
            }
            Ok(JoinHandle { handle, stack, stack_layout: layout, start })
        }
    }

    /// Spawns with [`Builder::default`].
    pub fn spawn<F: FnOnce() + Send + 'static>(body: F) -> Result<JoinHandle, ResultCode> {
        Builder::default().spawn(body)
    }

    impl JoinHandle {
        /// The thread's kernel handle.
        pub fn handle(&self) -> Handle {
            self.handle
        }

        /// Waits for the thread to exit, then frees its stack and closes its handle.
        pub fn join(self) -> Result<(), ResultCode> {
            svc::wait_synchronization(&[self.handle], -1)?;
            // The thread has exited: it no longer runs code of this image.
            ALIVE.fetch_sub(1, Ordering::AcqRel);
            unlist_stack(self.stack.expose_provenance());
            let _ = svc::close_handle(self.handle);
            // SAFETY: the thread has exited (its handle was signalled): the stack and the
            // start block are no longer used.
            unsafe {
                drop(Box::from_raw(self.start));
                alloc::alloc::dealloc(self.stack, self.stack_layout);
            }
            core::mem::forget(self);
            Ok(())
        }
    }

    impl Drop for JoinHandle {
        fn drop(&mut self) {
            // Not joined: the thread may still be running on its stack, which is leaked.
            let _ = svc::close_handle(self.handle);
        }
    }

    extern "C" fn thread_entry(argument: usize) -> ! {
        let start = core::ptr::with_exposed_provenance_mut::<StartBlock>(argument);
        // SAFETY: `argument` is the StartBlock made by spawn, alive until join; the
        // creator wrote `handle` before svcStartThread and does not touch it afterwards.
        let (handle, body) = unsafe { ((*start).handle, (*start).body.take()) };
        crate::tls::init_thread(handle);
        if let Some(body) = body {
            body();
        }
        svc::exit_thread()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_28_to_59_and_cores_0_to_2_or_default_are_accepted() {
        assert_eq!(check_placement(28, 0), Ok(()));
        assert_eq!(check_placement(59, 2), Ok(()));
        assert_eq!(check_placement(44, -2), Ok(()));
        assert_eq!(check_placement(27, 0), Err(INVALID_PRIORITY));
        assert_eq!(check_placement(60, 0), Err(INVALID_PRIORITY));
        assert_eq!(check_placement(44, 3), Err(INVALID_CORE_ID));
        assert_eq!(check_placement(44, -1), Err(INVALID_CORE_ID));
    }

    #[test]
    fn stack_list_is_magic_then_base_size_pairs_and_slots_are_reused() {
        use core::mem::{offset_of, size_of};
        assert_eq!(THREAD_STACKS_MAGIC.to_le_bytes(), *b"XCBSTAK1");
        assert_eq!(offset_of!(ThreadStacks, slots), 8);
        assert_eq!(size_of::<StackSlot>(), 16);
        assert_eq!(size_of::<ThreadStacks>(), 8 + 16 * THREAD_STACK_SLOTS);
        let slot = |i: usize| {
            let s = &XCBUF_RT_THREAD_STACKS.slots[i];
            (s.base.load(Ordering::Acquire), s.size.load(Ordering::Acquire))
        };
        list_stack(0x10000, 0x2000);
        list_stack(0x20000, 0x1000);
        assert_eq!((slot(0), slot(1)), ((0x10000, 0x2000), (0x20000, 0x1000)));
        unlist_stack(0x10000);
        assert_eq!(slot(0), (0, 0));
        list_stack(0x30000, 0x3000);
        assert_eq!(slot(0), (0x30000, 0x3000));
        unlist_stack(0x30000);
        unlist_stack(0x20000);
    }

    #[test]
    fn stacks_are_whole_pages() {
        assert_eq!(stack_layout(1).unwrap().size(), 0x1000);
        assert_eq!(stack_layout(0x8000).unwrap().size(), 0x8000);
        assert_eq!(stack_layout(0x8001).unwrap().align(), 0x1000);
        assert!(stack_layout(0).is_none());
        assert!(stack_layout(usize::MAX).is_none());
    }
}

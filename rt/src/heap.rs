//! The global allocator: a `linked_list_allocator::Heap` behind [`crate::sync::Mutex`]
//! (runtime-abi.md §6), fed once at startup from the program's [`HeapStrategy`]:
//!
//! - [`HeapStrategy::Loader`] (the default, for the NRO): hbloader's OverrideHeap when the
//!   loader config has one; otherwise (an emulator launch, emulator-bench.md "What this
//!   means" item 1, including Eden's launch with program arguments, whose config has no
//!   OverrideHeap) svcSetHeapSize with `fallback_size` rounded up to a 2 MiB multiple.
//! - [`HeapStrategy::Static`] (the sysmodule): a region in the program's `.bss`, whose size
//!   the program chooses with a [`StaticHeap<N>`]:
//!   ```ignore
//!   static HEAP: rt::heap::StaticHeap<{ 32 * 1024 }> = rt::heap::StaticHeap::new();
//!   rt::entry!(main, heap = rt::heap::HeapStrategy::Static(HEAP.region()));
//!   ```
//!   The sysmodule's footprint is then image + N, fixed at link time.
//!
//! Thread stacks come from this heap too ([`crate::thread`]), so N must cover them.
//! [`used`] and [`peak`] report the bytes in use now and at most; rt logs both when the
//! program exits.
//!
//! # Live figures for an observer ([`HeapStats`], runtime contract)
//! A program that never exits (the sysmodule) never prints the exit line, so the allocator
//! also keeps its figures in one exported static, [`XCBUF_RT_HEAP_STATS`] (that exact,
//! unmangled symbol name), which a debugger or the emulator bench reads from guest memory
//! at `image base + symbol address`. Layout (`#[repr(C)]`, four little-endian u64 words
//! on aarch64): `+0x00 magic` = [`HEAP_STATS_MAGIC`] (`"XCBHEAP1"`), `+0x08 size`,
//! `+0x10 used`, `+0x18 peak`, in bytes. The allocator stores them while it holds its
//! lock (plain stores, no svc, no logging), so they are what [`size`], [`used`] and
//! [`peak`] return.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// `"XCBHEAP1"` read as a little-endian u64: marks a valid [`HeapStats`].
pub const HEAP_STATS_MAGIC: u64 = u64::from_le_bytes(*b"XCBHEAP1");

/// The allocator's live figures, for an observer outside the program (module doc).
#[repr(C)]
pub struct HeapStats {
    /// Always [`HEAP_STATS_MAGIC`].
    pub magic: u64,
    /// Size of the heap region (0 until the heap is set up).
    pub size: AtomicUsize,
    /// Bytes allocated now.
    pub used: AtomicUsize,
    /// Most bytes allocated at once since startup.
    pub peak: AtomicUsize,
}

/// The one [`HeapStats`] of the program, under a stable unmangled name (module doc).
#[unsafe(no_mangle)]
pub static XCBUF_RT_HEAP_STATS: HeapStats = HeapStats {
    magic: HEAP_STATS_MAGIC,
    size: AtomicUsize::new(0),
    used: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

/// Granularity of svcSetHeapSize (runtime-abi.md §2.3, emulator-bench.md §1).
pub const SET_HEAP_SIZE_ALIGN: usize = 0x20_0000;
/// The NRO's default `fallback_size` when launched without a loader heap: 8 MiB.
pub const DEFAULT_FALLBACK_SIZE: usize = 0x80_0000;

/// Where the heap comes from.
#[derive(Clone, Copy, Debug)]
pub enum HeapStrategy {
    /// The loader's OverrideHeap, else svcSetHeapSize(fallback_size rounded up to 2 MiB).
    Loader { fallback_size: usize },
    /// A region inside the program's image, from [`StaticHeap::region`].
    Static(StaticRegion),
}

impl HeapStrategy {
    /// `Loader` with [`DEFAULT_FALLBACK_SIZE`].
    pub const DEFAULT: HeapStrategy = HeapStrategy::Loader { fallback_size: DEFAULT_FALLBACK_SIZE };
}

/// A heap region inside the image. Only [`StaticHeap::region`] makes one, and rt gives it
/// to the allocator at most once.
#[derive(Clone, Copy, Debug)]
// Read by rt's startup, which host builds (the unit tests) do not have.
#[cfg_attr(not(target_os = "horizon"), allow(dead_code))]
pub struct StaticRegion {
    pub(crate) start: *mut u8,
    pub(crate) size: usize,
}

// SAFETY: a StaticRegion is an address range; it grants no access by itself (only rt's
// one-time heap initialisation uses it).
unsafe impl Send for StaticRegion {}
// SAFETY: as above.
unsafe impl Sync for StaticRegion {}

/// Zero-initialised storage for a static heap of `N` bytes (lands in `.bss`).
#[repr(C, align(16))]
pub struct StaticHeap<const N: usize> {
    bytes: UnsafeCell<[u8; N]>,
    taken: AtomicBool,
}

// SAFETY: the bytes are only reached through the StaticRegion handed out once (`taken`),
// and then only by the allocator, which serialises access.
unsafe impl<const N: usize> Sync for StaticHeap<N> {}

impl<const N: usize> StaticHeap<N> {
    pub const fn new() -> Self {
        StaticHeap { bytes: UnsafeCell::new([0; N]), taken: AtomicBool::new(false) }
    }

    /// The region for [`HeapStrategy::Static`]. A second call returns an empty region, so
    /// the same bytes can never feed the allocator twice.
    pub fn region(&'static self) -> StaticRegion {
        if self.taken.swap(true, Ordering::AcqRel) {
            return StaticRegion { start: core::ptr::null_mut(), size: 0 };
        }
        StaticRegion { start: self.bytes.get().cast::<u8>(), size: N }
    }
}

impl<const N: usize> Default for StaticHeap<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Rounds `size` up to a multiple of 2 MiB; `None` on overflow or for 0.
pub const fn set_heap_size_for(size: usize) -> Option<usize> {
    if size == 0 {
        return None;
    }
    match size.checked_add(SET_HEAP_SIZE_ALIGN - 1) {
        Some(v) => Some(v & !(SET_HEAP_SIZE_ALIGN - 1)),
        None => None,
    }
}

#[cfg(target_os = "horizon")]
pub(crate) use allocator::try_stats;
#[cfg(target_os = "horizon")]
pub use allocator::{peak, size, used};

#[cfg(target_os = "horizon")]
pub(crate) use allocator::init;

#[cfg(target_os = "horizon")]
mod allocator {
    use core::alloc::{GlobalAlloc, Layout};
    use core::ptr::{NonNull, null_mut};
    use core::sync::atomic::Ordering;

    use linked_list_allocator::Heap;

    use crate::sync::Mutex;

    use super::XCBUF_RT_HEAP_STATS as STATS;

    struct State {
        heap: Heap,
        peak: usize,
    }

    /// The global allocator (see the module doc).
    pub struct Allocator {
        state: Mutex<State>,
    }

    #[cfg_attr(not(test), global_allocator)]
    static ALLOCATOR: Allocator = Allocator { state: Mutex::new(State { heap: Heap::empty(), peak: 0 }) };

    // SAFETY: allocate_first_fit returns blocks that fit `layout` inside the region given
    // to `init`, disjoint from every live block; deallocate receives only pointers this
    // allocator returned, with their layout (GlobalAlloc's contract on the caller).
    unsafe impl GlobalAlloc for Allocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let mut state = self.state.lock();
            match state.heap.allocate_first_fit(layout) {
                Ok(block) => {
                    let used = state.heap.used();
                    if used > state.peak {
                        state.peak = used;
                        STATS.peak.store(used, Ordering::Relaxed);
                    }
                    STATS.used.store(used, Ordering::Relaxed);
                    block.as_ptr()
                }
                Err(()) => null_mut(),
            }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let Some(block) = NonNull::new(ptr) else { return };
            let mut state = self.state.lock();
            // SAFETY: GlobalAlloc's contract: `ptr` came from `alloc` with this layout.
            unsafe { state.heap.deallocate(block, layout) };
            STATS.used.store(state.heap.used(), Ordering::Relaxed);
        }
    }

    /// Hands `size` bytes at `start` to the allocator. Only the first call has an effect;
    /// it returns false for later calls and for an empty region.
    ///
    /// # Safety
    /// `[start, start + size)` must be writable memory used by nothing else, for the rest
    /// of the program.
    pub(crate) unsafe fn init(start: *mut u8, size: usize) -> bool {
        let mut state = ALLOCATOR.state.lock();
        if state.heap.size() != 0 || start.is_null() || size == 0 {
            return false;
        }
        // SAFETY: the caller's contract.
        unsafe { state.heap.init(start, size) };
        STATS.size.store(state.heap.size(), Ordering::Relaxed);
        true
    }

    /// Bytes of the heap currently allocated.
    pub fn used() -> usize {
        ALLOCATOR.state.lock().heap.used()
    }

    /// Most bytes allocated at once since startup.
    pub fn peak() -> usize {
        ALLOCATOR.state.lock().peak
    }

    /// Size of the heap region.
    pub fn size() -> usize {
        ALLOCATOR.state.lock().heap.size()
    }

    /// (size, used, peak) without waiting for the lock (for exit and panic paths).
    pub(crate) fn try_stats() -> Option<(usize, usize, usize)> {
        let state = ALLOCATOR.state.try_lock()?;
        Some((state.heap.size(), state.heap.used(), state.peak))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_heap_size_rounds_up_to_2_mib_multiples() {
        assert_eq!(set_heap_size_for(1), Some(0x20_0000));
        assert_eq!(set_heap_size_for(0x20_0000), Some(0x20_0000));
        assert_eq!(set_heap_size_for(0x20_0001), Some(0x40_0000));
        assert_eq!(set_heap_size_for(0), None);
        assert_eq!(set_heap_size_for(usize::MAX), None);
    }

    #[test]
    fn heap_stats_layout_is_the_documented_four_words() {
        use core::mem::{offset_of, size_of};
        assert_eq!(HEAP_STATS_MAGIC, 0x3150_4145_4842_4358);
        assert_eq!(HEAP_STATS_MAGIC.to_le_bytes(), *b"XCBHEAP1");
        assert_eq!(offset_of!(HeapStats, magic), 0x00);
        assert_eq!(offset_of!(HeapStats, size), 0x08);
        assert_eq!(offset_of!(HeapStats, used), 0x10);
        assert_eq!(offset_of!(HeapStats, peak), 0x18);
        assert_eq!(size_of::<HeapStats>(), 0x20);
        assert_eq!(XCBUF_RT_HEAP_STATS.magic, HEAP_STATS_MAGIC);
    }

    #[test]
    fn static_heap_region_is_handed_out_once() {
        static HEAP: StaticHeap<64> = StaticHeap::new();
        let first = HEAP.region();
        let second = HEAP.region();
        assert_eq!(first.size, 64);
        assert_eq!(second.size, 0);
        assert!(second.start.is_null());
    }
}

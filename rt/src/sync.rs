//! A spin lock that sleeps when it cannot take the lock, for short critical sections (the
//! heap, the runtime's statics).
//!
//! Limits, by design:
//! - not fair and no priority inheritance;
//! - on contention the waiter spins [`SPIN_TRIES`] times, then sleeps
//!   [`CONTENDED_SLEEP_NS`] with svcSleepThread (0x0B) and retries. Sleeping rather than
//!   yielding lets a lower-priority holder on the same core run, so the lock cannot
//!   livelock the way a pure spin lock can under priority inversion (runtime-abi.md §8);
//!   the price is at least that sleep per contended acquisition;
//! - not reentrant: locking twice on one thread deadlocks.
//!
//! A kernel-backed mutex (svcArbitrateLock/Unlock) would avoid the sleep; xcbuf's programs
//! have at most two threads and tiny critical sections, so this one is enough.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// Attempts before the first sleep.
pub const SPIN_TRIES: u32 = 64;
/// Sleep between attempts once contended (10 µs).
pub const CONTENDED_SLEEP_NS: i64 = 10_000;

/// Mutual exclusion around a `T` (see the module doc for its limits).
pub struct Mutex<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock gives one thread at a time access to the value, so sharing the Mutex
// is sound whenever moving a T between threads is.
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Self {
        Mutex { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    /// Takes the lock without waiting.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard { mutex: self })
    }

    /// Takes the lock, spinning then sleeping while another thread holds it.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        let mut tries = 0u32;
        loop {
            if let Some(guard) = self.try_lock() {
                return guard;
            }
            if tries < SPIN_TRIES {
                tries += 1;
                core::hint::spin_loop();
            } else {
                contended_wait();
            }
        }
    }
}

#[cfg(target_os = "horizon")]
fn contended_wait() {
    crate::svc::sleep_thread(CONTENDED_SLEEP_NS);
}

#[cfg(not(target_os = "horizon"))]
fn contended_wait() {
    core::hint::spin_loop();
}

/// Holds the lock; releases it when dropped.
pub struct MutexGuard<'a, T> {
    mutex: &'a Mutex<T>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this thread holds the lock.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard exists only while this thread holds the lock.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_waits_until_the_first_guard_is_dropped() {
        let m = Mutex::new(5);
        let g = m.lock();
        assert!(m.try_lock().is_none());
        drop(g);
        *m.lock() += 1;
        assert_eq!(*m.lock(), 6);
    }
}

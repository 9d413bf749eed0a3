//! What the runtime learned at startup, for programs: [`crate::env()`].
//!
//! Written once by the entry before `main` runs (no other thread exists then) and only
//! read afterwards.

#[cfg(target_os = "horizon")]
use core::cell::UnsafeCell;
#[cfg(target_os = "horizon")]
use core::sync::atomic::{AtomicBool, Ordering};

pub use crate::loader_config::{AppletType, HosVersion};
use crate::svc::Handle;

/// Who started the program (runtime-abi.md §2.2 step 5, emulator-bench.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaunchKind {
    /// hbloader: x0 = loader config, x1 = -1, lr = return address into the loader. Eden
    /// started with program arguments enters the same way (its config has no HosVersion,
    /// so [`Env::is_atmosphere`] is false there).
    Hbloader,
    /// The kernel (an NSO, or an NRO started by Eden/Ryujinx): x0 = 0, x1 = main thread
    /// handle, lr = 0.
    Kernel,
}

/// Where the heap is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HeapRegion {
    pub address: usize,
    pub size: usize,
}

/// The program's environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Env {
    pub launch: LaunchKind,
    /// Base address of the image (where `_start` is).
    pub image_base: usize,
    /// The main thread's handle (from x1, or the loader's MainThreadHandle entry; the
    /// pseudo-handle 0xFFFF8000 if hbloader gave none).
    pub main_thread: Handle,
    pub heap: HeapRegion,
    /// Whether a loader config was passed (hbloader; Eden with program arguments). Not a
    /// sign of Atmosphère: see [`Env::is_atmosphere`].
    pub loader_config_present: bool,
    pub applet_type: Option<AppletType>,
    pub hos_version: Option<HosVersion>,
    /// hbloader's HosVersion entry carried the `ATMOSPHR` tag: the only sign that sm is
    /// Atmosphère's (HasService, sysmodules).
    pub is_atmosphere: bool,
}

/// Where startup stores the [`Env`] for [`crate::env()`] (Switch builds only: host builds
/// have no startup).
#[cfg(target_os = "horizon")]
pub(crate) struct EnvCell {
    value: UnsafeCell<Option<Env>>,
    written: AtomicBool,
}

// SAFETY: the value is written once, by the main thread before any other thread exists
// (`set` refuses a second write), and only read afterwards.
#[cfg(target_os = "horizon")]
unsafe impl Sync for EnvCell {}

#[cfg(target_os = "horizon")]
pub(crate) static ENV: EnvCell = EnvCell { value: UnsafeCell::new(None), written: AtomicBool::new(false) };

#[cfg(target_os = "horizon")]
impl EnvCell {
    /// Stores the environment; only the first call has an effect.
    pub(crate) fn set(&self, env: Env) {
        if self.written.load(Ordering::Acquire) {
            return;
        }
        // SAFETY: single-threaded startup (see the type's Sync note); not yet published.
        unsafe { *self.value.get() = Some(env) };
        self.written.store(true, Ordering::Release);
    }

    pub(crate) fn get(&self) -> Option<&Env> {
        if !self.written.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: published by `set` and never written again.
        unsafe { (*self.value.get()).as_ref() }
    }
}

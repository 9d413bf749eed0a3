//! The Rust half of startup (after `start`'s assembly has relocated the image and cleared
//! `.bss`), the exit paths and the panic handler.

use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use crate::env::{ENV, Env, HeapRegion, LaunchKind};
use crate::exit_path::{self, ExitPath};
use crate::heap::HeapStrategy;
use crate::loader_config::{self, ConfigEntry, LoaderConfig};
use crate::result::{BAD_LOADER_CONFIG, HEAP_INIT_FAILED, PANICKED, ResultCode};
use crate::svc::{self, CURRENT_THREAD, Handle};
use crate::sync::Mutex;
use crate::tls::{self, LOADER_AREA_SIZE};
use crate::{PanicAction, Program};
use xcbuf_common::text::{self, Piece, Sink};

unsafe extern "Rust" {
    /// Defined by the program with [`crate::entry!`].
    fn __xcbuf_rt_program() -> Program;
}

/// hbloader's return address (0 when there is nowhere to return to).
static LOADER_LR: AtomicUsize = AtomicUsize::new(0);
/// hbloader's TLS 0x180-0x1FF, put back before returning to it.
static LOADER_TLS: Mutex<[u8; LOADER_AREA_SIZE]> = Mutex::new([0; LOADER_AREA_SIZE]);
/// The program's [`PanicAction`]: 0 = Exit, 1 = Break.
static PANIC_ACTION: AtomicU8 = AtomicU8::new(1);
static PANICKING: AtomicBool = AtomicBool::new(false);

/// Called once by `__xcbuf_rt_entry` with the loader's x0, x1, lr and the image base.
/// Exception entries never get here (the assembly stops them).
#[unsafe(no_mangle)]
extern "C" fn __xcbuf_rt_start(arg0: usize, arg1: usize, loader_lr: usize, image_base: usize) -> ! {
    let launch = if arg0 == 0 { LaunchKind::Kernel } else { LaunchKind::Hbloader };
    if launch == LaunchKind::Hbloader {
        tls::save_loader_area(&mut LOADER_TLS.lock());
        LOADER_LR.store(loader_lr, Ordering::Release);
    }

    // SAFETY: the program defines this function with rt::entry!, which fixes its
    // signature; a program without it does not link.
    let program = unsafe { __xcbuf_rt_program() };
    PANIC_ACTION.store(program.panic as u8, Ordering::Release);

    let config = match launch {
        LaunchKind::Kernel => LoaderConfig::default(),
        LaunchKind::Hbloader => match read_loader_config(arg0) {
            Ok(config) => config,
            Err(error) => {
                log_bad_config(&error);
                exit(Err(BAD_LOADER_CONFIG));
            }
        },
    };
    let main_thread = match launch {
        LaunchKind::Kernel => Handle::try_from(arg1).unwrap_or(CURRENT_THREAD),
        LaunchKind::Hbloader => config.main_thread_handle.unwrap_or(CURRENT_THREAD),
    };
    tls::init_thread(main_thread);

    let heap = match init_heap(program.heap, config.override_heap) {
        Ok(heap) => heap,
        Err(rc) => {
            crate::log::line(&[Piece::Str("xcbuf-rt: heap setup failed: "), Piece::Result(rc)]);
            exit(Err(HEAP_INIT_FAILED));
        }
    };

    ENV.set(Env {
        launch,
        image_base,
        main_thread,
        heap,
        loader_config_present: launch == LaunchKind::Hbloader,
        applet_type: config.applet_type,
        hos_version: config.hos_version,
        is_atmosphere: config.is_atmosphere,
    });

    exit((program.main)())
}

/// The "bad loader config" line, out of line: its line buffer must not sit in
/// `__xcbuf_rt_start`'s frame, which stays under `main` for the program's life.
#[cold]
#[inline(never)]
fn log_bad_config(error: &loader_config::ConfigError) {
    let mut line = crate::log::DebugWriter::new();
    line.put("xcbuf-rt: bad loader config: ");
    error.write_text(&mut line);
    line.put("\n");
}

fn read_loader_config(list: usize) -> Result<LoaderConfig, loader_config::ConfigError> {
    let first = core::ptr::with_exposed_provenance::<ConfigEntry>(list);
    loader_config::parse(|i| {
        // SAFETY: hbloader passes a list of ConfigEntry ending with EndOfList; parse stops
        // at EndOfList (or MAX_ENTRIES), so every entry read is inside the list.
        unsafe { first.wrapping_add(i).read() }
    })
}

fn init_heap(strategy: HeapStrategy, override_heap: Option<(usize, usize)>) -> Result<HeapRegion, ResultCode> {
    let (address, size) = match (strategy, override_heap) {
        (HeapStrategy::Static(region), _) => (region.start.expose_provenance(), region.size),
        (HeapStrategy::Loader { .. }, Some(region)) => region,
        (HeapStrategy::Loader { fallback_size }, None) => {
            let size = crate::heap::set_heap_size_for(fallback_size).ok_or(HEAP_INIT_FAILED)?;
            // SAFETY: nothing uses the heap region yet (this is its first setup).
            let address = unsafe { svc::set_heap_size(size)? };
            (address, size)
        }
    };
    address.checked_add(size).ok_or(HEAP_INIT_FAILED)?;
    let start = core::ptr::with_exposed_provenance_mut::<u8>(address);
    // SAFETY: the region is the loader's OverrideHeap, the kernel's fresh heap, or the
    // program's StaticHeap (handed out once): writable, unused, for the program's life.
    if !unsafe { crate::heap::init(start, size) } {
        return Err(HEAP_INIT_FAILED);
    }
    Ok(HeapRegion { address, size })
}

/// Ends the program with `result` (see the crate doc, "Exit").
pub fn exit(result: Result<(), ResultCode>) -> ! {
    let rc = match result {
        Ok(()) => ResultCode::SUCCESS,
        Err(rc) => rc,
    };
    let path = exit_path::decide(LOADER_LR.load(Ordering::Acquire), on_main_thread(), crate::thread::alive());
    let mut line = crate::log::DebugWriter::new();
    // The path goes before the heap part, which observers read up to the line's end.
    text::write(&mut line, &[Piece::Str("xcbuf-rt: exit "), Piece::Result(rc), Piece::Str("; ")]);
    path.write_text(&mut line);
    if let Some((size, used, peak)) = crate::heap::try_stats() {
        text::write(
            &mut line,
            &[
                Piece::Str("; heap size="),
                text::hex(size),
                Piece::Str(" used="),
                text::hex(used),
                Piece::Str(" peak="),
                text::hex(peak),
            ],
        );
    }
    line.put("\n");
    drop(line);

    if path == ExitPath::ReturnToLoader {
        tls::restore_loader_area(&LOADER_TLS.lock());
        // SAFETY: launched by hbloader (lr saved), on the main thread whose entry frame
        // return_to_loader restores, and no other thread of ours is left to run in the
        // image hbloader unmaps next (exit_path::decide).
        unsafe { crate::start::return_to_loader(rc.raw()) }
    }
    svc::exit_process();
    park()
}

fn on_main_thread() -> bool {
    match ENV.get() {
        Some(env) => tls::current_thread_handle() == env.main_thread,
        None => true, // before ENV is set only the main thread exists
    }
}

/// Sleeps forever (after svcExitProcess returned, as in eden-cli).
pub fn park() -> ! {
    loop {
        svc::sleep_thread(i64::MAX);
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if PANICKING.swap(true, Ordering::AcqRel) {
        // A panic while reporting a panic: stop without formatting anything.
        let _ = svc::break_(svc::BreakReason::Panic, b"xcbuf-rt: nested panic");
        park();
    }
    let mut line = crate::log::DebugWriter::new();
    // The message's text when it has no arguments; formatting arguments would link
    // core::fmt into every program (the sysmodule has none of it), so a message with
    // arguments is named as such and the location tells where it was raised.
    line.put("xcbuf-rt: panic: ");
    line.put(info.message().as_str().unwrap_or("(a message with arguments, not formatted)"));
    if let Some(location) = info.location() {
        text::write(
            &mut line,
            &[
                Piece::Str(" at "),
                Piece::Str(location.file()),
                Piece::Str(":"),
                Piece::Dec(u64::from(location.line())),
                Piece::Str(":"),
                Piece::Dec(u64::from(location.column())),
            ],
        );
    }
    line.put("\n");
    drop(line);
    if PANIC_ACTION.load(Ordering::Acquire) == PanicAction::Break as u8 {
        let _ = svc::break_(svc::BreakReason::Panic, b"xcbuf-rt: panic");
        park();
    }
    exit(Err(PANICKED))
}

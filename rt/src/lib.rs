//! xcbuf-rt: the project's own Horizon runtime. This comment is the single description of
//! the runtime contract (facts: runtime-abi.md, formats.md §1.2/§2, emulator-bench.md "The
//! NRO alone in Eden and Ryujinx"). All `unsafe` and `asm!` of the project lives in this
//! crate.
//!
//! # Programs
//! A program is `#![no_std] #![no_main]`, depends on this crate and names its entry:
//! ```ignore
//! #![no_std]
//! #![no_main]
//! #![deny(unsafe_code)] // rt::entry! allows itself the one `#[unsafe(no_mangle)]` it needs
//! fn main() -> Result<(), rt::ResultCode> { rt::log!("hello"); Ok(()) }
//! rt::entry!(main);                                   // NRO: loader heap, exit on panic
//! // sysmodule: static heap in .bss, svcBreak on panic
//! // static HEAP: rt::heap::StaticHeap<{ 32 * 1024 }> = rt::heap::StaticHeap::new();
//! // rt::entry!(main, heap = rt::heap::HeapStrategy::Static(HEAP.region()),
//! //            panic = rt::PanicAction::Break);
//! ```
//! `main`'s signature is checked by the macro (a wrong one does not compile); a program
//! without `rt::entry!` does not link (`__xcbuf_rt_program` is undefined). When `main`
//! returns, rt calls [`exit`] with its result.
//!
//! # Image layout and linker symbols (rt/link.ld)
//! Four page-aligned PT_LOADs: text (R-X), rodata (R), data (RW), bss (RW); `.dynamic` in
//! data and in PT_DYNAMIC; a GNU build-id note (the NRO/NSO ModuleId). At image offset 0,
//! `.text.jmp`: `b __xcbuf_rt_entry`, the MOD0 offset (`__xcbuf_mod0 - _start`) at +4,
//! `HOMEBREW` at +8; 0x10..0x80 is left for the NRO header. The MOD0 header is in .rodata:
//! `MOD0`, `_DYNAMIC`, `__bss_start`, `__bss_end`, `__eh_frame_hdr_start`,
//! `__eh_frame_hdr_end`, module object 0, `LNY0` + `__got_start`/`__got_end`, `LNY1` +
//! `__relro_start`/`__data_start`, `LNY2` + ABI revision **1** (+0x34/+0x38, read by
//! hbmenu) + 0; every field is a signed offset from MOD0 (formats.md §1.2). The linker
//! script asserts: `_start` at 0, `.text.jmp` within 0x10 bytes, MOD0 4-byte aligned and in
//! rodata, page-aligned segments in order, `.bss` on the page after `.data`, `.bss` a
//! multiple of 8 bytes. Symbols the entry uses: `_start`, `_DYNAMIC`, `__bss_start`,
//! `__bss_end` (all via `adrp`+`add`, never the GOT).
//!
//! # Entry ABI, both conventions
//! The loader jumps to the image base (`_start`) with:
//! - **hbloader (NRO)**: `x0` = loader config list, `x1` = -1, `lr` = return address into
//!   hbloader ([`LaunchKind::Hbloader`]). Eden with program arguments does the same with
//!   `lr` = the first `svc #7` in our text (0 if there is none) and a config of its own:
//!   MainThreadHandle, AppletType = Application, Argv, EndOfList; no HosVersion, no
//!   OverrideHeap (Eden `src/core/loader/nro.cpp` `LoadNroImpl`, `k_process.cpp`
//!   `KProcess::Run`). A config is therefore no sign of Atmosphère: only a HosVersion
//!   entry tagged `ATMOSPHR` is ([`Env::is_atmosphere`]); and without OverrideHeap rt sets
//!   its heap up with svcSetHeapSize, config or not.
//! - **kernel (NSO; an NRO in Eden or Ryujinx)**: `x0` = 0, `x1` = main thread handle,
//!   `lr` = 0 ([`LaunchKind::Kernel`]). No loader config, no heap.
//! - anything else (`x0` != 0, `x1` != -1) is a user-exception entry: rt has no exception
//!   handler; it logs and issues svcBreak before touching memory.
//!
//! # Before any Rust code (assembly in `start`)
//! In order: classify as above; push x19-x30 on the loader's stack; compute the image base,
//! `_DYNAMIC` and the `.bss` bounds PC-relatively; **self-relocate**: walk `.dynamic` for
//! DT_RELA/DT_RELASZ/DT_RELAENT, refuse DT_REL, DT_JMPREL and DT_RELR, apply every RELA
//! entry as `*(base + offset) = base + addend`, refusing any type other than
//! R_AARCH64_RELATIVE (1027); **zero `.bss`** (nobody else does: hbloader's memory may hold
//! stale data, formats.md §1.2); save the stack pointer; `bl __xcbuf_rt_start`. A refusal
//! prints a message (svcOutputDebugString) and svcBreaks. Rust may not run earlier because
//! compiled code can load addresses from GOT slots (runtime-abi.md §9) and read statics
//! that `.bss` clearing would then wipe. `tools/pack/tests/rt_start.rs` checks this order
//! on the built binaries' disassembly.
//!
//! # Startup in Rust (`runtime`)
//! hbloader launch: save TLS 0x180-0x1FF (hbloader's own libnx data) and `lr`. Read the
//! program description; parse the loader config ([`loader_config`]: MainThreadHandle,
//! OverrideHeap, AppletType, HosVersion + `ATMOSPHR`; an unknown key with the Mandatory
//! flag stops the program with [`result::BAD_LOADER_CONFIG`]); write this thread's TLS
//! data; set up the heap ([`heap`]); publish [`env()`]; call `main`.
//!
//! # TLS (21.0.0 ABI, runtime-abi.md §0)
//! 0x000-0x0FF message buffer (only through [`tls::with_message_buffer`]); 0x100-0x17F
//! Nintendo-reserved, never touched but for the kernel's cache-maintenance flag at +0x104,
//! which [`memory::clean_data_cache`] sets during its `dc civac` loop as libnx does; 0x180-0x1DF rt's per-thread data; 0x1E0-0x1FF
//! libnx-compatible ThreadVars (`!TV$`, thread handle). See [`tls`].
//!
//! # Heap
//! `linked_list_allocator` behind [`sync::Mutex`], fed once from the program's
//! [`heap::HeapStrategy`]: hbloader's OverrideHeap; else svcSetHeapSize with a 2 MiB
//! multiple (emulator launches); or a static region in `.bss` (the sysmodule).
//! [`heap::used`]/[`heap::peak`] report usage; rt logs size/used/peak at exit. Contract
//! with observers: the live figures are also in the exported static
//! `XCBUF_RT_HEAP_STATS` ([`heap::HeapStats`]: magic `"XCBHEAP1"`, size, used, peak as
//! u64 words), which the emulator bench reads from guest memory through the ELF's symbols.
//!
//! # Threads
//! [`thread::spawn`]/[`thread::Builder`]: stacks from the heap (whole pages), priorities
//! 28-59, cores 0-2 or -2; [`thread::JoinHandle::join`] waits and frees.
//! [`sync::Mutex`] is a spin-then-sleep lock (limits in its doc).
//!
//! # svc, sm, logging
//! [`svc`]: one inline wrapper per svc, so a binary contains `svc #n` only for the calls it
//! makes, plus the entry's own 0x26/0x27 and the exit path's 0x07/0x0B. [`sm`]: the
//! `sm:` client. [`log::line`]: a line to svcOutputDebugString from `xcbuf_common::text`
//! pieces, without allocation and without `core::fmt` (rt's own lines and the sysmodule's,
//! which then links no `core::fmt`); [`log!`]: the same with `core::fmt` arguments.
//! [`memory`]: page-aligned heap buffers, a transfer memory that is freed only once
//! svcQueryMemory shows it RW again, a shared memory mapped at a free ASLR address, and
//! the `dc civac` clean a device-read buffer needs (the client's screen and buttons).
//!
//! # Servers
//! `server` (Switch only): rt's implementation of `xcbuf_common::sf`'s `ServerSyscalls`
//! (this thread's TLS message buffer, svcReplyAndReceive with an infinite timeout,
//! svcAcceptSession, svcCloseHandle, the logger) and `server::serve`/`serve_until`, which
//! run any `sf` service on the calling thread with a heap pointer buffer. The feature
//! `two-svc` makes it reply and receive with two svcs (`make bench`'s comparison only).
//!
//! # Exit
//! [`exit`]`(result)` decides where to go ([`exit_path::decide`]), logs one line
//! `xcbuf-rt: exit <result>; <path>; heap size=.. used=.. peak=..`, then:
//! - launched with a return address (hbloader; Eden with arguments), on the main thread,
//!   and **no other rt thread alive** ([`thread::alive`]: started and not joined): it
//!   restores hbloader's TLS bytes, its stack and callee-saved registers and returns to its
//!   `lr` with `w0 = result` (hbmenu shows a failure code);
//! - otherwise svcExitProcess, which stops every thread of the process, then sleeps forever
//!   (svcExitProcess returns in eden-cli). The log line names the reason: no loader, not the
//!   main thread, or `<n> other thread(s) still running`.
//!
//! The rule exists because hbloader unmaps the NRO and hands its heap to the next NRO as
//! soon as the NRO returns (nx-hbloader `main.c` `loadNro`): a thread left running would run
//! in unmapped memory, or in the next NRO's. A program that wants to go back to hbmenu joins
//! its threads first (the client stops its in-process servers). Returning with `lr` = 0
//! would fault, so rt never does.
//!
//! A panic logs its message (when it has no format arguments: formatting them would link
//! `core::fmt` into every program) and its location, then does what the program chose:
//! [`PanicAction::Break`] (svcBreak, which ends the process on Atmosphère when no debugger
//! is attached, mesosphere `kern_svc_exception.cpp` `Break`; then sleep) or
//! [`PanicAction::Exit`] (`exit(Err(result::PANICKED))`, so by the rule above a panic on a
//! thread other than the main one, or on the main thread while other threads run, ends the
//! process, and only a panic on the main thread alone returns to hbloader).
#![cfg_attr(not(test), no_std)]
// Host builds exist only for the unit tests of the pure parts; the rest is Switch-only
// (`#[cfg(target_os = "horizon")]` on the modules and items only the Switch build uses).

extern crate alloc;

pub mod env;
pub mod exit_path;
pub mod heap;
pub mod loader_config;
#[cfg(target_os = "horizon")]
pub mod log;
pub mod memory;
pub mod mod0;
pub mod result;
#[cfg(target_os = "horizon")]
mod runtime;
#[cfg(target_os = "horizon")]
pub mod server;
pub mod sm;
#[cfg(target_os = "horizon")]
mod start;
#[cfg(target_os = "horizon")]
pub mod svc;
pub mod sync;
pub mod thread;
pub mod tls;

#[cfg(not(target_os = "horizon"))]
mod svc {
    //! Host builds (unit tests) only need the handle type.
    pub type Handle = u32;
}

pub use env::{Env, LaunchKind};
pub use result::ResultCode;
#[cfg(target_os = "horizon")]
pub use runtime::{exit, park};

/// What a panic does after logging its message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PanicAction {
    /// Return [`result::PANICKED`] to hbloader, or svcExitProcess and sleep (the NRO).
    Exit = 0,
    /// svcBreak, then sleep if it returns (the sysmodule: Atmosphère records the crash).
    Break = 1,
}

/// A program's description, made by [`entry!`].
pub struct Program {
    pub main: fn() -> Result<(), ResultCode>,
    pub heap: heap::HeapStrategy,
    pub panic: PanicAction,
}

/// The environment rt found at startup.
///
/// Panics if called before startup finished (impossible from `main` or later).
#[cfg(target_os = "horizon")]
pub fn env() -> &'static Env {
    match env::ENV.get() {
        Some(env) => env,
        None => panic!("rt::env() called before startup finished"),
    }
}

/// Declares the program's entry: `rt::entry!(main)`,
/// `rt::entry!(main, heap = <HeapStrategy>)`, `rt::entry!(main, panic = <PanicAction>)`
/// or both (heap first). `main` must be `fn() -> Result<(), rt::ResultCode>`:
/// ```
/// fn start() -> Result<(), xcbuf_rt::ResultCode> { Ok(()) }
/// static HEAP: xcbuf_rt::heap::StaticHeap<4096> = xcbuf_rt::heap::StaticHeap::new();
/// xcbuf_rt::entry!(start, heap = xcbuf_rt::heap::HeapStrategy::Static(HEAP.region()),
///                  panic = xcbuf_rt::PanicAction::Break);
/// ```
/// A different signature does not compile:
/// ```compile_fail
/// fn start() -> u32 { 0 }
/// xcbuf_rt::entry!(start);
/// ```
/// ```compile_fail
/// fn start(_argument: usize) -> Result<(), xcbuf_rt::ResultCode> { Ok(()) }
/// xcbuf_rt::entry!(start);
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path $(, heap = $heap:expr)? $(, panic = $panic:expr)? $(,)?) => {
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        extern "Rust" fn __xcbuf_rt_program() -> $crate::Program {
            let main: fn() -> ::core::result::Result<(), $crate::ResultCode> = $main;
            $crate::Program {
                main,
                heap: $crate::__entry_default!(heap $(, $heap)?),
                panic: $crate::__entry_default!(panic $(, $panic)?),
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __entry_default {
    (heap) => {
        $crate::heap::HeapStrategy::DEFAULT
    };
    (heap, $heap:expr) => {
        $heap
    };
    (panic) => {
        $crate::PanicAction::Exit
    };
    (panic, $panic:expr) => {
        $panic
    };
}

//! The entry point: `_start` at image offset 0, the MOD0 header, self-relocation, `.bss`
//! clearing, and the way back to hbloader. Everything before the first call into Rust
//! is assembly (runtime-abi.md §9: Rust code may load addresses through the GOT, whose
//! slots are wrong until the R_AARCH64_RELATIVE relocations are applied).
//!
//! Order in `__xcbuf_rt_entry` (see the crate doc for the contract):
//! 1. classify x0/x1: a user-exception entry (x0 != 0 and x1 != -1) goes straight to a
//!    fatal stop, before anything is written;
//! 2. push x19-x30 on the loader's stack (so returning to hbloader is a normal return);
//! 3. image base, `_DYNAMIC`, `__bss_start`, `__bss_end` with `adrp`+`add` (PC-relative);
//! 4. walk `.dynamic`: DT_RELA/DT_RELASZ/DT_RELAENT; DT_REL, DT_JMPREL or DT_RELR present
//!    -> fatal; apply every RELA entry, each must be R_AARCH64_RELATIVE (1027) -> fatal
//!    otherwise: `*(base + r_offset) = base + r_addend`;
//! 5. zero `.bss` 8 bytes at a time;
//! 6. store the stack pointer for [`return_to_loader`];
//! 7. `bl __xcbuf_rt_start(x0, x1, lr, base)`: the first Rust code.
//!
//! A fatal stop prints a fixed message with svcOutputDebugString (0x27) and issues
//! svcBreak (0x26, reason Panic, the message as info); if svcBreak returns (emulators),
//! it returns to hbloader with [`crate::result::EARLY_ABORT`] when launched by hbloader,
//! else it spins: nothing else can run safely without relocations.

use core::arch::global_asm;

global_asm!(
    // ---- image offset 0 (formats.md §1.1, runtime-abi.md §2.1) ----
    ".section .text.jmp, \"ax\", %progbits",
    ".global _start",
    ".hidden _start",
    ".type _start, %function",
    "_start:",
    "    b       __xcbuf_rt_entry",
    "    .word   __xcbuf_mod0 - _start",
    "    .ascii  \"HOMEBREW\"",
    ".size _start, . - _start",
    //
    // ---- MOD0 (formats.md §1.2: offsets are signed, relative to the header; the layout
    //      is crate::mod0::Mod0Header) ----
    ".section .rodata.xcbuf_mod0, \"a\", %progbits",
    ".balign 4",
    ".global __xcbuf_mod0",
    ".hidden __xcbuf_mod0",
    "__xcbuf_mod0:",
    "    .ascii  \"MOD0\"",                             // +0x00
    "    .word   _DYNAMIC - __xcbuf_mod0",              // +0x04
    "    .word   __bss_start - __xcbuf_mod0",           // +0x08
    "    .word   __bss_end - __xcbuf_mod0",             // +0x0C
    "    .word   __eh_frame_hdr_start - __xcbuf_mod0",  // +0x10
    "    .word   __eh_frame_hdr_end - __xcbuf_mod0",    // +0x14
    "    .word   0",                                    // +0x18 module object
    "    .ascii  \"LNY0\"",                             // +0x1C
    "    .word   __got_start - __xcbuf_mod0",           // +0x20
    "    .word   __got_end - __xcbuf_mod0",             // +0x24
    "    .ascii  \"LNY1\"",                             // +0x28
    "    .word   __relro_start - __xcbuf_mod0",         // +0x2C
    "    .word   __data_start - __xcbuf_mod0",          // +0x30 relro end
    "    .ascii  \"LNY2\"",                             // +0x34 (runtime-abi.md §0)
    "    .word   {abi_revision}",                       // +0x38 ABI revision 1
    "    .word   0",                                    // +0x3C reserved
    ".size __xcbuf_mod0, . - __xcbuf_mod0",
    //
    // ---- the loader's stack pointer, saved after .bss is cleared ----
    ".section .bss.xcbuf_rt_loader_sp, \"aw\", %nobits",
    ".balign 8",
    ".hidden __xcbuf_rt_loader_sp",
    "__xcbuf_rt_loader_sp:",
    "    .space 8",
    //
    // ---- the entry ----
    ".section .text.xcbuf_rt_entry, \"ax\", %progbits",
    ".hidden __xcbuf_rt_entry",
    ".type __xcbuf_rt_entry, %function",
    "__xcbuf_rt_entry:",
    // 1. user-exception entry: x0 != 0 and x1 != -1 (formats.md §1.2). Nothing written yet.
    "    cbz     x0, 1f",
    "    cmn     x1, #1",
    "    b.eq    1f",
    "    adr     x0, 90f",
    "    mov     x21, #0",
    "    b       80f",
    "1:",
    // 2. callee-saved registers of the loader; x19/x20/x21 = x0/x1/lr from here on.
    "    stp     x29, x30, [sp, #-0x60]!",
    "    stp     x19, x20, [sp, #0x10]",
    "    stp     x21, x22, [sp, #0x20]",
    "    stp     x23, x24, [sp, #0x30]",
    "    stp     x25, x26, [sp, #0x40]",
    "    stp     x27, x28, [sp, #0x50]",
    "    mov     x29, sp",
    "    mov     x19, x0",
    "    mov     x20, x1",
    "    mov     x21, x30",
    // 3. PC-relative addresses, never through the GOT (runtime-abi.md §9).
    "    adrp    x22, _start",
    "    add     x22, x22, :lo12:_start",
    "    adrp    x23, _DYNAMIC",
    "    add     x23, x23, :lo12:_DYNAMIC",
    // 4a. walk .dynamic: x9 = DT_RELA, x10 = DT_RELASZ, x11 = DT_RELAENT.
    "    mov     x9, #0",
    "    mov     x10, #0",
    "    mov     x11, #24",
    "    mov     x12, x23",
    "2:",
    "    ldp     x13, x14, [x12], #16",
    "    cbz     x13, 4f",                 // DT_NULL
    "    cmp     x13, #7",                 // DT_RELA
    "    csel    x9, x14, x9, eq",
    "    cmp     x13, #8",                 // DT_RELASZ
    "    csel    x10, x14, x10, eq",
    "    cmp     x13, #9",                 // DT_RELAENT
    "    csel    x11, x14, x11, eq",
    "    cmp     x13, #17",                // DT_REL: not produced by lld for aarch64
    "    b.eq    3f",
    "    cmp     x13, #23",                // DT_JMPREL: PLT relocations
    "    b.eq    3f",
    "    cmp     x13, #36",                // DT_RELR: packed relative relocations
    "    b.eq    3f",
    "    b       2b",
    "3:",
    "    adr     x0, 92f",
    "    b       80f",
    "4:",
    // 4b. apply RELA: entry size 24, size a multiple of 24, every type RELATIVE.
    "    cbz     x10, 6f",
    "    cmp     x11, #24",
    "    b.ne    3b",
    "    mov     x15, #24",
    "    udiv    x16, x10, x15",
    "    msub    x16, x16, x15, x10",
    "    cbnz    x16, 3b",
    "    add     x9, x9, x22",             // table address = base + DT_RELA
    "    add     x10, x9, x10",            // table end
    "    mov     x16, #1027",              // R_AARCH64_RELATIVE
    "5:",
    "    cmp     x9, x10",
    "    b.hs    6f",
    "    ldp     x12, x13, [x9]",          // r_offset, r_info
    "    ldr     x14, [x9, #16]",          // r_addend
    "    add     x9, x9, #24",
    "    and     x15, x13, #0xffffffff",
    "    cmp     x15, x16",
    "    b.ne    7f",
    "    add     x14, x14, x22",
    "    str     x14, [x22, x12]",         // *(base + r_offset) = base + r_addend
    "    b       5b",
    "7:",
    "    adr     x0, 94f",
    "    b       80f",
    "6:",
    // 5. zero .bss (bounds 8-byte aligned: rt/link.ld asserts it).
    "    adrp    x9, __bss_start",
    "    add     x9, x9, :lo12:__bss_start",
    "    adrp    x10, __bss_end",
    "    add     x10, x10, :lo12:__bss_end",
    "8:",
    "    cmp     x9, x10",
    "    b.hs    9f",
    "    str     xzr, [x9], #8",
    "    b       8b",
    "9:",
    // 6. the loader's stack pointer (after the pushes) for return_to_loader.
    "    adrp    x9, __xcbuf_rt_loader_sp",
    "    add     x9, x9, :lo12:__xcbuf_rt_loader_sp",
    "    mov     x10, sp",
    "    str     x10, [x9]",
    // 7. first Rust code: __xcbuf_rt_start(arg0, arg1, loader lr, image base) -> !
    "    mov     x0, x19",
    "    mov     x1, x20",
    "    mov     x2, x21",
    "    mov     x3, x22",
    "    bl      __xcbuf_rt_start",
    "    udf     #0",
    //
    // Fatal stop before Rust: x0 = message {u32 length, bytes}, x21 = loader lr or 0.
    "80:",
    "    ldr     w1, [x0], #4",
    "    mov     x19, x0",
    "    mov     x20, x1",
    "    svc     #0x27",                   // OutputDebugString(x0 = ptr, x1 = size)
    "    mov     x0, #0",                  // BreakReason Panic
    "    mov     x1, x19",
    "    mov     x2, x20",
    "    svc     #0x26",                   // Break(w0 = reason, x1 = info, x2 = size)
    "    cbz     x21, 81f",
    "    movz    w0, #{early_abort_lo}",
    "    movk    w0, #{early_abort_hi}, lsl #16",
    "    b       __xcbuf_rt_return_to_loader",
    "81:",
    "    b       81b",
    //
    // Messages: {u32 length, bytes}.
    ".balign 4",
    "90: .word 91f - 90b - 4",
    "    .ascii \"xcbuf-rt: user exception entry; no handler, stopping\\n\"",
    "91: .balign 4",
    "92: .word 93f - 92b - 4",
    "    .ascii \"xcbuf-rt: unsupported relocation table (DT_REL/DT_JMPREL/DT_RELR, bad DT_RELAENT or DT_RELASZ)\\n\"",
    "93: .balign 4",
    "94: .word 95f - 94b - 4",
    "    .ascii \"xcbuf-rt: relocation type other than R_AARCH64_RELATIVE\\n\"",
    "95:",
    ".balign 4",
    ".size __xcbuf_rt_entry, . - __xcbuf_rt_entry",
    //
    // ---- back to hbloader: w0 = result; restores sp and x19-x30, then `ret` ----
    ".section .text.xcbuf_rt_return, \"ax\", %progbits",
    ".global __xcbuf_rt_return_to_loader",
    ".hidden __xcbuf_rt_return_to_loader",
    ".type __xcbuf_rt_return_to_loader, %function",
    "__xcbuf_rt_return_to_loader:",
    "    adrp    x9, __xcbuf_rt_loader_sp",
    "    ldr     x9, [x9, :lo12:__xcbuf_rt_loader_sp]",
    "    mov     sp, x9",
    "    ldp     x19, x20, [sp, #0x10]",
    "    ldp     x21, x22, [sp, #0x20]",
    "    ldp     x23, x24, [sp, #0x30]",
    "    ldp     x25, x26, [sp, #0x40]",
    "    ldp     x27, x28, [sp, #0x50]",
    "    ldp     x29, x30, [sp], #0x60",
    "    ret",
    ".size __xcbuf_rt_return_to_loader, . - __xcbuf_rt_return_to_loader",
    abi_revision = const crate::mod0::ABI_REVISION,
    early_abort_lo = const crate::result::EARLY_ABORT.raw() & 0xFFFF,
    early_abort_hi = const crate::result::EARLY_ABORT.raw() >> 16,
);

unsafe extern "C" {
    fn __xcbuf_rt_return_to_loader(result: u32) -> !;
}

/// Returns to hbloader's `lr` with `w0 = result`, on the loader's stack with the loader's
/// callee-saved registers restored.
///
/// # Safety
/// Only when launched by hbloader (the saved stack pointer is then the loader's), and from
/// the main thread with no other thread of this program still running.
pub(crate) unsafe fn return_to_loader(result: u32) -> ! {
    // SAFETY: the caller guarantees an hbloader launch; __xcbuf_rt_loader_sp was written by
    // the entry before any Rust code ran and points at the saved x19-x30 frame.
    unsafe { __xcbuf_rt_return_to_loader(result) }
}

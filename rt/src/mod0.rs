//! The MOD0 header's layout (formats.md §1.2), as a Rust description of what `start`'s
//! assembly emits in `.rodata`: every offset field is signed and relative to the header.
//! `tools/pack/tests/rt_start.rs` checks the emitted bytes against the linker symbols.
#![forbid(unsafe_code)]

use core::mem::{offset_of, size_of};

/// ABI revision carried by `LNY2` (runtime-abi.md §0: the 21.0.0 TLS ABI is revision 1).
pub const ABI_REVISION: u32 = 1;

/// MOD0 with the homebrew extensions LNY0, LNY1 and LNY2.
#[repr(C)]
pub struct Mod0Header {
    pub magic: [u8; 4],
    pub dynamic: i32,
    pub bss_start: i32,
    pub bss_end: i32,
    pub eh_frame_hdr_start: i32,
    pub eh_frame_hdr_end: i32,
    pub module_object: i32,
    pub lny0_magic: [u8; 4],
    pub got_start: i32,
    pub got_end: i32,
    pub lny1_magic: [u8; 4],
    pub relro_start: i32,
    pub relro_end: i32,
    pub lny2_magic: [u8; 4],
    pub abi_revision: u32,
    pub reserved: u32,
}

static_assertions::const_assert_eq!(size_of::<Mod0Header>(), 0x40);
static_assertions::const_assert_eq!(offset_of!(Mod0Header, dynamic), 0x04);
static_assertions::const_assert_eq!(offset_of!(Mod0Header, bss_start), 0x08);
static_assertions::const_assert_eq!(offset_of!(Mod0Header, bss_end), 0x0C);
static_assertions::const_assert_eq!(offset_of!(Mod0Header, eh_frame_hdr_start), 0x10);
static_assertions::const_assert_eq!(offset_of!(Mod0Header, module_object), 0x18);
static_assertions::const_assert_eq!(offset_of!(Mod0Header, lny0_magic), 0x1C);
static_assertions::const_assert_eq!(offset_of!(Mod0Header, lny1_magic), 0x28);
// hbmenu reads the revision through LNY2 at MOD0+0x34 (formats.md §1.2).
static_assertions::const_assert_eq!(offset_of!(Mod0Header, lny2_magic), 0x34);
static_assertions::const_assert_eq!(offset_of!(Mod0Header, abi_revision), 0x38);

//! xcbuf-pack: turns the project's aarch64 ELFs into the files Horizon and
//! Atmosphère load, and reads those files back.
//!
//! One module per format, each with a writer and a reader (so tests round-trip):
//!
//! | module | format | reference |
//! |---|---|---|
//! | [`elf`] | input: PT_LOADs, build-id, MOD0 location, .dynstr/.dynsym | formats.md "Notes on existing packers" |
//! | [`image`] | the in-memory module (text / rodata / data / bss) both NRO and NSO carry | formats.md §1.1, §2 |
//! | [`mod0`] | MOD0 header with the LNY0/LNY1/LNY2 extensions | formats.md §1.2, runtime-abi.md §0 |
//! | [`nro`] | NRO header and image | formats.md §1.1 |
//! | [`aset`] | NRO assets (icon, NACP, RomFS) | formats.md §1.3 |
//! | [`nacp`] | application control property (name, author, version) | formats.md §1.4 |
//! | [`icon`] | the project's 256x256 JPEG icon, drawn in code | formats.md §1.3 |
//! | [`nso`] | NSO header, LZ4 block segments, SHA-256 | formats.md §2 |
//! | [`npdm`] | META / ACID / ACI0 from an npdmtool-format JSON | formats.md §3 |
//! | [`pfs0`] | PFS0 (`exefs.nsp`) | formats.md §4 |
//! | [`sd`] | the SD-card tree for Atmosphère and hbmenu | formats.md §1.5, §5 |
//! | [`inspect`] | detects a file by magic and describes what the reader sees | |
//! | [`built`] | where the tests on the built binaries find `make dist`'s output | |
//!
//! Every reader checks bounds with `checked_add` and reports bad input as a
//! [`PackError`] naming the file and the field; nothing here panics on input.
#![forbid(unsafe_code)]

pub mod aset;
pub mod built;
mod bytes;
pub mod elf;
pub mod error;
pub mod icon;
pub mod image;
pub mod inspect;
pub mod mod0;
pub mod nacp;
pub mod npdm;
pub mod nro;
pub mod nso;
pub mod pfs0;
pub mod sd;

pub use error::{PackError, Result};

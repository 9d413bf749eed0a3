//! xcbuf-emu: runs the real aarch64 binaries with a model of Horizon's kernel IPC.
pub mod cpu;
pub mod kernel;

//! `xcbuf-kmodel`: the Horizon kernel's IPC message copy as plain Rust, with no emulator
//! behind it.
//!
//! - [`message`]: one message copied between two message buffers, request
//!   (mesosphere's `KServerSession::ReceiveMessage`) and reply (`SendMessage`), with the
//!   result routing of a failed copy; [`message::ryujinx`] is Ryujinx's copy of the same.
//! - [`receive_list`]: the snapshot of a destination's receive list and `GetBuffer`,
//!   which places each X descriptor's bytes.
//!
//! The caller supplies guest memory and handle tables through the traits
//! [`message::MessageMemory`] and [`message::HandleTranslator`]: the bench
//! (`tools/emu`) implements them over its unicorn engines, tests over plain `Vec`s.
#![forbid(unsafe_code)]

pub mod message;
pub mod receive_list;

//! xcbuf-common: everything both sides of the xcbuf IPC share and that can be tested on
//! a PC: the HIPC message codec, CMIF, result codes, the xcbuf protocol, the
//! transport-independent server core and the client-side request builder.
#![no_std]
// No unsafe anywhere in this crate: every byte is read and written through checked slices.
#![forbid(unsafe_code)]

pub mod cmif;
pub mod hipc;
pub mod protocol;
pub mod result;
pub mod server;
pub mod client;

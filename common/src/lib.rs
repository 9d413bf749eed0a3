//! xcbuf-common: everything both sides of the xcbuf IPC share and that can be tested on
//! a PC: the HIPC message codec, CMIF and TIPC ([`tipc`]), result codes, the interfaces of
//! the services the programs use ([`sm`], [`fsp`]), the server framework ([`sf`]: the
//! transport-independent server core and its svc loop), the xcbuf service on it
//! ([`xcbuf`]) and the client-side request builder; the report page drawn on screen
//! ([`screen`]) the binder parcels that show it ([`binder`])
//! and the buttons that leave it ([`hid`]).
#![no_std]
// No unsafe anywhere in this crate: every byte is read and written through checked slices.
#![forbid(unsafe_code)]

pub mod applet;
pub mod binder;
pub mod client;
pub mod cmif;
pub mod fsp;
pub mod hid;
pub mod hipc;
pub mod nv;
pub mod result;
pub mod screen;
pub mod sf;
pub mod sm;
pub mod text;
pub mod tipc;
pub mod vi;
pub mod xcbuf;

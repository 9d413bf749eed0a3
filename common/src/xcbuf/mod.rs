//! The xcbuf service on [`crate::sf`]: its wire protocol ([`protocol`]: service
//! identities, command ids, raw structs, the ordered table of checks and results) and its
//! commands ([`commands`]: the table of rows and one handler function each).
//!
//! Everything of the protocol is re-exported here, so users write
//! `xcbuf_common::xcbuf::{SINGLE, EchoResponse, ...}`.
#![forbid(unsafe_code)]

pub mod commands;
pub mod protocol;

pub use commands::{COMMANDS, LARGEST_REPLY_WORDS, Xcbuf};
pub use protocol::*;

/// The xcbuf server core (for either service: give it [`SINGLE`]'s or [`INDEXED`]'s
/// configuration).
pub type XcbufServer = crate::sf::Server<Xcbuf>;

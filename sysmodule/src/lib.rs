//! The xcbuf sysmodule as a library: the server loop ([`serve_loop`]), generic over the
//! svc layer, and its binding to rt's svcs ([`horizon`], Switch only). The sysmodule's
//! `main` serves `xcbuf` and `xcbuf:i` with it, and the client NRO runs the same loop on
//! a thread of its own when no sysmodule is running (design.md "What it is").
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

pub mod serve_loop;

#[cfg(target_os = "horizon")]
pub mod horizon;

/// The two-svc reply pattern, for `make bench`'s comparison only.
#[cfg(all(target_os = "horizon", feature = "two-svc"))]
pub mod two_svc;

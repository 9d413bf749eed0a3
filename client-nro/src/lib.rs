//! The xcbuf client as a library: the scenario suite ([`scenarios`]) on an abstract
//! transport ([`ipc::Ipc`]), the report format ([`report`]), the mode decision ([`mode`]),
//! and, on the Switch, the transports ([`horizon`]): the sysmodule through `sm:`, or the
//! same server loop on threads of this process behind in-process ports ([`in_process`]);
//! the report file on the SD card through fsp-srv ([`report_file`]).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod ipc;
pub mod mode;
#[cfg(feature = "perf-loop")]
pub mod perf_loop;
pub mod report;
pub mod scenarios;

#[cfg(target_os = "horizon")]
pub mod horizon;
#[cfg(target_os = "horizon")]
pub mod in_process;
#[cfg(target_os = "horizon")]
pub mod input;
#[cfg(target_os = "horizon")]
pub mod report_file;
#[cfg(target_os = "horizon")]
pub mod screen;
#[cfg(target_os = "horizon")]
pub mod service;

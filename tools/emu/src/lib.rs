//! xcbuf-emu: a test bench that runs the project's real aarch64 binaries (the
//! sysmodule's `exefs.nsp` and the client's `.nro`) on a PC, with one unicorn engine
//! per guest process, a model of Horizon's kernel IPC (horizon-ipc.md) and an HLE
//! `sm:` (emulator-bench.md).
//!
//! | module | concept |
//! |---|---|
//! | [`cpu`] | one unicorn engine: EL0 setup, svc/exception stops, instruction counting |
//! | [`memory`] | a process's address space map (QueryMemory, copy permission checks) |
//! | [`kernel`] | kernel objects (handles, ports, sessions, threads, processes), svcs, message copy |
//! | [`sm`] | the host's `sm:` (CMIF and TIPC) |
//! | [`fsp`] | the host's `fsp-srv`: an in-memory SD card (create, open, write files) |
//! | [`loader`] | exefs.nsp / .nro / ELF into a process, entry ABIs |
//! | [`run`] | a whole run: the scheduler and the library entry point [`run::run`] |
//! | [`host_client`] | a client process driven from the host (requests through the kernel model) |
//! | [`fuzz`] | `fuzz`: hostile messages, session churn, isolation against the sysmodule |
//! | [`observe`] | counters, the run report and its JSON |
//! | [`perf`] | `perf` (`make bench`): figures from marker snapshots, idle window, footprint, BENCHMARKS.md; `profile` (`make profile`): instructions per function |
//! | [`symbols`] | nearest-symbol lookup for fault reports; data objects by name |
//! | [`heap_stats`] | the runtime's live heap figures read from guest memory |
//!
//! The whole bench runs on one host thread: unicorn engines are `!Send`
//! (emulator-bench.md B.5 test 6).
#![forbid(unsafe_code)]

pub mod cpu;
pub mod fsp;
pub mod fuzz;
pub mod heap_stats;
pub mod host_client;
pub mod kernel;
pub mod loader;
pub mod memory;
pub mod observe;
pub mod perf;
pub mod run;
pub mod sm;
pub mod symbols;

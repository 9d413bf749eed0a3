//! Performance figures (`make bench`, `xcbuf-emu perf`): the real binaries run in the
//! bench, the counters of [`crate::observe`] are read at marker lines, and the figures are
//! printed as `name: value unit` and written to `docs/BENCHMARKS.md`.
//!
//! # Markers
//! A guest debug line starting with [`MARK_PREFIX`] (`@perf `) makes the kernel model
//! snapshot every process's counters **synchronously**, inside the svcOutputDebugString
//! that carries it ([`Mark::take`]). The perf-loop client (`xcbuf-client` built with the
//! `perf-loop` feature) writes
//!
//! ```text
//! @perf begin echo16 10000     (then 10000 Echo requests of 16 bytes)
//! @perf begin echo1k 10000     (then 10000 Echo requests of 1 KiB)
//! @perf begin concat4 10000    (then 10000 Concat requests of 4 X of 16 bytes)
//! @perf end errors=0
//! ```
//!
//! so the counters between two consecutive marks belong to one phase. At every mark the
//! server is blocked in the svcReplyAndReceive that replied to the previous request, so a
//! phase of N requests holds exactly the server's N "receive to next receive" paths.
//!
//! # Idle
//! After the client has ended, [`measure_idle`] lets the servers settle (everything
//! blocked with no deadline), then advances bench time by a window (1 s by default) with a
//! scheduler of its own that counts each time a server thread leaves a wait.
//!
//! # Footprint
//! From the files: the NSO's segments (text, rodata, data, bss, page-rounded as the loader
//! maps them), the NPDM's main-thread stack, the sysmodule ELF's static heap symbol
//! (`HEAP`, inside .bss) and the pointer-buffer sizes the servers print when they start.
//! See [`Footprint`] for what each figure counts; nothing is counted twice.
//!
//! # Profile
//! `xcbuf-emu profile` (`make profile`) runs the same loop with every block's executions
//! counted, and attributes each phase's instructions to the ELF's function symbols
//! ([`profile`](mod@profile)); inlined code counts for the function it was inlined into.
//!
//! | module | what it holds |
//! |---|---|
//! | [`markers`] | marker lines, the counter snapshots taken at them, phases |
//! | [`loop_run`] | one run of a sysmodule with the perf-loop client, then the idle window |
//! | [`idle`] | the idle window: settle, then advance bench time and count wakeups |
//! | [`footprint`](mod@footprint) | what the sysmodule occupies, from its files and its start lines |
//! | [`figures`] | every figure of `make bench`, computed from the runs ([`measure`]) |
//! | [`markdown`](mod@markdown) | docs/BENCHMARKS.md (the figures; the Profile section kept) |
//! | [`profile`](mod@profile) | `xcbuf-emu profile`: a phase's instructions per function, symbolized from the ELFs |
//! | [`provenance`] | the commit and date a run is stamped with |

pub mod figures;
pub mod footprint;
pub mod idle;
pub mod loop_run;
pub mod markdown;
pub mod markers;
pub mod profile;
pub mod provenance;

pub use figures::{Figure, PerfConfig, PerfResult, echo_request_header, measure, message_bytes, ratio};
pub use footprint::{FOOTPRINT_GOAL, Footprint, footprint, mapped_image_size, pointer_buffer_sizes, static_heap_size};
pub use idle::{DEFAULT_IDLE_NS, IdleFigures, measure_idle};
pub use loop_run::{LoopOptions, LoopRun, main_stack_peak, run_loop, run_loop_setups};
pub use markdown::{keep_profile, markdown, with_profile};
pub use markers::{MARK_PREFIX, Mark, Phase, ProcessSnapshot, SVC_REPLY_AND_RECEIVE, phases};
pub use provenance::{civil_date, git_commit, today_utc};

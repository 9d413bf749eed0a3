//! `xcbuf-emu fuzz`: the robustness bar of design.md ("a hostile client never crashes or
//! stalls the server; session churn leaks no handles; no data crosses sessions") checked
//! against the real sysmodule through the host client ([`crate::host_client`]).
//!
//! - [`fuzz`]: random and mutated HIPC/CMIF messages on many sessions of both services.
//!   Each structured case carries its expected outcome, derived from the result table of
//!   `xcbuf_common::xcbuf` (server side) and horizon-ipc.md §3.3/§4 (what the kernel
//!   refuses: the client gets the kernel's error, the server keeps serving). Bit-flipped
//!   messages are only held to "a kernel error, a documented result, or a closed session".
//!   After every case the server must be running and answer a fresh Echo byte for byte.
//! - [`churn()`]: opens and closes many sessions, connects past the maximum; the server's
//!   handle count and mappings end where they started.
//! - [`isolation()`]: client A sends secrets; client B asks for outputs larger than what the
//!   server writes into canary-filled C buffers and never sees a byte of A's.
//!
//! Deterministic for a seed: [`SplitMix64`], and the bench itself is deterministic.
//!
//! | module | what it holds |
//! |---|---|
//! | [`rng`] | the seeded generator [`SplitMix64`] |
//! | [`case`] | one request of a campaign: random structured cases, bit flips, their encoding |
//! | [`oracle`] | what a case must give (predicted from the result table and the kernel's rules, independently of the bench's kernel model) and the check of an answer |
//! | [`probe`] | probes of a live server: a fresh Echo, Stats' open sessions |
//! | [`messages`] | the hostile-message campaign [`fuzz`] |
//! | [`churn`](mod@churn) | the session-churn campaign [`churn()`] |
//! | [`isolation`](mod@isolation) | the cross-session campaign [`isolation()`] |
//! | [`cli`] | `xcbuf-emu fuzz`: seed parsing and the three campaigns in a row |

pub mod case;
pub mod churn;
pub mod cli;
pub mod isolation;
pub mod messages;
pub mod oracle;
pub mod probe;
pub mod rng;

pub use case::{ALL_SERVICES, CANARY, Case, Layout, Service, hex_words, mutate, structured_case};
pub use churn::{ChurnReport, churn};
pub use cli::{command, parse_seed};
pub use isolation::{IsolationReport, isolation};
pub use messages::{FuzzReport, fuzz};
pub use oracle::{Expect, check};
pub use probe::{ProbeError, probe_echo, stats_open_sessions};
pub use rng::SplitMix64;

//! The scenario suite: one function per report line, each checking real results of the
//! kernel and the server against the rule it names (horizon-ipc.md §3.3 for packing and
//! indices, the protocol table of `xcbuf_common::xcbuf` for the server's results).
//!
//! Every scenario runs through [`Ctx`], which holds one session to each service and the
//! [`Ipc`] transport. A scenario returns what happened ([`Outcome`]); nothing is assumed.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use xcbuf_common::client::{self, ClientError, Reply, ReplyView};
use xcbuf_common::result::ResultCode;
use xcbuf_common::result::kernel::SESSION_CLOSED;
use xcbuf_common::sf::ReceiveMode;
use xcbuf_common::xcbuf::{GetInfoResponse, StatsResponse};

use crate::ipc::{Handle, INDEXED, Ipc, SINGLE, Service};
use crate::report::{Failure, Outcome, Report, Sink};

mod concat;
mod echo;
mod indexed;
mod malformed;
mod query;
mod sessions;
mod split;
mod stats;

/// A scenario: its report name and its function.
pub struct Scenario<I: Ipc> {
    /// The name in the report line.
    pub name: &'static str,
    /// Runs it.
    pub run: fn(&mut Ctx<'_, I>) -> Outcome,
}

/// Declares the suite from its one table: [`NAMES`] and [`all`] both come from the rows, so
/// adding or dropping a scenario is one row.
macro_rules! suite {
    ($($name:literal => $run:path,)*) => {
        /// The names of every scenario, in report order (the bench's end-to-end test checks
        /// the report against this list).
        pub const NAMES: &[&str] = &[$($name),*];

        /// Every scenario, in report order.
        pub fn all<I: Ipc>() -> impl Iterator<Item = Scenario<I>> {
            [$(Scenario::<I> { name: $name, run: $run }),*].into_iter()
        }
    };
}

// The suite, in report order: report name => function.
suite! {
    "query-pointer-buffer-size" => query::query_pointer_buffer_size,
    "echo-small" => echo::echo_small,
    "echo-exact-fit" => echo::echo_exact_fit,
    "echo-overflow" => echo::echo_overflow,
    "concat-packing" => concat::concat_packing,
    "concat-overflow-by-alignment" => concat::concat_overflow_by_alignment,
    "split-index-matching" => split::split_index_matching,
    "out-too-large" => concat::out_too_large,
    "indexed-mode" => indexed::indexed_mode,
    "zero-size-x" => concat::zero_size_x,
    "sessions" => sessions::sessions,
    "malformed" => malformed::malformed,
    "stats" => stats::stats,
}

/// Runs every scenario against the sessions in `ctx`, recording each in `report`.
pub fn run_all<I: Ipc, S: Sink>(ctx: &mut Ctx<'_, I>, report: &mut Report<S>) {
    for scenario in all::<I>() {
        let outcome = (scenario.run)(ctx);
        report.record(scenario.name, &outcome);
    }
}

/// What went wrong with one request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CallError {
    /// svcSendSyncRequest returned this result (the kernel's, e.g. 0xce01).
    Kernel(ResultCode),
    /// The request could not be built, or the reply carried a failure result or was
    /// malformed.
    Client(ClientError),
    /// svcSendSyncRequest returned `rejected`, and the GetInfo sent after it to re-arm
    /// the server's receive list ([`Ctx::call_on`]) failed with `rearm`.
    Rearm { rejected: ResultCode, rearm: ResultCode },
}

impl CallError {
    /// The one result code this error stands for.
    pub fn result(self) -> ResultCode {
        match self {
            CallError::Kernel(rc) | CallError::Rearm { rejected: rc, .. } => rc,
            CallError::Client(e) => e.result(),
        }
    }
}

impl core::fmt::Display for CallError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CallError::Kernel(rc) => write!(f, "svcSendSyncRequest {rc}"),
            CallError::Client(e) => write!(f, "{e}"),
            CallError::Rearm { rejected, rearm } => {
                write!(
                    f,
                    "svcSendSyncRequest {rejected}, then the GetInfo that re-arms the server's receive list failed: {rearm}"
                )
            }
        }
    }
}

/// The suite's state: the transport and one open session per service.
pub struct Ctx<'i, I: Ipc> {
    ipc: &'i mut I,
    single: Handle,
    indexed: Handle,
}

impl<'i, I: Ipc> Ctx<'i, I> {
    /// Opens one session to each service.
    pub fn open(ipc: &'i mut I) -> Result<Ctx<'i, I>, ResultCode> {
        let single = ipc.connect(&SINGLE)?;
        let indexed = match ipc.connect(&INDEXED) {
            Ok(h) => h,
            Err(rc) => {
                ipc.close(single);
                return Err(rc);
            }
        };
        Ok(Ctx { ipc, single, indexed })
    }

    /// Closes both sessions.
    pub fn close(self) {
        self.ipc.close(self.single);
        self.ipc.close(self.indexed);
    }

    /// The transport.
    pub fn ipc(&mut self) -> &mut I {
        self.ipc
    }

    /// The session used for `service`.
    pub fn session(&self, service: Service) -> Handle {
        // One session per receive mode: `xcbuf` is the single-buffer service, `xcbuf:i`
        // the indexed one.
        match service.receive_mode {
            ReceiveMode::Single => self.single,
            ReceiveMode::Indexed(_) => self.indexed,
        }
    }

    /// Builds a request with `build`, sends it on `session` and parses the reply.
    ///
    /// # After a request the kernel rejected: one GetInfo
    /// When svcSendSyncRequest fails with anything but SessionClosed (0xf601: the
    /// session is gone), the kernel refused the request while copying it (0xce01 for an X
    /// with no place in the server's receive list, and the like). Before returning that
    /// error, this sends one GetInfo (a request without X) on the same session and reads
    /// its reply. On Horizon and Eden that is just one more request. On **Ryujinx** it is
    /// what keeps the server working: Ryujinx's `KServerSession.Receive` writes the
    /// client's header words into the server's message buffer before it copies the X,
    /// never restores them when the copy fails, and `ReplyAndReceive` retries the receive
    /// inside the kernel instead of telling the server (no 0x20401). The server's next
    /// receive therefore takes the *rejected request's* word 1 as its receive list
    /// (horizon-ipc.md §10, "Ryujinx's kernel"), and every following request with an X
    /// fails with 0xce01 until a request without X is received and replied: the server's
    /// reply carries its list again and re-arms it. GetInfo is that request.
    ///
    /// Why here, in the client: the server cannot repair it. It is never woken for the
    /// failed receive, so it does not know its buffer was overwritten; and the broken
    /// list comes from the client's own header (mode and offset), which the server does
    /// not control. Why at once, not before the next request: every scenario then starts
    /// from an armed list, and the one extra request lands right after the rejected one,
    /// never inside another scenario's window (`stats` counts requests exactly; it sends
    /// nothing the kernel rejects, so it sees no GetInfo of this kind).
    pub fn call_on(
        &mut self,
        session: Handle,
        build: impl FnOnce(&mut [u32]) -> Result<usize, ClientError>,
    ) -> Result<Reply, CallError> {
        self.call_on_read(session, build, |reply| Ok(reply.to_reply()))
    }

    /// [`Ctx::call_on`], taking what `read` needs from the reply where it lies instead of
    /// a copy of it (the perf loop's way).
    pub fn call_on_read<T>(
        &mut self,
        session: Handle,
        build: impl FnOnce(&mut [u32]) -> Result<usize, ClientError>,
        read: impl FnOnce(ReplyView<'_>) -> Result<T, ClientError>,
    ) -> Result<T, CallError> {
        match self.ipc.request(session, build, read) {
            Err(CallError::Kernel(rejected)) => {
                if rejected != SESSION_CLOSED {
                    self.rearm(session).map_err(|rearm| CallError::Rearm { rejected, rearm })?;
                }
                Err(CallError::Kernel(rejected))
            }
            result => result,
        }
    }

    /// One GetInfo on `session`, whose reply re-arms the server's receive list (see
    /// [`Ctx::call_on`]); Err with the kernel's or the reply's result.
    fn rearm(&mut self, session: Handle) -> Result<(), ResultCode> {
        self.ipc.request(session, client::build_get_info, |_| Ok(())).map_err(CallError::result)
    }

    /// [`Ctx::call_on`] on this suite's session to `service`.
    pub fn call(
        &mut self,
        service: Service,
        build: impl FnOnce(&mut [u32]) -> Result<usize, ClientError>,
    ) -> Result<Reply, CallError> {
        self.call_on(self.session(service), build)
    }

    /// [`Ctx::call_on_read`] on this suite's session to `service`.
    pub fn call_read<T>(
        &mut self,
        service: Service,
        build: impl FnOnce(&mut [u32]) -> Result<usize, ClientError>,
        read: impl FnOnce(ReplyView<'_>) -> Result<T, ClientError>,
    ) -> Result<T, CallError> {
        self.call_on_read(self.session(service), build, read)
    }

    /// GetInfo on `service`.
    pub fn get_info(&mut self, service: Service) -> Result<GetInfoResponse, Failure> {
        let reply = self.call(service, client::build_get_info).map_err(|e| unexpected("GetInfo", e))?;
        reply.read().map_err(|e| unexpected("GetInfo", CallError::Client(e)))
    }

    /// Stats on `service`.
    pub fn stats(&mut self, service: Service) -> Result<StatsResponse, Failure> {
        let reply = self.call(service, client::build_stats).map_err(|e| unexpected("Stats", e))?;
        reply.read().map_err(|e| unexpected("Stats", CallError::Client(e)))
    }

    /// The pointer-buffer size GetInfo reports for `service`.
    pub fn pointer_buffer_size(&mut self, service: Service) -> Result<usize, Failure> {
        let info = self.get_info(service)?;
        usize::try_from(info.pointer_buffer_size)
            .map_err(|_| Failure::new("a usize size", format!("{:#x}", info.pointer_buffer_size)))
    }
}

/// A failure for a request that should have succeeded.
pub fn unexpected(what: &str, e: CallError) -> Failure {
    Failure::new(format!("{what} to succeed"), format!("{e}"))
}

/// Expects `result` to be the failure `expected` (a kernel result from
/// svcSendSyncRequest when `from_kernel`, else the reply's result).
pub fn expect_error<T>(
    what: &str,
    result: Result<T, CallError>,
    expected: ResultCode,
    from_kernel: bool,
) -> Result<(), Failure> {
    let place = if from_kernel { "svcSendSyncRequest" } else { "reply result" };
    match result {
        Ok(_) => Err(Failure::new(format!("{what}: {place} {expected}"), "success")),
        Err(CallError::Kernel(rc)) if from_kernel && rc == expected => Ok(()),
        Err(CallError::Client(ClientError::Service(rc))) if !from_kernel && rc == expected => Ok(()),
        Err(e) => Err(Failure::new(format!("{what}: {place} {expected}"), format!("{e}"))),
    }
}

/// `len` bytes of a recognisable pattern (distinct per `seed`).
pub fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)).collect()
}

/// The first index at which `got` differs from `want`, as a failure.
pub fn compare_bytes(what: &str, want: &[u8], got: &[u8]) -> Result<(), Failure> {
    if want.len() != got.len() {
        return Err(Failure::new(format!("{what}: {} bytes", want.len()), format!("{} bytes", got.len())));
    }
    match want.iter().zip(got).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(i) => Err(Failure::new(format!("{what}: byte {i:#x} = {:#04x}", want[i]), format!("{:#04x}", got[i]))),
    }
}

/// Rounds up to the kernel's 16-byte pointer-transfer alignment (horizon-ipc.md §3.3).
pub const fn align16(x: usize) -> usize {
    (x + 15) & !15
}

/// The offsets the kernel packs X of `sizes` at in single mode, relative to a 16-byte
/// aligned entry (horizon-ipc.md §3.3: each at the next 16-byte boundary after the
/// previous end; a zero-size X takes no space and gets none).
pub fn single_mode_offsets(sizes: &[usize]) -> Vec<Option<usize>> {
    let mut key = 0;
    sizes
        .iter()
        .map(|&size| {
            if size == 0 {
                return None;
            }
            let at = align16(key);
            key = at + size;
            Some(at)
        })
        .collect()
}

/// Formats a list of sizes or offsets as `0x13, 0x20`.
pub fn hex_list(values: impl IntoIterator<Item = usize>) -> String {
    let mut s = String::new();
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&format!("{v:#x}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_mode_offsets_follow_the_worked_example() {
        // horizon-ipc.md §3.3: entry 0x1008 -> X of 0x13, 0x20, 0xB8 land at 0x1010,
        // 0x1030, 0x1050, i.e. 0x00, 0x20, 0x40 from the first aligned address.
        assert_eq!(single_mode_offsets(&[0x13, 0x20, 0xB8]), [Some(0x00), Some(0x20), Some(0x40)]);
    }

    #[test]
    fn zero_size_x_does_not_move_the_key() {
        assert_eq!(single_mode_offsets(&[0x10, 0, 0x10]), [Some(0x00), None, Some(0x10)]);
    }

    #[test]
    fn every_scenario_has_a_distinct_name() {
        let mut names = NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), NAMES.len());
    }
}

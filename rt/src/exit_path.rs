//! How [`crate::exit`] leaves the program: the decision, as a pure function (host-tested).
//!
//! When the NRO returns, hbloader loads the next NRO (hbmenu): nx-hbloader
//! `source/main.c` `loadNro` first unmaps the previous NRO's segments
//! (svcUnmapProcessCodeMemory) and then maps the next one from the same heap, which it
//! hands over as that NRO's OverrideHeap. A thread of ours still alive at that moment would
//! run unmapped code, or code and stacks of the next NRO. So rt returns to the loader only from the main
//! thread and only when no other thread it started is still alive; in every other case it
//! ends the whole process with svcExitProcess, which stops every thread of the process
//! (hbloader with it) before anything is unmapped.

use core::fmt;

use xcbuf_common::text::{self, FmtSink, Piece, Sink};

/// Where [`crate::exit`] goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitPath {
    /// Restore hbloader's stack and registers and return to its `lr` with `w0 = result`.
    ReturnToLoader,
    /// svcExitProcess (then sleep forever if it returns, as in eden-cli).
    ExitProcess(ExitReason),
}

/// Why [`ExitPath::ExitProcess`] was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitReason {
    /// No return address: launched by the kernel (an NSO; an NRO in Eden or Ryujinx without
    /// arguments), or the loader's `lr` was 0.
    NoLoader,
    /// `exit` (or a panic) on a thread other than the main one: only the main thread has
    /// the loader's frame to return through.
    NotMainThread,
    /// This many threads started with [`crate::thread`] have not been joined: returning
    /// would leave them running in memory hbloader is about to unmap.
    ThreadsAlive(usize),
}

/// The decision: `loader_lr` is the saved return address (0 = none), `on_main_thread`
/// whether the caller is the main thread, `threads_alive` the number of rt threads started
/// and not joined ([`crate::thread`]).
pub fn decide(loader_lr: usize, on_main_thread: bool, threads_alive: usize) -> ExitPath {
    if loader_lr == 0 {
        ExitPath::ExitProcess(ExitReason::NoLoader)
    } else if !on_main_thread {
        ExitPath::ExitProcess(ExitReason::NotMainThread)
    } else if threads_alive != 0 {
        ExitPath::ExitProcess(ExitReason::ThreadsAlive(threads_alive))
    } else {
        ExitPath::ReturnToLoader
    }
}

impl ExitPath {
    /// The words rt's exit line uses for the path, without `core::fmt`
    /// (`xcbuf_common::text`).
    pub fn write_text(self, sink: &mut dyn Sink) {
        match self {
            ExitPath::ReturnToLoader => sink.put("returning to the loader"),
            ExitPath::ExitProcess(ExitReason::NoLoader) => sink.put("svcExitProcess (no loader to return to)"),
            ExitPath::ExitProcess(ExitReason::NotMainThread) => {
                sink.put("svcExitProcess (not on the main thread: the whole process ends)")
            }
            ExitPath::ExitProcess(ExitReason::ThreadsAlive(n)) => text::write(
                sink,
                &[
                    Piece::Str("svcExitProcess instead of returning to the loader ("),
                    text::dec(n),
                    Piece::Str(" other thread(s) still running)"),
                ],
            ),
        }
    }
}

/// The text of [`ExitPath::write_text`].
impl fmt::Display for ExitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        FmtSink::with(f, |sink| self.write_text(sink))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    const LR: usize = 0x7100_0000;

    #[test]
    fn main_thread_alone_returns_to_the_loader() {
        assert_eq!(decide(LR, true, 0), ExitPath::ReturnToLoader);
        assert_eq!(decide(LR, true, 0).to_string(), "returning to the loader");
    }

    #[test]
    fn other_threads_alive_end_the_process_instead_of_returning() {
        assert_eq!(decide(LR, true, 2), ExitPath::ExitProcess(ExitReason::ThreadsAlive(2)));
        assert_eq!(
            decide(LR, true, 2).to_string(),
            "svcExitProcess instead of returning to the loader (2 other thread(s) still running)"
        );
    }

    #[test]
    fn exit_or_panic_on_a_non_main_thread_ends_the_process() {
        assert_eq!(decide(LR, false, 0), ExitPath::ExitProcess(ExitReason::NotMainThread));
        assert_eq!(decide(LR, false, 3), ExitPath::ExitProcess(ExitReason::NotMainThread));
    }

    #[test]
    fn without_a_loader_return_address_the_process_ends() {
        assert_eq!(decide(0, true, 0), ExitPath::ExitProcess(ExitReason::NoLoader));
        assert_eq!(decide(0, false, 5), ExitPath::ExitProcess(ExitReason::NoLoader));
    }
}

//! Which kernel the bench models: `--kernel horizon|ryujinx` (`xcbuf-emu run`).
//!
//! [`KernelProfile::Horizon`] (the default) follows Atmosphère's mesosphere
//! (`kern_k_server_session.cpp`, `kern_svc_ipc.cpp`); Eden's guest-to-guest kernel path
//! is a port of the same code and follows it too (horizon-ipc.md §10 "yuzu/torzu").
//!
//! [`KernelProfile::Ryujinx`] follows Ryujinx's kernel (`src/Ryujinx.HLE/HOS/Kernel`),
//! which copies messages by the same rules on success but fails differently
//! (horizon-ipc.md §10 "Ryujinx's kernel"). Every difference lives in its own module and
//! is reached through one small hook where the Horizon code decides:
//!
//! | difference | Ryujinx source | where the bench models it |
//! |---|---|---|
//! | no header restore and no 0x20401 after a failed receive; the server is never told (NotFound loops inside the svc) | `KServerSession.cs` `Receive`; `Syscall.cs` `ReplyAndReceive` | [`super::message::ryujinx::receive_message`] |
//! | header checks of the client's message on receive: the server gets the error with its index, the client success | `KServerSession.cs` `Receive` | same |
//! | reply failures before the copy (client header checks, A/B/W): the client gets success, the server the error | `KServerSession.cs` `Reply` | [`super::message::ryujinx::send_message`] |
//! | the index of a failed reply is 0, not −1 | `Syscall.cs` `ReplyAndReceive` | [`KernelProfile::failed_reply_index`] (svc.rs) |
//! | a reply is copied whatever state the client thread is in | `KServerSession.cs` `Reply` | `Kernel::send_reply` (ipc.rs) |
//! | closing the client drops the queued and the current request without waking anyone | `KServerSession.cs` `CancelAllRequestsClientDisconnected`, `KSession.cs` `DisconnectClient` | `Kernel::cancel_all_requests_client_disconnected` (here) |
//! | SendSyncRequest holds no reference on the client session | `Syscall.cs` `SendSyncRequest`, `KClientSession.cs` `SendSyncRequest` | [`KernelProfile::send_sync_request_holds_session`] |
#![forbid(unsafe_code)]

use core::fmt;
use core::str::FromStr;

/// The kernel whose behaviour the bench reproduces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KernelProfile {
    /// Atmosphère's mesosphere (and Eden, whose kernel path ports it).
    #[default]
    Horizon,
    /// Ryujinx's kernel (`Ryujinx.HLE/HOS/Kernel`).
    Ryujinx,
}

impl KernelProfile {
    /// Every profile, in `--kernel` order.
    pub const ALL: [KernelProfile; 2] = [KernelProfile::Horizon, KernelProfile::Ryujinx];

    /// The `--kernel` name.
    pub const fn name(self) -> &'static str {
        match self {
            KernelProfile::Horizon => "horizon",
            KernelProfile::Ryujinx => "ryujinx",
        }
    }

    /// The out index svcReplyAndReceive writes when its reply fails: −1 on Horizon
    /// (mesosphere `kern_svc_ipc.cpp` ReplyAndReceiveImpl sets `*out_index = -1` before
    /// the reply, horizon-ipc.md §4 step 1), 0 on Ryujinx (`Syscall.cs` ReplyAndReceive
    /// starts with `handleIndex = 0` and returns the reply's failure before any wait).
    pub const fn failed_reply_index(self) -> u64 {
        match self {
            KernelProfile::Horizon => u32::MAX as u64,
            KernelProfile::Ryujinx => 0,
        }
    }

    /// Whether a thread blocked in svcSendSyncRequest holds a reference on the client
    /// session (so that another thread's CloseHandle does not close the client side while
    /// the request is in flight). Horizon: yes (mesosphere `kern_svc_ipc.cpp`
    /// SendSyncRequestImpl keeps the `KScopedAutoObject` of the session for the whole
    /// call). Ryujinx: no (`Syscall.cs` SendSyncRequest looks the session up with
    /// `GetObject` and takes no reference; `KClientSession.cs` SendSyncRequest neither),
    /// so closing the last handle disconnects the client at once.
    pub const fn send_sync_request_holds_session(self) -> bool {
        matches!(self, KernelProfile::Horizon)
    }
}

impl super::Kernel {
    /// Ryujinx's `KServerSession.CancelAllRequestsClientDisconnected`, called from
    /// `KSession.DisconnectClient` when the client session is destroyed: the request
    /// being served (`_activeRequest`) and every queued one are removed
    /// (`IterateWithRemovalOfAllRequests`), and only asynchronous requests are answered;
    /// a thread blocked in svcSendSyncRequest is **not woken** (it stays blocked), and the
    /// server's later reply to the dropped request finds no active request: InvalidState
    /// 0xfa01 (`KServerSession.cs` Reply). The server threads are woken to see
    /// PortRemoteClosed 0xf601 on the session, as on Horizon.
    pub(super) fn cancel_all_requests_client_disconnected(&mut self, s: super::SessionId) {
        let sess = &mut self.sessions[s];
        sess.requests.clear();
        sess.current = None;
    }
}

impl fmt::Display for KernelProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KernelProfile {
    type Err = String;

    fn from_str(s: &str) -> Result<KernelProfile, String> {
        KernelProfile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| format!("unknown kernel `{s}` (expected horizon or ryujinx)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn horizon_is_the_default_and_names_round_trip() {
        assert_eq!(KernelProfile::default(), KernelProfile::Horizon);
        for p in KernelProfile::ALL {
            assert_eq!(p.name().parse::<KernelProfile>(), Ok(p));
        }
        assert!("eden".parse::<KernelProfile>().is_err());
    }

    #[test]
    fn a_failed_reply_writes_index_minus_one_on_horizon_and_zero_on_ryujinx() {
        assert_eq!(KernelProfile::Horizon.failed_reply_index() as u32 as i32, -1);
        assert_eq!(KernelProfile::Ryujinx.failed_reply_index(), 0);
    }
}

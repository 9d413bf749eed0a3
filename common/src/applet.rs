//! The part of am (the applet manager: `appletOE`, `appletAE`) the client uses to get an
//! ARUID and a managed display layer (screen-output.md §1a, §1g rows 2-10 and 14). am
//! sessions are domains: every command below goes to a domain object, and objects come
//! back as out-object ids (`crate::cmif::build_domain_request`). Command ids and layouts
//! as libnx `nx/source/services/applet.c` (`_appletInitialize`, `_appletGetSessionProxy`,
//! `_appletOpenLibraryAppletProxy`, `_appletReceiveMessage`, `appletCreateManagedDisplayLayer`);
//! the same ids in Eden `src/core/hle/service/am/service/*.cpp` and Ryujinx
//! `Services/Am/AppletOE`, `Services/Am/AppletAE`.
#![forbid(unsafe_code)]

use crate::result::ResultCode;
use crate::sm::ServiceName;

/// The service for an Application (hbloader's title override; Eden, Ryujinx).
pub const APPLET_OE: ServiceName = ServiceName::literal("appletOE");
/// The service for a LibraryApplet (hbloader's album mode).
pub const APPLET_AE: ServiceName = ServiceName::literal("appletAE");

/// appletOE commands.
pub mod oe {
    /// OpenApplicationProxy(u64 0) + PID + copy handle (current process) -> 1 object.
    pub const OPEN_APPLICATION_PROXY: u32 = 0;
}

/// appletAE commands.
pub mod ae {
    /// OpenLibraryAppletProxy(u64 0) + PID + copy handle + A (mode 0) AppletAttribute
    /// ([`super::APPLET_ATTRIBUTE_SIZE`] bytes) -> 1 object.
    pub const OPEN_LIBRARY_APPLET_PROXY: u32 = 201;
}

/// IApplicationProxy / ILibraryAppletProxy commands (each -> 1 object).
pub mod proxy {
    pub const GET_COMMON_STATE_GETTER: u32 = 0;
    pub const GET_SELF_CONTROLLER: u32 = 1;
    pub const GET_WINDOW_CONTROLLER: u32 = 2;
    /// IApplicationProxy only.
    pub const GET_APPLICATION_FUNCTIONS: u32 = 20;
}

/// ICommonStateGetter commands.
pub mod common_state_getter {
    /// -> copy handle (the message event).
    pub const GET_EVENT_HANDLE: u32 = 0;
    /// -> u32 message; [`super::NO_MESSAGE`] when the queue is empty.
    pub const RECEIVE_MESSAGE: u32 = 1;
    /// -> u8 focus state.
    pub const GET_CURRENT_FOCUS_STATE: u32 = 9;
}

/// IWindowController commands.
pub mod window_controller {
    /// -> u64 ARUID.
    pub const GET_APPLET_RESOURCE_USER_ID: u32 = 1;
    /// no data.
    pub const ACQUIRE_FOREGROUND_RIGHTS: u32 = 10;
}

/// ISelfController commands.
pub mod self_controller {
    /// -> u64 layer id.
    pub const CREATE_MANAGED_DISPLAY_LAYER: u32 = 40;
}

/// IApplicationFunctions commands.
pub mod application_functions {
    /// -> u8.
    pub const NOTIFY_RUNNING: u32 = 40;
}

/// Size of `AppletAttribute` {u8 flag, 0x7F reserved} (libnx `applet.h`).
pub const APPLET_ATTRIBUTE_SIZE: usize = 0x80;
/// Focus state "in focus" (libnx `AppletFocusState_InFocus`).
pub const FOCUS_STATE_IN_FOCUS: u8 = 1;
/// Message FocusStateChanged (libnx `AppletMessage_FocusStateChanged`).
pub const MESSAGE_FOCUS_STATE_CHANGED: u32 = 15;
/// "AM busy" (0x19280): retry opening the proxy every 100 ms (libnx `AM_BUSY_ERROR`).
pub const AM_BUSY: ResultCode = ResultCode::new(128, 201);
/// ReceiveMessage with an empty queue (0x680).
pub const NO_MESSAGE: ResultCode = ResultCode::new(128, 3);
/// Opening a proxy: raw u64 0 (libnx `reserved`).
pub const OPEN_PROXY_ARGS: [u8; 8] = [0; 8];

/// Which proxy the applet type asks for (screen-output.md §0 "Applet type from hbloader").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyKind {
    /// appletOE 0.
    Application,
    /// appletAE 201.
    LibraryApplet,
}

impl ProxyKind {
    /// The service to open.
    pub const fn service(self) -> ServiceName {
        match self {
            ProxyKind::Application => APPLET_OE,
            ProxyKind::LibraryApplet => APPLET_AE,
        }
    }

    /// The command that opens the proxy.
    pub const fn open_command(self) -> u32 {
        match self {
            ProxyKind::Application => oe::OPEN_APPLICATION_PROXY,
            ProxyKind::LibraryApplet => ae::OPEN_LIBRARY_APPLET_PROXY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn am_busy_is_0x19280_and_no_message_0x680() {
        assert_eq!(AM_BUSY.raw(), 0x19280);
        assert_eq!(NO_MESSAGE.raw(), 0x680);
    }

    #[test]
    fn an_application_opens_appletoe_0_and_a_library_applet_appletae_201() {
        assert_eq!(ProxyKind::Application.service().as_str(), Some("appletOE"));
        assert_eq!(ProxyKind::Application.open_command(), 0);
        assert_eq!(ProxyKind::LibraryApplet.service().as_str(), Some("appletAE"));
        assert_eq!(ProxyKind::LibraryApplet.open_command(), 201);
    }
}

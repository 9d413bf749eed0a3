//! The host's applet manager (am): `appletOE` and `appletAE`, with the objects a program
//! uses to get its applet resource user id (ARUID) and a managed display layer
//! (screen-output.md §1a). The client converts its am session to a domain; the CMIF
//! framework ([`super::session`]) serves the objects as domain ids, as a plain session's
//! objects as new sessions.
//!
//! Commands (ids and layouts from libnx `nx/source/services/applet.c` `_appletInitialize`;
//! behaviour from Eden `src/core/hle/service/am/service/*` and Ryujinx
//! `Services/Am/AppletOE`, `AppletAE`, cited per command):
//! - appletOE 0 OpenApplicationProxy(u64 0) + PID + copy handle (the process) -> IApplicationProxy.
//! - appletAE 201 OpenLibraryAppletProxy(u64 0) + PID + copy handle + A AppletAttribute (0x80)
//!   -> ILibraryAppletProxy.
//! - proxy 0 GetCommonStateGetter, 1 GetSelfController, 2 GetWindowController; 20
//!   GetApplicationFunctions (IApplicationProxy only: on ILibraryAppletProxy 20 is
//!   OpenLibraryAppletSelfAccessor, which the bench does not model).
//! - ICommonStateGetter 0 GetEventHandle -> copy handle, 1 ReceiveMessage -> u32,
//!   9 GetCurrentFocusState -> u8.
//! - ISelfController 13 SetFocusHandlingMode(u8, u8, u8), 16 SetOutOfFocusSuspendingEnabled(u8),
//!   40 CreateManagedDisplayLayer -> u64 layer id.
//! - IWindowController 1 GetAppletResourceUserId -> u64, 10 AcquireForegroundRights.
//! - IApplicationFunctions 40 NotifyRunning -> u8.
//!
//! Any other command stops the run ([`HleReply::Unknown`]).
//!
//! The applet of a process: Eden finds it by the PID the request carries
//! (`application_proxy_service.cpp` / `all_system_applet_proxies_service.cpp`
//! `GetAppletFromProcessId`); Ryujinx makes that PID the owner of the layers am creates
//! (`SystemAppletProxy/ISelfController.cs`). The bench keeps one [`Applet`] per pid in
//! [`HleShared::am`](super::HleShared), made by the first proxy a process opens.

use std::collections::{BTreeMap, VecDeque};

use xcbuf_common::result::ResultCode;
use xcbuf_common::sm::ServiceName;

use super::{HleEnv, HleObject, HleReply, HleRequest, HleService, Reply};
use crate::kernel::KObjectRef;
use crate::kernel::event::EventId;

/// The services' names.
pub const APPLET_OE: ServiceName = ServiceName::literal("appletOE");
pub const APPLET_AE: ServiceName = ServiceName::literal("appletAE");
/// Sessions to each at once (the bench's choice; am's real limit is not modelled).
pub const MAX_SESSIONS: u32 = 8;
/// Size of the AppletAttribute of OpenLibraryAppletProxy (libnx `applet.h` `AppletAttribute`;
/// Eden reads it as `InLargeData<AppletAttribute>`).
pub const APPLET_ATTRIBUTE_SIZE: u64 = 0x80;

/// Command ids.
pub mod cmd {
    pub const OPEN_APPLICATION_PROXY: u32 = 0;
    pub const OPEN_LIBRARY_APPLET_PROXY: u32 = 201;
    pub const GET_COMMON_STATE_GETTER: u32 = 0;
    pub const GET_SELF_CONTROLLER: u32 = 1;
    pub const GET_WINDOW_CONTROLLER: u32 = 2;
    pub const GET_APPLICATION_FUNCTIONS: u32 = 20;
    pub const GET_EVENT_HANDLE: u32 = 0;
    pub const RECEIVE_MESSAGE: u32 = 1;
    pub const GET_CURRENT_FOCUS_STATE: u32 = 9;
    pub const SET_FOCUS_HANDLING_MODE: u32 = 13;
    pub const SET_OUT_OF_FOCUS_SUSPENDING_ENABLED: u32 = 16;
    pub const CREATE_MANAGED_DISPLAY_LAYER: u32 = 40;
    pub const GET_APPLET_RESOURCE_USER_ID: u32 = 1;
    pub const ACQUIRE_FOREGROUND_RIGHTS: u32 = 10;
    pub const NOTIFY_RUNNING: u32 = 40;
}

/// am results (module 128; Eden `am/am_results.h`).
pub mod results {
    use xcbuf_common::result::ResultCode;
    /// 0x680: ReceiveMessage with no message queued (Eden `ResultNoMessages`).
    pub const NO_MESSAGES: ResultCode = ResultCode::new(128, 3);
}

/// AppletMessage values (Eden `am/am_types.h`).
pub mod message {
    pub const CHANGE_INTO_FOREGROUND: u32 = 1;
    pub const FOCUS_STATE_CHANGED: u32 = 15;
}

/// FocusState InFocus (Eden `am/am_types.h`).
pub const FOCUS_IN_FOCUS: u8 = 1;

/// What kind of applet a process opened its proxy as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppletKind {
    Application,
    LibraryApplet,
}

/// One process's applet state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applet {
    pub kind: AppletKind,
    /// Its message queue (ReceiveMessage pops the front).
    pub messages: VecDeque<u32>,
    /// The event GetEventHandle hands out: signalled while a message is queued (Eden
    /// `lifecycle_manager.cpp` `SignalSystemEventIfNeeded`).
    pub event: EventId,
    /// Managed layers it created (CreateManagedDisplayLayer).
    pub layers: Vec<u64>,
}

/// The applets, by pid (= ARUID).
#[derive(Clone, Debug, Default)]
pub struct Applets {
    pub by_pid: BTreeMap<u64, Applet>,
}

/// appletOE as an HLE service.
pub struct AppletOeService;
/// appletAE as an HLE service.
pub struct AppletAeService;

impl HleService for AppletOeService {
    fn name(&self) -> ServiceName {
        APPLET_OE
    }
    fn max_sessions(&self) -> u32 {
        MAX_SESSIONS
    }
    fn open(&mut self) -> Box<dyn HleObject> {
        Box::new(AmObject::ApplicationProxyService)
    }
}

impl HleService for AppletAeService {
    fn name(&self) -> ServiceName {
        APPLET_AE
    }
    fn max_sessions(&self) -> u32 {
        MAX_SESSIONS
    }
    fn open(&mut self) -> Box<dyn HleObject> {
        Box::new(AmObject::AllSystemAppletProxiesService)
    }
}

/// An am object; every object below the root names its applet by pid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmObject {
    /// appletOE's root.
    ApplicationProxyService,
    /// appletAE's root.
    AllSystemAppletProxiesService,
    Proxy {
        pid: u64,
        kind: AppletKind,
    },
    CommonStateGetter {
        pid: u64,
    },
    SelfController {
        pid: u64,
    },
    WindowController {
        pid: u64,
    },
    ApplicationFunctions {
        pid: u64,
    },
}

impl HleObject for AmObject {
    fn interface(&self) -> &'static str {
        match self {
            AmObject::ApplicationProxyService => "IApplicationProxyService",
            AmObject::AllSystemAppletProxiesService => "IAllSystemAppletProxiesService",
            AmObject::Proxy { kind: AppletKind::Application, .. } => "IApplicationProxy",
            AmObject::Proxy { kind: AppletKind::LibraryApplet, .. } => "ILibraryAppletProxy",
            AmObject::CommonStateGetter { .. } => "ICommonStateGetter",
            AmObject::SelfController { .. } => "ISelfController",
            AmObject::WindowController { .. } => "IWindowController",
            AmObject::ApplicationFunctions { .. } => "IApplicationFunctions",
        }
    }

    fn handle(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        match (self.clone(), request.command_id) {
            (AmObject::ApplicationProxyService, cmd::OPEN_APPLICATION_PROXY) => {
                open_proxy(request, env, AppletKind::Application)
            }
            (AmObject::AllSystemAppletProxiesService, cmd::OPEN_LIBRARY_APPLET_PROXY) => {
                open_proxy(request, env, AppletKind::LibraryApplet)
            }
            (AmObject::Proxy { pid, .. }, cmd::GET_COMMON_STATE_GETTER) => {
                HleReply::object(Box::new(AmObject::CommonStateGetter { pid }))
            }
            (AmObject::Proxy { pid, .. }, cmd::GET_SELF_CONTROLLER) => {
                HleReply::object(Box::new(AmObject::SelfController { pid }))
            }
            (AmObject::Proxy { pid, .. }, cmd::GET_WINDOW_CONTROLLER) => {
                HleReply::object(Box::new(AmObject::WindowController { pid }))
            }
            // Eden `application_proxy.cpp`: 20 GetApplicationFunctions (IApplicationProxy only).
            (AmObject::Proxy { pid, kind: AppletKind::Application }, cmd::GET_APPLICATION_FUNCTIONS) => {
                HleReply::object(Box::new(AmObject::ApplicationFunctions { pid }))
            }
            // Eden `common_state_getter.cpp` GetEventHandle: a copy handle of the applet's
            // system event.
            (AmObject::CommonStateGetter { pid }, cmd::GET_EVENT_HANDLE) => match applet(env, pid) {
                Some(a) => HleReply::Reply(Reply {
                    copy_handles: vec![KObjectRef::ReadableEvent(a.event)],
                    ..Reply::default()
                }),
                None => HleReply::Unknown,
            },
            // Eden ReceiveMessage -> `LifecycleManager::PopMessage`: the next message, or
            // ResultNoMessages (0x680) when none; the event follows what is left.
            (AmObject::CommonStateGetter { pid }, cmd::RECEIVE_MESSAGE) => receive_message(env, pid),
            // Eden GetCurrentFocusState: the bench's applets are always in focus.
            (AmObject::CommonStateGetter { .. }, cmd::GET_CURRENT_FOCUS_STATE) => HleReply::ok(vec![FOCUS_IN_FOCUS]),
            // Eden `self_controller.cpp` SetFocusHandlingMode(bool, bool, bool) and
            // SetOutOfFocusSuspendingEnabled(bool): the focus never changes in the bench.
            (AmObject::SelfController { .. }, cmd::SET_FOCUS_HANDLING_MODE) => match request.payload.len() >= 3 {
                true => HleReply::ok(Vec::new()),
                false => short_payload(env, request),
            },
            (AmObject::SelfController { .. }, cmd::SET_OUT_OF_FOCUS_SUSPENDING_ENABLED) => {
                match request.payload.is_empty() {
                    false => HleReply::ok(Vec::new()),
                    true => short_payload(env, request),
                }
            }
            // Eden `display_layer_manager.cpp` CreateManagedDisplayLayer: a layer on display
            // "Default" owned by the applet's process id (Ryujinx: the proxy's PID).
            (AmObject::SelfController { pid }, cmd::CREATE_MANAGED_DISPLAY_LAYER) => {
                let layer = env.shared().vi.create_managed_layer(pid);
                if let Some(a) = env.shared().am.by_pid.get_mut(&pid) {
                    a.layers.push(layer);
                }
                HleReply::ok(layer.to_le_bytes().to_vec())
            }
            // Eden `window_controller.cpp` GetAppletResourceUserId: the applet's ARUID, its
            // process id (as on hardware, input.md §1). Ryujinx returns a counter instead
            // (`IWindowController.cs`: 1, then 2 on the next call).
            (AmObject::WindowController { pid }, cmd::GET_APPLET_RESOURCE_USER_ID) => {
                HleReply::ok(pid.to_le_bytes().to_vec())
            }
            // Eden AcquireForegroundRights: success, nothing else.
            (AmObject::WindowController { .. }, cmd::ACQUIRE_FOREGROUND_RIGHTS) => HleReply::ok(Vec::new()),
            // Eden `application_functions.cpp` NotifyRunning: became-running = true.
            (AmObject::ApplicationFunctions { .. }, cmd::NOTIFY_RUNNING) => HleReply::ok(vec![1]),
            _ => HleReply::Unknown,
        }
    }
}

fn applet(env: &mut HleEnv<'_>, pid: u64) -> Option<Applet> {
    env.shared().am.by_pid.get(&pid).cloned()
}

fn short_payload(env: &mut HleEnv<'_>, request: &HleRequest<'_>) -> HleReply {
    // libstratosphere `HipcCommandProcessor::PrepareForProcess`: raw data shorter than the
    // command's is InvalidCmifRequest, and the server closes the session.
    env.trace(format!(
        "am: command {} with {} bytes of raw data: closing the session",
        request.command_id,
        request.payload.len()
    ));
    HleReply::Close
}

/// OpenApplicationProxy / OpenLibraryAppletProxy.
///
/// The request must carry what the command declares (libstratosphere
/// `sf_impl_command_serialization.hpp` `HipcCommandProcessor::PrepareForProcess`: the PID
/// flag, one copy handle, and for 201 one A buffer; otherwise InvalidCmifRequest, and the
/// session is closed): without the PID there is no applet to find (Eden
/// `GetAppletFromProcessId` gets pid 0 and fails with ResultUnknown; Ryujinx makes pid 0
/// the layer owner and then never shows a frame).
fn open_proxy(request: &HleRequest<'_>, env: &mut HleEnv<'_>, kind: AppletKind) -> HleReply {
    let attribute_ok = match kind {
        AppletKind::Application => request.a.is_empty(),
        AppletKind::LibraryApplet => request.a.len() == 1 && request.a[0].size >= APPLET_ATTRIBUTE_SIZE,
    };
    let Some(pid) = request.pid else {
        env.trace(format!("am: command {} without the PID descriptor: closing the session", request.command_id));
        return HleReply::Close;
    };
    if request.copy_handles.len() != 1 || !attribute_ok || request.payload.len() < 8 {
        env.trace(format!(
            "am: command {}: {} copy handle(s), {} A buffer(s), {} bytes of raw data: closing the session",
            request.command_id,
            request.copy_handles.len(),
            request.a.len(),
            request.payload.len()
        ));
        return HleReply::Close;
    }
    if !env.shared().am.by_pid.contains_key(&pid) {
        let event = env.k.create_event("am:ICommonStateGetter");
        // Eden `lifecycle_manager.h`: an application starts with a focus-state change to
        // report (`m_has_focus_state_changed{true}`), so one FocusStateChanged message is
        // queued and the system event is signalled; a library applet's first message is
        // ChangeIntoForeground once it is made the foreground applet.
        let first = match kind {
            AppletKind::Application => message::FOCUS_STATE_CHANGED,
            AppletKind::LibraryApplet => message::CHANGE_INTO_FOREGROUND,
        };
        env.k.set_event(event, true);
        let applet = Applet { kind, messages: VecDeque::from([first]), event, layers: Vec::new() };
        env.shared().am.by_pid.insert(pid, applet);
    }
    HleReply::object(Box::new(AmObject::Proxy { pid, kind }))
}

fn receive_message(env: &mut HleEnv<'_>, pid: u64) -> HleReply {
    let Some(a) = env.shared().am.by_pid.get_mut(&pid) else { return HleReply::Unknown };
    let popped = a.messages.pop_front();
    let (event, left) = (a.event, !a.messages.is_empty());
    env.k.set_event(event, left);
    match popped {
        Some(m) => HleReply::ok(m.to_le_bytes().to_vec()),
        None => HleReply::result(results::NO_MESSAGES),
    }
}

/// The result of a reply, for tests.
pub fn reply_result(reply: &HleReply) -> Option<ResultCode> {
    match reply {
        HleReply::Reply(r) => Some(r.result),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hle::test_support::{Harness, RequestParts};

    fn open_oe(h: &mut Harness, pid: bool) -> HleReply {
        let parts = RequestParts {
            command_id: 0,
            payload: &0u64.to_le_bytes(),
            pid,
            copy_handles: &[0xFFFF_8001],
            ..RequestParts::default()
        };
        h.call(&mut AmObject::ApplicationProxyService, &parts)
    }

    fn object(reply: HleReply) -> AmObject {
        let HleReply::Reply(mut r) = reply else { panic!("not a reply") };
        assert_eq!(r.result, ResultCode::SUCCESS);
        assert_eq!(r.out_objects.len(), 1);
        let o = r.out_objects.remove(0);
        // Objects are trait objects: rebuild the AmObject from its interface name (the
        // tests' applet is pid 0x80).
        let pid = 0x80;
        match o.interface() {
            "IApplicationProxy" => AmObject::Proxy { pid, kind: AppletKind::Application },
            "ILibraryAppletProxy" => AmObject::Proxy { pid, kind: AppletKind::LibraryApplet },
            "ICommonStateGetter" => AmObject::CommonStateGetter { pid },
            "ISelfController" => AmObject::SelfController { pid },
            "IWindowController" => AmObject::WindowController { pid },
            "IApplicationFunctions" => AmObject::ApplicationFunctions { pid },
            other => panic!("unexpected {other}"),
        }
    }

    fn payload(reply: HleReply) -> Vec<u8> {
        let HleReply::Reply(r) = reply else { panic!("not a reply") };
        assert_eq!(r.result, ResultCode::SUCCESS, "result");
        r.payload
    }

    fn simple(h: &mut Harness, o: &mut AmObject, id: u32, data: &[u8]) -> HleReply {
        h.call(o, &RequestParts { command_id: id, payload: data, ..RequestParts::default() })
    }

    #[test]
    fn open_application_proxy_needs_the_pid_descriptor() {
        let mut h = Harness::new();
        assert!(matches!(open_oe(&mut h, false), HleReply::Close));
        assert!(h.k.hle.shared.am.by_pid.is_empty());
        assert_eq!(object(open_oe(&mut h, true)), AmObject::Proxy { pid: 0x80, kind: AppletKind::Application });
    }

    #[test]
    fn open_library_applet_proxy_needs_the_pid_and_the_attribute_a_buffer() {
        let mut h = Harness::new();
        let attribute = h.buffer(&[0u8; 0x80]);
        let mut parts = RequestParts {
            command_id: 201,
            payload: &0u64.to_le_bytes(),
            pid: true,
            copy_handles: &[0xFFFF_8001],
            ..RequestParts::default()
        };
        assert!(matches!(h.call(&mut AmObject::AllSystemAppletProxiesService, &parts), HleReply::Close));
        let sends = [attribute];
        parts.sends = &sends;
        assert_eq!(
            object(h.call(&mut AmObject::AllSystemAppletProxiesService, &parts)),
            AmObject::Proxy { pid: 0x80, kind: AppletKind::LibraryApplet }
        );
        // 201 is not an appletOE command.
        assert!(matches!(h.call(&mut AmObject::ApplicationProxyService, &parts), HleReply::Unknown));
    }

    #[test]
    fn proxy_hands_out_its_controllers_and_application_functions_only_for_an_application() {
        let mut h = Harness::new();
        let mut proxy = object(open_oe(&mut h, true));
        assert_eq!(object(simple(&mut h, &mut proxy, 0, &[])), AmObject::CommonStateGetter { pid: 0x80 });
        assert_eq!(object(simple(&mut h, &mut proxy, 1, &[])), AmObject::SelfController { pid: 0x80 });
        assert_eq!(object(simple(&mut h, &mut proxy, 2, &[])), AmObject::WindowController { pid: 0x80 });
        assert_eq!(object(simple(&mut h, &mut proxy, 20, &[])), AmObject::ApplicationFunctions { pid: 0x80 });
        let mut library = AmObject::Proxy { pid: 0x80, kind: AppletKind::LibraryApplet };
        assert!(matches!(simple(&mut h, &mut library, 20, &[]), HleReply::Unknown));
    }

    #[test]
    fn aruid_is_the_process_id() {
        let mut h = Harness::new();
        let _ = open_oe(&mut h, true);
        let mut window = AmObject::WindowController { pid: 0x80 };
        assert_eq!(payload(simple(&mut h, &mut window, 1, &[])), 0x80u64.to_le_bytes());
        assert_eq!(payload(simple(&mut h, &mut window, 10, &[])), Vec::<u8>::new());
    }

    #[test]
    fn focus_is_in_focus_and_the_first_message_is_focus_state_changed_then_0x680() {
        let mut h = Harness::new();
        let _ = open_oe(&mut h, true);
        let mut getter = AmObject::CommonStateGetter { pid: 0x80 };
        let HleReply::Reply(r) = simple(&mut h, &mut getter, 0, &[]) else { panic!() };
        let [KObjectRef::ReadableEvent(event)] = r.copy_handles[..] else { panic!("one event") };
        assert!(h.k.events[event].signalled);
        assert_eq!(payload(simple(&mut h, &mut getter, 9, &[])), vec![1]);
        assert_eq!(payload(simple(&mut h, &mut getter, 1, &[])), 15u32.to_le_bytes());
        assert!(!h.k.events[event].signalled);
        let empty = simple(&mut h, &mut getter, 1, &[]);
        assert_eq!(reply_result(&empty).map(ResultCode::raw), Some(0x680));
    }

    #[test]
    fn managed_layer_is_owned_by_the_process_and_notify_running_is_true() {
        let mut h = Harness::new();
        let _ = open_oe(&mut h, true);
        let mut controller = AmObject::SelfController { pid: 0x80 };
        assert_eq!(payload(simple(&mut h, &mut controller, 13, &[0, 0, 1])), Vec::<u8>::new());
        assert_eq!(payload(simple(&mut h, &mut controller, 16, &[0])), Vec::<u8>::new());
        let id = u64::from_le_bytes(payload(simple(&mut h, &mut controller, 40, &[])).try_into().unwrap());
        let layer = h.k.hle.shared.vi.layers.get(&id).expect("the layer");
        assert_eq!(layer.owner_aruid, 0x80);
        assert_eq!(h.k.hle.shared.am.by_pid[&0x80].layers, vec![id]);
        let mut functions = AmObject::ApplicationFunctions { pid: 0x80 };
        assert_eq!(payload(simple(&mut h, &mut functions, 40, &[])), vec![1]);
    }
}

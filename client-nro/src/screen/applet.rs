//! The applet proxy (screen-output.md §1a; §1g rows 2-10, 14, 33): appletOE for an
//! Application, appletAE OpenLibraryAppletProxy for a LibraryApplet, as the loader config's
//! AppletType says (Application without a config: Eden, Ryujinx). am is a domain: the
//! proxy and its controllers are objects of one session. The ARUID and the managed display
//! layer come from here. Order and retries as libnx `applet.c` `_appletInitialize`.

use rt::env::AppletType;
use rt::svc::{self, CURRENT_PROCESS, Handle};
use xcbuf_common::applet::{
    AM_BUSY, APPLET_ATTRIBUTE_SIZE, FOCUS_STATE_IN_FOCUS, MESSAGE_FOCUS_STATE_CHANGED, NO_MESSAGE, OPEN_PROXY_ARGS,
    ProxyKind, application_functions, common_state_getter, proxy, self_controller, window_controller,
};
use xcbuf_rt as rt;

use super::{Step, StepError, StepResult};
use crate::service::{Domain, Request, Service};

/// Opening the proxy is retried every 100 ms while am answers "busy" (libnx), for at most
/// this many tries (libnx retries without a bound; 10 s is far beyond hbmenu's hand-over).
const BUSY_TRIES: u32 = 100;
/// The longest wait for the focus (libnx waits without a bound; a page drawn out of focus
/// is harmless, a hang is not).
const FOCUS_WAIT_NS: i64 = 5_000_000_000;
const HUNDRED_MS: i64 = 100_000_000;

/// The proxy for the applet type rt found (screen-output.md §0).
pub fn proxy_kind(applet_type: Option<AppletType>) -> ProxyKind {
    match applet_type {
        Some(AppletType::LibraryApplet) => ProxyKind::LibraryApplet,
        // hbloader's title override passes SystemApplication, which libnx treats as an
        // Application (`env.c`); no config (emulators) means Application too.
        _ => ProxyKind::Application,
    }
}

/// The open proxy and the objects the screen needs.
pub struct Applet {
    domain: Domain,
    objects: [u32; 5],
    object_count: usize,
    self_controller: u32,
    event: Option<Handle>,
    pub kind: ProxyKind,
    pub aruid: u64,
}

impl Applet {
    /// Rows 2-10.
    pub fn open(kind: ProxyKind) -> StepResult<Applet> {
        let service = Service::get(kind.service()).step("am GetService")?;
        let (domain, root) = service.into_domain().step("am ConvertCurrentObjectToDomain")?;
        let attribute = [0u8; APPLET_ATTRIBUTE_SIZE];
        let handles = [CURRENT_PROCESS];
        let mut tries = 0;
        let proxy = loop {
            let mut req = Request { copy_handles: &handles, ..Request::new(kind.open_command(), &OPEN_PROXY_ARGS) };
            req.pid = true;
            if kind == ProxyKind::LibraryApplet {
                req.send = Some(&attribute);
            }
            match domain.open(root, req) {
                Err(rc) if rc == AM_BUSY && tries < BUSY_TRIES => {
                    tries += 1;
                    svc::sleep_thread(HUNDRED_MS);
                }
                other => break other.step("am OpenProxy")?,
            }
        };
        let mut applet = Applet {
            domain,
            objects: [proxy, 0, 0, 0, 0],
            object_count: 1,
            self_controller: 0,
            event: None,
            kind,
            aruid: 0,
        };
        let common = applet.open_object(proxy, proxy::GET_COMMON_STATE_GETTER, "am GetCommonStateGetter")?;
        applet.self_controller = applet.open_object(proxy, proxy::GET_SELF_CONTROLLER, "am GetSelfController")?;
        let window = applet.open_object(proxy, proxy::GET_WINDOW_CONTROLLER, "am GetWindowController")?;
        let get_aruid = Request::new(window_controller::GET_APPLET_RESOURCE_USER_ID, &[]).out(8);
        applet.aruid =
            applet.domain.call(window, get_aruid).and_then(|r| r.u64(0)).step("am GetAppletResourceUserId")?;
        let event = applet.domain.call(common, Request::new(common_state_getter::GET_EVENT_HANDLE, &[]));
        applet.event = Some(event.and_then(|r| r.copy_handle(0)).step("am GetEventHandle")?);
        if kind == ProxyKind::Application {
            applet.wait_for_focus(common)?;
            let rights = Request::new(window_controller::ACQUIRE_FOREGROUND_RIGHTS, &[]);
            applet.domain.call(window, rights).step("am AcquireForegroundRights")?;
            let functions =
                applet.open_object(proxy, proxy::GET_APPLICATION_FUNCTIONS, "am GetApplicationFunctions")?;
            let running = Request::new(application_functions::NOTIFY_RUNNING, &[]).out(1);
            applet.domain.call(functions, running).step("am NotifyRunning")?;
        }
        Ok(applet)
    }

    fn open_object(&mut self, from: u32, command: u32, step: &'static str) -> StepResult<u32> {
        let id = self.domain.open(from, Request::new(command, &[])).step(step)?;
        if let Some(slot) = self.objects.get_mut(self.object_count) {
            *slot = id;
            self.object_count += 1;
        }
        Ok(id)
    }

    /// Row 8: GetCurrentFocusState; while not in focus, wait on the message event and
    /// ReceiveMessage until FocusStateChanged, then ask again (libnx `_appletInitialize`).
    fn wait_for_focus(&self, common: u32) -> StepResult<()> {
        let focus = |domain: &Domain| {
            let req = Request::new(common_state_getter::GET_CURRENT_FOCUS_STATE, &[]).out(1);
            domain.call(common, req).and_then(|r| r.u8(0))
        };
        let mut state = focus(&self.domain).step("am GetCurrentFocusState")?;
        let mut waited = 0;
        while state != FOCUS_STATE_IN_FOCUS && waited < FOCUS_WAIT_NS {
            if let Some(event) = self.event {
                let _ = svc::wait_synchronization(&[event], HUNDRED_MS);
            }
            waited += HUNDRED_MS;
            loop {
                let req = Request::new(common_state_getter::RECEIVE_MESSAGE, &[]).out(4);
                match self.domain.call(common, req).and_then(|r| r.u32(0)) {
                    Ok(MESSAGE_FOCUS_STATE_CHANGED) => {
                        state = focus(&self.domain).step("am GetCurrentFocusState")?;
                        break;
                    }
                    Ok(_) => {}
                    Err(rc) if rc == NO_MESSAGE => break,
                    Err(rc) => return Err(StepError::result("am ReceiveMessage", rc)),
                }
            }
        }
        Ok(())
    }

    /// Row 14: ISelfController 40 CreateManagedDisplayLayer -> layer id.
    pub fn create_managed_display_layer(&self) -> StepResult<u64> {
        let req = Request::new(self_controller::CREATE_MANAGED_DISPLAY_LAYER, &[]).out(8);
        self.domain.call(self.self_controller, req).and_then(|r| r.u64(0)).step("am CreateManagedDisplayLayer")
    }

    /// Row 33: domain Close of each object (newest first), the event handle, then the
    /// session (HIPC Close + svcCloseHandle, on drop).
    pub fn close(mut self) {
        self.release();
    }

    fn release(&mut self) {
        for &id in self.objects.iter().take(self.object_count).rev() {
            self.domain.close_object(id);
        }
        self.object_count = 0;
        if let Some(event) = self.event.take() {
            let _ = svc::close_handle(event);
        }
    }
}

impl Drop for Applet {
    fn drop(&mut self) {
        self.release();
    }
}

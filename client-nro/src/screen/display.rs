//! vi: the display, the managed layer and the relay (screen-output.md §1b; §1g rows 12-13,
//! 15, 31). vi sessions are not domains. Order as libnx `viInitialize` (vi:m, then vi:s,
//! then vi:u; the root session closed right after GetDisplayService), `viOpenDisplay`,
//! `viCreateLayer` (am CreateManagedDisplayLayer between OpenDisplay and OpenLayer),
//! `viSetLayerScalingMode`, `viCloseLayer`, `viCloseDisplay`.

use xcbuf_common::result::ResultCode;
use xcbuf_common::vi::{
    DEFAULT_DISPLAY, DisplayName, NATIVE_WINDOW_SIZE, OpenLayerArgs, ROOTS, SCALING_MODE_FIT_TO_LAYER,
    SetLayerScalingModeArgs, display_service, native_window_binder_id,
};

use super::applet::Applet;
use super::{Cause, Step, StepError, StepResult};
use crate::service::{Request, Service};

/// The open display, the layer and the relay (IHOSBinderDriver).
pub struct Display {
    service: Service,
    /// IHOSBinderDriver: the buffer queue's transport.
    pub relay: Service,
    display_id: u64,
    layer_id: Option<u64>,
    /// The layer's binder id (the producer's object in the relay).
    pub binder_id: i32,
}

impl Display {
    /// Rows 12-13: the display service (first root that answers), the relay, "Default".
    pub fn open() -> StepResult<Display> {
        let mut last = StepError::result("vi GetService", ResultCode::SUCCESS);
        let mut service = None;
        for root in ROOTS {
            let session = match Service::get(root.service) {
                Ok(s) => s,
                Err(rc) => {
                    last = StepError::result("vi GetService", rc);
                    continue;
                }
            };
            let policy = root.policy.to_le_bytes();
            match session.open(Request::new(root.command, &policy)) {
                Ok(s) => {
                    service = Some(s);
                    break;
                }
                Err(rc) => last = StepError::result("vi GetDisplayService", rc),
            }
            // The root session closes here (drop), as libnx closes it.
        }
        let service = service.ok_or(last)?;
        let relay = service.open(Request::new(display_service::GET_RELAY_SERVICE, &[])).step("vi GetRelayService")?;
        let name = DisplayName::new(DEFAULT_DISPLAY);
        let display_id = service
            .call(Request::new(display_service::OPEN_DISPLAY, &name.0).out(8))
            .and_then(|r| r.u64(0))
            .step("vi OpenDisplay")?;
        Ok(Display { service, relay, display_id, layer_id: None, binder_id: 0 })
    }

    /// Rows 14-15: am's managed layer, OpenLayer with the PID and the ARUID (native window ->
    /// binder id), SetLayerScalingMode(FitToLayer).
    pub fn open_layer(&mut self, applet: &Applet) -> StepResult<()> {
        let layer_id = applet.create_managed_display_layer()?;
        let args = OpenLayerArgs { display: DisplayName::new(DEFAULT_DISPLAY), layer_id, aruid: applet.aruid }.encode();
        let mut window = [0u8; NATIVE_WINDOW_SIZE];
        let req = Request { receive: Some(&mut window), ..Request::new(display_service::OPEN_LAYER, &args).with_pid() };
        self.service.call(req).step("vi OpenLayer")?;
        self.layer_id = Some(layer_id);
        self.binder_id = native_window_binder_id(&window)
            .map_err(|_| StepError { step: "vi OpenLayer", cause: Cause::Reply("native window parcel") })?;
        let scaling = SetLayerScalingModeArgs { mode: SCALING_MODE_FIT_TO_LAYER, layer_id }.encode();
        self.service
            .call(Request::new(display_service::SET_LAYER_SCALING_MODE, &scaling))
            .step("vi SetLayerScalingMode")?;
        Ok(())
    }

    /// Row 31: CloseLayer, CloseDisplay, then the relay and the display service sessions.
    /// Returns the first failure; every step runs.
    pub fn close(mut self) -> StepResult<()> {
        let mut first = Ok(());
        if let Some(layer) = self.layer_id.take() {
            let r = self.service.call(Request::new(display_service::CLOSE_LAYER, &layer.to_le_bytes()));
            first = first.and(r.map(|_| ()).step("vi CloseLayer"));
        }
        let r = self.service.call(Request::new(display_service::CLOSE_DISPLAY, &self.display_id.to_le_bytes()));
        first.and(r.map(|_| ()).step("vi CloseDisplay"))
    }
}

//! The ONE list of the bench's HLE services (besides sm, which is a named port).

use super::HleService;

/// Every HLE service the bench registers with its sm at start, in order.
pub fn services() -> Vec<Box<dyn HleService>> {
    use super::nvdrv::{NvdrvService, SERVICE_NAME, SERVICE_NAME_APPLET, SERVICE_NAME_SYSTEM};
    vec![
        Box::new(super::fsp::FspService),
        Box::new(super::set_sys::SetSysService),
        Box::new(super::lm::LmService),
        Box::new(NvdrvService { name: SERVICE_NAME }),
        Box::new(NvdrvService { name: SERVICE_NAME_APPLET }),
        Box::new(NvdrvService { name: SERVICE_NAME_SYSTEM }),
        Box::new(super::hid::HidService),
        Box::new(super::am::AppletOeService),
        Box::new(super::am::AppletAeService),
        Box::new(super::vi::ViService(super::vi::Root::Manager)),
        Box::new(super::vi::ViService(super::vi::Root::System)),
        Box::new(super::vi::ViService(super::vi::Root::User)),
    ]
}

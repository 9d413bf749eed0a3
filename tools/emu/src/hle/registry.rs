//! The ONE list of the bench's HLE services (besides sm, which is a named port).

use super::HleService;

/// Every HLE service the bench registers with its sm at start, in order.
pub fn services() -> Vec<Box<dyn HleService>> {
    vec![
        Box::new(super::fsp::FspService),
        Box::new(super::set_sys::SetSysService),
        Box::new(super::lm::LmService),
        Box::new(super::am::AppletOeService),
        Box::new(super::am::AppletAeService),
        Box::new(super::vi::ViService(super::vi::Root::Manager)),
        Box::new(super::vi::ViService(super::vi::Root::System)),
        Box::new(super::vi::ViService(super::vi::Root::User)),
    ]
}

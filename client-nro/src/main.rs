//! xcbuf client, minimal version (issue 2 item 4): proves the runtime as an NRO under
//! hbloader and under an emulator's kernel launch. Connects to sm; only when launched by
//! hbloader on Atmosphère does it ask HasService("xcbuf"), and it calls GetServiceHandle
//! only for a service that is there (sm would otherwise block: emulator-bench.md §4).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

use xcbuf_common::result::ResultCode;
use xcbuf_rt as rt;
use rt::sm::{ServiceName, Sm};
use rt::{LaunchKind, svc};

rt::entry!(main);

fn main() -> Result<(), ResultCode> {
    let env = rt::env();
    rt::log!(
        "xcbuf-client: start, launch {:?}, loader config {}, atmosphere {}, hos {:?}, heap {:#x}+{:#x}",
        env.launch,
        env.loader_config_present,
        env.is_atmosphere,
        env.hos_version,
        env.heap.address,
        env.heap.size
    );
    let sm = Sm::connect()?;
    rt::log!("xcbuf-client: connected to sm:");
    let name = ServiceName::new("xcbuf")?;
    if env.launch == LaunchKind::Hbloader && env.is_atmosphere {
        let present = sm.has_service(name)?;
        rt::log!("xcbuf-client: HasService(xcbuf) = {}", present);
        if present {
            let session = sm.get_service_handle(name)?;
            rt::log!("xcbuf-client: GetServiceHandle(xcbuf) = {:#x}", session);
            svc::close_handle(session)?;
        }
    } else {
        rt::log!("xcbuf-client: no hbloader on Atmosphère: HasService skipped (in-process mode)");
    }
    drop(sm);
    rt::log!("xcbuf-client: done");
    Ok(())
}

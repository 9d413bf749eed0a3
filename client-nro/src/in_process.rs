//! The in-process server: when no sysmodule runs, the client serves `xcbuf` and `xcbuf:i`
//! itself with the sysmodule's own loop (`xcbuf_sysmodule::horizon::serve`), one thread
//! per service as in the sysmodule, each behind an unnamed port from svcCreatePort; the
//! scenarios connect with svcConnectToPort.

use xcbuf_common::result::ResultCode;
use xcbuf_rt as rt;
use xcbuf_sysmodule::horizon;
use xcbuf_sysmodule::service::Service as ServerService;
use rt::svc;

use crate::ipc::{Handle, Service};

/// Stack of each server thread (rt's default).
const SERVER_STACK: usize = rt::thread::STACK_SIZE_DEFAULT;
/// Priority of the server threads: the emulators' main-thread priority, inside the
/// portable 28-59 (emulator-bench.md §1 "CreateThread limits").
const SERVER_PRIORITY: i32 = rt::thread::PRIORITY_DEFAULT;

/// The client ports of the two in-process services.
pub struct Ports {
    single: Handle,
    indexed: Handle,
}

impl Ports {
    /// The client port to connect to for `service`.
    pub fn client_port(&self, service: Service) -> Handle {
        match service {
            Service::Single => self.single,
            Service::Indexed => self.indexed,
        }
    }
}

fn start_one(service: ServerService) -> Result<Handle, ResultCode> {
    // CreatePort(max sessions, not light, no name) -> (server port, client port).
    let (server_port, client_port) = svc::create_port(service.max_sessions(), false, 0)?;
    let builder = rt::thread::Builder { stack_size: SERVER_STACK, priority: SERVER_PRIORITY, core: rt::thread::CORE_DEFAULT };
    let thread = builder.spawn(move || {
        if let Err(rc) = horizon::serve(service, server_port) {
            rt::log!("xcbuf-client: in-process {} stopped: {}", service.display_name(), rc);
        }
    });
    match thread {
        // The server runs until the process ends; the handle is not needed.
        Ok(thread) => drop(thread),
        Err(rc) => {
            let _ = svc::close_handle(server_port);
            let _ = svc::close_handle(client_port);
            return Err(rc);
        }
    }
    Ok(client_port)
}

/// Starts both servers; returns their client ports.
pub fn start() -> Result<Ports, ResultCode> {
    let single = start_one(ServerService::Single)?;
    let indexed = start_one(ServerService::Indexed)?;
    Ok(Ports { single, indexed })
}

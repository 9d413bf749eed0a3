//! The in-process server: when no sysmodule runs, the client serves `xcbuf` and `xcbuf:i`
//! itself with the sysmodule's own loop (`xcbuf_rt::server::serve_until`), one thread
//! per service as in the sysmodule, each behind an unnamed port from svcCreatePort; the
//! scenarios connect with svcConnectToPort.

use rt::svc;
use xcbuf_common::result::ResultCode;
use xcbuf_common::xcbuf::Xcbuf;
use xcbuf_rt as rt;

use crate::ipc::{Handle, INDEXED, SINGLE, Service};

/// Stack of each server thread (rt's default).
const SERVER_STACK: usize = rt::thread::STACK_SIZE_DEFAULT;
/// Priority of the server threads: the emulators' main-thread priority, inside the
/// portable 28-59 (emulator-bench.md §1 "CreateThread limits").
const SERVER_PRIORITY: i32 = rt::thread::PRIORITY_DEFAULT;

/// One running in-process service.
struct Running {
    client_port: Handle,
    /// Client end of the stop session: closing it ends the server's loop.
    stop: Handle,
    thread: rt::thread::JoinHandle,
}

/// The two in-process services: their client ports, and how to stop them.
pub struct Ports {
    single: Running,
    indexed: Running,
}

impl Ports {
    /// The client port to connect to for `service`.
    pub fn client_port(&self, service: Service) -> Handle {
        if *service == INDEXED { self.indexed.client_port } else { self.single.client_port }
    }

    /// Stops both servers (closes their stop sessions, waits for the threads) and closes
    /// the client ports. Afterwards no thread of the client but the main one runs, so rt
    /// may return to hbloader.
    pub fn stop(self) -> Result<(), ResultCode> {
        let mut result = Ok(());
        for running in [self.single, self.indexed] {
            let _ = svc::close_handle(running.stop);
            if let Err(rc) = running.thread.join() {
                result = Err(rc);
            }
            let _ = svc::close_handle(running.client_port);
        }
        result
    }
}

fn start_one(service: Service) -> Result<Running, ResultCode> {
    // CreatePort(max sessions, not light, no name) -> (server port, client port).
    let (server_port, client_port) = svc::create_port(service.max_sessions_i32(), false, 0)?;
    // The stop session: only this process holds its client end (sf::serve_loop "Stopping").
    let (stop_server, stop) = match svc::create_session(false, 0) {
        Ok(pair) => pair,
        Err(rc) => {
            let _ = svc::close_handle(server_port);
            let _ = svc::close_handle(client_port);
            return Err(rc);
        }
    };
    let builder =
        rt::thread::Builder { stack_size: SERVER_STACK, priority: SERVER_PRIORITY, core: rt::thread::CORE_DEFAULT };
    let thread = builder.spawn(move || {
        if let Err(rc) = rt::server::serve_until(Xcbuf, service, server_port, stop_server) {
            rt::log!("xcbuf-client: in-process {} stopped: {}", service.name, rc);
        }
    });
    match thread {
        Ok(thread) => Ok(Running { client_port, stop, thread }),
        Err(rc) => {
            for h in [server_port, client_port, stop_server, stop] {
                let _ = svc::close_handle(h);
            }
            Err(rc)
        }
    }
}

/// Starts both servers.
pub fn start() -> Result<Ports, ResultCode> {
    let single = start_one(&SINGLE)?;
    let indexed = match start_one(&INDEXED) {
        Ok(r) => r,
        Err(rc) => {
            let _ = svc::close_handle(single.stop);
            let _ = single.thread.join();
            let _ = svc::close_handle(single.client_port);
            return Err(rc);
        }
    };
    Ok(Ports { single, indexed })
}

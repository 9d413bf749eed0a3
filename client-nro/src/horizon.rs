//! The client on the Switch: the transport the scenarios run on, for the server the mode
//! decision picks ([`crate::mode`]: the sysmodule when Atmosphère's sm has it, otherwise the
//! in-process server, [`crate::in_process`]).

use core::fmt;

use rt::LaunchKind;
use rt::sm::{ServiceName, Sm};
use rt::svc;
use rt::tls::with_message_buffer;
use xcbuf_common::client::{ClientError, ReplyView};
use xcbuf_common::result::ResultCode;
use xcbuf_rt as rt;

use crate::in_process;
use crate::ipc::{Handle, Ipc, Service};
use crate::mode::{self, Lookup};
use crate::report::{ServerKind, Sink};
use crate::scenarios::CallError;

/// Where sessions come from.
enum Backend {
    /// The sysmodule, through this `sm:` session.
    Sysmodule(Sm),
    /// The in-process server's client ports (xcbuf, xcbuf:i).
    InProcess(in_process::Ports),
}

/// The scenarios' [`Ipc`] on rt's svcs. Each request is built, sent and parsed in the
/// thread's TLS message buffer within one borrow of it ([`with_message_buffer`]), so the
/// message is never copied, and `sm:` calls, which use the TLS buffer themselves, never
/// meet a half-built request.
pub struct Transport {
    backend: Backend,
}

impl Transport {
    /// Decides the mode (module doc) and returns the transport and the kind for the report.
    pub fn choose() -> Result<(Transport, ServerKind), ResultCode> {
        let env = rt::env();
        let lookup = Lookup::from_launch(env.launch == LaunchKind::Hbloader && env.is_atmosphere);
        let sm = match lookup {
            Lookup::HasServiceFirst => Some(Sm::connect()?),
            Lookup::Direct => None,
        };
        let kind = mode::choose_server(lookup, |name| -> Result<bool, ResultCode> {
            match &sm {
                Some(sm) => {
                    let present = sm.has_service(ServiceName::new(name)?)?;
                    rt::log!("xcbuf-client: HasService {name} = {present}");
                    Ok(present)
                }
                None => Ok(false),
            }
        })?;
        if let (ServerKind::Sysmodule, Some(sm)) = (kind, sm) {
            return Ok((Transport { backend: Backend::Sysmodule(sm) }, kind));
        }
        let ports = in_process::start()?;
        Ok((Transport { backend: Backend::InProcess(ports) }, kind))
    }
}

impl Transport {
    /// Ends the mode: stops the in-process servers (so only the main thread is left when
    /// rt returns to hbloader), or drops the `sm:` session.
    pub fn shutdown(self) -> Result<(), ResultCode> {
        match self.backend {
            Backend::Sysmodule(sm) => {
                drop(sm);
                Ok(())
            }
            Backend::InProcess(ports) => ports.stop(),
        }
    }
}

impl Ipc for Transport {
    fn request<T>(
        &mut self,
        session: Handle,
        build: impl FnOnce(&mut [u32]) -> Result<usize, ClientError>,
        read: impl FnOnce(ReplyView<'_>) -> Result<T, ClientError>,
    ) -> Result<T, CallError> {
        with_message_buffer(|buffer| {
            build(buffer.words()).map_err(CallError::Client)?;
            buffer.send_sync_request(session).map_err(CallError::Kernel)?;
            ReplyView::parse(buffer.words()).and_then(read).map_err(CallError::Client)
        })
    }

    fn connect(&mut self, service: Service) -> Result<Handle, ResultCode> {
        match &self.backend {
            Backend::Sysmodule(sm) => sm.get_service_handle(ServiceName::new(service.name)?),
            Backend::InProcess(ports) => svc::connect_to_port(ports.client_port(service)),
        }
    }

    fn full_port_result(&self) -> ResultCode {
        match self.backend {
            Backend::Sysmodule(_) => xcbuf_common::result::sm::OUT_OF_SESSIONS,
            Backend::InProcess(_) => xcbuf_common::result::kernel::OUT_OF_SESSIONS,
        }
    }

    fn close(&mut self, session: Handle) {
        let _ = svc::close_handle(session);
    }

    fn sleep(&mut self, nanoseconds: i64) {
        svc::sleep_thread(nanoseconds);
    }
}

/// Report lines to svcOutputDebugString, exactly one call per line whatever its length
/// (rt's logger splits long lines into several calls, which a reader of the output would
/// see as several lines).
pub struct DebugSink;

impl Sink for DebugSink {
    fn line(&mut self, line: fmt::Arguments<'_>) {
        let mut text = alloc::string::String::new();
        let _ = fmt::Write::write_fmt(&mut text, line);
        text.push('\n');
        let _ = svc::output_debug_string(text.as_bytes());
    }
}

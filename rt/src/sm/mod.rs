//! The `sm:` (service manager) client: connect, RegisterClient, GetServiceHandle,
//! RegisterService, UnregisterService, DetachClient and Atmosphère's HasService
//! (runtime-abi.md §5). Message layouts and the CMIF/TIPC choice: [`xcbuf_common::sm`];
//! rt's side of them (errors, replies): [`message`].
//!
//! # A process that hosts services must detach before it closes its session
//! Atmosphère's sm remembers, per session, the process that sent RegisterClient. When such
//! a session is closed (or sm closes it after a request it cannot process) without a
//! DetachClient first, sm unregisters **every** service that process hosts
//! (`stratosphere/sm/source/sm_user_service.hpp` `~UserService` ->
//! `impl/sm_service_manager.cpp` `OnClientDisconnected`): the server ports stay open but
//! nobody can get a session to them any more. So a sysmodule registers, then
//! [`Sm::detach`]es. As a safety net, dropping an [`Sm`] that registered a service sends
//! DetachClient first; dropping one that only looked services up just closes it (what
//! libnx's `smExit` does). Eden's and Ryujinx's sm never unregister on close.
//!
//! Never call [`Sm::get_service_handle`] for a service that may be absent: sm defers the
//! request and the caller blocks until someone registers it (emulator-bench.md §4). Ask
//! [`Sm::has_service`] first, and only on Atmosphère.

pub mod message;

pub use message::ServiceName;

#[cfg(target_os = "horizon")]
pub use client::Sm;

#[cfg(target_os = "horizon")]
mod client {
    use core::ffi::CStr;

    use xcbuf_common::sm;

    use super::message::{self, ServiceName};
    use crate::result::{BAD_SM_REPLY, ResultCode};
    use crate::svc::{self, Handle};
    use crate::tls::with_message_buffer;

    /// A session with `sm:`, registered (RegisterClient) and closed on drop (after a
    /// DetachClient if it registered a service: module doc).
    pub struct Sm {
        session: Handle,
        /// RegisterService succeeded on this session and no DetachClient was sent since.
        hosts_services: bool,
    }

    impl Sm {
        /// svcConnectToNamedPort("sm:") then RegisterClient.
        pub fn connect() -> Result<Sm, ResultCode> {
            let port_name = sm::PORT_NAME.port_name();
            let name = CStr::from_bytes_until_nul(&port_name).map_err(|_| BAD_SM_REPLY)?;
            let session = svc::connect_to_named_port(name)?;
            let sm = Sm { session, hosts_services: false };
            sm.register_client()?;
            Ok(sm)
        }

        /// DetachClient, then closes the session: the services this process registered
        /// stay registered (module doc). The session is closed whatever DetachClient
        /// returned; its result is returned.
        pub fn detach(mut self) -> Result<(), ResultCode> {
            let result = self.detach_client();
            // Detached (or failed trying): Drop only closes the handle now.
            self.hosts_services = false;
            result
        }

        fn detach_client(&self) -> Result<(), ResultCode> {
            with_message_buffer(|buffer| {
                message::detach_client(buffer.words())?;
                buffer.send_sync_request(self.session)?;
                let reply = message::decode_cmif_reply(buffer.words())?;
                close_all(reply.move_handles);
                Ok(())
            })
        }

        fn register_client(&self) -> Result<(), ResultCode> {
            with_message_buffer(|buffer| {
                message::register_client(buffer.words())?;
                buffer.send_sync_request(self.session)?;
                let reply = message::decode_cmif_reply(buffer.words())?;
                close_all(reply.move_handles);
                Ok(())
            })
        }

        /// GetServiceHandle(name) -> client session. Blocks while `name` is not registered.
        pub fn get_service_handle(&self, name: ServiceName) -> Result<Handle, ResultCode> {
            with_message_buffer(|buffer| {
                message::get_service_handle(buffer.words(), name)?;
                buffer.send_sync_request(self.session)?;
                let reply = message::decode_cmif_reply(buffer.words())?;
                take_single_handle(reply.move_handles)
            })
        }

        /// RegisterService(name, is_light, max_sessions) -> server port. Call
        /// [`Sm::detach`] once every service is registered (module doc).
        pub fn register_service(
            &mut self,
            name: ServiceName,
            is_light: bool,
            max_sessions: i32,
        ) -> Result<Handle, ResultCode> {
            let port = with_message_buffer(|buffer| {
                message::register_service(buffer.words(), name, is_light, max_sessions)?;
                buffer.send_sync_request(self.session)?;
                let reply = message::decode_cmif_reply(buffer.words())?;
                take_single_handle(reply.move_handles)
            })?;
            self.hosts_services = true;
            Ok(port)
        }

        /// UnregisterService(name).
        pub fn unregister_service(&self, name: ServiceName) -> Result<(), ResultCode> {
            with_message_buffer(|buffer| {
                message::unregister_service(buffer.words(), name)?;
                buffer.send_sync_request(self.session)?;
                let reply = message::decode_cmif_reply(buffer.words())?;
                close_all(reply.move_handles);
                Ok(())
            })
        }

        /// Atmosphère's HasService (65100, sent as TIPC): whether `name` is registered.
        pub fn has_service(&self, name: ServiceName) -> Result<bool, ResultCode> {
            with_message_buffer(|buffer| {
                message::has_service(buffer.words(), name)?;
                buffer.send_sync_request(self.session)?;
                let reply = message::decode_tipc_reply(buffer.words())?;
                close_all(reply.move_handles);
                match reply.data.first() {
                    Some(word) => Ok(word & 1 != 0),
                    None => Err(BAD_SM_REPLY),
                }
            })
        }
    }

    impl Drop for Sm {
        fn drop(&mut self) {
            if self.hosts_services {
                let _ = self.detach_client();
            }
            let _ = svc::close_handle(self.session);
        }
    }

    fn close_all(handles: &[u32]) {
        for &handle in handles {
            let _ = svc::close_handle(handle);
        }
    }

    fn take_single_handle(handles: &[u32]) -> Result<Handle, ResultCode> {
        match handles {
            [handle] => Ok(*handle),
            other => {
                close_all(other);
                Err(BAD_SM_REPLY)
            }
        }
    }
}

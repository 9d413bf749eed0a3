//! The `sm:` (service manager) client: connect, RegisterClient, GetServiceHandle,
//! RegisterService, UnregisterService and Atmosphère's HasService (runtime-abi.md §5).
//! Message layouts and the CMIF/TIPC choice: [`message`].
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
    use super::message::{self, ServiceName};
    use crate::result::{BAD_SM_REPLY, ResultCode};
    use crate::svc::{self, Handle};
    use crate::tls::with_message_buffer;

    /// A session with `sm:`, registered (RegisterClient) and closed on drop.
    pub struct Sm {
        session: Handle,
    }

    impl Sm {
        /// svcConnectToNamedPort("sm:") then RegisterClient.
        pub fn connect() -> Result<Sm, ResultCode> {
            let session = svc::connect_to_named_port(c"sm:")?;
            let sm = Sm { session };
            sm.register_client()?;
            Ok(sm)
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

        /// RegisterService(name, is_light, max_sessions) -> server port.
        pub fn register_service(
            &self,
            name: ServiceName,
            is_light: bool,
            max_sessions: i32,
        ) -> Result<Handle, ResultCode> {
            with_message_buffer(|buffer| {
                message::register_service(buffer.words(), name, is_light, max_sessions)?;
                buffer.send_sync_request(self.session)?;
                let reply = message::decode_cmif_reply(buffer.words())?;
                take_single_handle(reply.move_handles)
            })
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

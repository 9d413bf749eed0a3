//! The host's `sm:` (HLE, no guest code): a named port whose sessions are answered on
//! the host, speaking TIPC (type = command + 16) and the CMIF compatibility shim, as
//! Atmosphère's sm does. It is an HLE service like the others ([`SmService`]), reached
//! through the same entry point, but its object takes the whole message
//! ([`HleObject::handle_raw`]) instead of the CMIF framework. Everything here follows Atmosphère's sm
//! (`stratosphere/sm/source/sm_user_service.hpp` `UserService`, `sm_user_service.cpp`
//! `ProcessDefaultServiceCommand`, `impl/sm_service_manager.cpp`), cited per rule below.
//!
//! - Per session: the process that sent RegisterClient and whether it is still
//!   registered ([`SmSession`]). Every command but RegisterClient needs a registered
//!   session (InvalidClient 0x415).
//! - 0 RegisterClient, 4 DetachClient (the session stops counting as the process's
//!   registration; the pid argument is ignored).
//! - 1 GetServiceHandle: name check, access check (the NPDM's service_access), then
//!   DEFERRED while the name is not registered (the caller stays blocked,
//!   emulator-bench.md §4); a full port's kernel OutOfSessions 0xe01 reaches the client as
//!   sm's OutOfSessions 0x615 (`GetServiceHandle`, `R_CONVERT`); other kernel results pass
//!   through.
//! - 2 RegisterService, 3 UnregisterService (owner only), 65100 HasService (Atmosphère).
//! - **A registered session that closes** (the client closes its handle, sends a Close,
//!   or sends anything sm cannot process, which makes sm close it) **unregisters every
//!   service its process hosts** (`~UserService` -> `OnClientDisconnected`), unless the
//!   session sent DetachClient first. The services' server ports stay open in their
//!   owner but nobody can reach them: sm held the only client side.
//! - CMIF is answered only for the commands the shim translates (0-4, in the exact
//!   layouts it compares) and the control requests (QueryPointerBufferSize = 0); any
//!   other request (CMIF Close, an Atmosphère extension over CMIF, an unknown command)
//!   makes sm close the session without a reply: the client's SendSyncRequest returns
//!   SessionClosed 0xf601 (libstratosphere `tipc_server_manager.hpp`
//!   `PortManagerBase::ProcessRequest` -> `CloseSessionIfNecessary`).
//!
//! Eden's and Ryujinx's sm differ (no unregistration on close, no 0x615 conversion,
//! Ryujinx aborts on an unknown name): the bench models the sm the sysmodule meets,
//! Atmosphère's. The sysmodule's NPDM service_host / service_access lists are enforced
//! (formats.md §3.4); an NRO may access any service (hbloader's access control is a
//! wildcard).

use xcbuf_common::cmif::{self, Incoming};
use xcbuf_common::hipc::TLS_MESSAGE_BUFFER_SIZE;
use xcbuf_common::result::{ResultCode, kernel, sm as results};
use xcbuf_common::sm::{RegisterServiceArgs, RegisterServiceLayout, ServiceName, command, shim};
use xcbuf_common::tipc;

use super::{HleEnv, HleObject, HleReply, HleRequest, HleService};
use crate::kernel::port::{KPort, PortServer};
use crate::kernel::thread::{ThreadState, Wait};
use crate::kernel::{KObjectRef, Kernel, RegisteredService, SessionId, ThreadId};

/// The named port's name.
pub const PORT_NAME: ServiceName = xcbuf_common::sm::PORT_NAME;
/// sm's own session limit (generous; Atmosphère's sm allows many).
pub const MAX_SESSIONS: u32 = 0x40;

/// What sm keeps per session (Atmosphère `UserService`: `m_process_id`, `m_initialized`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmSession {
    /// The pid RegisterClient gave (the kernel's, not the message's placeholder).
    pub process_id: Option<u64>,
    /// RegisterClient was sent and DetachClient was not.
    pub initialized: bool,
}

/// CMIF's HIPC types (horizon-ipc.md §6.1).
const TYPE_CLOSE: u32 = cmif::CommandType::Close.tag() as u32;
const TYPE_REQUEST: u32 = cmif::CommandType::Request.tag() as u32;
const TYPE_CONTROL: u32 = cmif::CommandType::Control.tag() as u32;
const TYPE_REQUEST_WITH_CONTEXT: u32 = cmif::CommandType::RequestWithContext.tag() as u32;
const TYPE_CONTROL_WITH_CONTEXT: u32 = cmif::CommandType::ControlWithContext.tag() as u32;

/// The TIPC commands the bench's sm serves; Atmosphère's mitm extensions (65000-65007)
/// and WaitService (65101) are not modelled, and close the session like an unknown one.
const SERVED_TIPC: [u32; 6] = [
    command::REGISTER_CLIENT,
    command::GET_SERVICE_HANDLE,
    command::REGISTER_SERVICE,
    command::UNREGISTER_SERVICE,
    command::DETACH_CLIENT,
    command::HAS_SERVICE,
];

/// sm as an HLE service: installed by [`super::install_services`] as the named port
/// `sm:` (not registered with itself).
pub struct SmService;

impl HleService for SmService {
    fn name(&self) -> ServiceName {
        PORT_NAME
    }
    fn max_sessions(&self) -> u32 {
        MAX_SESSIONS
    }
    fn open(&mut self) -> Box<dyn HleObject> {
        Box::new(SmObject::default())
    }
}

/// One sm session (Atmosphère `UserService`): it speaks TIPC and the CMIF shim itself, so
/// it takes the whole message ([`HleObject::handle_raw`]).
#[derive(Debug, Default)]
pub struct SmObject {
    pub state: SmSession,
}

impl HleObject for SmObject {
    fn interface(&self) -> &'static str {
        "sm:"
    }
    /// Never called: [`SmObject::handle_raw`] serves every message.
    fn handle(&mut self, _request: &HleRequest<'_>, _env: &mut HleEnv<'_>) -> HleReply {
        HleReply::Unknown
    }
    fn handle_raw(&mut self, k: &mut Kernel, t: ThreadId, s: SessionId) -> Option<Result<(), ResultCode>> {
        Some(handle_request(k, t, s, &mut self.state))
    }
    /// `~UserService`.
    fn closed(&mut self, k: &mut Kernel, s: SessionId) {
        on_session_closed(k, s, &mut self.state);
    }
}

/// How a request was encoded, which decides the reply's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Tipc {
        tag: u16,
    },
    /// Through the CMIF shim; the reply is the shim's fixed layout for the command.
    Cmif,
}

#[derive(Debug)]
struct Request {
    encoding: Encoding,
    command: u32,
    /// The command's arguments: TIPC raw data, or the shim's fields (from byte
    /// [`shim::ARGS_OFFSET`]: the name, then RegisterService's in
    /// [`RegisterServiceLayout::CMIF`]).
    args: Vec<u8>,
}

fn word_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// What sm makes of a message: a request it serves, a control request (answered with
/// pointer-buffer size 0), or something it closes the session for.
#[derive(Debug)]
enum Parsed {
    Request(Request),
    Control,
    Close(String),
}

/// Reads a request the way Atmosphère's sm does: TIPC by its tag (its headers checked by
/// xcbuf_common's codec), CMIF only in the shim's exact forms.
fn parse(words: &[u32]) -> Parsed {
    let Some(&w0) = words.first() else { return Parsed::Close("empty message".into()) };
    let hipc_type = w0 & 0xffff;
    match hipc_type {
        TYPE_CLOSE => return Parsed::Close("CMIF Close (type 2): sm answers it with InvalidMethod".into()),
        TYPE_CONTROL | TYPE_CONTROL_WITH_CONTEXT => return Parsed::Control,
        t if t == u32::from(tipc::CLOSE_TYPE) => return Parsed::Close("TIPC Close (type 15)".into()),
        _ => {}
    }
    // TIPC: type 16 and above is a command (type − 16).
    if let Some(command) = u16::try_from(hipc_type).ok().and_then(tipc::command_id) {
        // A method sm does not have is InvalidMethod, which closes the session
        // (`tipc_object_manager.hpp` `ProcessRequest`).
        if !SERVED_TIPC.contains(&command) {
            return Parsed::Close(format!("TIPC command {command} is not one the bench's sm serves (InvalidMethod)"));
        }
        return match tipc::parse_request(words) {
            Ok(tipc::Incoming::Close(_)) => Parsed::Close("TIPC Close (type 15)".into()),
            Ok(tipc::Incoming::Request(r)) => Parsed::Request(Request {
                encoding: Encoding::Tipc { tag: r.hipc_type() },
                command: r.command_id(),
                args: word_bytes(r.raw()),
            }),
            Err(e) => Parsed::Close(format!("malformed TIPC request: {e}")),
        };
    }
    if hipc_type != TYPE_REQUEST && hipc_type != TYPE_REQUEST_WITH_CONTEXT {
        return Parsed::Close(format!("HIPC type {hipc_type} is not a request: InvalidMethod"));
    }
    // The shim first treats RequestWithContext as Request, then compares the header bytes.
    let mut w = words.to_vec();
    w[0] = (w[0] & !0xffff) | TYPE_REQUEST;
    let at = |byte: usize| w.get(byte / 4).copied().unwrap_or(0);
    if w.get(..3) == Some(&shim::CLIENT_HEADER[..]) {
        let command = at(shim::CLIENT_COMMAND_OFFSET);
        return match command {
            command::REGISTER_CLIENT | command::DETACH_CLIENT => {
                Parsed::Request(Request { encoding: Encoding::Cmif, command, args: Vec::new() })
            }
            other => Parsed::Close(format!("CMIF command {other} in the RegisterClient form: InvalidMethod")),
        };
    }
    let arg_words = |count: usize| (0..count).map(|i| at(shim::ARGS_OFFSET + 4 * i)).collect::<Vec<u32>>();
    if w.get(..2) == Some(&shim::NAME_HEADER[..]) {
        let command = at(shim::COMMAND_OFFSET);
        return match command {
            command::GET_SERVICE_HANDLE | command::UNREGISTER_SERVICE => {
                Parsed::Request(Request { encoding: Encoding::Cmif, command, args: word_bytes(&arg_words(2)) })
            }
            other => Parsed::Close(format!("CMIF command {other} is not shimmed (InvalidMethod)")),
        };
    }
    if w.get(..2) == Some(&shim::REGISTER_HEADER[..]) {
        let command = at(shim::COMMAND_OFFSET);
        if command != command::REGISTER_SERVICE {
            return Parsed::Close(format!("CMIF command {command} is not shimmed (InvalidMethod)"));
        }
        let args = word_bytes(&arg_words(RegisterServiceLayout::SIZE / 4));
        return Parsed::Request(Request { encoding: Encoding::Cmif, command, args });
    }
    // Not one of the shim's forms: say what it was, for the trace.
    let what = match cmif::parse_request(words) {
        Ok(Incoming::Request(r)) => format!("CMIF command {} in a form the shim does not translate", r.command_id()),
        Ok(_) => "a CMIF message the shim does not translate".to_string(),
        Err(e) => format!("malformed CMIF request: {e}"),
    };
    Parsed::Close(format!("{what} (InvalidMethod)"))
}

/// The reply words: the shim's fixed CMIF layouts ([`shim`]), or TIPC (the request's
/// type, raw = result then outputs, move handles in the special header; [`tipc`]).
fn reply_words(req: &Request, result: ResultCode, out: &[u8], move_handles: &[u32]) -> Result<Vec<u32>, String> {
    let rc = result.raw();
    match req.encoding {
        Encoding::Cmif => Ok(match req.command {
            command::REGISTER_CLIENT | command::DETACH_CLIENT => shim::CLIENT_REPLY.to_vec(),
            command::GET_SERVICE_HANDLE | command::REGISTER_SERVICE => {
                shim::handle_reply(move_handles.first().copied().unwrap_or(0), rc).to_vec()
            }
            _ => shim::unregister_reply(rc).to_vec(),
        }),
        Encoding::Tipc { tag } => {
            let mut buf = [0u32; TLS_MESSAGE_BUFFER_SIZE / 4];
            let mut raw = out.to_vec();
            raw.resize(raw.len().div_ceil(4) * 4, 0);
            let out_words: Vec<u32> =
                raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            let spec = tipc::ReplySpec { hipc_type: tag, result, out: &out_words, move_handles };
            let size = tipc::build_reply(&mut buf, &spec).map_err(|e| e.to_string())?;
            Ok(buf[..size].to_vec())
        }
    }
}

/// The name in a request's arguments, checked as `ValidateServiceName` does
/// ([`ServiceName::from_args`]); the registry's key.
fn service_name(args: &[u8]) -> Result<String, ResultCode> {
    let name = ServiceName::from_args(args)?;
    Ok(String::from_utf8_lossy(name.as_bytes()).into_owned())
}

/// What one request gave.
enum Outcome {
    Reply { result: ResultCode, out: Vec<u8>, move_objects: Vec<KObjectRef> },
    Defer(String),
}

fn reply(result: ResultCode) -> Outcome {
    Outcome::Reply { result, out: Vec::new(), move_objects: Vec::new() }
}

/// Serves a request thread `t` sent on HLE session `s`. `Ok(())` with the thread
/// either answered (runnable, outputs pending) or deferred (waiting); `Err` is the
/// client's SendSyncRequest result when sm closed the session instead of replying.
fn handle_request(k: &mut Kernel, t: ThreadId, s: SessionId, state: &mut SmSession) -> Result<(), ResultCode> {
    let p = k.threads[t].process;
    let tls = k.threads[t].tls;
    let mut bytes = [0u8; TLS_MESSAGE_BUFFER_SIZE];
    k.processes[p].cpu.read(tls, &mut bytes).map_err(|_| kernel::INVALID_CURRENT_MEMORY)?;
    let words: Vec<u32> = bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let req = match parse(&words) {
        Parsed::Request(r) => r,
        Parsed::Control => return write_reply(k, t, &shim::CONTROL_REPLY),
        Parsed::Close(why) => {
            let line = format!("sm: closing session #{s} of {}: {why}", k.thread_name(t));
            k.trace_line(line);
            close_session(k, s, state);
            return Err(kernel::SESSION_CLOSED);
        }
    };
    let outcome = dispatch(k, t, &req, state);
    finish(k, t, s, &req, outcome)
}

fn write_reply(k: &mut Kernel, t: ThreadId, words: &[u32]) -> Result<(), ResultCode> {
    let bytes = word_bytes(words);
    let (p, tls) = (k.threads[t].process, k.threads[t].tls);
    if bytes.len() > TLS_MESSAGE_BUFFER_SIZE || k.processes[p].cpu.write(tls, &bytes).is_err() {
        return Err(kernel::INVALID_CURRENT_MEMORY);
    }
    k.threads[t].wake(&[(0, 0)]);
    Ok(())
}

fn finish(k: &mut Kernel, t: ThreadId, s: SessionId, req: &Request, outcome: Outcome) -> Result<(), ResultCode> {
    let p = k.threads[t].process;
    match outcome {
        Outcome::Defer(service) => {
            let line =
                format!("sm: GetServiceHandle(\"{service}\") from {} deferred until it registers", k.thread_name(t));
            k.trace_line(line);
            k.threads[t].state = ThreadState::Waiting(Wait::SmDeferred { session: s, service });
            Ok(())
        }
        Outcome::Reply { result, out, move_objects } => {
            let mut handles = Vec::new();
            for object in move_objects {
                match k.processes[p].handles.add(object) {
                    Ok(h) => handles.push(h),
                    Err(e) => {
                        k.close_ref(object);
                        return finish(k, t, s, req, reply(e));
                    }
                }
            }
            let Ok(words) = reply_words(req, result, &out, &handles) else {
                return Err(kernel::INVALID_CURRENT_MEMORY);
            };
            if k.options.trace_ipc {
                let line = format!(
                    "sm: {} command {} from {} -> {result}",
                    if matches!(req.encoding, Encoding::Tipc { .. }) { "TIPC" } else { "CMIF" },
                    req.command,
                    k.thread_name(t)
                );
                k.trace_line(line);
            }
            write_reply(k, t, &words)
        }
    }
}

fn dispatch(k: &mut Kernel, t: ThreadId, req: &Request, state: &mut SmSession) -> Outcome {
    let p = k.threads[t].process;
    let pid = k.processes[p].pid;
    if req.command == command::REGISTER_CLIENT {
        // RegisterClient: no "already registered" check.
        state.process_id = Some(pid);
        state.initialized = true;
        return reply(ResultCode::SUCCESS);
    }
    // Every other command needs a registered session (`R_UNLESS(m_initialized, ...)`).
    if !state.initialized {
        return reply(results::INVALID_CLIENT);
    }
    let owner_pid = state.process_id.unwrap_or(pid);
    match req.command {
        command::DETACH_CLIENT => {
            state.initialized = false;
            reply(ResultCode::SUCCESS)
        }
        // GetServiceHandle (impl::GetServiceHandle): name, access, defer, connect.
        command::GET_SERVICE_HANDLE => {
            let name = match service_name(&req.args) {
                Ok(n) => n,
                Err(e) => return reply(e),
            };
            if !k.processes[p].services.may_access(&name) {
                return reply(results::NOT_ALLOWED);
            }
            let Some(service) = k.services.get(&name).cloned() else {
                return Outcome::Defer(name);
            };
            // connect_port puts the client end in p's table; turn it into a move.
            match k.connect_port(p, service.port) {
                Ok(h) => match k.processes[p].handles.remove(h) {
                    Some(object) => {
                        Outcome::Reply { result: ResultCode::SUCCESS, out: Vec::new(), move_objects: vec![object] }
                    }
                    None => reply(kernel::INVALID_HANDLE),
                },
                // R_CONVERT(svc::ResultOutOfSessions, sm::ResultOutOfSessions()).
                Err(e) if e == kernel::OUT_OF_SESSIONS => reply(results::OUT_OF_SESSIONS),
                Err(e) => reply(e),
            }
        }
        // RegisterService (impl::RegisterService): name, host access, already registered.
        command::REGISTER_SERVICE => {
            let name = match service_name(&req.args) {
                Ok(n) => n,
                Err(e) => return reply(e),
            };
            let layout = match req.encoding {
                Encoding::Tipc { .. } => RegisterServiceLayout::TIPC,
                Encoding::Cmif => RegisterServiceLayout::CMIF,
            };
            let (max, light) = RegisterServiceArgs::decode_counts(&req.args, layout);
            if !k.processes[p].services.may_host(&name) {
                return reply(results::NOT_ALLOWED);
            }
            if k.services.contains_key(&name) {
                return reply(results::ALREADY_REGISTERED);
            }
            // svc::CreatePort with the client's max_sessions: its result passes through.
            if max as i32 <= 0 {
                return reply(kernel::OUT_OF_RANGE);
            }
            let port = k.ports.len();
            k.ports.push(KPort::new(name.clone(), max, light, PortServer::Guest));
            k.services.insert(name.clone(), RegisteredService { port, owner: p });
            // The port's server side is referenced by the handle being moved.
            k.ports[port].server_refs += 1;
            let outcome = Outcome::Reply {
                result: ResultCode::SUCCESS,
                out: Vec::new(),
                move_objects: vec![KObjectRef::ServerPort(port)],
            };
            // Answered once this request is done (the deferred requests may be on this very
            // session, whose object is in use now).
            k.hle.after_request(Box::new(move |k| retry_deferred(k, &name)));
            outcome
        }
        // UnregisterService (impl::UnregisterService): registered, then owner.
        command::UNREGISTER_SERVICE => {
            let name = match service_name(&req.args) {
                Ok(n) => n,
                Err(e) => return reply(e),
            };
            match k.services.get(&name).cloned() {
                None => reply(results::NOT_REGISTERED),
                Some(svc) if owner_pid_of(k, &svc) != Some(owner_pid) => reply(results::NOT_ALLOWED),
                Some(_) => {
                    unregister(k, &name);
                    reply(ResultCode::SUCCESS)
                }
            }
        }
        // Atmosphère HasService(name) -> bool (impl::HasService).
        command::HAS_SERVICE => {
            let name = match service_name(&req.args) {
                Ok(n) => n,
                Err(e) => return reply(e),
            };
            let has = k.services.contains_key(&name);
            Outcome::Reply { result: ResultCode::SUCCESS, out: vec![u8::from(has)], move_objects: Vec::new() }
        }
        other => {
            // parse() passes only the commands above; keep a defined answer anyway.
            let line = format!("sm: command {other} from {} reached dispatch unexpectedly", k.thread_name(t));
            k.trace_line(line);
            reply(results::INVALID_CLIENT)
        }
    }
}

/// The pid of a registered service's owner (Atmosphère keeps it in its `ServiceInfo`'s
/// `owner_process_id`, `impl/sm_service_manager.cpp`; the bench keeps the owner's
/// [`crate::kernel::ProcessId`] in [`RegisteredService::owner`]); `None` for the bench's
/// own HLE services, which no guest owns.
fn owner_pid_of(k: &Kernel, service: &RegisteredService) -> Option<u64> {
    k.processes.get(service.owner).map(|p| p.pid)
}

/// UnregisterServiceImpl: sm closes its client side of the port; the name is free again.
fn unregister(k: &mut Kernel, name: &str) {
    if let Some(svc) = k.services.remove(name) {
        k.ports[svc.port].client_refs = 0;
    }
}

/// sm closes session `s` after a request it could not process: a registered session
/// unregisters its process's services (`~UserService`), and sm's server side goes away,
/// so the client's SendSyncRequest (this one and any later) returns SessionClosed.
fn close_session(k: &mut Kernel, s: SessionId, state: &mut SmSession) {
    on_session_closed(k, s, state);
    k.destroy_server_session(s);
}

/// The session object goes away (its client closed it, or sm did): Atmosphère's
/// `~UserService` -> `impl::OnClientDisconnected(pid)` when the session is still
/// registered: every service whose owner is that process is unregistered.
fn on_session_closed(k: &mut Kernel, s: SessionId, state: &mut SmSession) {
    let (initialized, pid) = (state.initialized, state.process_id);
    state.initialized = false;
    let Some(pid) = pid.filter(|_| initialized) else { return };
    let owned: Vec<String> =
        k.services.iter().filter(|(_, svc)| owner_pid_of(k, svc) == Some(pid)).map(|(name, _)| name.clone()).collect();
    for name in &owned {
        unregister(k, name);
    }
    if !owned.is_empty() {
        let line = format!(
            "sm: session #{s} of pid {pid:#x} closed without DetachClient: unregistered {} (Atmosphère OnClientDisconnected)",
            owned.join(", ")
        );
        k.trace_line(line);
    }
}

/// Answers every GetServiceHandle deferred on `name` (now registered).
fn retry_deferred(k: &mut Kernel, name: &str) {
    for t in 0..k.threads.len() {
        let ThreadState::Waiting(Wait::SmDeferred { session, service }) = &k.threads[t].state else { continue };
        if service != name {
            continue;
        }
        let s = *session;
        // The deferred thread's request is still in its TLS; serve it again.
        k.threads[t].state = ThreadState::Runnable;
        if let Err(e) = super::handle_request(k, t, s) {
            k.threads[t].wake(&[(0, u64::from(e.raw()))]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xcbuf_common::xcbuf::{INDEXED, SINGLE};

    fn request(words: &[u32]) -> Request {
        match parse(words) {
            Parsed::Request(r) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    fn libnx_cmif(command: u32, send_pid: bool, payload: &[u8]) -> Vec<u32> {
        let mut buf = [0u32; TLS_MESSAGE_BUFFER_SIZE / 4];
        let spec = cmif::RequestSpec {
            command_id: command,
            process_id: send_pid.then_some(0),
            payload,
            ..cmif::RequestSpec::default()
        };
        cmif::build_request(&mut buf, &spec).unwrap();
        buf.to_vec()
    }

    #[test]
    fn sm_result_codes_have_their_raw_values() {
        assert_eq!(results::ALREADY_REGISTERED.raw(), 0x815);
        assert_eq!(results::NOT_REGISTERED.raw(), 0xe15);
        assert_eq!(results::INVALID_CLIENT.raw(), 0x415);
        assert_eq!(results::NOT_ALLOWED.raw(), 0x1015);
        assert_eq!(results::INVALID_SERVICE_NAME.raw(), 0xc15);
        assert_eq!(results::OUT_OF_SESSIONS.raw(), 0x615);
    }

    #[test]
    fn the_shim_takes_get_service_handle_with_its_name_at_byte_0x20() {
        // libnx's layout: type 4, 10 raw words (16 padding + SFCI + name), SFCI at word 4.
        let r = request(&libnx_cmif(1, false, &ServiceName::literal(SINGLE.name).bytes()));
        assert_eq!(r.encoding, Encoding::Cmif);
        assert_eq!(r.command, command::GET_SERVICE_HANDLE);
        assert_eq!(service_name(&r.args).unwrap(), SINGLE.name);
    }

    #[test]
    fn the_shim_takes_register_client_and_detach_client_only_with_send_pid() {
        assert_eq!(request(&libnx_cmif(0, true, &[0; 8])).command, command::REGISTER_CLIENT);
        assert_eq!(request(&libnx_cmif(4, true, &[0; 8])).command, command::DETACH_CLIENT);
        // Without the PID the 12 header bytes differ: not a form the shim translates.
        assert!(matches!(parse(&libnx_cmif(0, false, &[0; 8])), Parsed::Close(_)));
    }

    #[test]
    fn register_service_through_the_shim_reads_is_light_at_0x28_and_max_sessions_at_0x2c() {
        let mut payload = ServiceName::literal(SINGLE.name).bytes().to_vec();
        payload.extend_from_slice(&[1, 0, 0, 0]);
        payload.extend_from_slice(&16u32.to_le_bytes());
        let r = request(&libnx_cmif(2, false, &payload));
        assert_eq!(r.command, command::REGISTER_SERVICE);
        assert_eq!(RegisterServiceArgs::decode_counts(&r.args, RegisterServiceLayout::CMIF), (16, true));
    }

    #[test]
    fn has_service_over_cmif_a_cmif_close_and_unknown_tipc_commands_close_the_session() {
        // Atmosphère's extensions are not shimmed; Close answers InvalidMethod; both close.
        assert!(matches!(
            parse(&libnx_cmif(command::HAS_SERVICE, false, &ServiceName::literal(SINGLE.name).bytes())),
            Parsed::Close(_)
        ));
        assert!(matches!(parse(&[2, 0]), Parsed::Close(_)));
        assert!(matches!(parse(&[15, 0]), Parsed::Close(_)));
        assert!(matches!(parse(&[65005 + 16, 2, 0, 0]), Parsed::Close(_)));
        assert!(matches!(parse(&[5, 8, 0, 0, cmif::IN_HEADER_MAGIC, 0, 3, 0]), Parsed::Control));
    }

    #[test]
    fn tipc_request_command_is_type_minus_16() {
        let mut words = vec![0u32; TLS_MESSAGE_BUFFER_SIZE / 4];
        words[0] = 16 + 1;
        words[1] = 2;
        words[2] = u32::from_le_bytes(*b"xcbu");
        words[3] = u32::from_le_bytes(*b"f:i\0");
        let r = request(&words);
        assert_eq!(r.encoding, Encoding::Tipc { tag: 17 });
        assert_eq!(r.command, 1);
        assert_eq!(service_name(&r.args).unwrap(), INDEXED.name);
    }

    #[test]
    fn cmif_replies_are_the_shims_fixed_layouts() {
        let req = Request { encoding: Encoding::Cmif, command: command::GET_SERVICE_HANDLE, args: vec![] };
        let w = reply_words(&req, ResultCode::SUCCESS, &[], &[0x1234]).unwrap();
        assert_eq!(w, vec![0, 0x8000_0004, 0x20, 0x1234, cmif::OUT_HEADER_MAGIC, 0, 0, 0]);
        // A failure keeps the move-handle slot, holding 0, and puts the result at 0x18.
        let w = reply_words(&req, results::OUT_OF_SESSIONS, &[], &[]).unwrap();
        assert_eq!(w, vec![0, 0x8000_0004, 0x20, 0, cmif::OUT_HEADER_MAGIC, 0, 0x615, 0]);
        let req = Request { encoding: Encoding::Cmif, command: command::DETACH_CLIENT, args: vec![] };
        assert_eq!(
            reply_words(&req, ResultCode::SUCCESS, &[], &[]).unwrap(),
            vec![0, 6, 0, 0, cmif::OUT_HEADER_MAGIC, 0, 0, 0]
        );
        let req = Request { encoding: Encoding::Cmif, command: command::UNREGISTER_SERVICE, args: vec![] };
        assert_eq!(reply_words(&req, results::NOT_REGISTERED, &[], &[]).unwrap()[6], 0xe15);
    }

    #[test]
    fn service_name_with_bytes_after_the_terminator_is_invalid() {
        assert_eq!(service_name(b"ab\0c\0\0\0\0"), Err(results::INVALID_SERVICE_NAME));
        assert_eq!(service_name(&[0u8; 8]), Err(results::INVALID_SERVICE_NAME));
        assert_eq!(service_name(b"12345678").unwrap(), "12345678");
    }
}

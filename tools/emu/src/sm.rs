//! The host's `sm:` (HLE, no guest code): a named port whose sessions are answered on
//! the host, speaking both CMIF (type 4 requests with an SFCI header) and TIPC
//! (type = command + 16), as Atmosphère's sm does (runtime-abi.md §5; libnx `tipc.h`).
//!
//! Commands: 0 RegisterClient, 1 GetServiceHandle (DEFERRED while the name is not
//! registered: the caller stays blocked, emulator-bench.md §4), 2 RegisterService,
//! 3 UnregisterService, 4 DetachClient, 65100 HasService (Atmosphère). The sysmodule's
//! NPDM service_host / service_access lists are enforced (formats.md §3.4); an NRO may
//! access any service.

use xcbuf_common::cmif::{self, Incoming};
use xcbuf_common::hipc::{Message, MessageBuilder, MessageHeader, SpecialHeader};
use xcbuf_common::result::{ResultCode, kernel};

use crate::kernel::port::{KPort, PortServer};
use crate::kernel::session::SessionServer;
use crate::kernel::thread::{ThreadState, Wait};
use crate::kernel::{KObjectRef, Kernel, RegisteredService, SessionId, ThreadId};

/// The named port's name.
pub const PORT_NAME: &str = "sm:";
/// sm's own session limit (generous; Atmosphère's sm allows many).
pub const MAX_SESSIONS: u32 = 0x40;

/// sm results (module 21).
pub mod results {
    use xcbuf_common::result::ResultCode;
    pub const MODULE: u32 = 21;
    /// 0x415: RegisterClient was not called.
    pub const INVALID_CLIENT: ResultCode = ResultCode::new(MODULE, 2);
    /// 0x815: the name is already registered.
    pub const ALREADY_REGISTERED: ResultCode = ResultCode::new(MODULE, 4);
    /// 0xc15: empty name or bytes after the terminator.
    pub const INVALID_SERVICE_NAME: ResultCode = ResultCode::new(MODULE, 6);
    /// 0xe15: UnregisterService of a name not registered.
    pub const NOT_REGISTERED: ResultCode = ResultCode::new(MODULE, 7);
    /// 0x1015: the NPDM does not allow it.
    pub const NOT_ALLOWED: ResultCode = ResultCode::new(MODULE, 8);
}

/// HIPC types (horizon-ipc.md §6.1).
const TYPE_CLOSE: u32 = 2;
const TYPE_REQUEST: u32 = 4;
const TYPE_CONTROL: u32 = 5;
const TYPE_REQUEST_WITH_CONTEXT: u32 = 6;
const TIPC_TYPE_CLOSE: u32 = 15;
const TIPC_COMMAND_BASE: u32 = 16;

/// Creates the `sm:` named port.
pub fn install(k: &mut Kernel) {
    let port = k.ports.len();
    let mut p = KPort::new(PORT_NAME.to_string(), MAX_SESSIONS, false, PortServer::HleSm);
    p.server_refs = 1;
    k.ports.push(p);
    k.named_ports.insert(PORT_NAME.to_string(), port);
}

struct Request {
    tipc: bool,
    hipc_type: u32,
    command: u32,
    args: Vec<u8>,
}

/// Reads a request with xcbuf_common's codec (the layout checks of a userland server):
/// TIPC's raw data is the arguments; CMIF's arguments are the payload after SFCI.
fn parse(words: &[u32]) -> Result<Request, String> {
    let message = Message::parse(words).map_err(|e| e.to_string())?;
    let hipc_type = u32::from(message.header().tag);
    if hipc_type >= TIPC_COMMAND_BASE {
        let args = message.raw().iter().flat_map(|w| w.to_le_bytes()).collect();
        return Ok(Request { tipc: true, hipc_type, command: hipc_type - TIPC_COMMAND_BASE, args });
    }
    if hipc_type != TYPE_REQUEST && hipc_type != TYPE_REQUEST_WITH_CONTEXT {
        return Err(format!("HIPC type {hipc_type} is not a request"));
    }
    let Incoming::Request(request) = cmif::parse_request(words).map_err(|e| e.to_string())? else {
        return Err("a Close is not a request".into());
    };
    let mut args = vec![0u8; request.payload_len()];
    request.read_payload(0, &mut args).map_err(|e| e.to_string())?;
    Ok(Request { tipc: false, hipc_type, command: request.command_id(), args })
}

/// Builds a reply in the client's message buffer layout: CMIF with the codec's reply
/// builder; TIPC (which the codec does not speak) as type = the request's, raw data =
/// result then outputs (libnx `tipc.h`).
fn reply_words(req: &Request, result: ResultCode, out: &[u8], move_handles: &[u32]) -> Result<Vec<u32>, String> {
    let mut buf = [0u32; 64];
    if !req.tipc {
        let spec = cmif::ReplySpec { result, move_handles, payload: out, ..cmif::ReplySpec::default() };
        let bytes = cmif::build_reply(&mut buf, &spec).map_err(|e| e.to_string())?;
        return Ok(buf[..bytes.div_ceil(4)].to_vec());
    }
    let mut raw = result.raw().to_le_bytes().to_vec();
    raw.extend_from_slice(out);
    raw.resize(raw.len().div_ceil(4) * 4, 0);
    let raw_words: Vec<u32> = raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let header = MessageHeader {
        tag: u16::try_from(req.hipc_type).map_err(|_| "TIPC type past 16 bits".to_string())?,
        raw_count: u16::try_from(raw_words.len()).map_err(|_| "TIPC reply too large".to_string())?,
        has_special_header: !move_handles.is_empty(),
        ..MessageHeader::default()
    };
    let move_handle_count = u8::try_from(move_handles.len()).map_err(|_| "too many move handles".to_string())?;
    let special = (move_handle_count > 0).then(|| SpecialHeader { move_handle_count, ..SpecialHeader::default() });
    let mut builder = MessageBuilder::new(&mut buf, header, special).map_err(|e| e.to_string())?;
    for (i, &h) in move_handles.iter().enumerate() {
        builder.set_move_handle(i, h).map_err(|e| e.to_string())?;
    }
    builder.raw_mut().copy_from_slice(&raw_words);
    let size = builder.message_size_bytes();
    Ok(buf[..size / 4].to_vec())
}

fn service_name(args: &[u8]) -> Result<String, ResultCode> {
    let bytes = args.get(0..8).ok_or(results::INVALID_SERVICE_NAME)?;
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(8);
    if len == 0 || bytes[len..].iter().any(|&b| b != 0) {
        return Err(results::INVALID_SERVICE_NAME);
    }
    Ok(String::from_utf8_lossy(&bytes[..len]).into_owned())
}

fn u32_at(args: &[u8], at: usize) -> u32 {
    args.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).unwrap_or(0)
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
/// either answered (runnable, outputs pending) or deferred (waiting).
pub fn handle_request(k: &mut Kernel, t: ThreadId, s: SessionId) -> Result<(), ResultCode> {
    let p = k.threads[t].process;
    let tls = k.threads[t].tls;
    let mut bytes = [0u8; 0x100];
    k.processes[p].cpu.read(tls, &mut bytes).map_err(|_| kernel::INVALID_CURRENT_MEMORY)?;
    let words: Vec<u32> = bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let hipc_type = words[0] & 0xffff;
    if hipc_type == TYPE_CLOSE || hipc_type == TIPC_TYPE_CLOSE {
        return Err(kernel::SESSION_CLOSED);
    }
    if hipc_type == TYPE_CONTROL {
        let line = format!("sm: control request from {} answered with 0x3260b", k.thread_name(t));
        k.trace_line(line);
    }
    let req = match parse(&words) {
        Ok(r) => r,
        Err(why) => {
            let line = format!("sm: malformed request from {}: {why}", k.thread_name(t));
            k.trace_line(line);
            // libstratosphere closes the session on a request it cannot parse.
            return Err(kernel::SESSION_CLOSED);
        }
    };
    let outcome = dispatch(k, t, s, &req);
    finish(k, t, s, &req, outcome)
}

fn finish(k: &mut Kernel, t: ThreadId, s: SessionId, req: &Request, outcome: Outcome) -> Result<(), ResultCode> {
    let p = k.threads[t].process;
    match outcome {
        Outcome::Defer(service) => {
            let line = format!("sm: GetServiceHandle(\"{service}\") from {} deferred until it registers", k.thread_name(t));
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
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let tls = k.threads[t].tls;
            if bytes.len() > 0x100 || k.processes[p].cpu.write(tls, &bytes).is_err() {
                return Err(kernel::INVALID_CURRENT_MEMORY);
            }
            if k.options.trace_ipc {
                let line = format!(
                    "sm: {} command {} from {} -> {result}",
                    if req.tipc { "TIPC" } else { "CMIF" },
                    req.command,
                    k.thread_name(t)
                );
                k.trace_line(line);
            }
            k.threads[t].wake(&[(0, 0)]);
            Ok(())
        }
    }
}

fn dispatch(k: &mut Kernel, t: ThreadId, s: SessionId, req: &Request) -> Outcome {
    let p = k.threads[t].process;
    let registered = matches!(k.sessions[s].server, SessionServer::HleSm { client_pid: Some(_) });
    match req.command {
        // RegisterClient(pid)
        0 => {
            k.sessions[s].server = SessionServer::HleSm { client_pid: Some(k.processes[p].pid) };
            reply(ResultCode::SUCCESS)
        }
        // GetServiceHandle(name) -> move handle
        1 => {
            if !registered {
                return reply(results::INVALID_CLIENT);
            }
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
                Ok(h) => {
                    let object = k.processes[p].handles.remove(h).expect("handle just added");
                    Outcome::Reply { result: ResultCode::SUCCESS, out: Vec::new(), move_objects: vec![object] }
                }
                Err(e) => reply(e),
            }
        }
        // RegisterService(name, is_light, max_sessions) -> move handle (server port)
        2 => {
            if !registered {
                return reply(results::INVALID_CLIENT);
            }
            let name = match service_name(&req.args) {
                Ok(n) => n,
                Err(e) => return reply(e),
            };
            // CMIF: name@0, is_light@8, max_sessions@0xC (libnx sm.c);
            // TIPC: name@0, max_sessions@8, is_light@0xC.
            let (max, light) = if req.tipc {
                (u32_at(&req.args, 8), req.args.get(12).copied().unwrap_or(0) != 0)
            } else {
                (u32_at(&req.args, 12), req.args.get(8).copied().unwrap_or(0) != 0)
            };
            if !k.processes[p].services.may_host(&name) {
                return reply(results::NOT_ALLOWED);
            }
            if k.services.contains_key(&name) {
                return reply(results::ALREADY_REGISTERED);
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
            retry_deferred(k, &name);
            outcome
        }
        // UnregisterService(name)
        3 => {
            if !registered {
                return reply(results::INVALID_CLIENT);
            }
            let name = match service_name(&req.args) {
                Ok(n) => n,
                Err(e) => return reply(e),
            };
            match k.services.get(&name) {
                None => reply(results::NOT_REGISTERED),
                Some(svc) if svc.owner != p => reply(results::NOT_ALLOWED),
                Some(_) => {
                    k.services.remove(&name);
                    reply(ResultCode::SUCCESS)
                }
            }
        }
        // DetachClient(pid)
        4 => reply(ResultCode::SUCCESS),
        // Atmosphère HasService(name) -> bool
        65100 => {
            let name = match service_name(&req.args) {
                Ok(n) => n,
                Err(e) => return reply(e),
            };
            let has = k.services.contains_key(&name);
            Outcome::Reply { result: ResultCode::SUCCESS, out: vec![u8::from(has)], move_objects: Vec::new() }
        }
        other => {
            let line = format!("sm: command {other} from {} is not implemented: 0x1ba0a", k.thread_name(t));
            k.trace_line(line);
            reply(xcbuf_common::result::cmif::UNKNOWN_COMMAND_ID)
        }
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
        if let Err(e) = handle_request(k, t, s) {
            k.threads[t].wake(&[(0, u64::from(e.raw()))]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sm_result_codes_have_their_raw_values() {
        assert_eq!(results::ALREADY_REGISTERED.raw(), 0x815);
        assert_eq!(results::NOT_REGISTERED.raw(), 0xe15);
        assert_eq!(results::INVALID_CLIENT.raw(), 0x415);
        assert_eq!(results::NOT_ALLOWED.raw(), 0x1015);
        assert_eq!(results::INVALID_SERVICE_NAME.raw(), 0xc15);
    }

    #[test]
    fn cmif_request_command_and_args_are_found_after_the_alignment_padding() {
        // word0 = type 4, word1 = 10 raw words (16 padding budget + 16 SFCI + 8 name, as
        // libnx lays it out); raw at word 2 -> SFCI at word 4, the name at words 8-9.
        let mut words = vec![0u32; 64];
        words[0] = 4;
        words[1] = 10;
        words[4] = cmif::IN_HEADER_MAGIC;
        words[6] = 65100;
        words[8] = u32::from_le_bytes(*b"xcbu");
        words[9] = u32::from_le_bytes(*b"f\0\0\0");
        let r = parse(&words).unwrap();
        assert!(!r.tipc);
        assert_eq!(r.command, 65100);
        assert_eq!(service_name(&r.args).unwrap(), "xcbuf");
    }

    #[test]
    fn tipc_request_command_is_type_minus_16() {
        let mut words = vec![0u32; 64];
        words[0] = 16 + 1;
        words[1] = 2;
        words[2] = u32::from_le_bytes(*b"xcbu");
        words[3] = u32::from_le_bytes(*b"f:i\0");
        let r = parse(&words).unwrap();
        assert!(r.tipc);
        assert_eq!(r.command, 1);
        assert_eq!(service_name(&r.args).unwrap(), "xcbuf:i");
    }

    #[test]
    fn cmif_reply_puts_sfco_at_a_16_byte_boundary_after_the_move_handle() {
        let req = Request { tipc: false, hipc_type: 4, command: 1, args: vec![] };
        let w = reply_words(&req, ResultCode::SUCCESS, &[], &[0x1234]).unwrap();
        assert_eq!(w[1] >> 31, 1);
        assert_eq!(w[2], 1 << 5);
        assert_eq!(w[3], 0x1234);
        // raw starts at word 4, which is 16-byte aligned: SFCO there.
        assert_eq!(w[4], cmif::OUT_HEADER_MAGIC);
        assert_eq!(w[6], 0);
    }

    #[test]
    fn service_name_with_bytes_after_the_terminator_is_invalid() {
        assert_eq!(service_name(b"ab\0c\0\0\0\0"), Err(results::INVALID_SERVICE_NAME));
        assert_eq!(service_name(&[0u8; 8]), Err(results::INVALID_SERVICE_NAME));
        assert_eq!(service_name(b"12345678").unwrap(), "12345678");
    }
}

//! The framework's entry points from the kernel: installing the services, serving a
//! request on an HLE session, and a session that closes. The CMIF rules (control
//! commands, domains, replies, errors that close the session) follow libstratosphere, as
//! cited per function.

use std::rc::Rc;

use xcbuf_common::cmif::control;
use xcbuf_common::hipc::{PointerDescriptor, ReceiveListMode, TLS_MESSAGE_BUFFER_SIZE};
use xcbuf_common::result::{ResultCode, kernel};
use xcbuf_kmodel::message::{PROCESS_ID_PASSTHROUGH_MASK, PROCESS_ID_PASSTHROUGH_VALUE};

use super::session::{self, HleSession, Holder, Incoming, ObjectRef, ParsedRequest, Refused, ReplyParts};
use super::{Caller, HleEnv, HleReply, HleService, Reply, ServiceEntry, registry, results};
use crate::kernel::port::{KPort, PortServer};
use crate::kernel::session::{KSession, SessionServer};
use crate::kernel::thread::{ThreadState, Wait};
use crate::kernel::{KObjectRef, Kernel, RegisteredService, SessionId, ThreadId};

/// The owner sm records for an HLE service: no guest process.
pub const NO_OWNER: usize = usize::MAX;

/// Installs sm's named port and every service of [`registry::services`].
pub fn install(k: &mut Kernel) {
    install_services(k, registry::services());
}

/// Installs sm (the named port `sm:`) and registers each of `services` with it under its
/// name, each with a port of its `max_sessions`.
pub fn install_services(k: &mut Kernel, services: Vec<Box<dyn HleService>>) {
    let sm = add_service(k, Box::new(super::sm::SmService));
    let port = add_port(k, sm);
    k.named_ports.insert(k.hle.services[sm].name.clone(), port);
    for service in services {
        let index = add_service(k, service);
        let port = add_port(k, index);
        let name = k.hle.services[index].name.clone();
        k.services.insert(name, RegisteredService { port, owner: NO_OWNER });
    }
}

fn add_service(k: &mut Kernel, service: Box<dyn HleService>) -> usize {
    let name = service.name().to_string();
    let pool = session::DomainPool::new(service.max_domains(), service.max_domain_objects());
    k.hle.services.push(ServiceEntry { service, name, pool });
    k.hle.services.len() - 1
}

fn add_port(k: &mut Kernel, index: usize) -> usize {
    let entry = &k.hle.services[index];
    let port = k.ports.len();
    let mut p = KPort::new(entry.name.clone(), entry.service.max_sessions(), false, PortServer::Hle(index));
    p.server_refs = 1;
    k.ports.push(p);
    port
}

/// The server side of a new session to service `index` (its root object).
pub fn open_session(k: &mut Kernel, index: usize) -> SessionServer {
    let object = k.hle.services[index].service.open();
    SessionServer::Hle(HleSession::new(index, Holder::Object(session::object_ref(object))))
}

fn holder_of(k: &Kernel, s: SessionId) -> Option<(usize, Holder)> {
    match &k.sessions[s].server {
        SessionServer::Hle(h) => Some((h.service, h.holder.clone()?)),
        SessionServer::Guest => None,
    }
}

/// Serves the request thread `t` sent on HLE session `s`. `Ok(())`: the thread was
/// answered (runnable, its svc outputs pending) or stays blocked (deferred, or the run
/// stops); `Err`: the result of the client's SendSyncRequest when the session was closed
/// instead of answered (or the reply could not be delivered).
pub fn handle_request(k: &mut Kernel, t: ThreadId, s: SessionId) -> Result<(), ResultCode> {
    let result = serve(k, t, s);
    // Work queued while an object was borrowed (sm answering deferred requests).
    while !k.hle.after.is_empty() {
        let work: Vec<_> = k.hle.after.drain(..).collect();
        for w in work {
            w(k);
        }
    }
    result
}

fn serve(k: &mut Kernel, t: ThreadId, s: SessionId) -> Result<(), ResultCode> {
    let Some((service, holder)) = holder_of(k, s) else { return Err(kernel::SESSION_CLOSED) };
    // Objects with their own protocol (sm) take the whole message.
    if let Holder::Object(object) = &holder {
        let Ok(mut o) = object.try_borrow_mut() else {
            let line = format!("hle: session #{s} is already being served (re-entrant request)");
            k.trace_line(line);
            return Err(kernel::INVALID_STATE);
        };
        if let Some(result) = o.handle_raw(k, t, s) {
            return result;
        }
    }
    let words = read_message(k, t)?;
    let domain = match &holder {
        Holder::Domain(d) => Some(d.clone()),
        Holder::Object(_) => None,
    };
    match session::parse(&words, domain.is_some()) {
        Err(refused) => refuse(k, t, s, service, &refused),
        Ok(Incoming::Close) => {
            if k.options.trace_ipc {
                let line =
                    format!("{}: Close (type 2) on session #{s} from {}", service_name(k, service), k.thread_name(t));
                k.trace_line(line);
            }
            close_session(k, s);
            Err(kernel::SESSION_CLOSED)
        }
        Ok(Incoming::Control { command_id, request }) => control_command(k, t, s, service, command_id, &request),
        Ok(Incoming::Request(request)) => match &holder {
            Holder::Object(object) => serve_object(k, t, s, service, object, None, &request),
            // parse() gives Request only on a plain session.
            Holder::Domain(_) => refuse(k, t, s, service, &refused_in_header()),
        },
        Ok(Incoming::DomainMessage { object_id, request }) => {
            let Some(domain) = domain else { return refuse(k, t, s, service, &refused_in_header()) };
            let Some(object) = domain.borrow().get(object_id) else {
                // `Domain::GetObject` found nothing: TargetNotFound, and the session closes.
                let why = format!("domain object id {object_id} is not in the domain (TargetNotFound)");
                return refuse(k, t, s, service, &Refused { result: results::TARGET_NOT_FOUND, why });
            };
            serve_object(k, t, s, service, &object, Some(&domain), &request)
        }
        Ok(Incoming::DomainClose { object_id }) => {
            // `DomainServiceObjectDispatchTable::ProcessMessageImpl` Close:
            // `UnregisterObject` with no error check, success, and the reply is the request
            // buffer as it is (`DispatchRequest` replies the in-message untouched). Eden
            // writes a domain header and an SFCO 0 instead.
            if let Some(domain) = domain {
                let removed = domain.borrow_mut().unregister(object_id);
                if let Some(object) = removed {
                    k.hle.services[service].pool.release(object_id);
                    object_gone(k, s, object);
                }
            }
            if k.options.trace_ipc {
                let line = format!(
                    "{}: domain Close of object {object_id} on session #{s} from {}",
                    service_name(k, service),
                    k.thread_name(t)
                );
                k.trace_line(line);
            }
            k.threads[t].wake(&[(0, 0)]);
            Ok(())
        }
    }
}

fn refused_in_header() -> Refused {
    Refused { result: results::INVALID_IN_HEADER, why: "request form does not match the session".into() }
}

fn service_name(k: &Kernel, service: usize) -> String {
    k.hle.services.get(service).map(|e| e.name.clone()).unwrap_or_else(|| format!("service#{service}"))
}

fn read_message(k: &Kernel, t: ThreadId) -> Result<Vec<u32>, ResultCode> {
    let (p, tls) = (k.threads[t].process, k.threads[t].tls);
    let mut bytes = [0u8; TLS_MESSAGE_BUFFER_SIZE];
    k.processes[p].cpu.read(tls, &mut bytes).map_err(|_| kernel::INVALID_CURRENT_MEMORY)?;
    let mut words: Vec<u32> = bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    // The kernel's copy writes the sender's process id into the PID slot when the special
    // header asks for it, whatever the client left there, except Atmosphère's passthrough
    // form 0xFFFE << 48 | pid (Atmosphère `kern_k_server_session.cpp`
    // `ProcessMessageSpecialData`; the guest-to-guest copy: `xcbuf_kmodel::message`);
    // services read the PID from there.
    let has_special = words.get(1).is_some_and(|w| w & (1 << 31) != 0);
    if has_special && words.get(2).is_some_and(|w| w & 1 != 0) {
        if let Some(slot) = words.get_mut(3..5) {
            let sent = u64::from(slot[0]) | u64::from(slot[1]) << 32;
            let pid = if sent & PROCESS_ID_PASSTHROUGH_MASK == PROCESS_ID_PASSTHROUGH_VALUE {
                sent & !PROCESS_ID_PASSTHROUGH_MASK
            } else {
                k.processes[p].pid
            };
            slot.copy_from_slice(&[pid as u32, (pid >> 32) as u32]);
        }
    }
    Ok(words)
}

fn write_message(k: &mut Kernel, t: ThreadId, words: &[u32], size: usize) -> Result<(), ResultCode> {
    let (p, tls) = (k.threads[t].process, k.threads[t].tls);
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let bytes = bytes.get(..size.min(bytes.len())).unwrap_or_default();
    k.processes[p].cpu.write(tls, bytes).map_err(|_| kernel::INVALID_CURRENT_MEMORY)
}

/// libstratosphere closes a session whose request failed before a reply was prepared
/// (`ServerSessionManager::ProcessRequest`, `R_CATCH_ALL` -> `CloseSessionImpl`): no
/// reply; the client's SendSyncRequest returns SessionClosed.
fn refuse(k: &mut Kernel, t: ThreadId, s: SessionId, service: usize, refused: &Refused) -> Result<(), ResultCode> {
    let line = format!(
        "{}: closing session #{s} of {}: {} ({})",
        service_name(k, service),
        k.thread_name(t),
        refused.why,
        refused.result
    );
    k.trace_line(line);
    close_session(k, s);
    Err(kernel::SESSION_CLOSED)
}

/// The server closes session `s` (`CloseSessionImpl`) while serving a request on it: its
/// server side is destroyed now, so the client's requests (this one and later ones) get
/// SessionClosed; its objects are released once the request is done (the request holds
/// them until then).
fn close_session(k: &mut Kernel, s: SessionId) {
    k.destroy_server_session(s);
    k.hle.after_request(Box::new(move |k| on_session_closed(k, s)));
}

/// Session `s` goes away (its client closed it, or the server did): what it held is
/// released. A plain session's object is told ([`super::HleObject::closed`]) when no other
/// session or domain holds it; a domain no other session holds goes with its entries
/// (`Domain::~Domain`: each entry freed in registration order, the domain freed), and each
/// of its objects no other session holds is told. Objects copied out of the domain by
/// CopyFromCurrentDomain live on in their own sessions.
pub fn on_session_closed(k: &mut Kernel, s: SessionId) {
    let SessionServer::Hle(h) = &mut k.sessions[s].server else { return };
    let service = h.service;
    let Some(holder) = h.holder.take() else { return };
    match holder {
        Holder::Object(object) => object_gone(k, s, object),
        Holder::Domain(domain) => {
            if Rc::strong_count(&domain) > 1 {
                return;
            }
            let entries = std::mem::take(&mut domain.borrow_mut().entries);
            for (id, object) in entries {
                k.hle.services[service].pool.release(id);
                object_gone(k, s, object);
            }
            k.hle.services[service].pool.free_domain();
        }
    }
}

/// One holder of `object` let it go; when it was the last, the object is told.
fn object_gone(k: &mut Kernel, s: SessionId, object: ObjectRef) {
    if Rc::strong_count(&object) == 1
        && let Ok(mut o) = object.try_borrow_mut()
    {
        o.closed(k, s);
    }
}

fn caller_of(k: &Kernel, t: ThreadId) -> Caller {
    let process = k.threads[t].process;
    Caller { process, thread: t, pid: k.processes[process].pid, thread_name: k.thread_name(t) }
}

/// Serves a CMIF command on `object` (the session's, or the domain entry the domain header
/// named) and answers the caller.
fn serve_object(
    k: &mut Kernel,
    t: ThreadId,
    s: SessionId,
    service: usize,
    object: &ObjectRef,
    domain: Option<&session::DomainRef>,
    request: &ParsedRequest,
) -> Result<(), ResultCode> {
    let caller = caller_of(k, t);
    let Ok(mut o) = object.try_borrow_mut() else {
        let line = format!("hle: object on session #{s} is already being served (re-entrant request)");
        k.trace_line(line);
        return Err(kernel::INVALID_STATE);
    };
    let interface = o.interface();
    let mut env = HleEnv { k, caller: &caller, c_writes: Vec::new() };
    let reply = o.handle(&request.as_request(&caller), &mut env);
    let c_writes = std::mem::take(&mut env.c_writes);
    drop(o);
    let name = service_name(k, service);
    match reply {
        HleReply::Unknown => {
            let report = format!(
                "{name}: {interface} command {} from {} (pid {:#x}) is not modelled by the bench's HLE {name}",
                request.command_id, caller.thread_name, caller.pid
            );
            k.trace_line(report.clone());
            k.hle.stop_run(report.clone());
            k.threads[t].state = ThreadState::Waiting(Wait::HleDeferred { session: s, what: report });
            Ok(())
        }
        HleReply::Defer { what } => {
            let line = format!(
                "{name}: {interface} command {} from {} deferred: {what}",
                request.command_id, caller.thread_name
            );
            k.trace_line(line);
            k.threads[t].state =
                ThreadState::Waiting(Wait::HleDeferred { session: s, what: format!("{name}: {what}") });
            Ok(())
        }
        HleReply::Close => {
            let line = format!(
                "{name}: {interface} command {} from {}: the service closes the session",
                request.command_id, caller.thread_name
            );
            k.trace_line(line);
            close_session(k, s);
            Err(kernel::SESSION_CLOSED)
        }
        HleReply::Reply(reply) => {
            let result = reply.result;
            let answered = answer(k, t, s, service, domain, request, reply, c_writes);
            if k.options.trace_ipc || result != ResultCode::SUCCESS {
                let line = format!(
                    "{name}: {interface} command {} from {} -> {result}",
                    request.command_id, caller.thread_name
                );
                k.trace_line(line);
            }
            answered
        }
    }
}

/// Where the reply's X descriptor `index` lands in the caller's receive list, as the
/// kernel copies it (horizon-ipc.md §4; mesosphere `ReceiveList::GetBuffer`): indexed mode
/// -> C entry `index`; single-buffer mode -> the one entry, X after X; no receive list (or
/// the message-buffer mode, which the HLE does not model) -> OutOfResource 0xce01, as is a
/// payload larger than the entry.
fn place_c_writes(
    request: &ParsedRequest,
    writes: &[(usize, Vec<u8>)],
) -> Result<Vec<(u64, usize, Vec<u8>)>, ResultCode> {
    let mut placed = Vec::new();
    let mut single_offset = 0u64;
    for (index, bytes) in writes {
        let len = bytes.len() as u64;
        let (address, room) = match request.receive_mode {
            ReceiveListMode::Index(_) => {
                let c = request.c.get(*index).ok_or(kernel::OUT_OF_RESOURCE)?;
                (c.address, c.size)
            }
            ReceiveListMode::ToSingleBuffer => {
                let c = request.c.first().ok_or(kernel::OUT_OF_RESOURCE)?;
                let at = (single_offset + 0xf) & !0xf;
                single_offset = at + len;
                (c.address + at, c.size.saturating_sub(at))
            }
            ReceiveListMode::None | ReceiveListMode::ToMessageBuffer => return Err(kernel::OUT_OF_RESOURCE),
        };
        if len > room {
            return Err(kernel::OUT_OF_RESOURCE);
        }
        placed.push((address, *index, bytes.clone()));
    }
    Ok(placed)
}

/// Writes the reply: C-buffer data, out-objects (new sessions, or ids in the domain),
/// handles, the message; wakes the caller.
#[allow(clippy::too_many_arguments)]
fn answer(
    k: &mut Kernel,
    t: ThreadId,
    s: SessionId,
    service: usize,
    domain: Option<&session::DomainRef>,
    request: &ParsedRequest,
    reply: Reply,
    c_writes: Vec<(usize, Vec<u8>)>,
) -> Result<(), ResultCode> {
    let p = k.threads[t].process;
    let mut result = reply.result;
    let mut out_pointers = Vec::new();
    let mut move_handles = Vec::new();
    let mut copy_handles = Vec::new();
    let mut out_ids = Vec::new();
    if result == ResultCode::SUCCESS {
        // The reply's X descriptors: copied into the caller's C entries, or the whole
        // reply fails with the kernel's result (the client's SendSyncRequest returns it).
        let placed = place_c_writes(request, &c_writes)?;
        for (address, index, bytes) in placed {
            let len = bytes.len() as u64;
            let p_ = &mut k.processes[p];
            if !p_.space.check(address, len, crate::cpu::Perm::RW) || p_.cpu.write(address, &bytes).is_err() {
                return Err(kernel::INVALID_CURRENT_MEMORY);
            }
            let d = PointerDescriptor::new(index as u8, address, len).map_err(|_| kernel::OUT_OF_RESOURCE)?;
            out_pointers.push(d);
        }
        // Out-objects (`SetOutObjectImpl`): on a domain session, registered in the same
        // domain under a reserved id (`DomainServiceObjectProcessor::SetOutObjects`); on a
        // plain session, a new session whose client handle is moved, before the
        // command's own move handles (Eden `ResponseBuilder::PushIpcInterface`).
        for object in reply.out_objects {
            let object = session::object_ref(object);
            match domain {
                Some(d) => match k.hle.services[service].pool.reserve() {
                    Some(id) => {
                        d.borrow_mut().entries.push((id, object));
                        out_ids.push(id);
                    }
                    // Atmosphère aborts the server here (`R_ABORT_UNLESS(ReserveIds)`);
                    // the bench answers OutOfDomainEntries instead.
                    None => result = results::OUT_OF_DOMAIN_ENTRIES,
                },
                None => {
                    let new = k.sessions.len();
                    let server = SessionServer::Hle(HleSession::new(service, Holder::Object(object)));
                    k.sessions.push(KSession::new(None, server));
                    match k.add_handle(p, KObjectRef::ClientSession(new)) {
                        Ok(h) => move_handles.push(h),
                        Err(e) => result = e,
                    }
                }
            }
        }
        // Kernel objects: a moved one carries the reference the service gives up; a
        // copied one gets a new reference.
        for object in reply.move_handles {
            match k.processes[p].handles.add(object) {
                Ok(h) => move_handles.push(h),
                Err(e) => {
                    k.close_ref(object);
                    result = e;
                }
            }
        }
        for object in reply.copy_handles {
            match k.add_handle(p, object) {
                Ok(h) => copy_handles.push(h),
                Err(e) => result = e,
            }
        }
    }
    let mut words = [0u32; TLS_MESSAGE_BUFFER_SIZE / 4];
    let parts = ReplyParts {
        domain: domain.is_some(),
        result,
        payload: &reply.payload,
        out_ids: &out_ids,
        move_handles: &move_handles,
        copy_handles: &copy_handles,
        out_pointers: &out_pointers,
    };
    let size = session::reply_words(&mut words, &parts).map_err(|_| kernel::INVALID_CURRENT_MEMORY)?;
    write_message(k, t, &words, size)?;
    let _ = s;
    k.threads[t].wake(&[(0, 0)]);
    Ok(())
}

/// A control request (type 5/7): an IHipcManager command
/// (`sf_hipc_server_domain_session_manager.cpp` `HipcManagerImpl`), answered in the plain
/// form even on a domain session. An unknown id is UnknownCommandId, which closes the
/// session.
fn control_command(
    k: &mut Kernel,
    t: ThreadId,
    s: SessionId,
    service: usize,
    command_id: u32,
    request: &ParsedRequest,
) -> Result<(), ResultCode> {
    let Some((_, holder)) = holder_of(k, s) else { return Err(kernel::SESSION_CLOSED) };
    let name = service_name(k, service);
    let reply: Result<(Vec<u8>, Option<Holder>), ResultCode> = match command_id {
        control::CONVERT_CURRENT_OBJECT_TO_DOMAIN => match holder {
            // ConvertCurrentObjectToDomain: allocate a domain (OutOfDomains), reserve an
            // id (OutOfDomainEntries), register the session's object under it; the
            // session now holds the domain.
            Holder::Object(object) => {
                let pool = &mut k.hle.services[service].pool;
                if !pool.allocate_domain() {
                    Err(results::OUT_OF_DOMAINS)
                } else if let Some(id) = pool.reserve() {
                    let domain = session::Domain { entries: vec![(id, object)] };
                    if let SessionServer::Hle(h) = &mut k.sessions[s].server {
                        h.holder = Some(Holder::Domain(Rc::new(std::cell::RefCell::new(domain))));
                    }
                    Ok((id.to_le_bytes().to_vec(), None))
                } else {
                    pool.free_domain();
                    Err(results::OUT_OF_DOMAIN_ENTRIES)
                }
            }
            // A domain converted again would nest the domain in a new one; no client
            // does that and the bench does not model it.
            Holder::Domain(_) => {
                let report = format!(
                    "{name}: ConvertCurrentObjectToDomain on a session that already is a domain (session #{s}, from {}) is not modelled",
                    k.thread_name(t)
                );
                k.trace_line(report.clone());
                k.hle.stop_run(report.clone());
                k.threads[t].state = ThreadState::Waiting(Wait::HleDeferred { session: s, what: report });
                return Ok(());
            }
        },
        // CopyFromCurrentDomain(u32 id) -> move handle: TargetNotDomain on a plain session,
        // DomainObjectNotFound for an id the domain does not hold; else a new plain session
        // to that object (which also stays in the domain).
        control::COPY_FROM_CURRENT_DOMAIN => match holder {
            Holder::Object(_) => Err(results::TARGET_NOT_DOMAIN),
            Holder::Domain(d) => {
                let id = u32::from_le_bytes(request.payload.get(..4).and_then(|b| b.try_into().ok()).unwrap_or([0; 4]));
                match d.borrow().get(id) {
                    Some(object) => Ok((Vec::new(), Some(Holder::Object(object)))),
                    None => Err(results::DOMAIN_OBJECT_NOT_FOUND),
                }
            }
        },
        // CloneCurrentObject / CloneCurrentObjectEx(u32 tag): a new session holding what
        // this one holds (`CloneCurrentObjectImpl`; the tag picks a session manager, and
        // the bench has one per service).
        control::CLONE_CURRENT_OBJECT | control::CLONE_CURRENT_OBJECT_EX => Ok((Vec::new(), Some(holder))),
        // QueryPointerBufferSize -> u16: the server's pointer buffer.
        control::QUERY_POINTER_BUFFER_SIZE => {
            Ok((k.hle.services[service].service.pointer_buffer_size().to_le_bytes().to_vec(), None))
        }
        other => {
            let why = format!("control command {other} is not an IHipcManager command (UnknownCommandId)");
            return refuse(k, t, s, service, &Refused { result: results::UNKNOWN_COMMAND_ID, why });
        }
    };
    let p = k.threads[t].process;
    let (result, payload, move_handles) = match reply {
        Err(rc) => (rc, Vec::new(), Vec::new()),
        Ok((payload, None)) => (ResultCode::SUCCESS, payload, Vec::new()),
        Ok((payload, Some(holder))) => {
            let new = k.sessions.len();
            k.sessions.push(KSession::new(None, SessionServer::Hle(HleSession { service, holder: Some(holder) })));
            match k.add_handle(p, KObjectRef::ClientSession(new)) {
                Ok(h) => (ResultCode::SUCCESS, payload, vec![h]),
                Err(e) => (e, Vec::new(), Vec::new()),
            }
        }
    };
    if k.options.trace_ipc || result != ResultCode::SUCCESS {
        let line =
            format!("{name}: control command {command_id} on session #{s} from {} -> {result}", k.thread_name(t));
        k.trace_line(line);
    }
    let mut words = [0u32; TLS_MESSAGE_BUFFER_SIZE / 4];
    let parts = ReplyParts {
        domain: false,
        result,
        payload: &payload,
        out_ids: &[],
        move_handles: &move_handles,
        copy_handles: &[],
        out_pointers: &[],
    };
    let size = session::reply_words(&mut words, &parts).map_err(|_| kernel::INVALID_CURRENT_MEMORY)?;
    write_message(k, t, &words, size)?;
    k.threads[t].wake(&[(0, 0)]);
    Ok(())
}

//! A small CMIF client for the system services the screen and the buttons use (am, vi,
//! nvdrv, hid): a plain session ([`Service`]) or a domain ([`Domain`], am), a request with
//! the descriptors those services take ([`Request`]), and the few bytes, handles and objects
//! a reply carries ([`Response`]). Layouts from `xcbuf_common::cmif` (libnx
//! `cmifMakeRequest`, `cmifParseResponse`); sessions are closed as `horizon-ipc.md` §6.1
//! says: CMIF Close (type 2), then svcCloseHandle.

use rt::LaunchKind;
use rt::sm::{ServiceName, Sm};
use rt::svc::{self, Handle};
use rt::tls::with_message_buffer;
use xcbuf_common::cmif::{self, CommandType, OutPointer, RequestSpec};
use xcbuf_common::hipc::{MapAliasAttribute, MapAliasDescriptor, PointerDescriptor, ReceiveListEntry};
use xcbuf_common::result::{ResultCode, sm as sm_result, xcbuf};
use xcbuf_rt as rt;

use crate::ipc::{address_of, address_of_mut};
use crate::mode::Lookup;

/// A reply that does not have the layout the command answers with (too short, a missing
/// handle or object): xcbuf UnexpectedReply.
pub const BAD_REPLY: ResultCode = xcbuf::UNEXPECTED_REPLY;
/// A request that cannot be encoded (a buffer above 39 bits, too much data).
pub const BAD_REQUEST: ResultCode = xcbuf::MALFORMED_MESSAGE;

/// Most reply data bytes kept.
const DATA_MAX: usize = 32;
/// Most handles of each kind and objects kept.
const HANDLES_MAX: usize = 2;

/// One request.
#[derive(Default)]
pub struct Request<'a> {
    pub command: u32,
    /// Raw data after the SFCI header.
    pub payload: &'a [u8],
    /// Send the PID (the kernel fills it in).
    pub pid: bool,
    pub copy_handles: &'a [u32],
    /// A descriptor 0 (mode 0).
    pub send: Option<&'a [u8]>,
    /// B descriptor 0 (mode 0).
    pub receive: Option<&'a mut [u8]>,
    /// X descriptor 0.
    pub pointer: Option<&'a [u8]>,
    /// `send` and `receive` are auto buffers sent as map-alias: an empty X (and an empty C
    /// with size-table entry 0) goes with them (screen-output.md §1c "Ioctl": libnx
    /// `cmifRequestInAutoBuffer` / `cmifRequestOutAutoBuffer` when the pointer buffer is too
    /// small).
    pub auto: bool,
    /// Bytes of reply data the command declares (on a domain, the out-object ids follow).
    pub out_size: usize,
}

impl<'a> Request<'a> {
    /// `command` with `payload`.
    pub fn new(command: u32, payload: &'a [u8]) -> Request<'a> {
        Request { command, payload, ..Request::default() }
    }

    /// The same request with the PID.
    pub fn with_pid(self) -> Request<'a> {
        Request { pid: true, ..self }
    }

    /// The same request declaring `size` bytes of reply data.
    pub fn out(self, size: usize) -> Request<'a> {
        Request { out_size: size, ..self }
    }
}

/// What a successful reply carried.
#[derive(Clone, Copy, Debug, Default)]
pub struct Response {
    data: [u8; DATA_MAX],
    data_len: usize,
    copy: [Handle; HANDLES_MAX],
    copy_count: usize,
    moved: [Handle; HANDLES_MAX],
    move_count: usize,
    objects: [u32; HANDLES_MAX],
    object_count: usize,
}

impl Response {
    fn bytes<const N: usize>(&self, at: usize) -> Result<[u8; N], ResultCode> {
        let mut out = [0u8; N];
        let from = self.data.get(at..at + N).filter(|_| at + N <= self.data_len).ok_or(BAD_REPLY)?;
        out.copy_from_slice(from);
        Ok(out)
    }

    pub fn u8(&self, at: usize) -> Result<u8, ResultCode> {
        self.bytes::<1>(at).map(|b| b[0])
    }

    pub fn u32(&self, at: usize) -> Result<u32, ResultCode> {
        self.bytes(at).map(u32::from_le_bytes)
    }

    pub fn u64(&self, at: usize) -> Result<u64, ResultCode> {
        self.bytes(at).map(u64::from_le_bytes)
    }

    /// The reply's copy handle `i`.
    pub fn copy_handle(&self, i: usize) -> Result<Handle, ResultCode> {
        self.copy.get(i).copied().filter(|_| i < self.copy_count).ok_or(BAD_REPLY)
    }

    /// The reply's move handle `i`.
    pub fn move_handle(&self, i: usize) -> Result<Handle, ResultCode> {
        self.moved.get(i).copied().filter(|_| i < self.move_count).ok_or(BAD_REPLY)
    }

    /// A handle of either kind (GetNativeHandle-style answers: copy in Eden, move in
    /// Ryujinx).
    pub fn any_handle(&self) -> Result<Handle, ResultCode> {
        self.copy_handle(0).or_else(|_| self.move_handle(0))
    }

    /// Out-object `i` (domain replies).
    pub fn object(&self, i: usize) -> Result<u32, ResultCode> {
        self.objects.get(i).copied().filter(|_| i < self.object_count).ok_or(BAD_REPLY)
    }

    /// Closes every handle the reply carried (a reply that is not used).
    pub fn close_handles(&self) {
        for &h in self.copy.iter().take(self.copy_count).chain(self.moved.iter().take(self.move_count)) {
            let _ = svc::close_handle(h);
        }
    }
}

/// Looks `name` up in sm: on Atmosphère, HasService first (GetServiceHandle for an absent
/// service blocks forever there, emulator-bench.md §4); elsewhere directly (Eden and
/// Ryujinx serve every service the screen uses). Absent: sm NotRegistered.
pub fn get_service(name: ServiceName) -> Result<Handle, ResultCode> {
    let env = rt::env();
    let sm = Sm::connect()?;
    let lookup = Lookup::from_launch(env.launch == LaunchKind::Hbloader && env.is_atmosphere);
    if lookup == Lookup::HasServiceFirst && !sm.has_service(name)? {
        return Err(sm_result::NOT_REGISTERED);
    }
    sm.get_service_handle(name)
}

/// Builds `req` (plain, or for domain object `object`), sends it on `session` and parses
/// the reply.
fn transact(session: Handle, object: Option<u32>, req: Request<'_>) -> Result<Response, ResultCode> {
    fn bad<E>(_: E) -> ResultCode {
        BAD_REQUEST
    }
    let a = match req.send {
        Some(b) => Some(MapAliasDescriptor::new(address_of(b), b.len() as u64, MapAliasAttribute::Ipc).map_err(bad)?),
        None => None,
    };
    let b = match req.receive {
        Some(b) => {
            let len = b.len() as u64;
            Some(MapAliasDescriptor::new(address_of_mut(b), len, MapAliasAttribute::Ipc).map_err(bad)?)
        }
        None => None,
    };
    let x = match (req.pointer, req.auto && a.is_some()) {
        (Some(p), _) => Some(PointerDescriptor::new(0, address_of(p), p.len() as u64).map_err(bad)?),
        (None, true) => Some(PointerDescriptor::new(0, 0, 0).map_err(bad)?),
        (None, false) => None,
    };
    let c = match req.auto && b.is_some() {
        true => Some(OutPointer { entry: ReceiveListEntry::new(0, 0).map_err(bad)?, has_size_entry: true }),
        false => None,
    };
    let spec = RequestSpec {
        command_type: CommandType::Request,
        command_id: req.command,
        process_id: if req.pid { Some(0) } else { None },
        copy_handles: req.copy_handles,
        in_pointers: x.as_slice(),
        sends: a.as_slice(),
        receives: b.as_slice(),
        out_pointers: c.as_slice(),
        payload: req.payload,
        ..RequestSpec::default()
    };
    with_message_buffer(|buffer| {
        match object {
            Some(id) => cmif::build_domain_request(buffer.words(), id, &spec).map_err(bad)?,
            None => cmif::build_request(buffer.words(), &spec).map_err(bad)?,
        };
        buffer.send_sync_request(session)?;
        let words = buffer.words();
        let mut out = Response::default();
        let message = match object {
            Some(_) => {
                let reply = cmif::parse_domain_reply(words, req.out_size).map_err(|_| BAD_REPLY)?;
                reply.result().into_result()?;
                for (i, slot) in out.objects.iter_mut().enumerate() {
                    if let Ok(id) = reply.out_object(i) {
                        *slot = id;
                        out.object_count = i + 1;
                    }
                }
                for (i, byte) in out.data.iter_mut().enumerate().take(req.out_size) {
                    if let Ok(b) = reply.payload_u8(i) {
                        *byte = b;
                        out.data_len = i + 1;
                    }
                }
                *reply.message()
            }
            None => {
                let reply = cmif::parse_reply(words).map_err(|_| BAD_REPLY)?;
                reply.result().into_result()?;
                let n = reply.payload_len().min(DATA_MAX);
                reply.read_payload(0, out.data.get_mut(..n).unwrap_or_default()).map_err(|_| BAD_REPLY)?;
                out.data_len = n;
                *reply.message()
            }
        };
        for (slot, &h) in out.copy.iter_mut().zip(message.copy_handles()) {
            *slot = h;
            out.copy_count += 1;
        }
        for (slot, &h) in out.moved.iter_mut().zip(message.move_handles()) {
            *slot = h;
            out.move_count += 1;
        }
        Ok(out)
    })
}

/// A plain (non-domain) session; closed on drop.
pub struct Service(Handle);

impl Service {
    /// The session to `name` ([`get_service`]).
    pub fn get(name: ServiceName) -> Result<Service, ResultCode> {
        get_service(name).map(Service)
    }

    /// A session received as a handle (a returned interface).
    pub fn from_handle(handle: Handle) -> Service {
        Service(handle)
    }

    /// Sends `req`.
    pub fn call(&self, req: Request<'_>) -> Result<Response, ResultCode> {
        transact(self.0, None, req)
    }

    /// Sends `req`, whose reply carries one interface as a move handle.
    pub fn open(&self, req: Request<'_>) -> Result<Service, ResultCode> {
        let r = self.call(req)?;
        r.move_handle(0).map(Service).inspect_err(|_| r.close_handles())
    }

    /// Control 0 ConvertCurrentObjectToDomain (screen-output.md §1a step 1): the reply is
    /// plain, with the object id of the session's own object.
    pub fn into_domain(self) -> Result<(Domain, u32), ResultCode> {
        let id = with_message_buffer(|buffer| -> Result<u32, ResultCode> {
            let spec = RequestSpec {
                command_type: CommandType::Control,
                command_id: cmif::control::CONVERT_CURRENT_OBJECT_TO_DOMAIN,
                ..RequestSpec::default()
            };
            cmif::build_request(buffer.words(), &spec).map_err(|_| BAD_REQUEST)?;
            buffer.send_sync_request(self.0)?;
            let reply = cmif::parse_reply(buffer.words()).map_err(|_| BAD_REPLY)?;
            reply.result().into_result()?;
            reply.payload_u32(0).map_err(|_| BAD_REPLY)
        })?;
        Ok((Domain(self), id))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        with_message_buffer(|buffer| {
            if cmif::build_close(buffer.words()).is_ok() {
                let _ = buffer.send_sync_request(self.0);
            }
        });
        let _ = svc::close_handle(self.0);
    }
}

/// A domain session (am): objects by id; the session closes on drop, which releases every
/// object it still holds.
pub struct Domain(Service);

impl Domain {
    /// Sends `req` to object `id`.
    pub fn call(&self, id: u32, req: Request<'_>) -> Result<Response, ResultCode> {
        transact((self.0).0, Some(id), req)
    }

    /// Sends `req` to object `id`; the reply carries one object.
    pub fn open(&self, id: u32, req: Request<'_>) -> Result<u32, ResultCode> {
        self.call(id, req)?.object(0)
    }

    /// Domain Close of object `id` (libnx `serviceClose` on a domain sub-object).
    pub fn close_object(&self, id: u32) {
        with_message_buffer(|buffer| {
            if cmif::build_domain_close(buffer.words(), id).is_ok() {
                let _ = buffer.send_sync_request((self.0).0);
            }
        });
    }
}

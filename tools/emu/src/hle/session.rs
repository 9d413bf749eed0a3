//! One HLE session as the CMIF framework serves it: what the session holds (one object,
//! or a domain of objects), how a message on it is parsed, and how replies are laid out.
//! Everything follows libstratosphere's server side (Atmosphère `libstratosphere/source/sf`),
//! cited per rule; where Eden differs, the comment says so.
//!
//! # What a session holds (`ServerSession::m_srv_obj_holder`)
//! - [`Holder::Object`]: a plain session: every request (type 4/6) goes to its one object.
//! - [`Holder::Domain`]: after control command 0 ConvertCurrentObjectToDomain: a table of
//!   objects by domain object id; every request carries a domain header naming the target
//!   (`sf_cmif_domain_service_object.cpp` `DomainServiceObjectDispatchTable::ProcessMessageImpl`).
//!
//! Objects and domains are shared ([`ObjectRef`], [`DomainRef`]): CopyFromCurrentDomain
//! and CloneCurrentObject make a second session to the same object
//! (`sf_hipc_server_domain_session_manager.cpp` `HipcManagerImpl`), as libstratosphere's
//! `ServiceObjectHolder` shares its `SharedPointer`.
//!
//! # Domain object ids ([`DomainPool`])
//! Atmosphère's `ServerDomainManager::EntryManager` (`sf_cmif_domain_manager.cpp`): one pool
//! of entries per server manager (here: per HLE service), id = entry index + 1, 0 is
//! invalid. `AllocateEntry` takes the free list's front; `FreeEntry` puts the entry back at
//! the front, so the last id freed is the next one given (LIFO). A domain that goes away
//! (`Domain::~Domain`) frees its entries in registration order. Eden's differs (ids per
//! session, from 1, never reused: `hle_ipc.h` `SessionRequestManager::AppendDomainHandler`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use xcbuf_common::cmif::{self, CommandType, Incoming as CmifIncoming};
use xcbuf_common::hipc::{Message, ReceiveListMode};
use xcbuf_common::result::ResultCode;

use super::{Caller, HleObject, HleRequest, MappedBuffer, PointerBuffer, ReceiveBuffer, results};

/// An object served on the host, shared by the sessions and domain entries that hold it.
pub type ObjectRef = Rc<RefCell<Box<dyn HleObject>>>;
/// A domain, shared by the sessions that hold it (CloneCurrentObject of a domain session).
pub type DomainRef = Rc<RefCell<Domain>>;

/// Wraps a new object.
pub fn object_ref(object: Box<dyn HleObject>) -> ObjectRef {
    Rc::new(RefCell::new(object))
}

/// What a session holds.
#[derive(Clone)]
pub enum Holder {
    Object(ObjectRef),
    Domain(DomainRef),
}

/// A domain: its objects by id, in registration order (`Domain::m_entries`).
#[derive(Default)]
pub struct Domain {
    pub entries: Vec<(u32, ObjectRef)>,
}

impl Domain {
    /// `Domain::GetObject`: the object registered under `id` in this domain.
    pub fn get(&self, id: u32) -> Option<ObjectRef> {
        self.entries.iter().find(|(i, _)| *i == id).map(|(_, o)| o.clone())
    }

    /// `Domain::UnregisterObject`: removes `id` (None when it is not this domain's).
    pub fn unregister(&mut self, id: u32) -> Option<ObjectRef> {
        let at = self.entries.iter().position(|(i, _)| *i == id)?;
        Some(self.entries.remove(at).1)
    }
}

/// One HLE session: which service it belongs to and what it holds. `holder` is `None`
/// once the session is closed.
pub struct HleSession {
    /// Index of the service in `Kernel::hle.services`.
    pub service: usize,
    pub holder: Option<Holder>,
}

impl HleSession {
    pub fn new(service: usize, holder: Holder) -> HleSession {
        HleSession { service, holder: Some(holder) }
    }

    /// The session holds a domain.
    pub fn is_domain(&self) -> bool {
        matches!(self.holder, Some(Holder::Domain(_)))
    }
}

impl std::fmt::Debug for HleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.holder {
            None => write!(f, "HleSession(service {}, closed)", self.service),
            Some(Holder::Object(o)) => match o.try_borrow() {
                Ok(o) => write!(f, "HleSession(service {}, {})", self.service, o.interface()),
                Err(_) => write!(f, "HleSession(service {}, object in use)", self.service),
            },
            Some(Holder::Domain(d)) => {
                let ids: Vec<u32> = d.borrow().entries.iter().map(|(i, _)| *i).collect();
                write!(f, "HleSession(service {}, domain {ids:?})", self.service)
            }
        }
    }
}

/// A service's domain resources (`ServerManager` `m_domain_allocated` and the
/// `EntryManager` free list).
#[derive(Debug, Clone)]
pub struct DomainPool {
    free: VecDeque<u32>,
    domains: usize,
    max_domains: usize,
}

impl DomainPool {
    /// `max_domains` domains and `max_objects` entries (ids 1..=max_objects, the free list
    /// in index order as `EntryManager`'s constructor builds it).
    pub fn new(max_domains: usize, max_objects: u32) -> DomainPool {
        DomainPool { free: (1..=max_objects).collect(), domains: 0, max_domains }
    }

    /// `AllocateDomainServiceObject`: false when every domain is in use.
    pub fn allocate_domain(&mut self) -> bool {
        if self.domains >= self.max_domains {
            return false;
        }
        self.domains += 1;
        true
    }

    /// A domain went away (`Domain::DisposeImpl` -> `FreeDomain`).
    pub fn free_domain(&mut self) {
        self.domains = self.domains.saturating_sub(1);
    }

    /// `EntryManager::AllocateEntry`: the free list's front.
    pub fn reserve(&mut self) -> Option<u32> {
        self.free.pop_front()
    }

    /// `EntryManager::FreeEntry`: back to the front of the free list.
    pub fn release(&mut self, id: u32) {
        self.free.push_front(id);
    }
}

/// A parsed request, owned (the framework's view of the message before it is handed to an
/// object as an [`HleRequest`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParsedRequest {
    pub command_id: u32,
    pub payload: Vec<u8>,
    pub pid: Option<u64>,
    pub copy_handles: Vec<u32>,
    pub move_handles: Vec<u32>,
    pub in_objects: Vec<u32>,
    pub x: Vec<PointerBuffer>,
    pub a: Vec<MappedBuffer>,
    pub b: Vec<MappedBuffer>,
    pub w: Vec<MappedBuffer>,
    pub c: Vec<ReceiveBuffer>,
    /// The receive list's mode (C entries: how a reply's X lands).
    pub receive_mode: ReceiveListMode,
    /// The raw data, from its first (unaligned) byte.
    pub raw: Vec<u8>,
    /// Where the in-data starts for the out-pointer size table, from the raw start.
    pub table_base: usize,
}

impl ParsedRequest {
    /// The handler's view.
    pub fn as_request<'a>(&'a self, caller: &'a Caller) -> HleRequest<'a> {
        HleRequest {
            command_id: self.command_id,
            caller,
            payload: &self.payload,
            pid: self.pid,
            copy_handles: &self.copy_handles,
            move_handles: &self.move_handles,
            in_objects: &self.in_objects,
            x: &self.x,
            a: &self.a,
            b: &self.b,
            w: &self.w,
            c: &self.c,
            raw: &self.raw,
            table_base: self.table_base,
        }
    }
}

/// What a message on an HLE session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// HIPC type 2: close the session, no reply
    /// (`sf_hipc_server_session_manager.cpp` `ServerSessionManager::ProcessRequest`).
    Close,
    /// Type 5/7: an IHipcManager command (SFCI + args; never a domain header, even on a
    /// domain session: `ProcessRequestImpl` -> `DispatchManagerRequest`).
    Control { command_id: u32, request: ParsedRequest },
    /// Type 4/6 on a plain session.
    Request(ParsedRequest),
    /// Type 4/6 on a domain session, domain header type 1 SendMessage.
    DomainMessage { object_id: u32, request: ParsedRequest },
    /// Type 4/6 on a domain session, domain header type 2 Close.
    DomainClose { object_id: u32 },
}

/// Domain header types (libnx `CmifDomainRequestType`).
const DOMAIN_SEND_MESSAGE: u8 = 1;
const DOMAIN_CLOSE: u8 = 2;
/// `DomainServiceObjectDispatchTable::ProcessMessageImpl`'s `in_object_ids[8]`.
const IN_OBJECTS_MAX: usize = 8;
/// The CMIF padding budget at the start of the raw data, and the header alignment.
const PADDING: usize = 16;
const HEADER: usize = 16;

fn words_to_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The descriptors, handles and pid of `message`, and its raw data.
fn base_request(message: &Message<'_>) -> ParsedRequest {
    let mapped = |d: xcbuf_common::hipc::MapAliasDescriptor| MappedBuffer {
        address: d.address(),
        size: d.size(),
        attribute: d.attribute().raw() as u8,
    };
    let mode = message.header().receive_list_mode;
    ParsedRequest {
        pid: message.process_id(),
        copy_handles: message.copy_handles().to_vec(),
        move_handles: message.move_handles().to_vec(),
        x: message
            .pointer_descriptors()
            .map(|d| PointerBuffer { index: u16::from(d.index()), address: d.address(), size: u64::from(d.size()) })
            .collect(),
        a: message.send_buffers().map(mapped).collect(),
        b: message.receive_buffers().map(mapped).collect(),
        w: message.exchange_buffers().map(mapped).collect(),
        c: message.receive_list().map(|e| ReceiveBuffer { address: e.address(), size: u64::from(e.size()) }).collect(),
        receive_mode: mode,
        raw: words_to_bytes(message.raw()),
        ..ParsedRequest::default()
    }
}

/// Why a message closes the session (libstratosphere closes a session whose request fails
/// before a reply is prepared: `ServerSessionManager::ProcessRequest`'s `R_CATCH_ALL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub result: ResultCode,
    pub why: String,
}

fn refused(result: ResultCode, why: impl Into<String>) -> Refused {
    Refused { result, why: why.into() }
}

/// Parses a message received on an HLE session; `domain` says whether the session holds a
/// domain. The checks and their order follow `ServerSessionManager::DispatchRequest`
/// (raw data at least 0x10 bytes: InvalidRequestSize; CMIF view = AlignUp(raw, 0x10),
/// raw − 0x10 bytes), the CMIF header check (`ServiceDispatchTableBase::ProcessMessageImpl`:
/// at least 0x10 bytes, else InvalidHeaderSize; magic SFCI and version ≤ 1, else
/// InvalidInHeader) and, on a domain session,
/// `DomainServiceObjectDispatchTable::ProcessMessageImpl` (domain header: InvalidHeaderSize
/// when shorter; type 1 or 2, else InvalidInHeader; `data_size + 4 × num_in_objects` inside
/// the view, else InvalidHeaderSize; at most 8 in-objects, else InvalidNumInObjects). The
/// target object's existence (TargetNotFound) is checked by the caller, which has the
/// domain, before the size checks, as there.
pub fn parse(words: &[u32], domain: bool) -> Result<Incoming, Refused> {
    let message = Message::parse(words)
        .map_err(|e| refused(xcbuf_common::result::hipc::INVALID_REQUEST_SIZE, format!("malformed HIPC: {e}")))?;
    let tag = message.header().tag;
    let command_type = CommandType::from_tag(tag);
    match command_type {
        Some(CommandType::Close) => return Ok(Incoming::Close),
        Some(CommandType::Request | CommandType::RequestWithContext) if domain => {}
        Some(
            CommandType::Request
            | CommandType::RequestWithContext
            | CommandType::Control
            | CommandType::ControlWithContext,
        ) => {
            // SFCI straight after the padding: xcbuf_common's parser does these checks.
            let incoming = cmif::parse_request(words).map_err(|e| {
                let rc = match e {
                    cmif::CmifError::RawDataTooShort { .. } => xcbuf_common::result::hipc::INVALID_REQUEST_SIZE,
                    cmif::CmifError::HeaderTooShort { .. } => xcbuf_common::result::cmif::INVALID_HEADER_SIZE,
                    _ => xcbuf_common::result::cmif::INVALID_IN_HEADER,
                };
                refused(rc, format!("malformed CMIF request: {e}"))
            })?;
            let CmifIncoming::Request(r) = incoming else { return Ok(Incoming::Close) };
            let mut request = base_request(&message);
            request.command_id = r.command_id();
            let mut payload = vec![0u8; r.payload_len()];
            r.read_payload(0, &mut payload).map_err(|e| refused(results::INVALID_HEADER_SIZE, e.to_string()))?;
            request.payload = payload;
            request.table_base = PADDING + HEADER;
            return Ok(match r.command_type() {
                CommandType::Control | CommandType::ControlWithContext => {
                    Incoming::Control { command_id: r.command_id(), request }
                }
                _ => Incoming::Request(request),
            });
        }
        _ => {
            return Err(refused(
                xcbuf_common::result::hipc::UNKNOWN_COMMAND_TYPE,
                format!("HIPC type {tag} is not a CMIF request (UnknownCommandType)"),
            ));
        }
    }
    // A request on a domain session: the domain header, then the message it carries.
    let mut request = base_request(&message);
    let raw_start = 4 * message.layout().raw_idx();
    let raw_bytes = request.raw.len();
    if raw_bytes < PADDING {
        return Err(refused(xcbuf_common::result::hipc::INVALID_REQUEST_SIZE, "raw data under 0x10 bytes"));
    }
    // The view, relative to the raw start: [AlignUp(raw_start, 16) - raw_start, + raw - 16).
    let view_start = raw_start.next_multiple_of(PADDING) - raw_start;
    let view_len = raw_bytes - PADDING;
    let view = request.raw.get(view_start..view_start + view_len).unwrap_or_default().to_vec();
    if view.len() < HEADER {
        return Err(refused(results::INVALID_HEADER_SIZE, "no room for the domain header"));
    }
    let kind = view[0];
    let num_in_objects = usize::from(view[1]);
    let data_size = usize::from(u16::from_le_bytes([view[2], view[3]]));
    let object_id = u32_at(&view, 4).unwrap_or(0);
    match kind {
        DOMAIN_CLOSE => return Ok(Incoming::DomainClose { object_id }),
        DOMAIN_SEND_MESSAGE => {}
        other => {
            return Err(refused(results::INVALID_IN_HEADER, format!("domain header type {other} (InvalidInHeader)")));
        }
    }
    let inner = &view[HEADER..];
    if data_size + 4 * num_in_objects > inner.len() {
        return Err(refused(
            results::INVALID_HEADER_SIZE,
            format!("domain data_size {data_size:#x} + {num_in_objects} in-objects past the raw data"),
        ));
    }
    if num_in_objects > IN_OBJECTS_MAX {
        return Err(refused(results::INVALID_NUM_IN_OBJECTS, format!("{num_in_objects} in-objects")));
    }
    request.in_objects = (0..num_in_objects).filter_map(|i| u32_at(inner, data_size + 4 * i)).collect();
    let message_bytes = &inner[..data_size];
    if message_bytes.len() < HEADER {
        return Err(refused(results::INVALID_HEADER_SIZE, "domain message shorter than the CMIF header"));
    }
    let magic = u32_at(message_bytes, 0).unwrap_or(0);
    let version = u32_at(message_bytes, 4).unwrap_or(0);
    if magic != cmif::IN_HEADER_MAGIC || version > cmif::IN_HEADER_VERSION_MAX {
        return Err(refused(results::INVALID_IN_HEADER, format!("CMIF header magic {magic:#x} version {version}")));
    }
    request.command_id = u32_at(message_bytes, 8).unwrap_or(0);
    request.payload = message_bytes[HEADER..].to_vec();
    // Atmosphère's domain metadata: in headers = domain header + SFCI, in data = args + ids
    // (`DomainServiceObjectProcessor::GetRuntimeMetadata`); libnx `cmifMakeRequest` puts
    // the table after the ids.
    request.table_base = PADDING + 2 * HEADER + 4 * num_in_objects;
    Ok(Incoming::DomainMessage { object_id, request })
}

/// The raw-data bytes of a reply on a domain session: the domain out header (u32
/// `num_out_objects`, 12 bytes of padding), then the payload, then the out-object ids
/// (`DomainServiceObjectProcessor::PrepareForReply`, `SetOutObjects`). The SFCO header
/// goes between the domain header and the payload: [`domain_reply_words`] puts it there.
fn domain_body(payload: &[u8], out_ids: &[u32]) -> Vec<u8> {
    let mut body = payload.to_vec();
    for id in out_ids {
        body.extend_from_slice(&id.to_le_bytes());
    }
    body
}

/// Builds a reply into `buf` (a TLS-sized buffer): the plain CMIF form, or on a domain
/// session the domain form (libnx `cmifParseResponse` with `is_domain`). An error reply
/// carries the headers only (`PrepareForErrorReply`: no descriptors, no handles, no data;
/// in the domain form `num_out_objects` 0).
pub fn reply_words(buf: &mut [u32], spec: &ReplyParts<'_>) -> Result<usize, cmif::CmifError> {
    let success = spec.result == ResultCode::SUCCESS;
    if !spec.domain {
        let s = if success {
            cmif::ReplySpec {
                result: spec.result,
                payload: spec.payload,
                move_handles: spec.move_handles,
                copy_handles: spec.copy_handles,
                out_pointers: spec.out_pointers,
                ..cmif::ReplySpec::default()
            }
        } else {
            cmif::ReplySpec::error(spec.result)
        };
        return cmif::build_reply(buf, &s);
    }
    // Domain form: build with a placeholder payload of domain header + body, then move the
    // SFCO header after the domain header.
    let body = if success { domain_body(spec.payload, spec.out_ids) } else { Vec::new() };
    let mut placeholder = vec![0u8; HEADER];
    placeholder.extend_from_slice(&body);
    let s = if success {
        cmif::ReplySpec {
            payload: &placeholder,
            move_handles: spec.move_handles,
            copy_handles: spec.copy_handles,
            out_pointers: spec.out_pointers,
            ..cmif::ReplySpec::default()
        }
    } else {
        cmif::ReplySpec { payload: &placeholder, ..cmif::ReplySpec::default() }
    };
    let size = cmif::build_reply(buf, &s)?;
    let raw_idx = Message::parse(buf).map_err(cmif::CmifError::from)?.layout().raw_idx();
    let header_word = (4 * raw_idx).next_multiple_of(PADDING) / 4;
    let num_out = if success { spec.out_ids.len() as u32 } else { 0 };
    let out_header = cmif::OutHeader { version: 0, result: spec.result, token: 0 }.encode();
    let mut raw: Vec<u32> = vec![num_out, 0, 0, 0];
    raw.extend_from_slice(&out_header);
    let mut body = body;
    body.resize(body.len().next_multiple_of(4), 0);
    raw.extend(body.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
    for (i, w) in raw.iter().enumerate() {
        if let Some(slot) = buf.get_mut(header_word + i) {
            *slot = *w;
        }
    }
    Ok(size)
}

/// What a reply carries, as [`reply_words`] lays it out.
#[derive(Clone, Copy, Debug)]
pub struct ReplyParts<'a> {
    pub domain: bool,
    pub result: ResultCode,
    pub payload: &'a [u8],
    /// Domain form: the out-object ids.
    pub out_ids: &'a [u32],
    pub move_handles: &'a [u32],
    pub copy_handles: &'a [u32],
    pub out_pointers: &'a [xcbuf_common::hipc::PointerDescriptor],
}

#[cfg(test)]
mod tests {
    use super::*;
    use xcbuf_common::hipc::TLS_MESSAGE_BUFFER_SIZE;

    #[test]
    fn domain_ids_are_index_plus_one_and_freed_ids_come_back_first() {
        // EntryManager: free list in index order, AllocateEntry from the front, FreeEntry
        // to the front.
        let mut pool = DomainPool::new(1, 4);
        assert_eq!((pool.reserve(), pool.reserve(), pool.reserve()), (Some(1), Some(2), Some(3)));
        pool.release(2);
        pool.release(1);
        assert_eq!(pool.reserve(), Some(1));
        assert_eq!(pool.reserve(), Some(2));
        assert_eq!(pool.reserve(), Some(4));
        assert_eq!(pool.reserve(), None);
        assert!(pool.allocate_domain());
        assert!(!pool.allocate_domain(), "MaxDomains");
    }

    /// A libnx domain request (`cmifMakeRequest` with `object_id`): type 4, padding, domain
    /// header, SFCI, args, in-object ids.
    fn domain_request(kind: u8, object_id: u32, command: u32, args: &[u8], in_objects: &[u32]) -> Vec<u32> {
        let data_size = (HEADER + args.len()) as u16;
        // The raw data starts at word 2 (byte 8): the header goes to byte 16, 8 bytes
        // in, and the rest of the 16-byte padding budget is at the end.
        let mut raw = vec![0u8; 8];
        raw.push(kind);
        raw.push(in_objects.len() as u8);
        raw.extend_from_slice(&data_size.to_le_bytes());
        raw.extend_from_slice(&object_id.to_le_bytes());
        raw.extend_from_slice(&[0; 8]);
        for w in [cmif::IN_HEADER_MAGIC, 0, command, 0] {
            raw.extend_from_slice(&w.to_le_bytes());
        }
        raw.extend_from_slice(args);
        for id in in_objects {
            raw.extend_from_slice(&id.to_le_bytes());
        }
        raw.extend_from_slice(&[0; 8]);
        raw.resize(raw.len().next_multiple_of(4), 0);
        let mut words = vec![4u32, (raw.len() / 4) as u32];
        words.extend(raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        words.resize(TLS_MESSAGE_BUFFER_SIZE / 4, 0);
        words
    }

    #[test]
    fn a_domain_message_names_its_object_and_carries_args_and_in_objects() {
        let words = domain_request(1, 3, 8, &[1, 2, 3, 4], &[7]);
        let Ok(Incoming::DomainMessage { object_id, request }) = parse(&words, true) else { panic!("not a message") };
        assert_eq!(object_id, 3);
        assert_eq!(request.command_id, 8);
        assert_eq!(request.payload, vec![1, 2, 3, 4]);
        assert_eq!(request.in_objects, vec![7]);
        assert_eq!(parse(&domain_request(2, 5, 0, &[], &[]), true), Ok(Incoming::DomainClose { object_id: 5 }));
    }

    #[test]
    fn a_bad_domain_header_type_is_invalid_in_header_and_too_many_in_objects_invalid_num_in_objects() {
        let Err(e) = parse(&domain_request(3, 1, 0, &[], &[]), true) else { panic!("accepted") };
        assert_eq!(e.result.raw(), 0x1a60a);
        let Err(e) = parse(&domain_request(1, 1, 0, &[], &[1; 9]), true) else { panic!("accepted") };
        assert_eq!(e.result.raw(), 0x1d60a);
        // data_size past the raw data.
        let mut words = domain_request(1, 1, 0, &[], &[]);
        words[4] = (words[4] & 0xffff) | (0x100 << 16);
        let Err(e) = parse(&words, true) else { panic!("accepted") };
        assert_eq!(e.result.raw(), 0x1940a);
    }

    #[test]
    fn a_domain_message_on_a_plain_session_fails_the_sfci_check() {
        // Parsed as SFCI at the same place: the domain header's bytes are not the magic.
        let Err(e) = parse(&domain_request(1, 1, 0, &[], &[]), false) else { panic!("accepted") };
        assert_eq!(e.result.raw(), 0x1a60a);
    }

    #[test]
    fn a_domain_reply_has_the_out_header_then_sfco_then_data_then_ids() {
        let mut buf = [0u32; TLS_MESSAGE_BUFFER_SIZE / 4];
        let parts = ReplyParts {
            domain: true,
            result: ResultCode::SUCCESS,
            payload: &[0xaa, 0xbb, 0xcc, 0xdd],
            out_ids: &[2],
            move_handles: &[],
            copy_handles: &[],
            out_pointers: &[],
        };
        reply_words(&mut buf, &parts).unwrap();
        // num_data_words = (AlignUp(0x20 + 4 + 4, 4) + 0x10) / 4 = 0xe; raw at word 2,
        // header aligned to word 4.
        assert_eq!(&buf[..2], &[0, 0xe]);
        assert_eq!(&buf[4..14], &[1, 0, 0, 0, cmif::OUT_HEADER_MAGIC, 0, 0, 0, 0xddcc_bbaa, 2]);
        // An error reply: num_out_objects 0, SFCO result, no data.
        let parts = ReplyParts { result: ResultCode::from_raw(0x202), ..parts };
        let mut buf = [0u32; TLS_MESSAGE_BUFFER_SIZE / 4];
        reply_words(&mut buf, &parts).unwrap();
        assert_eq!(&buf[..2], &[0, 0xc]);
        assert_eq!(&buf[4..12], &[0, 0, 0, 0, cmif::OUT_HEADER_MAGIC, 0, 0x202, 0]);
    }
}

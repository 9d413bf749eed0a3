//! The bench's HLE services as plug-ins: one contract for every service the host serves
//! (sm, fsp-srv, set:sys, lm, ...), one framework that speaks CMIF for them (plain
//! sessions and domains), and one registry. The kernel reaches an HLE session only
//! through [`handle_request`] and [`on_session_closed`]; it imports no service module
//! (`tests/hle_boundary.rs` greps `src/kernel/` for that).
//!
//! # The contract
//! - [`HleService`]: a registration: the name sm knows it by, a session limit, the
//!   pointer-buffer size its sessions report (control command 3), and [`HleService::open`],
//!   which makes the root object of a new session.
//! - [`HleObject`]: one interface instance (IFileSystemProxy, IFileSystem, IFile, ILogger,
//!   set:sys, ...). [`HleObject::handle`] serves one CMIF command (type 4/6) on it: the
//!   framework has already checked the HIPC and CMIF headers, stripped the domain header
//!   (for a domain session) and routed the message to the object the domain id names.
//!   It returns an [`HleReply`]:
//!   - [`HleReply::Reply`]: result, output payload (after SFCO), out-objects (each becomes
//!     a new session whose client handle is moved to the caller, or a domain object id on
//!     a domain session), and kernel objects to move or copy;
//!   - [`HleReply::Defer`]: the caller stays blocked in SendSyncRequest (as sm's
//!     GetServiceHandle does for a service not registered yet);
//!   - [`HleReply::Close`]: the server closes the session without a reply (the client's
//!     SendSyncRequest returns SessionClosed 0xf601);
//!   - [`HleReply::Unknown`]: a command the HLE does not model: the framework STOPS the run
//!     naming the service, the interface, the command id and the caller, never a silent
//!     success.
//! - [`HleRequest`]: the parsed request: command id, caller, payload (after SFCI), sent
//!   pid (the kernel's), copy handles, in-objects (domain ids), X/A/B/W descriptors, the
//!   C receive list and the u16 out-pointer size table.
//! - [`HleEnv`]: what a handler may touch: the caller's memory (X, A, B and C buffers, as
//!   the real service would read and write them: C writes land only with a success reply,
//!   as the kernel copies a reply's X descriptor into C), state shared between services
//!   ([`HleShared`]: the SD card, the firmware version), the caller's output lines (lm
//!   prints there) and the trace.
//! - sm stays special (a named port speaking TIPC and the CMIF shim, needing the kernel's
//!   port table): its object overrides [`HleObject::handle_raw`], which takes the whole
//!   message; every other object keeps the default and gets the CMIF framework.
//!
//! # Registration
//! [`registry::services`] is the ONE list of the bench's services; `run.rs` and
//! `host_client.rs` call [`install`] with it at start: sm's named port is created and every
//! other service is registered with sm under its name.

pub mod am;
mod dispatch;
pub mod fsp;
pub mod hid;
pub mod lm;
pub mod nvdrv;
pub mod nvmap;
pub mod registry;
pub mod session;
pub mod set_sys;
pub mod sm;
pub mod test_support;
pub mod vi;

pub use dispatch::{handle_request, install, install_services, on_session_closed, open_session};

use xcbuf_common::result::ResultCode;
use xcbuf_common::sm::ServiceName;

use crate::kernel::{KObjectRef, Kernel, ProcessId, SessionId, ThreadId};

/// The sf results the framework returns that xcbuf_common does not name (Atmosphère
/// `libvapours/include/vapours/results/sf_results.hpp` module 10, `hipc_results.hpp`
/// module 11).
pub mod results {
    use xcbuf_common::result::ResultCode;
    pub use xcbuf_common::result::cmif::{
        INVALID_HEADER_SIZE, INVALID_IN_HEADER, TARGET_NOT_FOUND, UNKNOWN_COMMAND_ID,
    };
    /// 0x1d60a: more than 8 in-objects, or not the command's count.
    pub const INVALID_NUM_IN_OBJECTS: ResultCode = ResultCode::new(10, 235);
    /// 0x25a0a: no free domain entry for an object id.
    pub const OUT_OF_DOMAIN_ENTRIES: ResultCode = ResultCode::new(10, 301);
    /// 0x1900b: every domain of the server is in use.
    pub const OUT_OF_DOMAINS: ResultCode = ResultCode::new(11, 200);
    /// 0x3d60b: CopyFromCurrentDomain on a session that is not a domain.
    pub const TARGET_NOT_DOMAIN: ResultCode = ResultCode::new(11, 491);
    /// 0x3d80b: CopyFromCurrentDomain of an id the domain does not hold.
    pub const DOMAIN_OBJECT_NOT_FOUND: ResultCode = ResultCode::new(11, 492);
}

/// A registration of an HLE service with the bench's sm.
pub trait HleService {
    /// The name sm registers it under (e.g. `fsp-srv`).
    fn name(&self) -> ServiceName;
    /// Sessions to it at once (the port's max_sessions).
    fn max_sessions(&self) -> u32;
    /// The size its sessions answer to control command 3 QueryPointerBufferSize (the
    /// server's pointer buffer: libstratosphere `ServerManager` options).
    fn pointer_buffer_size(&self) -> u16 {
        0
    }
    /// Domains its sessions may convert to at once (`ServerManager` option `MaxDomains`).
    /// The bench's default is generous; Atmosphère sizes it per server.
    fn max_domains(&self) -> usize {
        0x40
    }
    /// Domain object ids across its domains (`MaxDomainObjects`, the `EntryManager`'s pool).
    fn max_domain_objects(&self) -> u32 {
        0x100
    }
    /// The root object of a new session.
    fn open(&mut self) -> Box<dyn HleObject>;
}

/// One interface instance served on the host.
pub trait HleObject {
    /// The interface's name, for traces and reports (e.g. `IFileSystemProxy`).
    fn interface(&self) -> &'static str;

    /// Serves one CMIF command (HIPC type 4 or 6) sent to this object.
    fn handle(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply;

    /// Objects that speak their own protocol on the whole message (sm: TIPC and the CMIF
    /// shim) serve it here and return `Some(result of the client's SendSyncRequest)`:
    /// `Ok(())` with the thread answered (runnable) or deferred (waiting); `Err` when the
    /// session was closed instead. `None` (the default): the CMIF framework parses the
    /// message and calls [`HleObject::handle`].
    fn handle_raw(&mut self, _k: &mut Kernel, _t: ThreadId, _s: SessionId) -> Option<Result<(), ResultCode>> {
        None
    }

    /// The object goes away: its session closed, or its domain entry was closed.
    fn closed(&mut self, _k: &mut Kernel, _s: SessionId) {}
}

/// Who sent a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub process: ProcessId,
    pub thread: ThreadId,
    /// The process id the kernel gives (what a send-pid request carries).
    pub pid: u64,
    /// "process/thread#i", for reports.
    pub thread_name: String,
}

/// An X descriptor (pointer): the client's buffer, read by the server through its pointer
/// buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PointerBuffer {
    /// The descriptor's index field (which C entry / out-pointer it pairs with).
    pub index: u16,
    pub address: u64,
    pub size: u64,
}

/// An A (send), B (receive) or W (exchange) descriptor: the client's buffer mapped into
/// the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappedBuffer {
    pub address: u64,
    pub size: u64,
    /// The descriptor's attribute bits (0 Ipc, 1 NonSecureIpc, 3 NonDeviceIpc).
    pub attribute: u8,
}

/// A C entry (receive list): where a reply's X descriptor of the same index lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiveBuffer {
    pub address: u64,
    pub size: u64,
}

/// One parsed CMIF request, as a handler sees it.
#[derive(Clone, Debug)]
pub struct HleRequest<'a> {
    /// The CMIF command id (SFCI).
    pub command_id: u32,
    /// The caller.
    pub caller: &'a Caller,
    /// The arguments after the SFCI header (the domain header already stripped).
    pub payload: &'a [u8],
    /// The pid the kernel wrote, if the request sent one.
    pub pid: Option<u64>,
    /// Copy handles as values in the caller's handle table.
    pub copy_handles: &'a [u32],
    /// Move handles as values in the caller's handle table.
    pub move_handles: &'a [u32],
    /// Domain in-object ids (domain sessions only).
    pub in_objects: &'a [u32],
    pub x: &'a [PointerBuffer],
    pub a: &'a [MappedBuffer],
    pub b: &'a [MappedBuffer],
    pub w: &'a [MappedBuffer],
    pub c: &'a [ReceiveBuffer],
    /// The raw data from its first (unaligned) byte, for [`HleRequest::out_pointer_sizes`].
    pub raw: &'a [u8],
    /// Where the in-data starts, from the raw start, for the size table.
    pub table_base: usize,
}

impl HleRequest<'_> {
    /// The u32 at `offset` in the payload.
    pub fn payload_u32(&self, offset: usize) -> Option<u32> {
        let b = self.payload.get(offset..offset.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The u64 at `offset` in the payload.
    pub fn payload_u64(&self, offset: usize) -> Option<u64> {
        let b = self.payload.get(offset..offset.checked_add(8)?)?;
        let mut v = [0u8; 8];
        v.copy_from_slice(b);
        Some(u64::from_le_bytes(v))
    }

    /// The first `count` entries of the u16 out-pointer size table of a command whose
    /// in-data is `in_data_size` bytes: at raw start + 0x10 + in headers + in data, u16
    /// aligned (libnx `cmifMakeRequest`; Atmosphère `GetUnfixedOutPointerSizeOffset`, whose
    /// domain in-data counts the in-object ids).
    pub fn out_pointer_sizes(&self, in_data_size: usize, count: usize) -> Option<Vec<u16>> {
        let start = self.table_base.checked_add(in_data_size)?.checked_add(1)? & !1;
        (0..count)
            .map(|i| {
                let at = start + 2 * i;
                self.raw.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]))
            })
            .collect()
    }
}

/// What a handler answers.
pub enum HleReply {
    Reply(Reply),
    /// The caller stays blocked (its SendSyncRequest does not return); `what` names what
    /// it waits for in the deadlock report.
    Defer {
        what: String,
    },
    /// Close the session without a reply.
    Close,
    /// A command the HLE does not model: stop the run.
    Unknown,
}

/// A reply's contents.
pub struct Reply {
    pub result: ResultCode,
    /// Output arguments after the SFCO header.
    pub payload: Vec<u8>,
    /// Interface objects to hand out: a new session each (client handle moved, before
    /// `move_handles`), or a domain object id on a domain session.
    pub out_objects: Vec<Box<dyn HleObject>>,
    /// Kernel objects whose handles are moved to the caller.
    pub move_handles: Vec<KObjectRef>,
    /// Kernel objects whose handles are copied to the caller.
    pub copy_handles: Vec<KObjectRef>,
}

impl Default for Reply {
    fn default() -> Reply {
        Reply {
            result: ResultCode::SUCCESS,
            payload: Vec::new(),
            out_objects: Vec::new(),
            move_handles: Vec::new(),
            copy_handles: Vec::new(),
        }
    }
}

impl HleReply {
    /// A reply with `result` and nothing else.
    pub fn result(result: ResultCode) -> HleReply {
        HleReply::Reply(Reply { result, ..Reply::default() })
    }

    /// A success reply carrying `payload`.
    pub fn ok(payload: Vec<u8>) -> HleReply {
        HleReply::Reply(Reply { payload, ..Reply::default() })
    }

    /// A success reply handing out one object.
    pub fn object(object: Box<dyn HleObject>) -> HleReply {
        HleReply::Reply(Reply { out_objects: vec![object], ..Reply::default() })
    }
}

impl From<Result<Vec<u8>, ResultCode>> for HleReply {
    fn from(r: Result<Vec<u8>, ResultCode>) -> HleReply {
        match r {
            Ok(payload) => HleReply::ok(payload),
            Err(rc) => HleReply::result(rc),
        }
    }
}

/// The firmware version the bench reports (`--firmware`, default 21.0.0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirmwareVersion {
    pub major: u8,
    pub minor: u8,
    pub micro: u8,
}

impl Default for FirmwareVersion {
    fn default() -> FirmwareVersion {
        FirmwareVersion { major: 21, minor: 0, micro: 0 }
    }
}

impl std::str::FromStr for FirmwareVersion {
    type Err = String;
    /// "21.0.0".
    fn from_str(s: &str) -> Result<FirmwareVersion, String> {
        let parts: Vec<&str> = s.split('.').collect();
        let [major, minor, micro] = parts.as_slice() else {
            return Err(format!("firmware version {s:?}: expected major.minor.micro"));
        };
        let num = |p: &str| p.parse::<u8>().map_err(|e| format!("firmware version {s:?}: {e}"));
        Ok(FirmwareVersion { major: num(major)?, minor: num(minor)?, micro: num(micro)? })
    }
}

impl std::fmt::Display for FirmwareVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}

/// One installed service: the registration, its name and its domain resources.
pub struct ServiceEntry {
    pub service: Box<dyn HleService>,
    pub name: String,
    pub pool: session::DomainPool,
}

/// Work to run once the current HLE request is done and no object is borrowed (sm answers
/// the GetServiceHandle requests a RegisterService released this way).
pub type AfterRequest = Box<dyn FnOnce(&mut Kernel)>;

/// The HLE side of the kernel (`Kernel::hle`): the installed services, the state they
/// share, and the stop of the run an unknown command asked for.
#[derive(Default)]
pub struct Hle {
    /// The installed services, by index (a port's `PortServer::Hle(index)`).
    pub services: Vec<ServiceEntry>,
    pub shared: HleShared,
    /// Set when an HLE service met a command the bench does not model: the scheduler ends
    /// the run with this report (`RunEnd::Stopped`).
    pub stop: Option<String>,
    pub(crate) after: Vec<AfterRequest>,
}

impl Hle {
    /// Asks the scheduler to end the run with `report` (the first stop wins).
    pub fn stop_run(&mut self, report: String) {
        self.stop.get_or_insert(report);
    }

    /// Runs `work` after the current request (see [`AfterRequest`]).
    pub fn after_request(&mut self, work: AfterRequest) {
        self.after.push(work);
    }
}

/// State the HLE services share with each other and the bench.
#[derive(Debug, Default)]
pub struct HleShared {
    /// The SD card fsp-srv serves (the run report lists its files).
    pub sd_card: fsp::SdCard,
    /// The firmware version set:sys reports.
    pub firmware: FirmwareVersion,
    /// nvdrv's nvmap objects (nvdrv fills it; vi's buffer queue reads frames through it).
    pub nvmap: nvmap::NvMap,
    /// The GPU syncpoints nvhost-ctrl waits on (vi's buffer queue may advance them).
    pub syncpoints: nvdrv::ioctl::Syncpoints,
    /// hid's per-ARUID input state and the run's scripted input (`--press`).
    pub hid: hid::HidState,
    /// am's applets, by pid (= ARUID).
    pub am: am::Applets,
    /// vi's displays, layers, buffer queues and the last frame shown.
    pub vi: vi::display::Compositor,
}

/// What a handler may touch while serving one request.
pub struct HleEnv<'e> {
    pub(crate) k: &'e mut Kernel,
    pub(crate) caller: &'e Caller,
    /// C-buffer writes, applied only if the reply is a success (index, bytes).
    pub(crate) c_writes: Vec<(usize, Vec<u8>)>,
}

impl<'e> HleEnv<'e> {
    /// An environment for a request of `caller` (the framework makes one per request; a
    /// service's unit test can make its own over a test kernel).
    pub fn new(k: &'e mut Kernel, caller: &'e Caller) -> HleEnv<'e> {
        HleEnv { k, caller, c_writes: Vec::new() }
    }

    /// The C-buffer writes staged so far ([`HleEnv::write_c`]): (index, bytes).
    pub fn c_writes(&self) -> &[(usize, Vec<u8>)] {
        &self.c_writes
    }

    /// The caller.
    pub fn caller(&self) -> &Caller {
        self.caller
    }

    /// State shared between services (SD card, firmware version).
    pub fn shared(&mut self) -> &mut HleShared {
        &mut self.k.hle.shared
    }

    /// Reads `len` bytes of the caller's memory (readable, mapped), as a server reads a
    /// buffer the kernel mapped for it; InvalidCurrentMemory otherwise.
    pub fn read(&self, address: u64, len: u64) -> Result<Vec<u8>, ResultCode> {
        use xcbuf_common::result::kernel;
        if len == 0 {
            return Ok(Vec::new());
        }
        let p = &self.k.processes[self.caller.process];
        if !p.space.check(address, len, crate::cpu::Perm::R) {
            return Err(kernel::INVALID_CURRENT_MEMORY);
        }
        let mut bytes = vec![0u8; usize::try_from(len).map_err(|_| kernel::INVALID_SIZE)?];
        p.cpu.read(address, &mut bytes).map_err(|_| kernel::INVALID_CURRENT_MEMORY)?;
        Ok(bytes)
    }

    /// Writes into the caller's memory (readable and writable, mapped).
    pub fn write(&mut self, address: u64, bytes: &[u8]) -> Result<(), ResultCode> {
        use xcbuf_common::result::kernel;
        let p = &mut self.k.processes[self.caller.process];
        if !p.space.check(address, bytes.len() as u64, crate::cpu::Perm::RW) {
            return Err(kernel::INVALID_CURRENT_MEMORY);
        }
        p.cpu.write(address, bytes).map_err(|_| kernel::INVALID_CURRENT_MEMORY)
    }

    /// The bytes of X descriptor `i` (in descriptor order).
    pub fn read_x(&self, request: &HleRequest<'_>, i: usize) -> Result<Vec<u8>, ResultCode> {
        let x = request.x.get(i).ok_or(xcbuf_common::result::cmif::INVALID_HEADER_SIZE)?;
        self.read(x.address, x.size)
    }

    /// The bytes of A descriptor `i`.
    pub fn read_a(&self, request: &HleRequest<'_>, i: usize) -> Result<Vec<u8>, ResultCode> {
        let a = request.a.get(i).ok_or(xcbuf_common::result::cmif::INVALID_HEADER_SIZE)?;
        self.read(a.address, a.size)
    }

    /// Writes into B descriptor `i` (at most its size).
    pub fn write_b(&mut self, request: &HleRequest<'_>, i: usize, bytes: &[u8]) -> Result<(), ResultCode> {
        let b = *request.b.get(i).ok_or(xcbuf_common::result::cmif::INVALID_HEADER_SIZE)?;
        if bytes.len() as u64 > b.size {
            return Err(xcbuf_common::result::kernel::INVALID_SIZE);
        }
        self.write(b.address, bytes)
    }

    /// The reply's X descriptor with index `index` carrying `bytes`: the kernel copies it
    /// into the caller's C entry `index` when the reply is sent (only a success reply
    /// carries it). Larger than the C entry: the client's SendSyncRequest gets
    /// OutOfResource 0xce01 (horizon-ipc.md §4).
    pub fn write_c(&mut self, index: usize, bytes: Vec<u8>) {
        self.c_writes.push((index, bytes));
    }

    /// A line of the caller's output (as its debug output; `--echo` prints it).
    pub fn print(&mut self, line: &str) {
        let p = &mut self.k.processes[self.caller.process];
        if self.k.options.echo_output {
            println!("[{}] {line}", p.name);
        }
        p.output.push(line.to_string());
    }

    /// A trace line (printed with `--trace-ipc`).
    pub fn trace(&mut self, line: String) {
        self.k.trace_line(line);
    }
}

//! The host's `fsp-srv` (HLE, no guest code): just enough of the file system proxy for a
//! program to write a file on the SD card (screen-output.md §3 "SD-card file"). Files
//! live in memory ([`SdCard`]); the run report lists them and the CLI can copy them to a
//! host directory.
//!
//! Objects and commands (CMIF, type 4; ids as in libnx `fs.c`, Eden and Ryujinx):
//! - IFileSystemProxy: 1 SetCurrentProcess(u64 0) + PID, 18 OpenSdCardFileSystem -> move
//!   handle to an IFileSystem.
//! - IFileSystem: 0 CreateFile(u32 option, u32 pad, s64 size) + X path, 1 DeleteFile(X
//!   path), 2 CreateDirectory(X path), 8 OpenFile(u32 mode) + X path -> move handle to an
//!   IFile.
//! - IFile: 1 Write(u32 option, u32 pad, s64 offset, s64 size) + A buffer, 2 Flush.
//!
//! Paths are X descriptor 0 of exactly 0x301 bytes (`FS_MAX_PATH`), NUL-terminated,
//! absolute, without a mount name. The X source and the A buffer are read straight from
//! the client's memory (the host may). Bad input gets an fs result (module 2), an
//! unknown command 0x1ba0a, a malformed message a CMIF result; never a panic.

use std::collections::{BTreeMap, BTreeSet};

use xcbuf_common::cmif::{self, Incoming, ReplySpec};
use xcbuf_common::result::{ResultCode, kernel};

use crate::cpu::Perm;
use crate::kernel::port::{KPort, PortServer};
use crate::kernel::session::{KSession, SessionServer};
use crate::kernel::{KObjectRef, Kernel, ProcessId, RegisteredService, SessionId, ThreadId};

/// The service name (registered with the bench's `sm:` at start).
pub const SERVICE_NAME: &str = "fsp-srv";
/// Sessions to the proxy at once.
pub const MAX_SESSIONS: u32 = 0x40;
/// A path X descriptor's exact size (libnx `FS_MAX_PATH` = 0x301, screen-output.md §3).
pub const PATH_SIZE: usize = 0x301;
/// Largest file the bench keeps (a report is a few KiB).
pub const FILE_SIZE_MAX: u64 = 16 << 20;
/// The owner recorded for the service in sm's registry: no guest process.
const NO_OWNER: ProcessId = usize::MAX;

/// fs results (module 2; AMS `fs_results.hpp` names).
pub mod results {
    use xcbuf_common::result::ResultCode;
    pub const MODULE: u32 = 2;
    /// 0x202.
    pub const PATH_NOT_FOUND: ResultCode = ResultCode::new(MODULE, 1);
    /// 0x402.
    pub const PATH_ALREADY_EXISTS: ResultCode = ResultCode::new(MODULE, 2);
    /// 0x2ee202: a required argument (the A buffer) is missing.
    pub const INVALID_ARGUMENT: ResultCode = ResultCode::new(MODULE, 6001);
    /// 0x2ee602: no NUL inside the 0x301 bytes.
    pub const TOO_LONG_PATH: ResultCode = ResultCode::new(MODULE, 6003);
    /// 0x2ee802: bytes that are not UTF-8.
    pub const INVALID_CHARACTER: ResultCode = ResultCode::new(MODULE, 6004);
    /// 0x2eea02: not absolute, a mount name, an empty / `.` / `..` component, or a path
    /// X descriptor that is missing or not 0x301 bytes.
    pub const INVALID_PATH_FORMAT: ResultCode = ResultCode::new(MODULE, 6005);
    /// 0x2f5a02.
    pub const INVALID_OFFSET: ResultCode = ResultCode::new(MODULE, 6061);
    /// 0x2f5c02: negative, larger than the A buffer, or past [`super::FILE_SIZE_MAX`].
    pub const INVALID_SIZE: ResultCode = ResultCode::new(MODULE, 6062);
    /// 0x2f7002.
    pub const INVALID_OPEN_MODE: ResultCode = ResultCode::new(MODULE, 6072);
    /// 0x307202: a write past the end of a file not opened with Append.
    pub const FILE_EXTENSION_WITHOUT_OPEN_MODE_ALLOW_APPEND: ResultCode = ResultCode::new(MODULE, 6201);
    /// 0x307602: a write to a file not opened with Write.
    pub const WRITE_NOT_PERMITTED: ResultCode = ResultCode::new(MODULE, 6203);
}

/// OpenFile modes (libnx `FsOpenMode`).
const OPEN_MODE_READ: u32 = 1;
const OPEN_MODE_WRITE: u32 = 2;
const OPEN_MODE_APPEND: u32 = 4;

/// What an `fsp-srv` session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FspObject {
    /// IFileSystemProxy (the service itself); the pid given by SetCurrentProcess.
    Proxy { pid: Option<u64> },
    /// IFileSystem of the SD card.
    SdCardFileSystem,
    /// IFile: its path and open mode.
    File { path: String, mode: u32 },
}

/// The SD card's contents: directories and files by absolute path.
#[derive(Clone, Debug)]
pub struct SdCard {
    pub directories: BTreeSet<String>,
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Default for SdCard {
    /// The root, and `/switch/xcbuf` where hbmenu finds the NRO.
    fn default() -> SdCard {
        let directories = ["/", "/switch", "/switch/xcbuf"].iter().map(|d| d.to_string()).collect();
        SdCard { directories, files: BTreeMap::new() }
    }
}

/// Creates the service's port and registers it with the bench's `sm:`.
pub fn install(k: &mut Kernel) {
    let port = k.ports.len();
    let mut p = KPort::new(SERVICE_NAME.to_string(), MAX_SESSIONS, false, PortServer::HleFsp);
    p.server_refs = 1;
    k.ports.push(p);
    k.services.insert(SERVICE_NAME.to_string(), RegisteredService { port, owner: NO_OWNER });
}

/// What a command gave: output payload and an object to move to the client.
struct Done {
    payload: Vec<u8>,
    object: Option<FspObject>,
}

fn done() -> Result<Done, ResultCode> {
    Ok(Done { payload: Vec::new(), object: None })
}

/// Serves a request thread `t` sent on HLE session `s`; the thread is answered (runnable)
/// when this returns `Ok`. `Err` (a Close, unreadable TLS) is the svc's result.
pub fn handle_request(k: &mut Kernel, t: ThreadId, s: SessionId) -> Result<(), ResultCode> {
    let p = k.threads[t].process;
    let tls = k.threads[t].tls;
    let mut bytes = [0u8; 0x100];
    k.processes[p].cpu.read(tls, &mut bytes).map_err(|_| kernel::INVALID_CURRENT_MEMORY)?;
    let words: Vec<u32> = bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let SessionServer::HleFsp(object) = k.sessions[s].server.clone() else {
        return Err(kernel::INVALID_HANDLE);
    };
    let (command, outcome) = match cmif::parse_request(&words) {
        // libstratosphere ends the session on Close (no reply).
        Ok(Incoming::Close(_)) => return Err(kernel::SESSION_CLOSED),
        Ok(Incoming::Request(req)) => (req.command_id(), dispatch(k, p, s, &object, &req)),
        Err(e) => (u32::MAX, Err(cmif_error_result(&e))),
    };
    let (result, payload, moved) = match outcome {
        Ok(d) => (ResultCode::SUCCESS, d.payload, d.object),
        Err(rc) => (rc, Vec::new(), None),
    };
    let mut handles = Vec::new();
    let mut result = result;
    if let Some(object) = moved {
        let new = k.sessions.len();
        k.sessions.push(KSession::new(None, SessionServer::HleFsp(object)));
        match k.add_handle(p, KObjectRef::ClientSession(new)) {
            Ok(h) => handles.push(h),
            Err(e) => result = e,
        }
    }
    let spec = if result == ResultCode::SUCCESS {
        ReplySpec { payload: &payload, move_handles: &handles, ..ReplySpec::default() }
    } else {
        ReplySpec::error(result)
    };
    let mut reply = [0u32; 64];
    cmif::build_reply(&mut reply, &spec).map_err(|_| kernel::INVALID_CURRENT_MEMORY)?;
    let out: Vec<u8> = reply.iter().flat_map(|w| w.to_le_bytes()).collect();
    k.processes[p].cpu.write(tls, &out).map_err(|_| kernel::INVALID_CURRENT_MEMORY)?;
    if k.options.trace_ipc || result != ResultCode::SUCCESS {
        let line = format!("fsp-srv: command {command} on {object:?} from {} -> {result}", k.thread_name(t));
        k.trace_line(line);
    }
    k.threads[t].wake(&[(0, 0)]);
    Ok(())
}

/// A malformed message's result (the CMIF layer's, as libstratosphere answers it).
fn cmif_error_result(e: &cmif::CmifError) -> ResultCode {
    match e {
        cmif::CmifError::UnknownCommandType { .. } => xcbuf_common::result::cmif::UNKNOWN_COMMAND_ID,
        _ => xcbuf_common::result::cmif::INVALID_HEADER_SIZE,
    }
}

fn dispatch(k: &mut Kernel, p: ProcessId, s: SessionId, object: &FspObject, req: &cmif::Request<'_>) -> Result<Done, ResultCode> {
    if req.command_type() != cmif::CommandType::Request && req.command_type() != cmif::CommandType::RequestWithContext {
        return Err(xcbuf_common::result::cmif::UNKNOWN_COMMAND_ID);
    }
    match (object, req.command_id()) {
        // IFileSystemProxy 1 SetCurrentProcess(u64 0) + PID
        (FspObject::Proxy { .. }, 1) => {
            // The kernel writes the sender's pid over what the client put there.
            req.message().process_id().ok_or(results::INVALID_ARGUMENT)?;
            let pid = k.processes[p].pid;
            k.sessions[s].server = SessionServer::HleFsp(FspObject::Proxy { pid: Some(pid) });
            done()
        }
        // IFileSystemProxy 18 OpenSdCardFileSystem -> IFileSystem
        (FspObject::Proxy { .. }, 18) => Ok(Done { payload: Vec::new(), object: Some(FspObject::SdCardFileSystem) }),
        // IFileSystem 0 CreateFile(u32 option, u32 pad, s64 size) + X path
        (FspObject::SdCardFileSystem, 0) => {
            let size = payload_i64(req, 8)?;
            let path = read_path(k, p, req)?;
            let size = u64::try_from(size).map_err(|_| results::INVALID_SIZE)?;
            if size > FILE_SIZE_MAX {
                return Err(results::INVALID_SIZE);
            }
            let len = usize::try_from(size).map_err(|_| results::INVALID_SIZE)?;
            check_parent(&k.sd_card, &path)?;
            if k.sd_card.files.contains_key(&path) || k.sd_card.directories.contains(&path) {
                return Err(results::PATH_ALREADY_EXISTS);
            }
            k.sd_card.files.insert(path, vec![0; len]);
            done()
        }
        // IFileSystem 1 DeleteFile(X path)
        (FspObject::SdCardFileSystem, 1) => {
            let path = read_path(k, p, req)?;
            k.sd_card.files.remove(&path).ok_or(results::PATH_NOT_FOUND)?;
            done()
        }
        // IFileSystem 2 CreateDirectory(X path)
        (FspObject::SdCardFileSystem, 2) => {
            let path = read_path(k, p, req)?;
            check_parent(&k.sd_card, &path)?;
            if k.sd_card.files.contains_key(&path) || k.sd_card.directories.contains(&path) {
                return Err(results::PATH_ALREADY_EXISTS);
            }
            k.sd_card.directories.insert(path);
            done()
        }
        // IFileSystem 8 OpenFile(u32 mode) + X path -> IFile
        (FspObject::SdCardFileSystem, 8) => {
            let mode = req.payload_u32(0).map_err(|_| results::INVALID_ARGUMENT)?;
            let path = read_path(k, p, req)?;
            if mode == 0 || mode & !(OPEN_MODE_READ | OPEN_MODE_WRITE | OPEN_MODE_APPEND) != 0 {
                return Err(results::INVALID_OPEN_MODE);
            }
            if !k.sd_card.files.contains_key(&path) {
                return Err(results::PATH_NOT_FOUND);
            }
            Ok(Done { payload: Vec::new(), object: Some(FspObject::File { path, mode }) })
        }
        // IFile 1 Write(u32 option, u32 pad, s64 offset, s64 size) + A buffer
        (FspObject::File { path, mode }, 1) => {
            let offset = payload_i64(req, 8)?;
            let size = payload_i64(req, 16)?;
            let a = req.message().send_buffers().next().ok_or(results::INVALID_ARGUMENT)?;
            let offset = u64::try_from(offset).map_err(|_| results::INVALID_OFFSET)?;
            let size = u64::try_from(size).map_err(|_| results::INVALID_SIZE)?;
            if size > a.size() {
                return Err(results::INVALID_SIZE);
            }
            let end = offset.checked_add(size).ok_or(results::INVALID_OFFSET)?;
            if end > FILE_SIZE_MAX {
                return Err(results::INVALID_SIZE);
            }
            if mode & OPEN_MODE_WRITE == 0 {
                return Err(results::WRITE_NOT_PERMITTED);
            }
            let current = k.sd_card.files.get(path).ok_or(results::PATH_NOT_FOUND)?.len();
            let (start, end) = (usize::try_from(offset), usize::try_from(end));
            let (Ok(start), Ok(end)) = (start, end) else { return Err(results::INVALID_SIZE) };
            if end > current && mode & OPEN_MODE_APPEND == 0 {
                return Err(results::FILE_EXTENSION_WITHOUT_OPEN_MODE_ALLOW_APPEND);
            }
            let data = read_guest(k, p, a.address(), size).ok_or(kernel::INVALID_CURRENT_MEMORY)?;
            let file = k.sd_card.files.get_mut(path).ok_or(results::PATH_NOT_FOUND)?;
            if file.len() < end {
                file.resize(end, 0);
            }
            file[start..end].copy_from_slice(&data);
            done()
        }
        // IFile 2 Flush: the bench's files are always flushed.
        (FspObject::File { .. }, 2) => done(),
        _ => Err(xcbuf_common::result::cmif::UNKNOWN_COMMAND_ID),
    }
}

fn payload_i64(req: &cmif::Request<'_>, offset: usize) -> Result<i64, ResultCode> {
    let v = req.payload_u64(offset).map_err(|_| results::INVALID_ARGUMENT)?;
    Ok(i64::from_ne_bytes(v.to_ne_bytes()))
}

fn read_guest(k: &Kernel, p: ProcessId, address: u64, len: u64) -> Option<Vec<u8>> {
    let process = &k.processes[p];
    if len == 0 {
        return Some(Vec::new());
    }
    if !process.space.check(address, len, Perm::R) {
        return None;
    }
    let mut bytes = vec![0u8; usize::try_from(len).ok()?];
    process.cpu.read(address, &mut bytes).ok()?;
    Some(bytes)
}

/// X descriptor 0 as a path: exactly [`PATH_SIZE`] bytes in the client's memory.
fn read_path(k: &Kernel, p: ProcessId, req: &cmif::Request<'_>) -> Result<String, ResultCode> {
    let x = req.message().pointer_descriptor(0).ok_or(results::INVALID_PATH_FORMAT)?;
    if usize::from(x.size()) != PATH_SIZE {
        return Err(results::INVALID_PATH_FORMAT);
    }
    let bytes = read_guest(k, p, x.address(), PATH_SIZE as u64).ok_or(kernel::INVALID_CURRENT_MEMORY)?;
    parse_path(&bytes)
}

/// Checks a path's bytes: NUL-terminated, UTF-8, absolute, normalized (no empty, `.` or
/// `..` component, no trailing `/` except the root).
pub fn parse_path(bytes: &[u8]) -> Result<String, ResultCode> {
    let len = bytes.iter().position(|&b| b == 0).ok_or(results::TOO_LONG_PATH)?;
    let text = std::str::from_utf8(&bytes[..len]).map_err(|_| results::INVALID_CHARACTER)?;
    let Some(rest) = text.strip_prefix('/') else { return Err(results::INVALID_PATH_FORMAT) };
    if rest.is_empty() {
        return Ok("/".to_string());
    }
    if rest.split('/').any(|c| c.is_empty() || c == "." || c == ".." || c.contains(':')) {
        return Err(results::INVALID_PATH_FORMAT);
    }
    Ok(text.to_string())
}

fn check_parent(sd: &SdCard, path: &str) -> Result<(), ResultCode> {
    let parent = match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => return Err(results::INVALID_PATH_FORMAT),
    };
    if sd.directories.contains(parent) { Ok(()) } else { Err(results::PATH_NOT_FOUND) }
}

/// Writes `files` (SD paths, as checked by [`parse_path`]) under the host directory `dir`.
pub fn write_to_host(dir: &std::path::Path, files: &BTreeMap<String, Vec<u8>>) -> Result<(), String> {
    for (path, bytes) in files {
        let relative = path.trim_start_matches('/');
        if relative.is_empty() || relative.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            return Err(format!("sdmc: refusing to write {path:?}"));
        }
        let host = dir.join(relative);
        if let Some(parent) = host.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&host, bytes).map_err(|e| format!("{}: {e}", host.display()))?;
    }
    Ok(())
}

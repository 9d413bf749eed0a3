//! The host's `fsp-srv` (HLE, no guest code): just enough of the file system proxy for a
//! program to write a file on the SD card (screen-output.md §3 "SD-card file"). Files
//! live in memory ([`SdCard`]); the run report lists them and the CLI can copy them to a
//! host directory.
//!
//! Objects and commands (CMIF, type 4; ids, argument layouts and results from
//! [`xcbuf_common::fsp`] and [`xcbuf_common::result::fs`], as in libnx `fs.c`, Eden and
//! Ryujinx):
//! - IFileSystemProxy: 1 SetCurrentProcess(u64 0) + PID, 18 OpenSdCardFileSystem -> move
//!   handle to an IFileSystem.
//! - IFileSystem: 0 CreateFile(u32 option, u32 pad, s64 size) + X path, 1 DeleteFile(X
//!   path), 2 CreateDirectory(X path), 8 OpenFile(u32 mode) + X path -> move handle to an
//!   IFile.
//! - IFile: 1 Write(u32 option, u32 pad, s64 offset, s64 size) + A buffer, 2 Flush.
//!
//! Paths are X descriptor 0 of exactly 0x301 bytes (`FS_MAX_PATH`), NUL-terminated,
//! absolute, without a mount name. The X source and the A buffer are read straight from
//! the client's memory (the host may). Bad input gets an fs result (module 2); a command
//! not listed above stops the run ([`HleReply::Unknown`]); a malformed message closes the
//! session (the CMIF framework, [`super::session`]); never a panic. Each object is an
//! [`HleObject`]; OpenSdCardFileSystem and OpenFile hand out new objects, as new sessions
//! or, on a domain session, as domain object ids.

use std::collections::{BTreeMap, BTreeSet};

use xcbuf_common::fsp::{CreateFileArgs, WriteArgs, file, file_system, open_mode, proxy};
use xcbuf_common::result::{ResultCode, kernel};
use xcbuf_common::sm::ServiceName;

use super::{HleEnv, HleObject, HleReply, HleRequest, HleService, Reply};

/// The service name (registered with the bench's `sm:` at start).
pub const SERVICE_NAME: ServiceName = xcbuf_common::fsp::SERVICE_NAME;
/// Sessions to the proxy at once.
pub const MAX_SESSIONS: u32 = 0x40;
/// A path X descriptor's exact size (libnx `FS_MAX_PATH` = 0x301, screen-output.md §3).
pub use xcbuf_common::fsp::PATH_SIZE;
/// Largest file the bench keeps (a report is a few KiB).
pub const FILE_SIZE_MAX: u64 = 16 << 20;
/// The pointer buffer QueryPointerBufferSize reports (Atmosphère's fs server options
/// would give 0x800; libnx's fs client uses only X descriptors of 0x301 bytes, which the
/// bench reads straight from the client's memory).
pub const POINTER_BUFFER_SIZE: u16 = 0x800;

/// fs results (module 2; AMS `fs_results.hpp` names).
pub use xcbuf_common::result::fs as results;

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

/// fsp-srv as an HLE service: each session starts as an IFileSystemProxy.
pub struct FspService;

impl HleService for FspService {
    fn name(&self) -> ServiceName {
        SERVICE_NAME
    }
    fn max_sessions(&self) -> u32 {
        MAX_SESSIONS
    }
    fn pointer_buffer_size(&self) -> u16 {
        POINTER_BUFFER_SIZE
    }
    fn open(&mut self) -> Box<dyn HleObject> {
        Box::new(FspObject::Proxy { pid: None })
    }
}

impl HleObject for FspObject {
    fn interface(&self) -> &'static str {
        match self {
            FspObject::Proxy { .. } => "IFileSystemProxy",
            FspObject::SdCardFileSystem => "IFileSystem",
            FspObject::File { .. } => "IFile",
        }
    }

    /// A command [`dispatch`] does not know is [`HleReply::Unknown`]: the run stops.
    fn handle(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        let mut sd = std::mem::take(&mut env.shared().sd_card);
        let memory = |address: u64, len: u64| env.read(address, len).ok();
        let outcome = dispatch(&mut sd, self, request.caller.pid, &memory, request);
        env.shared().sd_card = sd;
        match outcome {
            Err(rc) if rc == xcbuf_common::result::cmif::UNKNOWN_COMMAND_ID => HleReply::Unknown,
            Err(rc) => HleReply::result(rc),
            Ok(done) => HleReply::Reply(Reply {
                payload: done.payload,
                out_objects: done.object.map(|o| Box::new(o) as Box<dyn HleObject>).into_iter().collect(),
                ..Reply::default()
            }),
        }
    }
}

/// What a command gave: output payload and an object to move to the client.
struct Done {
    payload: Vec<u8>,
    object: Option<FspObject>,
}

fn done() -> Result<Done, ResultCode> {
    Ok(Done { payload: Vec::new(), object: None })
}

/// Guest memory as the service reads it: `len` bytes at an address, or None.
type Memory<'m> = dyn Fn(u64, u64) -> Option<Vec<u8>> + 'm;

/// Serves one command on `object` for the process `pid`.
fn dispatch(
    sd: &mut SdCard,
    object: &mut FspObject,
    pid: u64,
    memory: &Memory<'_>,
    req: &HleRequest<'_>,
) -> Result<Done, ResultCode> {
    match (&*object, req.command_id) {
        // IFileSystemProxy 1 SetCurrentProcess(u64 0) + PID
        (FspObject::Proxy { .. }, proxy::SET_CURRENT_PROCESS) => {
            // The kernel writes the sender's pid over what the client put there.
            req.pid.ok_or(results::INVALID_ARGUMENT)?;
            *object = FspObject::Proxy { pid: Some(pid) };
            done()
        }
        // IFileSystemProxy 18 OpenSdCardFileSystem -> IFileSystem
        (FspObject::Proxy { .. }, proxy::OPEN_SD_CARD_FILE_SYSTEM) => {
            Ok(Done { payload: Vec::new(), object: Some(FspObject::SdCardFileSystem) })
        }
        // IFileSystem 0 CreateFile(u32 option, u32 pad, s64 size) + X path
        (FspObject::SdCardFileSystem, file_system::CREATE_FILE) => {
            let size = payload_i64(req, CreateFileArgs::SIZE_OFFSET)?;
            let path = read_path(memory, req)?;
            let size = u64::try_from(size).map_err(|_| results::INVALID_SIZE)?;
            if size > FILE_SIZE_MAX {
                return Err(results::INVALID_SIZE);
            }
            let len = usize::try_from(size).map_err(|_| results::INVALID_SIZE)?;
            check_parent(sd, &path)?;
            if sd.files.contains_key(&path) || sd.directories.contains(&path) {
                return Err(results::PATH_ALREADY_EXISTS);
            }
            sd.files.insert(path, vec![0; len]);
            done()
        }
        // IFileSystem 1 DeleteFile(X path)
        (FspObject::SdCardFileSystem, file_system::DELETE_FILE) => {
            let path = read_path(memory, req)?;
            sd.files.remove(&path).ok_or(results::PATH_NOT_FOUND)?;
            done()
        }
        // IFileSystem 2 CreateDirectory(X path)
        (FspObject::SdCardFileSystem, file_system::CREATE_DIRECTORY) => {
            let path = read_path(memory, req)?;
            check_parent(sd, &path)?;
            if sd.files.contains_key(&path) || sd.directories.contains(&path) {
                return Err(results::PATH_ALREADY_EXISTS);
            }
            sd.directories.insert(path);
            done()
        }
        // IFileSystem 8 OpenFile(u32 mode) + X path -> IFile
        (FspObject::SdCardFileSystem, file_system::OPEN_FILE) => {
            let mode = req.payload_u32(0).ok_or(results::INVALID_ARGUMENT)?;
            let path = read_path(memory, req)?;
            if mode == 0 || mode & !open_mode::ALL != 0 {
                return Err(results::INVALID_OPEN_MODE);
            }
            if !sd.files.contains_key(&path) {
                return Err(results::PATH_NOT_FOUND);
            }
            Ok(Done { payload: Vec::new(), object: Some(FspObject::File { path, mode }) })
        }
        // IFile 1 Write(u32 option, u32 pad, s64 offset, s64 size) + A buffer
        (FspObject::File { path, mode }, file::WRITE) => {
            let offset = payload_i64(req, WriteArgs::OFFSET_OFFSET)?;
            let size = payload_i64(req, WriteArgs::SIZE_OFFSET)?;
            let a = req.a.first().ok_or(results::INVALID_ARGUMENT)?;
            let offset = u64::try_from(offset).map_err(|_| results::INVALID_OFFSET)?;
            let size = u64::try_from(size).map_err(|_| results::INVALID_SIZE)?;
            if size > a.size {
                return Err(results::INVALID_SIZE);
            }
            let end = offset.checked_add(size).ok_or(results::INVALID_OFFSET)?;
            if end > FILE_SIZE_MAX {
                return Err(results::INVALID_SIZE);
            }
            if mode & open_mode::WRITE == 0 {
                return Err(results::WRITE_NOT_PERMITTED);
            }
            let current = sd.files.get(path).ok_or(results::PATH_NOT_FOUND)?.len();
            let (start, end) = (usize::try_from(offset), usize::try_from(end));
            let (Ok(start), Ok(end)) = (start, end) else { return Err(results::INVALID_SIZE) };
            if end > current && mode & open_mode::APPEND == 0 {
                return Err(results::FILE_EXTENSION_WITHOUT_OPEN_MODE_ALLOW_APPEND);
            }
            let data = memory(a.address, size).ok_or(kernel::INVALID_CURRENT_MEMORY)?;
            let file = sd.files.get_mut(path).ok_or(results::PATH_NOT_FOUND)?;
            if file.len() < end {
                file.resize(end, 0);
            }
            file[start..end].copy_from_slice(&data);
            done()
        }
        // IFile 2 Flush: the bench's files are always flushed.
        (FspObject::File { .. }, file::FLUSH) => done(),
        _ => Err(xcbuf_common::result::cmif::UNKNOWN_COMMAND_ID),
    }
}

fn payload_i64(req: &HleRequest<'_>, offset: usize) -> Result<i64, ResultCode> {
    let v = req.payload_u64(offset).ok_or(results::INVALID_ARGUMENT)?;
    Ok(i64::from_ne_bytes(v.to_ne_bytes()))
}

/// X descriptor 0 as a path: exactly [`PATH_SIZE`] bytes in the client's memory.
fn read_path(memory: &Memory<'_>, req: &HleRequest<'_>) -> Result<String, ResultCode> {
    let x = req.x.first().ok_or(results::INVALID_PATH_FORMAT)?;
    if x.size != PATH_SIZE as u64 {
        return Err(results::INVALID_PATH_FORMAT);
    }
    let bytes = memory(x.address, PATH_SIZE as u64).ok_or(kernel::INVALID_CURRENT_MEMORY)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hle::Caller;
    use crate::hle::session::{self, Incoming};
    use xcbuf_common::cmif::{self, RequestSpec};
    use xcbuf_common::hipc::{MapAliasAttribute, MapAliasDescriptor, PointerDescriptor, TLS_MESSAGE_BUFFER_SIZE};

    /// One message on a plain fsp-srv session, through the framework's parser: None for a
    /// Close, else the command id and what [`dispatch`] gave.
    fn serve(
        sd: &mut SdCard,
        object: &mut FspObject,
        pid: u64,
        memory: &Memory<'_>,
        words: &[u32],
    ) -> Option<(u32, Result<Done, ResultCode>)> {
        let caller = Caller { process: 0, thread: 0, pid, thread_name: "test".into() };
        match session::parse(words, false) {
            Ok(Incoming::Close) => None,
            Ok(Incoming::Request(r)) => Some((r.command_id, dispatch(sd, object, pid, memory, &r.as_request(&caller)))),
            other => panic!("not a request: {other:?}"),
        }
    }

    /// Guest memory for the tests: the path at 0x1000, the data at 0x2000.
    const PATH_AT: u64 = 0x1000;
    const DATA_AT: u64 = 0x2000;
    const REPORT: &str = "/switch/xcbuf/report.txt";

    fn memory_with(path: &str, data: &[u8]) -> impl Fn(u64, u64) -> Option<Vec<u8>> {
        let mut p = vec![0u8; PATH_SIZE];
        p[..path.len()].copy_from_slice(path.as_bytes());
        let d = data.to_vec();
        move |address, len| {
            let (base, bytes) = if address >= DATA_AT { (DATA_AT, &d) } else { (PATH_AT, &p) };
            let start = usize::try_from(address - base).ok()?;
            bytes.get(start..start.checked_add(usize::try_from(len).ok()?)?).map(<[u8]>::to_vec)
        }
    }

    fn request(id: u32, payload: &[u8], x_size: Option<u64>, a_size: Option<u64>) -> [u32; 64] {
        let x: Vec<PointerDescriptor> =
            x_size.map(|s| PointerDescriptor::new(0, PATH_AT, s).unwrap()).into_iter().collect();
        let a: Vec<MapAliasDescriptor> = a_size
            .map(|s| MapAliasDescriptor::new(DATA_AT, s, MapAliasAttribute::NonSecureIpc).unwrap())
            .into_iter()
            .collect();
        let mut words = [0u32; TLS_MESSAGE_BUFFER_SIZE / 4];
        let spec = RequestSpec { command_id: id, in_pointers: &x, sends: &a, payload, ..RequestSpec::default() };
        cmif::build_request(&mut words, &spec).unwrap();
        words
    }

    fn result(sd: &mut SdCard, object: &mut FspObject, memory: &Memory<'_>, words: &[u32]) -> ResultCode {
        match serve(sd, object, 0x51, memory, words) {
            Some((_, Ok(_))) => ResultCode::SUCCESS,
            Some((_, Err(rc))) => rc,
            None => panic!("served as a Close"),
        }
    }

    fn write_args(offset: i64, size: i64) -> Vec<u8> {
        let mut w = vec![0u8; 24];
        w[0..4].copy_from_slice(&1u32.to_le_bytes());
        w[8..16].copy_from_slice(&offset.to_le_bytes());
        w[16..24].copy_from_slice(&size.to_le_bytes());
        w
    }

    #[test]
    fn fs_result_codes_have_their_raw_values() {
        assert_eq!(results::PATH_NOT_FOUND.raw(), 0x202);
        assert_eq!(results::PATH_ALREADY_EXISTS.raw(), 0x402);
        assert_eq!(results::INVALID_PATH_FORMAT.raw(), 0x2eea02);
        assert_eq!(results::FILE_EXTENSION_WITHOUT_OPEN_MODE_ALLOW_APPEND.raw(), 0x307202);
    }

    #[test]
    fn report_sequence_creates_and_writes_the_file() {
        let text = b"server: sysmodule\n13 passed, 0 failed\n";
        let memory = memory_with(REPORT, text);
        let mut sd = SdCard::default();
        let mut proxy = FspObject::Proxy { pid: None };
        let mut fs = FspObject::SdCardFileSystem;
        // CreateDirectory of the NRO's own directory: already there.
        let directory = memory_with("/switch/xcbuf", &[]);
        assert_eq!(
            result(&mut sd, &mut fs, &directory, &request(2, &[], Some(0x301), None)),
            results::PATH_ALREADY_EXISTS
        );
        // DeleteFile of a file not there yet.
        assert_eq!(result(&mut sd, &mut fs, &memory, &request(1, &[], Some(0x301), None)), results::PATH_NOT_FOUND);
        assert_eq!(result(&mut sd, &mut fs, &memory, &request(0, &[0; 16], Some(0x301), None)), ResultCode::SUCCESS);
        assert_eq!(sd.files.get(REPORT).map(Vec::len), Some(0));
        let Some((8, Ok(opened))) =
            serve(&mut sd, &mut fs, 0x51, &memory, &request(8, &6u32.to_le_bytes(), Some(0x301), None))
        else {
            panic!("OpenFile failed");
        };
        let mut file = opened.object.expect("OpenFile moves an IFile");
        assert_eq!(file, FspObject::File { path: REPORT.to_string(), mode: 6 });
        let size = text.len() as i64;
        let write = request(1, &write_args(0, size), None, Some(text.len() as u64));
        assert_eq!(result(&mut sd, &mut file, &memory, &write), ResultCode::SUCCESS);
        assert_eq!(result(&mut sd, &mut file, &memory, &request(2, &[], None, None)), ResultCode::SUCCESS);
        assert_eq!(sd.files.get(REPORT).map(Vec::as_slice), Some(&text[..]));
        // OpenSdCardFileSystem moves an IFileSystem.
        let Some((18, Ok(opened))) = serve(&mut sd, &mut proxy, 0x51, &memory, &request(18, &[], None, None)) else {
            panic!("OpenSdCardFileSystem failed");
        };
        assert_eq!(opened.object, Some(FspObject::SdCardFileSystem));
    }

    #[test]
    fn path_x_descriptor_not_0x301_bytes_is_invalid_path_format() {
        let memory = memory_with(REPORT, &[]);
        let mut sd = SdCard::default();
        let mut fs = FspObject::SdCardFileSystem;
        for words in [request(0, &[0; 16], Some(0x300), None), request(0, &[0; 16], None, None)] {
            assert_eq!(result(&mut sd, &mut fs, &memory, &words), results::INVALID_PATH_FORMAT);
        }
        assert!(sd.files.is_empty());
    }

    #[test]
    fn write_without_an_a_buffer_is_invalid_argument() {
        let memory = memory_with(REPORT, b"abcd");
        let mut sd = SdCard::default();
        sd.files.insert(REPORT.to_string(), Vec::new());
        let mut file = FspObject::File { path: REPORT.to_string(), mode: 6 };
        assert_eq!(
            result(&mut sd, &mut file, &memory, &request(1, &write_args(0, 4), None, None)),
            results::INVALID_ARGUMENT
        );
        // A size larger than the A buffer.
        assert_eq!(
            result(&mut sd, &mut file, &memory, &request(1, &write_args(0, 5), None, Some(4))),
            results::INVALID_SIZE
        );
        assert_eq!(
            result(&mut sd, &mut file, &memory, &request(1, &write_args(-1, 4), None, Some(4))),
            results::INVALID_OFFSET
        );
        assert_eq!(sd.files.get(REPORT).map(Vec::len), Some(0));
    }

    #[test]
    fn write_past_the_end_without_append_is_rejected() {
        let memory = memory_with(REPORT, b"abcd");
        let mut sd = SdCard::default();
        sd.files.insert(REPORT.to_string(), Vec::new());
        let mut file = FspObject::File { path: REPORT.to_string(), mode: 2 };
        let words = request(1, &write_args(0, 4), None, Some(4));
        assert_eq!(result(&mut sd, &mut file, &memory, &words), results::FILE_EXTENSION_WITHOUT_OPEN_MODE_ALLOW_APPEND);
    }

    #[test]
    fn unknown_command_is_unknown_command_id() {
        let memory = memory_with(REPORT, &[]);
        let mut sd = SdCard::default();
        let mut proxy = FspObject::Proxy { pid: None };
        let rc = result(&mut sd, &mut proxy, &memory, &request(99, &[], None, None));
        assert_eq!(rc.raw(), 0x1ba0a);
        // A File command id sent to the file system: CreateFile is not Write.
        let mut file = FspObject::File { path: REPORT.to_string(), mode: 6 };
        assert_eq!(result(&mut sd, &mut file, &memory, &request(8, &[], None, None)).raw(), 0x1ba0a);
    }

    #[test]
    fn set_current_process_needs_the_pid_and_records_the_kernel_s() {
        let memory = memory_with(REPORT, &[]);
        let mut sd = SdCard::default();
        let mut proxy = FspObject::Proxy { pid: None };
        assert_eq!(result(&mut sd, &mut proxy, &memory, &request(1, &[0; 8], None, None)), results::INVALID_ARGUMENT);
        let mut words = [0u32; TLS_MESSAGE_BUFFER_SIZE / 4];
        let spec = RequestSpec { command_id: 1, process_id: Some(0), payload: &[0; 8], ..RequestSpec::default() };
        cmif::build_request(&mut words, &spec).unwrap();
        assert_eq!(result(&mut sd, &mut proxy, &memory, &words), ResultCode::SUCCESS);
        assert_eq!(proxy, FspObject::Proxy { pid: Some(0x51) });
    }

    #[test]
    fn close_ends_the_session() {
        let memory = memory_with(REPORT, &[]);
        let mut words = [0u32; TLS_MESSAGE_BUFFER_SIZE / 4];
        cmif::build_close(&mut words).unwrap();
        assert!(serve(&mut SdCard::default(), &mut FspObject::SdCardFileSystem, 1, &memory, &words).is_none());
    }

    #[test]
    fn paths_must_be_absolute_normalized_and_nul_terminated() {
        assert_eq!(parse_path(b"/switch/xcbuf/report.txt\0junk"), Ok(REPORT.to_string()));
        assert_eq!(parse_path(&[b'a'; PATH_SIZE]), Err(results::TOO_LONG_PATH));
        assert_eq!(parse_path(b"sdmc:/switch\0"), Err(results::INVALID_PATH_FORMAT));
        assert_eq!(parse_path(b"/switch/../x\0"), Err(results::INVALID_PATH_FORMAT));
        assert_eq!(parse_path(b"/switch//x\0"), Err(results::INVALID_PATH_FORMAT));
        assert_eq!(parse_path(b"/\xff\0"), Err(results::INVALID_CHARACTER));
    }
}

//! The report file: the whole report written to `sdmc:/switch/xcbuf/report.txt` through
//! `fsp-srv` (screen-output.md §3 "SD-card file"; ids, raw layouts and results from
//! [`xcbuf_common::fsp`], as in libnx `fs.c`):
//!
//! 1. sm GetServiceHandle("fsp-srv").
//! 2. IFileSystemProxy 1 SetCurrentProcess(u64 0) + PID.
//! 3. IFileSystemProxy 18 OpenSdCardFileSystem -> IFileSystem (move handle).
//! 4. IFileSystem 2 CreateDirectory(X path) for `/switch` and `/switch/xcbuf`, "already
//!    exists" ignored.
//! 5. IFileSystem 1 DeleteFile(X path), any error ignored.
//! 6. IFileSystem 0 CreateFile(u32 option 0, u32 pad, s64 size 0) + X path.
//! 7. IFileSystem 8 OpenFile(u32 mode 6 = Write|Append) + X path -> IFile.
//! 8. IFile 1 Write(u32 option 1 = Flush, u32 pad, s64 offset 0, s64 size) + A buffer
//!    (NonSecure), then IFile 2 Flush.
//! 9. Each object closed: CMIF Close (type 2), then svcCloseHandle.
//!
//! Paths are X descriptors of exactly 0x301 bytes, NUL-terminated, without "sdmc:".
//!
//! How step 1 looks fsp-srv up ([`crate::mode::Lookup`]): on Atmosphère (HosVersion tagged
//! `ATMOSPHR`), HasService("fsp-srv") first, since GetServiceHandle for an absent service
//! blocks forever; anywhere else (no loader config: Eden and Ryujinx without arguments; a
//! config without that HosVersion: Eden with arguments), GetServiceHandle directly: the
//! emulators serve fsp-srv themselves.

use core::fmt;

use rt::LaunchKind;
use rt::sm::Sm;
use rt::svc;
use rt::tls::with_message_buffer;
use xcbuf_common::cmif::{self, RequestSpec};
use xcbuf_common::fsp::{
    self, CreateFileArgs, PATH_SIZE, WRITE_OPTION_FLUSH, WriteArgs, file, file_system, open_mode, proxy,
};
use xcbuf_common::hipc::{MapAliasAttribute, MapAliasDescriptor, PointerDescriptor};
use xcbuf_common::result::{ResultCode, fs};
use xcbuf_rt as rt;

use crate::ipc::{Handle, address_of};
use crate::mode::Lookup;

/// The file, as fsp-srv names it (no mount name).
pub const REPORT_PATH: &str = "/switch/xcbuf/report.txt";
/// Its directories, parents first.
const DIRECTORIES: [&str; 2] = ["/switch", "/switch/xcbuf"];
/// OpenFile mode: Write | Append.
const OPEN_MODE_WRITE_APPEND: u32 = open_mode::WRITE | open_mode::APPEND;
/// A request that cannot be encoded or a reply that cannot be decoded.
const BAD_MESSAGE: ResultCode = xcbuf_common::result::xcbuf::MALFORMED_MESSAGE;

/// Why the report was not written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NotWritten {
    /// Atmosphère's HasService said fsp-srv is not there.
    NoFileSystemService,
    /// A step failed with this result.
    Failed(ResultCode),
}

impl From<ResultCode> for NotWritten {
    fn from(rc: ResultCode) -> NotWritten {
        NotWritten::Failed(rc)
    }
}

impl fmt::Display for NotWritten {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotWritten::NoFileSystemService => f.write_str("fsp-srv not available"),
            NotWritten::Failed(rc) => write!(f, "{rc}"),
        }
    }
}

/// Writes `text` to [`REPORT_PATH`]; Ok is the number of bytes written.
pub fn write(text: &str) -> Result<usize, NotWritten> {
    let name = fsp::SERVICE_NAME;
    let env = rt::env();
    let sm = Sm::connect()?;
    let lookup = Lookup::from_launch(env.launch == LaunchKind::Hbloader && env.is_atmosphere);
    if lookup == Lookup::HasServiceFirst && !sm.has_service(name)? {
        return Err(NotWritten::NoFileSystemService);
    }
    let service = Object(sm.get_service_handle(name)?);
    drop(sm);
    service.call(proxy::SET_CURRENT_PROCESS, &0u64.to_le_bytes(), Args { pid: true, ..Args::default() })?;
    let sd = service.open(proxy::OPEN_SD_CARD_FILE_SYSTEM, &[], Args::default())?;
    for dir in DIRECTORIES {
        let path = path_buffer(dir)?;
        match sd.call(file_system::CREATE_DIRECTORY, &[], Args { path: Some(&path), ..Args::default() }) {
            Ok(_) => {}
            Err(rc) if rc == fs::PATH_ALREADY_EXISTS => {}
            Err(rc) => return Err(rc.into()),
        }
    }
    let path = path_buffer(REPORT_PATH)?;
    let with_path = Args { path: Some(&path), ..Args::default() };
    let _ = sd.call(file_system::DELETE_FILE, &[], with_path);
    sd.call(file_system::CREATE_FILE, &CreateFileArgs::default().encode(), with_path)?;
    let report = sd.open(file_system::OPEN_FILE, &OPEN_MODE_WRITE_APPEND.to_le_bytes(), with_path)?;
    let size = i64::try_from(text.len()).map_err(|_| BAD_MESSAGE)?;
    let write = WriteArgs { option: WRITE_OPTION_FLUSH, offset: 0, size };
    report.call(file::WRITE, &write.encode(), Args { send: Some(text.as_bytes()), ..Args::default() })?;
    report.call(file::FLUSH, &[], Args::default())?;
    Ok(text.len())
}

/// `path` NUL-padded to exactly [`PATH_SIZE`] bytes.
fn path_buffer(path: &str) -> Result<[u8; PATH_SIZE], ResultCode> {
    let mut buffer = [0u8; PATH_SIZE];
    let bytes = path.as_bytes();
    // At least one NUL must follow.
    let slot = buffer.get_mut(..bytes.len()).filter(|_| bytes.len() < PATH_SIZE).ok_or(BAD_MESSAGE)?;
    slot.copy_from_slice(bytes);
    Ok(buffer)
}

/// What a request carries besides its payload.
#[derive(Clone, Copy, Default)]
struct Args<'a> {
    /// Send the PID.
    pid: bool,
    /// X descriptor 0: a path.
    path: Option<&'a [u8; PATH_SIZE]>,
    /// A descriptor 0.
    send: Option<&'a [u8]>,
}

/// An fsp-srv object (a session); closed on drop.
struct Object(Handle);

impl Object {
    /// Sends command `id`; Ok is the reply's move handle, if any.
    fn call(&self, id: u32, payload: &[u8], args: Args<'_>) -> Result<Option<Handle>, ResultCode> {
        let x = match args.path {
            Some(p) => Some(PointerDescriptor::new(0, address_of(p), PATH_SIZE as u64).map_err(|_| BAD_MESSAGE)?),
            None => None,
        };
        let a = match args.send {
            Some(b) => {
                let size = u64::try_from(b.len()).map_err(|_| BAD_MESSAGE)?;
                Some(
                    MapAliasDescriptor::new(address_of(b), size, MapAliasAttribute::NonSecureIpc)
                        .map_err(|_| BAD_MESSAGE)?,
                )
            }
            None => None,
        };
        let spec = RequestSpec {
            command_id: id,
            process_id: if args.pid { Some(0) } else { None },
            in_pointers: x.as_slice(),
            sends: a.as_slice(),
            payload,
            ..RequestSpec::default()
        };
        with_message_buffer(|buffer| {
            cmif::build_request(buffer.words(), &spec).map_err(|_| BAD_MESSAGE)?;
            buffer.send_sync_request(self.0)?;
            let reply = cmif::parse_reply(buffer.words()).map_err(|_| BAD_MESSAGE)?;
            let handles = reply.message().move_handles();
            let result = reply.result();
            if result != ResultCode::SUCCESS || handles.len() > 1 {
                for &h in handles {
                    let _ = svc::close_handle(h);
                }
                return Err(if result == ResultCode::SUCCESS { BAD_MESSAGE } else { result });
            }
            Ok(handles.first().copied())
        })
    }

    /// Sends command `id`, which answers a new object.
    fn open(&self, id: u32, payload: &[u8], args: Args<'_>) -> Result<Object, ResultCode> {
        self.call(id, payload, args)?.map(Object).ok_or(BAD_MESSAGE)
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        with_message_buffer(|buffer| {
            if cmif::build_close(buffer.words()).is_ok() {
                let _ = buffer.send_sync_request(self.0);
            }
        });
        let _ = svc::close_handle(self.0);
    }
}

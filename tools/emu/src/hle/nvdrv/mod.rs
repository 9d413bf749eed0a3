//! The host's `nvdrv`, `nvdrv:a` and `nvdrv:s` (HLE): INvDrvServices as the client's
//! screen path uses it (screen-output.md §1c, §1g rows 18-22, 29-30).
//!
//! Commands (CMIF, type 4, plain sessions; ids from libnx `nv.c`, Eden
//! `nvdrv/nvdrv_interface.cpp`, Ryujinx `Services/Nv/INvDrvServices.cs`). Every command
//! answers IPC result 0 and a u32 `NvResult` in its raw data ([`ioctl::nv_result`]):
//! - 3 Initialize(u32 tmem_size) + 2 copy handles [process, transfer memory] -> nv_err.
//!   The service keeps a reference to the transfer memory until the session closes, as
//!   the real nvservices does (it works in that memory), so the client's range stays
//!   locked after it closes its own handle (screen-output.md §1c; mesosphere
//!   `KTransferMemory` lives while referenced). Eden ignores the handle and Ryujinx closes
//!   both at once: the memory comes back at once there. A second Initialize is a no-op
//!   success (Eden `NVDRV::Initialize`).
//! - 8 SetAruid(u64 aruid) + PID -> nv_err: recorded; both emulators only log it.
//! - 0 Open(A path, no NUL) -> (u32 fd, u32 nv_err): `/dev/nvmap`, `/dev/nvhost-ctrl`.
//! - 1 Ioctl(u32 fd, u32 request) + auto in buffer + auto out buffer -> nv_err.
//! - 2 Close(u32 fd) -> nv_err.
//! - Open, Ioctl and Close before Initialize: NotInitialized (0x3) (Eden
//!   `NVDRV::Open/Ioctl1/Close`, Ryujinx `EnsureInitialized`).
//!
//! A command or ioctl the bench does not model stops the run ([`HleReply::Unknown`] or a
//! stop report naming the request); a request the real sf framework refuses before the
//! command (a missing PID or copy handle) closes the session, as libstratosphere does.

pub mod ioctl;

use std::collections::BTreeMap;

use xcbuf_common::sm::ServiceName;

use self::ioctl::{IoctlStop, nv_result};
use super::{HleEnv, HleObject, HleReply, HleRequest, HleService};
use crate::cpu::Perm;
use crate::kernel::{KObjectRef, ProcessId};
use crate::memory::{MemoryState, attribute};

/// The service names: Application, LibraryApplet, system (libnx `nvInitialize` picks one
/// by applet type; screen-output.md §1c).
pub const SERVICE_NAME: &str = "nvdrv";
pub const SERVICE_NAME_APPLET: &str = "nvdrv:a";
pub const SERVICE_NAME_SYSTEM: &str = "nvdrv:s";
/// Sessions at once per name.
pub const MAX_SESSIONS: u32 = 0x20;

/// INvDrvServices command ids.
pub mod command {
    pub const OPEN: u32 = 0;
    pub const IOCTL: u32 = 1;
    pub const CLOSE: u32 = 2;
    pub const INITIALIZE: u32 = 3;
    pub const SET_ARUID: u32 = 8;
}

/// The device files the bench models.
pub const DEV_NVMAP: &str = "/dev/nvmap";
pub const DEV_NVHOST_CTRL: &str = "/dev/nvhost-ctrl";
/// Device files the real service has and the bench does not model (Ryujinx
/// `INvDrvServices._deviceFileRegistry`; the nvdisp ones are hardware-only): opening one
/// stops the run instead of answering FileOperationFailed as for an unknown name.
const REAL_DEVICES_NOT_MODELLED: [&str; 12] = [
    "/dev/nvhost-ctrl-gpu",
    "/dev/nvhost-as-gpu",
    "/dev/nvhost-gpu",
    "/dev/nvhost-nvdec",
    "/dev/nvhost-nvjpg",
    "/dev/nvhost-vic",
    "/dev/nvhost-msenc",
    "/dev/nvhost-display",
    "/dev/nvhost-dbg-gpu",
    "/dev/nvhost-prof-gpu",
    "/dev/nvdisp-disp0",
    "/dev/nvdisp-disp1",
];

/// nvdrv under one of its names.
pub struct NvdrvService {
    pub name: &'static str,
}

impl HleService for NvdrvService {
    fn name(&self) -> ServiceName {
        ServiceName::literal(self.name)
    }
    fn max_sessions(&self) -> u32 {
        MAX_SESSIONS
    }
    fn open(&mut self) -> Box<dyn HleObject> {
        Box::new(NvdrvSession::default())
    }
}

/// An opened device file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    NvMap,
    NvHostCtrl,
}

/// One INvDrvServices session.
#[derive(Debug, Default)]
pub struct NvdrvSession {
    /// Initialize's process (the nvmap owner): `Some` once initialized.
    pub owner: Option<ProcessId>,
    /// The transfer memory Initialize got, with the reference the session holds.
    pub transfer_memory: Option<KObjectRef>,
    pub transfer_memory_size: u32,
    /// SetAruid's value.
    pub aruid: Option<u64>,
    /// Open device files by fd.
    pub files: BTreeMap<u32, Device>,
    /// Next fd (from 1, as Eden's `Module::next_fd`).
    next_fd: u32,
}

fn reply_u32(v: u32) -> HleReply {
    HleReply::ok(v.to_le_bytes().to_vec())
}

impl HleObject for NvdrvSession {
    fn interface(&self) -> &'static str {
        "INvDrvServices"
    }

    fn handle(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        match request.command_id {
            command::INITIALIZE => self.initialize(request, env),
            command::SET_ARUID => {
                // Declared with the caller's process id (libnx sends it); libstratosphere
                // closes a session whose request lacks a declared PID
                // (`sf_impl_command_serialization.hpp` `PrepareForProcess`).
                if request.pid.is_none() {
                    return HleReply::Close;
                }
                self.aruid = request.payload_u64(0);
                reply_u32(nv_result::SUCCESS)
            }
            command::OPEN => self.open(request, env),
            command::IOCTL => self.ioctl(request, env),
            command::CLOSE => {
                if self.owner.is_none() {
                    return reply_u32(nv_result::NOT_INITIALIZED);
                }
                let fd = request.payload_u32(0).unwrap_or(u32::MAX);
                reply_u32(match self.files.remove(&fd) {
                    Some(_) => nv_result::SUCCESS,
                    // A negative fd: InvalidState (Eden `Module::Close`; Ryujinx:
                    // InvalidParameter 0x4); an fd never opened: NotImplemented (both).
                    None if (fd as i32) < 0 => nv_result::INVALID_STATE,
                    None => nv_result::NOT_IMPLEMENTED,
                })
            }
            _ => HleReply::Unknown,
        }
    }

    /// The session goes: the transfer-memory reference goes back (the memory is the
    /// client's again once its own handle is closed too) and the nvmap objects this
    /// process made through it go.
    fn closed(&mut self, k: &mut crate::kernel::Kernel, _s: crate::kernel::SessionId) {
        if let Some(tm) = self.transfer_memory.take() {
            k.release_object(tm);
        }
        if let Some(owner) = self.owner.take() {
            k.hle.shared.nvmap.remove_owned_by(owner);
        }
    }
}

impl NvdrvSession {
    /// 3 Initialize: raw {u32 size}, copy handles [process, transfer memory].
    fn initialize(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        // Two copy handles declared: a request without them fails the sf framework's
        // checks before the command (`PrepareForProcess`), which closes the session.
        let [process, tmem, ..] = request.copy_handles else { return HleReply::Close };
        if self.owner.is_some() {
            return reply_u32(nv_result::SUCCESS);
        }
        let (p, t) = (env.caller.process, env.caller.thread);
        let Some(KObjectRef::Process(owner)) = env.k.resolve(p, t, *process) else {
            // Eden binds the session to handle [0]'s process and Ryujinx takes its pid:
            // another object there is the bench's BadParameter.
            return reply_u32(nv_result::BAD_PARAMETER);
        };
        let Some(object @ KObjectRef::TransferMemory(_)) = env.k.resolve(p, t, *tmem) else {
            return reply_u32(nv_result::BAD_PARAMETER);
        };
        // Ryujinx closes both handles at once (`INvDrvServices.Initialize`): under its
        // profile the memory comes back as soon as the client closes its own handle.
        if env.k.options.kernel != crate::kernel::profile::KernelProfile::Ryujinx {
            env.k.retain_object(object);
            self.transfer_memory = Some(object);
        }
        self.transfer_memory_size = request.payload_u32(0).unwrap_or(0);
        self.owner = Some(owner);
        reply_u32(nv_result::SUCCESS)
    }

    /// 0 Open: the path from A[0] (Ryujinx reads only `SendBuff[0]`; Eden's `ReadBuffer`
    /// takes A, or X when A is empty), up to its first NUL.
    fn open(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        let answer = |fd: u32, err: u32| {
            let mut out = fd.to_le_bytes().to_vec();
            out.extend_from_slice(&err.to_le_bytes());
            HleReply::ok(out)
        };
        if self.owner.is_none() {
            // Eden answers fd 0 (Ryujinx -1) with NotInitialized.
            return answer(0, nv_result::NOT_INITIALIZED);
        }
        let bytes = match (request.a.first(), request.x.first()) {
            (Some(a), _) if a.size > 0 => env.read(a.address, a.size),
            (_, Some(x)) => env.read(x.address, x.size),
            (Some(a), None) => env.read(a.address, a.size),
            (None, None) => Ok(Vec::new()),
        };
        let Ok(bytes) = bytes else { return answer(0, nv_result::FILE_OPERATION_FAILED) };
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        let path = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let device = match path.as_str() {
            DEV_NVMAP => Device::NvMap,
            DEV_NVHOST_CTRL => Device::NvHostCtrl,
            other if REAL_DEVICES_NOT_MODELLED.contains(&other) => {
                let report = format!(
                    "nvdrv: Open(\"{other}\") from {}: a device the bench's nvdrv does not model",
                    env.caller.thread_name
                );
                env.k.hle.stop_run(report.clone());
                return HleReply::Defer { what: report };
            }
            // Unknown names: FileOperationFailed (Eden `Module::Open` -> INVALID_NVDRV_FD;
            // Ryujinx `Open`).
            _ => return answer(0, nv_result::FILE_OPERATION_FAILED),
        };
        self.next_fd = self.next_fd.max(1);
        let fd = self.next_fd;
        self.next_fd += 1;
        self.files.insert(fd, device);
        answer(fd, nv_result::SUCCESS)
    }

    /// 1 Ioctl: raw {u32 fd, u32 request}; the struct comes from the first non-empty of
    /// X[0] / A[0] and goes back into the first non-empty of B[0] / C[0] (the auto buffer
    /// pairs: Ryujinx `IpcMessage.GetBufferType0x21/0x22`, Eden `ReadBuffer` /
    /// `WriteBuffer`). Ryujinx's size checks first (`GetIoctlArgument`: an in struct larger
    /// than the in buffer, an out struct larger than the out buffer, or an out buffer
    /// smaller than the in buffer for an in/out request -> InvalidSize 0xA); then the fd
    /// (negative: InvalidState, Eden; never opened: NotImplemented, both).
    fn ioctl(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        let Some(owner) = self.owner else { return reply_u32(nv_result::NOT_INITIALIZED) };
        let fd = request.payload_u32(0).unwrap_or(u32::MAX);
        let number = request.payload_u32(4).unwrap_or(0);
        let (in_address, in_size) = match (request.x.first(), request.a.first()) {
            (Some(x), _) if x.size > 0 => (x.address, x.size),
            (_, Some(a)) => (a.address, a.size),
            (Some(x), None) => (x.address, x.size),
            (None, None) => (0, 0),
        };
        enum Out {
            B(usize),
            C,
            None,
        }
        let (out, out_size) = match (request.b.first(), request.c.first()) {
            (Some(b), _) if b.size > 0 => (Out::B(0), b.size),
            (_, Some(c)) => (Out::C, c.size),
            (Some(b), None) => (Out::B(0), b.size),
            (None, None) => (Out::None, 0),
        };
        let size = ioctl::request_size(number);
        let (is_in, is_out) = (ioctl::request_is_in(number), ioctl::request_is_out(number));
        if (is_out && size as u64 > out_size)
            || (is_in && size as u64 > in_size)
            || (is_in && is_out && out_size < in_size)
        {
            return reply_u32(nv_result::INVALID_SIZE);
        }
        let Some(&device) = self.files.get(&fd) else {
            return reply_u32(if (fd as i32) < 0 { nv_result::INVALID_STATE } else { nv_result::NOT_IMPLEMENTED });
        };
        let mut args = if is_in {
            match env.read(in_address, size as u64) {
                Ok(b) => b,
                Err(rc) => return HleReply::result(rc),
            }
        } else {
            vec![0; size]
        };
        args.resize(size, 0);
        let outcome = match device {
            Device::NvMap => {
                let k = &mut *env.k;
                let space = &k.processes[owner].space;
                let backing_ok = |address: u64, len: u64| match space.range_state(address, len) {
                    Some((MemoryState::Normal | MemoryState::CodeData, perm, attr)) => {
                        perm == Perm::RW && attr & attribute::LOCKED == 0
                    }
                    _ => false,
                };
                ioctl::nvmap(&mut k.hle.shared.nvmap, owner, number, args, &backing_ok)
            }
            Device::NvHostCtrl => ioctl::nvhost_ctrl(&env.k.hle.shared.syncpoints, number, args),
        };
        let done = match outcome {
            Ok(done) => done,
            Err(IoctlStop::Unknown) => {
                let report = format!(
                    "nvdrv: Ioctl {number:#010x} on {device:?} (fd {fd}) from {} is not modelled by the bench's nvdrv",
                    env.caller.thread_name
                );
                env.k.hle.stop_run(report.clone());
                return HleReply::Defer { what: report };
            }
            Err(IoctlStop::WaitForever { id, threshold }) => {
                return HleReply::Defer {
                    what: format!(
                        "nvhost-ctrl SYNCPT_WAIT on syncpoint {id} for {threshold} with no timeout (value {})",
                        env.k.hle.shared.syncpoints.value(id)
                    ),
                };
            }
        };
        if is_out {
            let written = match out {
                Out::B(i) => env.write_b(request, i, &done.args),
                Out::C => {
                    env.write_c(0, done.args.clone());
                    Ok(())
                }
                Out::None => Ok(()),
            };
            if let Err(rc) = written {
                return HleReply::result(rc);
            }
        }
        reply_u32(done.nv_err)
    }
}

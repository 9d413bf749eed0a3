//! nvdrv with its transfer memory, and the nvmap buffer behind the framebuffers
//! (screen-output.md §1c; §1g rows 18-22, 29-30). Order as libnx `nvInitialize` (transfer
//! memory, Initialize, the tmem handle closed, SetAruid when the ARUID is not 0),
//! `nvMapInit` (Open "/dev/nvmap"), `nvMapCreate` (CREATE, ALLOC, GET_ID), `nvMapClose`
//! (FREE), `nvExit` (Close, the session, then `tmemWaitForPermission`).

use rt::memory::{PageBuffer, TransferMemory};
use rt::svc::{CURRENT_PROCESS, perm};
use xcbuf_common::applet::ProxyKind;
use xcbuf_common::nv::{
    FRAMEBUFFER_ALIGN, IoctlArgs, KIND_PITCH, NV_SUCCESS, NVDRV, NVDRV_A, NVHOST_CTRL_PATH, NVHOST_CTRL_SYNCPT_WAIT,
    NVMAP_ALLOC, NVMAP_CREATE, NVMAP_FLAGS_CACHEABLE, NVMAP_FREE, NVMAP_GET_ID, NVMAP_PATH, NvmapAlloc, NvmapCreate,
    NvmapFree, NvmapGetId, SyncptWait, TIMEOUT_FOREVER, TRANSFER_MEMORY_SIZE, command,
};
use xcbuf_rt as rt;

use super::{Cause, Step, StepError, StepResult};
use crate::service::{Request, Service};

/// How long the client waits for nvdrv to let go of the transfer memory after its session
/// closed (libnx waits without a bound; hardware returns it at once after the close).
const TMEM_WAIT_NS: u64 = 2_000_000_000;

/// An nvmap buffer: its handle and id.
#[derive(Clone, Copy, Debug)]
pub struct NvBuffer {
    pub handle: u32,
    pub id: u32,
}

/// An open nvdrv session with `/dev/nvmap`.
pub struct Nvdrv {
    service: Service,
    nvmap: u32,
    ctrl: Option<u32>,
    tmem: TransferMemory,
}

impl Nvdrv {
    /// Rows 18-22 up to Open("/dev/nvmap").
    pub fn open(kind: ProxyKind, aruid: u64) -> StepResult<Nvdrv> {
        let mut tmem = TransferMemory::create(TRANSFER_MEMORY_SIZE, perm::NONE).step("svcCreateTransferMemory")?;
        let name = match kind {
            ProxyKind::Application => NVDRV,
            ProxyKind::LibraryApplet => NVDRV_A,
        };
        let service = Service::get(name).step("nvdrv GetService")?;
        let size = (TRANSFER_MEMORY_SIZE as u32).to_le_bytes();
        let handles = [CURRENT_PROCESS, tmem.handle().unwrap_or(0)];
        let init = Request { copy_handles: &handles, ..Request::new(command::INITIALIZE, &size).out(4) };
        let nv = service.call(init).and_then(|r| r.u32(0)).step("nvdrv Initialize")?;
        // libnx closes its handle right after Initialize; nvdrv keeps the object.
        tmem.close_handle();
        nv_ok("nvdrv Initialize", nv)?;
        if aruid != 0 {
            let aruid = aruid.to_le_bytes();
            let set = Request::new(command::SET_ARUID, &aruid).with_pid().out(4);
            let nv = service.call(set).and_then(|r| r.u32(0)).step("nvdrv SetAruid")?;
            nv_ok("nvdrv SetAruid", nv)?;
        }
        let nvmap = open_device(&service, NVMAP_PATH, "nvdrv Open /dev/nvmap")?;
        Ok(Nvdrv { service, nvmap, ctrl: None, tmem })
    }

    /// Ioctl(fd, request) with `data` as the auto in and auto out buffer.
    fn ioctl(&self, fd: u32, request: u32, data: &mut [u8], step: &'static str) -> StepResult<()> {
        let args = IoctlArgs { fd, request }.encode();
        let input = [0u8; 0x20];
        let n = data.len().min(input.len());
        let mut input = input;
        if let (Some(to), Some(from)) = (input.get_mut(..n), data.get(..n)) {
            to.copy_from_slice(from);
        }
        let req = Request {
            send: input.get(..n),
            receive: Some(data),
            auto: true,
            ..Request::new(command::IOCTL, &args).out(4)
        };
        let nv = self.service.call(req).and_then(|r| r.u32(0)).step(step)?;
        nv_ok(step, nv)
    }

    /// Row 22: CREATE (`memory`'s size), ALLOC (cacheable, 0x20000-aligned, Pitch, at
    /// `memory`), GET_ID (libnx `nvMapCreate`).
    pub fn create_buffer(&self, memory: &PageBuffer) -> StepResult<NvBuffer> {
        let size =
            u32::try_from(memory.len()).map_err(|_| StepError { step: "nvmap CREATE", cause: Cause::Reply("size") })?;
        let mut create = NvmapCreate { size, handle: 0 }.encode();
        self.ioctl(self.nvmap, NVMAP_CREATE, &mut create, "nvmap CREATE")?;
        let handle = NvmapCreate::decode(&create).handle;
        let mut alloc = NvmapAlloc {
            handle,
            heapmask: 0,
            flags: NVMAP_FLAGS_CACHEABLE,
            align: FRAMEBUFFER_ALIGN,
            kind: KIND_PITCH,
            address: memory.address() as u64,
        }
        .encode();
        self.ioctl(self.nvmap, NVMAP_ALLOC, &mut alloc, "nvmap ALLOC")?;
        let mut get_id = NvmapGetId { id: 0, handle }.encode();
        self.ioctl(self.nvmap, NVMAP_GET_ID, &mut get_id, "nvmap GET_ID")?;
        Ok(NvBuffer { handle, id: NvmapGetId::decode(&get_id).id })
    }

    /// Waits for syncpoint `id` to reach `value` with no timeout (`/dev/nvhost-ctrl`
    /// SYNCPT_WAIT 0xC00C0016, which screen-output.md §1f names for updating the page;
    /// opened on first use). libnx's `nvFenceWait` waits with EVENT_WAIT_ASYNC 0x1E instead,
    /// and Eden does not implement 0x16 (`nvhost_ctrl.cpp` `Ioctl1`): this runs only when a
    /// release fence really has fences, which neither emulator gives (unverified on a
    /// console, see docs/kernel-model.md).
    pub fn wait_syncpoint(&mut self, id: u32, value: u32) -> StepResult<()> {
        let ctrl = match self.ctrl {
            Some(fd) => fd,
            None => {
                let fd = open_device(&self.service, NVHOST_CTRL_PATH, "nvdrv Open /dev/nvhost-ctrl")?;
                self.ctrl = Some(fd);
                fd
            }
        };
        let mut wait = SyncptWait { id, threshold: value, timeout: TIMEOUT_FOREVER }.encode();
        self.ioctl(ctrl, NVHOST_CTRL_SYNCPT_WAIT, &mut wait, "nvhost-ctrl SYNCPT_WAIT")
    }

    /// Row 29 for one buffer: FREE.
    pub fn free_buffer(&self, buffer: NvBuffer) -> StepResult<()> {
        let mut free = NvmapFree { handle: buffer.handle, ..NvmapFree::default() }.encode();
        self.ioctl(self.nvmap, NVMAP_FREE, &mut free, "nvmap FREE")
    }

    /// Rows 29-30: Close each fd, close the session, then wait until svcQueryMemory shows
    /// the transfer memory RW again (libnx `tmemWaitForPermission`). Every step runs; the
    /// first failure is returned.
    pub fn close(self) -> StepResult<()> {
        let Nvdrv { service, nvmap, ctrl, mut tmem } = self;
        let mut first = Ok(());
        for fd in core::iter::once(nvmap).chain(ctrl) {
            let r = service.call(Request::new(command::CLOSE, &fd.to_le_bytes()).out(4));
            first = first.and(r.and_then(|r| r.u32(0)).step("nvdrv Close").and_then(|nv| nv_ok("nvdrv Close", nv)));
        }
        drop(service);
        first.and(tmem.wait_returned(TMEM_WAIT_NS).map(|_| ()).step("transfer memory back to RW"))
    }
}

/// nvdrv Open(`path` without NUL) -> fd.
fn open_device(service: &Service, path: &str, step: &'static str) -> StepResult<u32> {
    let req = Request { send: Some(path.as_bytes()), ..Request::new(command::OPEN, &[]).out(8) };
    let r = service.call(req).step(step)?;
    let (fd, nv) = (r.u32(0).step(step)?, r.u32(4).step(step)?);
    nv_ok(step, nv)?;
    Ok(fd)
}

/// An nv error other than 0 fails the step.
fn nv_ok(step: &'static str, nv: u32) -> StepResult<()> {
    if nv == NV_SUCCESS { Ok(()) } else { Err(StepError { step, cause: Cause::NvError(nv) }) }
}

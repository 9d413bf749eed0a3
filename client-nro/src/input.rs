//! The buttons: hid's shared memory, read without IPC per sample (input.md §0, §2, §3, §5,
//! §9; screen-output.md §1g rows 11, 26, 27, 32). Order as libnx `hidInitialize` (hid 0
//! CreateAppletResource, IAppletResource 0 GetSharedMemoryHandle, svcMapSharedMemory R)
//! and `padConfigureInput(1, NpadStandard)` (109 ActivateNpadWithRevision(5), 102
//! SetSupportedNpadIdType([No1, Handheld]) with an X buffer, 100
//! SetSupportedNpadStyleSet(0x1F)), every command with the ARUID and the PID; `hidExit`
//! to close (unmap, close the handle, close IAppletResource, close hid).

use rt::memory::SharedMemory;
use rt::svc::{self, Handle, perm};
use xcbuf_common::hid::{Buttons, HidMemory, Pad, SHARED_MEMORY_SIZE, cmd};
use xcbuf_common::sm::ServiceName;
use xcbuf_rt as rt;

use crate::screen::{Step, StepResult};
use crate::service::{Request, Service};

/// The service (not a domain).
const HID: ServiceName = ServiceName::literal("hid");
/// FullKey | Handheld | JoyDual | JoyLeft | JoyRight (`HidNpadStyleSet_NpadStandard`).
const STYLE_SET: u32 = xcbuf_common::hid::style::STANDARD;
/// Time between two reads of the memory (input.md §5: 10 to 16 ms).
const POLL_NS: i64 = 16_000_000;

/// The mapping as `common::hid` reads it: acquire loads (rt's `SharedMemory`).
struct Mapped<'a>(&'a SharedMemory);

impl HidMemory for Mapped<'_> {
    fn load_u64(&self, offset: usize) -> Option<u64> {
        self.0.read_u64(offset)
    }
    fn load_u32(&self, offset: usize) -> Option<u32> {
        self.0.read_u32(offset)
    }
}

/// The shared memory's handle, closed on drop (input.md §9 step 2).
struct SharedMemoryHandle(Handle);

impl Drop for SharedMemoryHandle {
    fn drop(&mut self) {
        let _ = svc::close_handle(self.0);
    }
}

/// The mapped input memory and the sessions behind it; on drop (a failed step) they go in
/// `hidExit`'s order: unmap, the handle, IAppletResource, hid.
pub struct Input {
    memory: Option<SharedMemory>,
    /// Held for its drop (closing order: declaration order).
    _shared_memory: SharedMemoryHandle,
    _resource: Service,
    hid: Service,
    aruid: u64,
}

impl Input {
    /// Row 11.
    pub fn open(aruid: u64) -> StepResult<Input> {
        let hid = Service::get(HID).step("hid GetService")?;
        let args = aruid.to_le_bytes();
        let req = Request::new(cmd::CREATE_APPLET_RESOURCE, &args).with_pid();
        let resource = hid.open(req).step("hid CreateAppletResource")?;
        let shared_memory = resource
            .call(Request::new(cmd::GET_SHARED_MEMORY_HANDLE, &[]))
            .and_then(|r| r.copy_handle(0))
            .step("hid GetSharedMemoryHandle")?;
        let mut input =
            Input { memory: None, _shared_memory: SharedMemoryHandle(shared_memory), _resource: resource, hid, aruid };
        input.memory = Some(SharedMemory::map(shared_memory, SHARED_MEMORY_SIZE, perm::R).step("svcMapSharedMemory")?);
        Ok(input)
    }

    /// Row 26: 109, 102, 100.
    pub fn configure(&self) -> StepResult<()> {
        let activate = cmd::word_and_aruid(cmd::NPAD_REVISION, self.aruid);
        let req = Request::new(cmd::ACTIVATE_NPAD_WITH_REVISION, &activate).with_pid();
        self.hid.call(req).step("hid ActivateNpadWithRevision")?;
        let ids = cmd::id_list(cmd::SUPPORTED_IDS);
        let aruid = self.aruid.to_le_bytes();
        let req = Request { pointer: Some(&ids), ..Request::new(cmd::SET_SUPPORTED_NPAD_ID_TYPE, &aruid).with_pid() };
        self.hid.call(req).step("hid SetSupportedNpadIdType")?;
        let styles = cmd::word_and_aruid(STYLE_SET, self.aruid);
        let req = Request::new(cmd::SET_SUPPORTED_NPAD_STYLE_SET, &styles).with_pid();
        self.hid.call(req).step("hid SetSupportedNpadStyleSet")?;
        Ok(())
    }

    /// Row 27: reads every 16 ms until + or B is newly pressed (the first read only
    /// records the state, so a key still held from hbmenu does not count).
    pub fn wait_for_exit(&self) {
        let Some(memory) = &self.memory else { return };
        let mut pad = Pad::new();
        loop {
            if pad.poll(&Mapped(memory)).any(Buttons::EXIT) {
                return;
            }
            svc::sleep_thread(POLL_NS);
        }
    }

    /// Row 32: unmap, close the shared-memory handle, IAppletResource, hid (the sessions
    /// close on drop, IAppletResource first).
    pub fn close(mut self) -> StepResult<()> {
        let unmapped = self.memory.take().map_or(Ok(()), SharedMemory::unmap).step("svcUnmapSharedMemory");
        // The fields go in their order: the handle, IAppletResource, hid.
        drop(self);
        unmapped
    }
}

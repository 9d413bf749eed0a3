//! The buttons: hid's shared memory, read without IPC per sample (input.md §0, §2, §3, §5,
//! §9; screen-output.md §1g rows 11, 26, 27, 32). Order as libnx `hidInitialize` (hid 0
//! CreateAppletResource, IAppletResource 0 GetSharedMemoryHandle, svcMapSharedMemory R)
//! and `padConfigureInput(1, NpadStandard)` (109 ActivateNpadWithRevision(5), 102
//! SetSupportedNpadIdType([No1, Handheld]) with an X buffer, 100
//! SetSupportedNpadStyleSet(0x1F)), every command with the ARUID and the PID; `hidExit`
//! to close (unmap, close the handle, close IAppletResource, close hid).

use rt::memory::SharedMemory;
use rt::svc::{self, Handle, perm};
use xcbuf_common::sm::ServiceName;
use xcbuf_rt as rt;

use crate::buttons::{self, NPAD_ID_HANDHELD, NPAD_ID_NO1, SHARED_MEMORY_SIZE};
use crate::screen::{Step, StepResult};
use crate::service::{Request, Service};

/// The service (not a domain).
const HID: ServiceName = ServiceName::literal("hid");

/// hid commands (libnx `hid.c`; Eden `hid_server.cpp`; Ryujinx `IHidServer.cs`).
mod command {
    /// raw u64 ARUID + PID -> IAppletResource (move handle).
    pub const CREATE_APPLET_RESOURCE: u32 = 0;
    /// raw u32 style set, u32 pad, u64 ARUID + PID.
    pub const SET_SUPPORTED_NPAD_STYLE_SET: u32 = 100;
    /// raw u64 ARUID + PID + X (u32 ids).
    pub const SET_SUPPORTED_NPAD_ID_TYPE: u32 = 102;
    /// raw u32 revision, u32 pad, u64 ARUID + PID.
    pub const ACTIVATE_NPAD_WITH_REVISION: u32 = 109;
    /// IAppletResource: -> copy handle (the shared memory).
    pub const GET_SHARED_MEMORY_HANDLE: u32 = 0;
}

/// The revision libnx sends on 18.0.0+ (input.md §2 "Values").
const NPAD_REVISION: u32 = 5;
/// No1 and Handheld (what `padConfigureInput(1, NpadStandard)` sends).
const NPAD_IDS: [u32; 2] = [NPAD_ID_NO1, NPAD_ID_HANDHELD];
/// FullKey | Handheld | JoyDual | JoyLeft | JoyRight (`HidNpadStyleSet_NpadStandard`).
const STYLE_SET: u32 = 0x1F;
/// Time between two reads of the memory (input.md §5 "Polling": 10-16 ms).
const POLL_NS: i64 = 16_000_000;

/// The mapped input memory and the sessions behind it.
pub struct Input {
    memory: Option<SharedMemory>,
    shared_memory: Handle,
    resource: Service,
    hid: Service,
    aruid: u64,
}

impl Input {
    /// Row 11.
    pub fn open(aruid: u64) -> StepResult<Input> {
        let hid = Service::get(HID).step("hid GetService")?;
        let args = aruid.to_le_bytes();
        let req = Request::new(command::CREATE_APPLET_RESOURCE, &args).with_pid();
        let resource = hid.open(req).step("hid CreateAppletResource")?;
        let shared_memory = resource
            .call(Request::new(command::GET_SHARED_MEMORY_HANDLE, &[]))
            .and_then(|r| r.copy_handle(0))
            .step("hid GetSharedMemoryHandle")?;
        let mut input = Input { memory: None, shared_memory, resource, hid, aruid };
        input.memory = Some(SharedMemory::map(shared_memory, SHARED_MEMORY_SIZE, perm::R).step("svcMapSharedMemory")?);
        Ok(input)
    }

    /// u32 value, u32 pad, u64 ARUID.
    fn value_and_aruid(&self, value: u32) -> [u8; 16] {
        let mut args = [0u8; 16];
        let (v, a) = args.split_at_mut(8);
        v.copy_from_slice(&u64::from(value).to_le_bytes());
        a.copy_from_slice(&self.aruid.to_le_bytes());
        args
    }

    /// Row 26: 109, 102, 100.
    pub fn configure(&self) -> StepResult<()> {
        let activate = self.value_and_aruid(NPAD_REVISION);
        let req = Request::new(command::ACTIVATE_NPAD_WITH_REVISION, &activate).with_pid();
        self.hid.call(req).step("hid ActivateNpadWithRevision")?;
        let mut ids = [0u8; 8];
        for (chunk, id) in ids.chunks_exact_mut(4).zip(NPAD_IDS) {
            chunk.copy_from_slice(&id.to_le_bytes());
        }
        let aruid = self.aruid.to_le_bytes();
        let req =
            Request { pointer: Some(&ids), ..Request::new(command::SET_SUPPORTED_NPAD_ID_TYPE, &aruid).with_pid() };
        self.hid.call(req).step("hid SetSupportedNpadIdType")?;
        let styles = self.value_and_aruid(STYLE_SET);
        let req = Request::new(command::SET_SUPPORTED_NPAD_STYLE_SET, &styles).with_pid();
        self.hid.call(req).step("hid SetSupportedNpadStyleSet")?;
        Ok(())
    }

    /// The buttons held now: handheld and player 1, connected samples only (input.md §5).
    fn buttons(&self) -> u64 {
        match &self.memory {
            Some(m) => buttons::held(&|offset| m.read_u64(offset).unwrap_or(0)),
            None => 0,
        }
    }

    /// Row 27: reads every 16 ms until + or B is newly pressed (the first read is the
    /// baseline, so a key still held from hbmenu does not count).
    pub fn wait_for_exit(&self) {
        let mut previous = self.buttons();
        loop {
            svc::sleep_thread(POLL_NS);
            let current = self.buttons();
            if buttons::exit_pressed(previous, current) {
                return;
            }
            previous = current;
        }
    }

    /// Row 32: unmap, close the shared-memory handle, IAppletResource, hid (the sessions
    /// close on drop, IAppletResource first).
    pub fn close(mut self) -> StepResult<()> {
        let unmapped = self.memory.take().map_or(Ok(()), SharedMemory::unmap).step("svcUnmapSharedMemory");
        let _ = svc::close_handle(self.shared_memory);
        let Input { resource, hid, .. } = self;
        drop(resource);
        drop(hid);
        unmapped
    }
}

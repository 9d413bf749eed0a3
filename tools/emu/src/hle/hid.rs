//! The host's `hid` (HLE): IHidServer and IAppletResource as a program reading the
//! buttons uses them (input.md §0-§2, §7, §10), the shared memory they hand out, and the
//! writer that fills it with samples as bench time goes by (input.md §4-§5), driven by the
//! scripted input of `--press` (or by one default press of +).
//!
//! Commands (CMIF, type 4, plain sessions; hid and IAppletResource are not domains:
//! libnx `hid.c` `NX_SERVICE_ASSUME_NON_DOMAIN`):
//! - IHidServer 0 CreateAppletResource(u64 aruid) + PID -> IAppletResource (move handle).
//! - IAppletResource 0 GetSharedMemoryHandle -> copy handle of a 0x40000-byte
//!   KSharedMemory the client maps with permission R.
//! - 103 ActivateNpad(u64 aruid), 109 ActivateNpadWithRevision(u32 revision, u32 pad, u64
//!   aruid), 102 SetSupportedNpadIdType(u64 aruid) + X[0] u32 ids, 100
//!   SetSupportedNpadStyleSet(u32 style, u32 pad, u64 aruid), 101 GetSupportedNpadStyleSet
//!   (u64 aruid) -> u32, 104 DeactivateNpad(u64 aruid); all + PID.
//!
//! The ARUID rule of the real sf framework (input.md §1; Atmosphère
//! `sf_impl_command_serialization.hpp`: `PrepareForProcess` wants the PID flag exactly
//! when the command declares a `ClientAppletResourceUserId`, `MarshalProcessId` wants the
//! raw u64 to be 0 or the caller's process id): a request breaking either is refused
//! before the command and the session is closed (the client sees 0xf601). The state is
//! then kept per caller process id, as Eden does (`cmif_serialization.h`: the PID
//! descriptor is the ARUID).

use std::collections::BTreeMap;

use xcbuf_common::result::ResultCode;
use xcbuf_common::sm::ServiceName;

use super::{HleEnv, HleObject, HleReply, HleRequest, HleService, Reply};
use crate::cpu::Perm;
use crate::kernel::{KObjectRef, Kernel};

/// The service name.
pub const SERVICE_NAME: &str = "hid";
/// Sessions at once.
pub const MAX_SESSIONS: u32 = 0x20;
/// The shared memory's size (libnx `hid.c` `_hidInitialize`; Eden
/// `shared_memory_holder.cpp`; Ryujinx `Horizon.cs`).
pub const SHARED_MEMORY_SIZE: u64 = 0x40000;

/// IHidServer command ids (libnx `hid.c`; Eden `hid_server.cpp`; Ryujinx `IHidServer.cs`).
pub mod command {
    pub const CREATE_APPLET_RESOURCE: u32 = 0;
    pub const SET_SUPPORTED_NPAD_STYLE_SET: u32 = 100;
    pub const GET_SUPPORTED_NPAD_STYLE_SET: u32 = 101;
    pub const SET_SUPPORTED_NPAD_ID_TYPE: u32 = 102;
    pub const ACTIVATE_NPAD: u32 = 103;
    pub const DEACTIVATE_NPAD: u32 = 104;
    pub const ACTIVATE_NPAD_WITH_REVISION: u32 = 109;
    /// IAppletResource 0.
    pub const GET_SHARED_MEMORY_HANDLE: u32 = 0;
}

/// hid results (module 202; Eden `hid_core/hid_result.h`).
pub mod results {
    use xcbuf_common::result::ResultCode;
    /// 0x58cca: SetSupportedNpadStyleSet for an ARUID hid does not know.
    pub const NPAD_NOT_CONNECTED: ResultCode = ResultCode::new(202, 710);
    /// 0x596ca: more than 10 ids in SetSupportedNpadIdType.
    pub const INVALID_ARRAY_SIZE: ResultCode = ResultCode::new(202, 715);
}

/// Offsets in the 0x40000-byte shared memory (input.md §4; libnx `hid.h` `HidSharedMemory`,
/// Eden `shared_memory_format.h`, Ryujinx `SharedMemory.cs`).
pub mod layout {
    /// The Npad array: 10 entries of 0x5000.
    pub const NPAD: usize = 0x9A00;
    pub const NPAD_ENTRY_SIZE: usize = 0x5000;
    pub const NPAD_ENTRIES: usize = 10;
    /// In an entry (`NpadInternalState`).
    pub const STYLE_SET: usize = 0x0;
    pub const JOY_ASSIGNMENT_MODE: usize = 0x4;
    pub const FULL_KEY_COLOR: usize = 0x8;
    pub const JOYCON_COLOR: usize = 0x14;
    pub const FULL_KEY_LIFO: usize = 0x28;
    pub const HANDHELD_LIFO: usize = 0x378;
    pub const JOY_DUAL_LIFO: usize = 0x6C8;
    pub const JOY_LEFT_LIFO: usize = 0xA18;
    pub const JOY_RIGHT_LIFO: usize = 0xD68;
    pub const PALMA_LIFO: usize = 0x10B8;
    pub const SYSTEM_EXT_LIFO: usize = 0x1408;
    /// The six standard button lifos (written with empty samples when unused, Ryujinx
    /// `NpadDevices.UpdateUnusedInputIfNotEqual`).
    pub const STANDARD_LIFOS: [usize; 6] =
        [FULL_KEY_LIFO, HANDHELD_LIFO, JOY_DUAL_LIFO, JOY_LEFT_LIFO, JOY_RIGHT_LIFO, PALMA_LIFO];
    /// Lifo header: 0x00 unused, 0x08 buffer_count, 0x10 tail, 0x18 count; then 17
    /// entries of 0x30 from 0x20.
    pub const LIFO_BUFFER_COUNT: usize = 0x08;
    pub const LIFO_TAIL: usize = 0x10;
    pub const LIFO_COUNT: usize = 0x18;
    pub const LIFO_STORAGE: usize = 0x20;
    pub const LIFO_ENTRY_SIZE: usize = 0x30;
    /// Entries per lifo (`buffer_count`; Eden and Ryujinx `MaxEntries` 17).
    pub const LIFO_ENTRIES: u64 = 17;
    /// The most `count` reaches (both emulators: 16).
    pub const LIFO_COUNT_MAX: u64 = 16;
    /// The entry offset of an npad entry index.
    pub const fn entry(index: usize) -> usize {
        NPAD + NPAD_ENTRY_SIZE * index
    }
}

/// Npad ids and their entries (input.md §4; libnx `_hidGetNpadInternalState`).
pub const NPAD_ID_NO1: u32 = 0;
pub const NPAD_ID_HANDHELD: u32 = 0x20;
/// Style bits (libnx `HidNpadStyleTag`).
pub const STYLE_FULL_KEY: u32 = 1 << 0;
pub const STYLE_HANDHELD: u32 = 1 << 1;
/// Attribute bits (libnx `HidNpadAttribute`): IsConnected, IsWired.
pub const ATTRIBUTE_CONNECTED: u32 = 1 << 0;
pub const ATTRIBUTE_WIRED: u32 = 1 << 1;
/// `ColorAttribute::NoController` (Eden `npad.cpp` `Activate` prefill).
pub const COLOR_NO_CONTROLLER: u32 = 2;

/// One sample every millisecond of bench time (Eden `resource_manager.cpp`
/// `npad_update_ns`).
pub const SAMPLE_PERIOD_NS: u64 = 1_000_000;
/// How long a scripted press is held: 100 ms = 100 samples, so a client polling every
/// 10-16 ms (input.md §5) sees it in several polls.
pub const PRESS_HOLD_NS: u64 = 100_000_000;
/// Default mode: how long the client must have sent no IPC request (sleeping between
/// reads of the shared memory) before it counts as waiting for input.
pub const INPUT_WAIT_QUIET_NS: u64 = 50_000_000;
/// Default mode: when the client is still running this long after a default press was
/// released (it missed it, or was not polling yet), + is pressed again.
pub const DEFAULT_REPRESS_NS: u64 = 500_000_000;

/// The controllers the bench's console has: the handheld (entry 8, handheld lifo) and a
/// Pro Controller as player 1 (entry 0, full-key lifo), both wired (Ryujinx
/// `NpadDevices.UpdateInput` attributes: IsConnected | IsWired for Handheld and FullKey).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Controller {
    pub npad_id: u32,
    pub entry: usize,
    pub style: u32,
    pub lifo: usize,
    pub attributes: u32,
}

pub const HANDHELD: Controller = Controller {
    npad_id: NPAD_ID_HANDHELD,
    entry: 8,
    style: STYLE_HANDHELD,
    lifo: layout::HANDHELD_LIFO,
    attributes: ATTRIBUTE_CONNECTED | ATTRIBUTE_WIRED,
};
pub const NO1_PRO: Controller = Controller {
    npad_id: NPAD_ID_NO1,
    entry: 0,
    style: STYLE_FULL_KEY,
    lifo: layout::FULL_KEY_LIFO,
    attributes: ATTRIBUTE_CONNECTED | ATTRIBUTE_WIRED,
};
pub const CONTROLLERS: [Controller; 2] = [HANDHELD, NO1_PRO];

/// Button names for `--press` and their bits (libnx `HidNpadButton`, input.md §4).
pub const BUTTONS: [(&str, u64); 16] = [
    ("a", 1 << 0),
    ("b", 1 << 1),
    ("x", 1 << 2),
    ("y", 1 << 3),
    ("lstick", 1 << 4),
    ("rstick", 1 << 5),
    ("l", 1 << 6),
    ("r", 1 << 7),
    ("zl", 1 << 8),
    ("zr", 1 << 9),
    ("plus", 1 << 10),
    ("minus", 1 << 11),
    ("left", 1 << 12),
    ("up", 1 << 13),
    ("right", 1 << 14),
    ("down", 1 << 15),
];
pub const BUTTON_PLUS: u64 = 1 << 10;

/// One scripted press: `buttons` held on every controller from `at_ns` for `hold_ns` of
/// bench time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Press {
    pub buttons: u64,
    pub at_ns: u64,
    pub hold_ns: u64,
}

impl Press {
    fn held_at(&self, now: u64) -> bool {
        now >= self.at_ns && now < self.at_ns.saturating_add(self.hold_ns)
    }
}

impl std::str::FromStr for Press {
    type Err = String;
    /// `<button>@<ms>` (bench milliseconds), e.g. `plus@500`; buttons joined with `+`
    /// (`a+b@100`) are pressed together.
    fn from_str(s: &str) -> Result<Press, String> {
        let (names, ms) = s.split_once('@').ok_or_else(|| format!("--press {s:?}: expected <button>@<ms>"))?;
        let ms: u64 = ms.parse().map_err(|e| format!("--press {s:?}: {e}"))?;
        let mut buttons = 0;
        for name in names.split('+') {
            let bit = BUTTONS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, b)| *b).ok_or_else(|| {
                let known: Vec<&str> = BUTTONS.iter().map(|(n, _)| *n).collect();
                format!("--press {s:?}: unknown button {name:?} (known: {})", known.join(", "))
            })?;
            buttons |= bit;
        }
        Ok(Press { buttons, at_ns: ms.saturating_mul(1_000_000), hold_ns: PRESS_HOLD_NS })
    }
}

/// The scripted input of a run.
#[derive(Debug, Clone, Default)]
pub struct InputScript {
    /// `--press` presses.
    pub presses: Vec<Press>,
    /// No `--press`: + is pressed each time the client waits for input (see
    /// [`on_idle`]).
    pub default_press: bool,
}

impl InputScript {
    /// The script of `--press` arguments; none: the default press.
    pub fn new(presses: Vec<Press>) -> InputScript {
        InputScript { default_press: presses.is_empty(), presses }
    }

    /// Buttons held at bench time `now`.
    pub fn buttons_at(&self, now: u64) -> u64 {
        self.presses.iter().filter(|p| p.held_at(now)).fold(0, |b, p| b | p.buttons)
    }
}

/// One ARUID's input state (hid keeps one per applet: Eden `AppletResource`).
#[derive(Debug, Clone)]
pub struct AppletInput {
    /// The KSharedMemory (`Kernel::shared_memories`) hid writes for it.
    pub shared_memory: usize,
    /// IAppletResource objects alive for it.
    pub resources: u32,
    /// 103/109 done; the revision 109 gave.
    pub activated: bool,
    pub revision: Option<u32>,
    /// 100's style set (`None` until set: Eden writes nothing before).
    pub style_set: Option<u32>,
    /// 102's ids (default: No1-No8 and Handheld, Ryujinx's default list).
    pub npad_ids: Vec<u32>,
    /// The style each npad entry shows now (0: none).
    pub entry_styles: [u32; layout::NPAD_ENTRIES],
    /// Bench time of the last sample period written.
    pub last_sample_ns: Option<u64>,
}

impl AppletInput {
    fn new(shared_memory: usize) -> AppletInput {
        AppletInput {
            shared_memory,
            resources: 0,
            activated: false,
            revision: None,
            style_set: None,
            npad_ids: vec![0, 1, 2, 3, 4, 5, 6, 7, NPAD_ID_HANDHELD],
            entry_styles: [0; layout::NPAD_ENTRIES],
            last_sample_ns: None,
        }
    }

    /// Samples are written once the npad is activated and a style set is defined
    /// (input.md §0 rows 5 and 7: Eden writes nothing before either).
    pub fn configured(&self) -> bool {
        self.activated && self.style_set.is_some()
    }

    fn controller_connected(&self, c: &Controller) -> bool {
        self.style_set.is_some_and(|s| s & c.style != 0) && self.npad_ids.contains(&c.npad_id)
    }
}

/// hid's state, shared by its sessions and the writer (`HleShared::hid`).
#[derive(Debug, Clone, Default)]
pub struct HidState {
    /// Per ARUID (the caller's process id).
    pub applets: BTreeMap<u64, AppletInput>,
    pub script: InputScript,
    /// Default mode: when the last default press was released.
    pub default_released_ns: Option<u64>,
    /// Default mode: the IPC requests counted at the last idle moment, and since when
    /// that count has not moved.
    pub requests_seen: Option<u64>,
    pub quiet_since_ns: u64,
}

/// hid as an HLE service.
pub struct HidService;

impl HleService for HidService {
    fn name(&self) -> ServiceName {
        ServiceName::literal(SERVICE_NAME)
    }
    fn max_sessions(&self) -> u32 {
        MAX_SESSIONS
    }
    fn open(&mut self) -> Box<dyn HleObject> {
        Box::new(HidServer)
    }
}

/// IHidServer.
pub struct HidServer;

/// IAppletResource of one ARUID.
pub struct AppletResource {
    pub aruid: u64,
}

/// The sf framework's ClientAppletResourceUserId rule: the PID flag present, the raw u64
/// (at `offset` of the payload) 0 or the caller's pid. `None`: refused (the session
/// closes).
fn client_aruid(request: &HleRequest<'_>, offset: usize) -> Option<u64> {
    // The PID slot: the kernel writes the sender's process id there (the HLE reads the
    // client's own buffer, so the caller's pid is taken from the kernel instead).
    request.pid?;
    let pid = request.caller.pid;
    let raw = request.payload_u64(offset)?;
    (raw == 0 || raw == pid).then_some(pid)
}

impl HleObject for HidServer {
    fn interface(&self) -> &'static str {
        "IHidServer"
    }

    fn handle(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        // Where each command's u64 ARUID sits in the raw data.
        let aruid_offset = match request.command_id {
            command::CREATE_APPLET_RESOURCE
            | command::GET_SUPPORTED_NPAD_STYLE_SET
            | command::SET_SUPPORTED_NPAD_ID_TYPE
            | command::ACTIVATE_NPAD
            | command::DEACTIVATE_NPAD => 0,
            command::SET_SUPPORTED_NPAD_STYLE_SET | command::ACTIVATE_NPAD_WITH_REVISION => 8,
            _ => return HleReply::Unknown,
        };
        let Some(aruid) = client_aruid(request, aruid_offset) else {
            env.trace(format!(
                "hid: command {} from {}: no PID descriptor, or a raw ARUID that is neither 0 nor the pid: the sf framework closes the session",
                request.command_id, env.caller.thread_name
            ));
            return HleReply::Close;
        };
        match request.command_id {
            // Eden `IHidServer::CreateAppletResource` -> `ResourceManager::
            // CreateAppletResource`: the ARUID's shared memory (0x40000, owner RW, others
            // R: Eden `shared_memory_holder.cpp`, Ryujinx `Horizon.cs`) and a new
            // IAppletResource; the same memory for the same ARUID.
            command::CREATE_APPLET_RESOURCE => {
                let k = &mut *env.k;
                if !k.hle.shared.hid.applets.contains_key(&aruid) {
                    let id = k.create_shared_memory(SHARED_MEMORY_SIZE, Perm::RW, Some(Perm::R));
                    k.hle.shared.hid.applets.insert(aruid, AppletInput::new(id));
                }
                if let Some(a) = k.hle.shared.hid.applets.get_mut(&aruid) {
                    a.resources += 1;
                }
                HleReply::object(Box::new(AppletResource { aruid }))
            }
            // 103 / 109: the revision is stored and the npad entries are prefilled (Eden
            // `NPad::Activate`: colours NoController, empty samples in the button lifos;
            // Ryujinx `ActivateNpad*`: 17 rounds of empty input). Success even for an
            // ARUID without shared memory (Eden returns success there).
            command::ACTIVATE_NPAD | command::ACTIVATE_NPAD_WITH_REVISION => {
                let revision = (request.command_id == command::ACTIVATE_NPAD_WITH_REVISION)
                    .then(|| request.payload_u32(0).unwrap_or(0));
                activate(env.k, aruid, revision);
                HleReply::ok(Vec::new())
            }
            // 102: X[0] u32 ids; more than 10 -> InvalidArraySize 0x596ca (Eden
            // `NPad::SetSupportedNpadIdType`); no X -> an empty list (Eden reads only
            // X descriptors); unknown ARUID -> NpadNotConnected (Eden `NPadResource`).
            command::SET_SUPPORTED_NPAD_ID_TYPE => {
                let bytes = match request.x.first() {
                    Some(x) => match env.read(x.address, x.size) {
                        Ok(b) => b,
                        Err(rc) => return HleReply::result(rc),
                    },
                    None => Vec::new(),
                };
                let ids: Vec<u32> =
                    bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                if ids.len() > 10 {
                    return HleReply::result(results::INVALID_ARRAY_SIZE);
                }
                match env.k.hle.shared.hid.applets.get_mut(&aruid) {
                    Some(a) => {
                        a.npad_ids = ids;
                        HleReply::ok(Vec::new())
                    }
                    None => HleReply::result(results::NPAD_NOT_CONNECTED),
                }
            }
            // 100: stored; NpadNotConnected for an unknown ARUID (Eden `NPadResource::
            // SetSupportedNpadStyleSet`).
            command::SET_SUPPORTED_NPAD_STYLE_SET => {
                let style = request.payload_u32(0).unwrap_or(0);
                match env.k.hle.shared.hid.applets.get_mut(&aruid) {
                    Some(a) => {
                        a.style_set = Some(style);
                        HleReply::ok(Vec::new())
                    }
                    None => HleReply::result(results::NPAD_NOT_CONNECTED),
                }
            }
            // 101: the stored set, 0 when none was set (Eden `NPad::GetSupportedNpadStyleSet`).
            command::GET_SUPPORTED_NPAD_STYLE_SET => match env.k.hle.shared.hid.applets.get(&aruid) {
                Some(a) => HleReply::ok(a.style_set.unwrap_or(0).to_le_bytes().to_vec()),
                None => HleReply::result(results::NPAD_NOT_CONNECTED),
            },
            // 104: nothing since 10.0.0 (Eden `IHidServer::DeactivateNpad`).
            _ => HleReply::ok(Vec::new()),
        }
    }
}

impl HleObject for AppletResource {
    fn interface(&self) -> &'static str {
        "IAppletResource"
    }

    /// 0 GetSharedMemoryHandle: a copy handle of the ARUID's shared memory (Eden
    /// `IAppletResource::GetSharedMemoryHandle`; Ryujinx returns one handle value per
    /// IAppletResource, a copy each time).
    fn handle(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        if request.command_id != command::GET_SHARED_MEMORY_HANDLE {
            return HleReply::Unknown;
        }
        match env.k.hle.shared.hid.applets.get(&self.aruid) {
            Some(a) => HleReply::Reply(Reply {
                copy_handles: vec![KObjectRef::SharedMemory(a.shared_memory)],
                ..Reply::default()
            }),
            // Eden: AruidNotRegistered 0x82eca.
            None => HleReply::result(ResultCode::new(202, 1047)),
        }
    }

    /// The last IAppletResource of an ARUID closes: its shared memory and updates go
    /// (Eden `FreeAppletResourceId`); a mapping the client still has keeps the pages.
    fn closed(&mut self, k: &mut Kernel, _s: crate::kernel::SessionId) {
        let hid = &mut k.hle.shared.hid;
        let Some(a) = hid.applets.get_mut(&self.aruid) else { return };
        a.resources = a.resources.saturating_sub(1);
        if a.resources == 0 {
            let id = a.shared_memory;
            hid.applets.remove(&self.aruid);
            k.release_object(KObjectRef::SharedMemory(id));
        }
    }
}

/// 103/109 for `aruid`.
fn activate(k: &mut Kernel, aruid: u64, revision: Option<u32>) {
    let Some(a) = k.hle.shared.hid.applets.get_mut(&aruid) else { return };
    a.activated = true;
    if revision.is_some() {
        a.revision = revision;
    }
    let id = a.shared_memory;
    for index in 0..layout::NPAD_ENTRIES {
        let entry = layout::entry(index);
        k.write_shared_memory(id, entry + layout::FULL_KEY_COLOR, &COLOR_NO_CONTROLLER.to_le_bytes());
        k.write_shared_memory(id, entry + layout::JOYCON_COLOR, &COLOR_NO_CONTROLLER.to_le_bytes());
        for _ in 0..layout::LIFO_ENTRIES {
            for lifo in layout::STANDARD_LIFOS.iter().chain([&layout::SYSTEM_EXT_LIFO]) {
                write_sample(k, id, entry + lifo, 0, 0);
            }
        }
    }
}

fn read_u64(k: &Kernel, id: usize, offset: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = k.shared_memories.get(id).and_then(|m| m.data.get(offset..offset + 8)) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

/// Writes one sample into the lifo at `lifo` (absolute offset), in Ryujinx's order
/// (`RingLifo.Write`, `AtomicStorage.SetObject`): the next slot's sampling number, then
/// the 0x28-byte state (its sampling number = the newest state's + 1, Ryujinx
/// `WriteNewInputEntry`; the slot carries the same value), then `buffer_count` 17, the
/// tail, and the count (+1 up to 16).
pub fn write_sample(k: &mut Kernel, id: usize, lifo: usize, buttons: u64, attributes: u32) {
    let tail = read_u64(k, id, lifo + layout::LIFO_TAIL) % layout::LIFO_ENTRIES;
    let count = read_u64(k, id, lifo + layout::LIFO_COUNT);
    let newest = lifo + layout::LIFO_STORAGE + layout::LIFO_ENTRY_SIZE * tail as usize;
    let sampling = read_u64(k, id, newest + 8).wrapping_add(1);
    let next = (tail + 1) % layout::LIFO_ENTRIES;
    let slot = lifo + layout::LIFO_STORAGE + layout::LIFO_ENTRY_SIZE * next as usize;
    k.write_shared_memory(id, slot, &sampling.to_le_bytes());
    let mut state = [0u8; 0x28];
    state[0..8].copy_from_slice(&sampling.to_le_bytes());
    state[8..16].copy_from_slice(&buttons.to_le_bytes());
    state[0x20..0x24].copy_from_slice(&attributes.to_le_bytes());
    k.write_shared_memory(id, slot + 8, &state);
    k.write_shared_memory(id, lifo + layout::LIFO_BUFFER_COUNT, &layout::LIFO_ENTRIES.to_le_bytes());
    k.write_shared_memory(id, lifo + layout::LIFO_TAIL, &next.to_le_bytes());
    let count = (count + 1).min(layout::LIFO_COUNT_MAX);
    k.write_shared_memory(id, lifo + layout::LIFO_COUNT, &count.to_le_bytes());
}

/// One sample period for one ARUID: each of the bench's controllers that the supported
/// styles and ids allow shows its style at entry+0 and gets a sample with the buttons
/// held now in its lifo, mirrored into system_ext, and empty samples in the other
/// standard lifos (Ryujinx `NpadDevices.UpdateInput`); a controller not allowed has its
/// entry reset to zero once (Ryujinx `Remap`: the style becomes None).
fn write_period(k: &mut Kernel, aruid: u64, buttons: u64) {
    let Some(a) = k.hle.shared.hid.applets.get(&aruid) else { return };
    let (id, a) = (a.shared_memory, a.clone());
    for c in CONTROLLERS {
        let entry = layout::entry(c.entry);
        let style = if a.controller_connected(&c) { c.style } else { 0 };
        if a.entry_styles[c.entry] != style {
            if style == 0 {
                k.write_shared_memory(id, entry, &vec![0u8; layout::NPAD_ENTRY_SIZE]);
            } else {
                k.write_shared_memory(id, entry + layout::STYLE_SET, &style.to_le_bytes());
                k.write_shared_memory(id, entry + layout::JOY_ASSIGNMENT_MODE, &0u32.to_le_bytes());
            }
            if let Some(a) = k.hle.shared.hid.applets.get_mut(&aruid) {
                a.entry_styles[c.entry] = style;
            }
        }
        if style == 0 {
            continue;
        }
        write_sample(k, id, entry + c.lifo, buttons, c.attributes);
        write_sample(k, id, entry + layout::SYSTEM_EXT_LIFO, buttons, c.attributes);
        for lifo in layout::STANDARD_LIFOS.iter().filter(|&&l| l != c.lifo) {
            write_sample(k, id, entry + lifo, 0, 0);
        }
    }
}

/// The writer: for every configured ARUID, the sample periods that bench time has passed
/// since the last one written (at most 17 written per call: the lifo keeps no more).
/// Called by the run loop as time moves.
pub fn tick(k: &mut Kernel) {
    if k.hle.shared.hid.applets.values().all(|a| !a.configured()) {
        return;
    }
    let now = k.now_ns();
    let aruids: Vec<u64> = k.hle.shared.hid.applets.keys().copied().collect();
    for aruid in aruids {
        let Some(a) = k.hle.shared.hid.applets.get(&aruid) else { continue };
        if !a.configured() {
            continue;
        }
        let period = now / SAMPLE_PERIOD_NS;
        let first = match a.last_sample_ns {
            None => period,
            Some(last) if last / SAMPLE_PERIOD_NS >= period => continue,
            Some(last) => (last / SAMPLE_PERIOD_NS + 1).max(period.saturating_sub(layout::LIFO_ENTRIES - 1)),
        };
        for p in first..=period {
            let buttons = k.hle.shared.hid.script.buttons_at(p * SAMPLE_PERIOD_NS);
            write_period(k, aruid, buttons);
        }
        if let Some(a) = k.hle.shared.hid.applets.get_mut(&aruid) {
            a.last_sample_ns = Some(now);
        }
    }
}

/// The run loop found no thread able to run: in the default mode, once some ARUID's npad
/// is configured and the client waits for input, + is pressed from the next sample for
/// [`PRESS_HOLD_NS`]; again [`DEFAULT_REPRESS_NS`] after each release while the run goes
/// on. "Waits for input" = every thread blocked or sleeping, and no IPC request sent by
/// any process for [`INPUT_WAIT_QUIET_NS`] of bench time: a polling loop only sleeps and
/// reads memory, while a program that configured the npad early and still runs its work
/// (IPC between short sleeps) is not waiting yet.
pub fn on_idle(k: &mut Kernel) {
    let now = k.now_ns();
    let requests: u64 = k.processes.iter().map(|p| p.counters.requests_sent).sum();
    let hid = &mut k.hle.shared.hid;
    if hid.requests_seen != Some(requests) {
        hid.requests_seen = Some(requests);
        hid.quiet_since_ns = now;
        return;
    }
    if now.saturating_sub(hid.quiet_since_ns) < INPUT_WAIT_QUIET_NS {
        return;
    }
    if !hid.script.default_press || !hid.applets.values().any(AppletInput::configured) {
        return;
    }
    if hid.script.presses.iter().any(|p| p.held_at(now) || p.at_ns > now) {
        return;
    }
    if hid.default_released_ns.is_some_and(|r| now < r.saturating_add(DEFAULT_REPRESS_NS)) {
        return;
    }
    // Start on the next sample period, so the sample before it still shows + released.
    let at_ns = (now / SAMPLE_PERIOD_NS + 1) * SAMPLE_PERIOD_NS;
    hid.script.presses.push(Press { buttons: BUTTON_PLUS, at_ns, hold_ns: PRESS_HOLD_NS });
    hid.default_released_ns = Some(at_ns + PRESS_HOLD_NS);
    let line =
        format!("hid: the client waits for input: + pressed from {at_ns} ns for {PRESS_HOLD_NS} ns (default input)");
    k.trace_line(line);
}

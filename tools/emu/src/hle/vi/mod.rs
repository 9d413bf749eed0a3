//! The host's visual interface: `vi:m`, `vi:s`, `vi:u`, their IApplicationDisplayService
//! (IADS) and the IHOSBinderDriver relay with each layer's buffer queue
//! (screen-output.md §1b, §1d). vi sessions are plain sessions (libnx `vi.c`
//! `NX_SERVICE_ASSUME_NON_DOMAIN`): the objects vi hands out become new sessions.
//!
//! Commands (ids and layouts from libnx `nx/source/services/vi.c`, `display/binder.c`;
//! behaviour from Eden `src/core/hle/service/vi/*`, `nvnflinger/*` and Ryujinx
//! `Services/Vi`, `Services/SurfaceFlinger`, cited per command):
//! - root: vi:m 2 / vi:s 1 / vi:u 0 GetDisplayService(u32 policy) -> IADS.
//! - IADS: 100 GetRelayService, 1010 OpenDisplay(char[0x40]), 1011 OpenDefaultDisplay,
//!   1020 CloseDisplay(u64), 2020 OpenLayer(char[0x40], u64 layer, u64 aruid) + PID + B,
//!   2021 CloseLayer(u64), 2030 CreateStrayLayer(u32 flags, u32 pad, u64 display) + B,
//!   2031 DestroyStrayLayer(u64), 2101 SetLayerScalingMode(u32 mode, u32 pad, u64 layer).
//! - IHOSBinderDriver: 0 TransactParcel(s32 id, u32 code, u32 flags) + A + B, 1
//!   AdjustRefcount(s32 id, s32 add, s32 type), 2 GetNativeHandle(s32 id, u32 type) -> copy
//!   handle, 3 TransactParcelAuto (auto in / auto out instead of A / B).
//!
//! Any other command stops the run ([`HleReply::Unknown`]); so does a transaction the
//! bench does not model or a parcel both emulators would fail on.

pub mod display;
pub mod parcel;
pub mod queue;
pub mod testing;

use std::collections::BTreeSet;

use xcbuf_common::result::ResultCode;
use xcbuf_common::sm::ServiceName;

use self::parcel::{ParcelReader, ParcelWriter};
use self::queue::Outcome;
use super::{HleEnv, HleObject, HleReply, HleRequest, HleService, Reply};
use crate::kernel::{KObjectRef, Kernel, SessionId};

/// Sessions to each root at once (the bench's choice).
pub const MAX_SESSIONS: u32 = 8;
/// The pointer buffer the relay's sessions report (TransactParcelAuto may use X/C).
pub const POINTER_BUFFER_SIZE: u16 = 0x1000;
/// The interface token of IGraphicBufferProducer (Ryujinx `IGraphicBufferProducer`
/// `InterfaceToken`, checked by `IBinder.OnTransact`).
pub const PRODUCER_TOKEN: &str = "android.gui.IGraphicBufferProducer";

/// vi results (module 114; Eden `vi/vi_results.h`).
pub mod results {
    use xcbuf_common::result::ResultCode;
    /// 0x272.
    pub const OPERATION_FAILED: ResultCode = ResultCode::new(114, 1);
    /// 0xa72.
    pub const PERMISSION_DENIED: ResultCode = ResultCode::new(114, 5);
    /// 0xc72.
    pub const NOT_SUPPORTED: ResultCode = ResultCode::new(114, 6);
    /// 0xe72.
    pub const NOT_FOUND: ResultCode = ResultCode::new(114, 7);
    /// Eden's `ResultUnknown` (raw 0xFFFFFFFF), what its relay answers a bad
    /// AdjustRefcount type or an unknown binder's GetNativeHandle with.
    pub const UNKNOWN: ResultCode = ResultCode::from_raw(u32::MAX);
}

/// Command ids.
pub mod cmd {
    pub const GET_RELAY_SERVICE: u32 = 100;
    pub const OPEN_DISPLAY: u32 = 1010;
    pub const OPEN_DEFAULT_DISPLAY: u32 = 1011;
    pub const CLOSE_DISPLAY: u32 = 1020;
    pub const OPEN_LAYER: u32 = 2020;
    pub const CLOSE_LAYER: u32 = 2021;
    pub const CREATE_STRAY_LAYER: u32 = 2030;
    pub const DESTROY_STRAY_LAYER: u32 = 2031;
    pub const SET_LAYER_SCALING_MODE: u32 = 2101;
    pub const TRANSACT_PARCEL: u32 = 0;
    pub const ADJUST_REFCOUNT: u32 = 1;
    pub const GET_NATIVE_HANDLE: u32 = 2;
    pub const TRANSACT_PARCEL_AUTO: u32 = 3;
}

/// Which root a session was opened on, and so its permission (Eden `vi/vi_types.h`
/// Permission; `service_creator.cpp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// vi:m, GetDisplayService is command 2.
    Manager,
    /// vi:s, command 1.
    System,
    /// vi:u, command 0.
    User,
}

impl Root {
    fn command(self) -> u32 {
        match self {
            Root::Manager => 2,
            Root::System => 1,
            Root::User => 0,
        }
    }

    /// Eden `service_creator.cpp` `IsValidServiceAccess`: vi:u takes policy User (0)
    /// only; vi:s and vi:m take User (0) or Compositor (1). Ryujinx is stricter
    /// (`IManagerRootService.cs`, `ISystemRootService.cs`, `IApplicationRootService.cs`:
    /// exactly 1 on vi:m, 2 on vi:s, 0 on vi:u, so libnx's vi:s fallback with 1 fails
    /// there); the bench follows Eden.
    fn allows(self, policy: u32) -> bool {
        match self {
            Root::User => policy == 0,
            Root::System | Root::Manager => policy <= 1,
        }
    }
}

/// A vi root service.
pub struct ViService(pub Root);

impl HleService for ViService {
    fn name(&self) -> ServiceName {
        match self.0 {
            Root::Manager => ServiceName::literal("vi:m"),
            Root::System => ServiceName::literal("vi:s"),
            Root::User => ServiceName::literal("vi:u"),
        }
    }
    fn max_sessions(&self) -> u32 {
        MAX_SESSIONS
    }
    fn pointer_buffer_size(&self) -> u16 {
        POINTER_BUFFER_SIZE
    }
    fn open(&mut self) -> Box<dyn HleObject> {
        Box::new(ViObject::Root(self.0))
    }
}

/// A vi object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViObject {
    Root(Root),
    /// IApplicationDisplayService: the layers opened and the stray layers created through
    /// it (Eden `application_display_service.cpp` `m_open_layer_ids`, `m_stray_layer_ids`).
    DisplayService {
        open_layers: BTreeSet<u64>,
        stray_layers: BTreeSet<u64>,
    },
    /// IHOSBinderDriver.
    Relay,
}

impl HleObject for ViObject {
    fn interface(&self) -> &'static str {
        match self {
            ViObject::Root(Root::Manager) => "IManagerRootService",
            ViObject::Root(Root::System) => "ISystemRootService",
            ViObject::Root(Root::User) => "IApplicationRootService",
            ViObject::DisplayService { .. } => "IApplicationDisplayService",
            ViObject::Relay => "IHOSBinderDriver",
        }
    }

    fn handle(&mut self, request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
        match self {
            ViObject::Root(root) => {
                if request.command_id != root.command() {
                    return HleReply::Unknown;
                }
                let Some(policy) = request.payload_u32(0) else { return short(env, request) };
                if !root.allows(policy) {
                    return HleReply::result(results::PERMISSION_DENIED);
                }
                HleReply::object(Box::new(ViObject::DisplayService {
                    open_layers: BTreeSet::new(),
                    stray_layers: BTreeSet::new(),
                }))
            }
            ViObject::DisplayService { open_layers, stray_layers } => {
                display_service(open_layers, stray_layers, request, env)
            }
            ViObject::Relay => relay(request, env),
        }
    }

    /// Eden `IApplicationDisplayService::~IApplicationDisplayService`: the layers it opened
    /// are closed and its stray layers destroyed.
    fn closed(&mut self, k: &mut Kernel, _s: SessionId) {
        if let ViObject::DisplayService { open_layers, stray_layers } = self {
            for id in std::mem::take(open_layers) {
                let _ = k.hle.shared.vi.close_layer(id);
            }
            for id in std::mem::take(stray_layers) {
                let _ = k.hle.shared.vi.destroy_layer(id);
            }
        }
    }
}

/// libstratosphere `HipcCommandProcessor::PrepareForProcess`: a request without what the
/// command declares (PID, buffers, raw data) is InvalidCmifRequest and the server closes
/// the session.
fn short(env: &mut HleEnv<'_>, request: &HleRequest<'_>) -> HleReply {
    env.trace(format!(
        "vi: command {} without what it declares (pid {}, {} A, {} B, {} bytes of raw data): closing the session",
        request.command_id,
        request.pid.is_some(),
        request.a.len(),
        request.b.len(),
        request.payload.len()
    ));
    HleReply::Close
}

/// A display name: char[0x40], the last byte forced to NUL (Eden `OpenDisplay`).
fn display_name(bytes: &[u8]) -> String {
    let name = &bytes[..bytes.len().min(0x3F)];
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    String::from_utf8_lossy(&name[..end]).into_owned()
}

/// The native-window parcel of a layer (Eden `vi/vi_types.h` `NativeWindow` written with
/// `OutputParcel::WriteInterface`: u32 2, u32 1, u64 binder id, 8 zero bytes,
/// "dispdrv\0", 8 zero bytes; objects: one 0 word). 0x3C bytes.
pub fn native_window_parcel(binder: i32) -> Vec<u8> {
    let mut body = Vec::with_capacity(0x28);
    body.extend_from_slice(&2u32.to_le_bytes());
    body.extend_from_slice(&1u32.to_le_bytes());
    body.extend_from_slice(&(i64::from(binder) as u64).to_le_bytes());
    body.extend_from_slice(&[0; 8]);
    body.extend_from_slice(b"dispdrv\0");
    body.extend_from_slice(&[0; 8]);
    let mut w = ParcelWriter::new();
    w.interface(&body);
    w.finish()
}

fn display_service(
    open_layers: &mut BTreeSet<u64>,
    stray_layers: &mut BTreeSet<u64>,
    request: &HleRequest<'_>,
    env: &mut HleEnv<'_>,
) -> HleReply {
    let u64_at = |at: usize| request.payload_u64(at);
    match request.command_id {
        // Eden GetRelayService: the binder driver.
        cmd::GET_RELAY_SERVICE => HleReply::object(Box::new(ViObject::Relay)),
        // Eden OpenDisplay: only the five names, else OperationFailed; the display's id.
        cmd::OPEN_DISPLAY => {
            let Some(raw) = request.payload.get(..0x40) else { return short(env, request) };
            match display::Compositor::display_id(&display_name(raw)) {
                Some(id) => HleReply::ok(id.to_le_bytes().to_vec()),
                None => HleReply::result(results::OPERATION_FAILED),
            }
        }
        // Eden OpenDefaultDisplay = OpenDisplay("Default").
        cmd::OPEN_DEFAULT_DISPLAY => HleReply::ok(0u64.to_le_bytes().to_vec()),
        // Eden `Container::CloseDisplay`: success whatever the id.
        cmd::CLOSE_DISPLAY => match u64_at(0) {
            Some(_) => HleReply::ok(Vec::new()),
            None => short(env, request),
        },
        // Eden OpenLayer: the display by name (NotFound), then `OpenLayerLocked` with the
        // request's PID as the ARUID (NotFound / OperationFailed / PermissionDenied), then
        // the native-window parcel into B (at most its size) and the parcel's size.
        cmd::OPEN_LAYER => {
            let (Some(raw), Some(layer_id), Some(pid)) = (request.payload.get(..0x40), u64_at(0x40), request.pid)
            else {
                return short(env, request);
            };
            if request.b.len() != 1 || u64_at(0x48).is_none() {
                return short(env, request);
            }
            if display::Compositor::display_id(&display_name(raw)).is_none() {
                return HleReply::result(results::NOT_FOUND);
            }
            let binder = match env.shared().vi.open_layer(layer_id, pid) {
                Ok(b) => b,
                Err(rc) => return HleReply::result(rc),
            };
            open_layers.insert(layer_id);
            let parcel = native_window_parcel(binder);
            let room = request.b[0].size.min(parcel.len() as u64) as usize;
            if let Err(rc) = env.write_b(request, 0, &parcel[..room]) {
                return HleReply::result(rc);
            }
            HleReply::ok((parcel.len() as u64).to_le_bytes().to_vec())
        }
        // Eden CloseLayer: NotFound unless this IADS opened it; then `CloseLayerLocked`.
        cmd::CLOSE_LAYER => {
            let Some(layer_id) = u64_at(0) else { return short(env, request) };
            if !open_layers.remove(&layer_id) {
                return HleReply::result(results::NOT_FOUND);
            }
            HleReply::from(env.shared().vi.close_layer(layer_id).map(|()| Vec::new()))
        }
        // Eden CreateStrayLayer: a layer with no owner on the display, opened; (layer id,
        // parcel size) and the parcel into B.
        cmd::CREATE_STRAY_LAYER => {
            let Some(display_id) = u64_at(8) else { return short(env, request) };
            if request.b.len() != 1 {
                return short(env, request);
            }
            let (layer_id, binder) = match env.shared().vi.create_stray_layer(display_id) {
                Ok(x) => x,
                Err(rc) => return HleReply::result(rc),
            };
            stray_layers.insert(layer_id);
            let parcel = native_window_parcel(binder);
            let room = request.b[0].size.min(parcel.len() as u64) as usize;
            if let Err(rc) = env.write_b(request, 0, &parcel[..room]) {
                return HleReply::result(rc);
            }
            let mut out = layer_id.to_le_bytes().to_vec();
            out.extend_from_slice(&(parcel.len() as u64).to_le_bytes());
            HleReply::ok(out)
        }
        // Eden DestroyStrayLayer: NotFound unless this IADS created it.
        cmd::DESTROY_STRAY_LAYER => {
            let Some(layer_id) = u64_at(0) else { return short(env, request) };
            if !stray_layers.remove(&layer_id) {
                return HleReply::result(results::NOT_FOUND);
            }
            HleReply::from(env.shared().vi.destroy_layer(layer_id).map(|()| Vec::new()))
        }
        // Eden SetLayerScalingMode: a mode above PreserveAspectRatio (4) is OperationFailed,
        // any but ScaleToWindow (2) and PreserveAspectRatio (4) NotSupported (Ryujinx
        // accepts any).
        cmd::SET_LAYER_SCALING_MODE => {
            let (Some(mode), Some(_layer)) = (request.payload_u32(0), u64_at(8)) else { return short(env, request) };
            match mode {
                2 | 4 => HleReply::ok(Vec::new()),
                m if m > 4 => HleReply::result(results::OPERATION_FAILED),
                _ => HleReply::result(results::NOT_SUPPORTED),
            }
        }
        _ => HleReply::Unknown,
    }
}

fn stop(env: &mut HleEnv<'_>, report: String) -> HleReply {
    env.trace(report.clone());
    env.k.hle.stop_run(report.clone());
    HleReply::Defer { what: report }
}

fn relay(request: &HleRequest<'_>, env: &mut HleEnv<'_>) -> HleReply {
    let (Some(id), Some(arg1)) = (request.payload_u32(0), request.payload_u32(4)) else { return short(env, request) };
    let id = id as i32;
    match request.command_id {
        cmd::TRANSACT_PARCEL | cmd::TRANSACT_PARCEL_AUTO => {
            let Some(_flags) = request.payload_u32(8) else { return short(env, request) };
            transact(request, env, id, arg1)
        }
        // Eden AdjustRefcount: a type other than 0 (weak) or 1 (strong) is ResultUnknown;
        // an unknown binder id is only logged (Ryujinx: success too).
        cmd::ADJUST_REFCOUNT => {
            let Some(kind) = request.payload_u32(8) else { return short(env, request) };
            if kind > 1 {
                return HleReply::result(results::UNKNOWN);
            }
            if let Some(counts) = env.shared().vi.binders.get_mut(&id) {
                let add = arg1 as i32;
                if kind == 0 {
                    counts.0 = counts.0.saturating_add(add);
                } else {
                    counts.1 = counts.1.saturating_add(add);
                }
            }
            HleReply::ok(Vec::new())
        }
        // Eden GetNativeHandle: ResultUnknown for an unknown binder; else a copy handle of
        // the producer's buffer event, whatever the type (`BufferQueueProducer::GetNativeHandle`).
        // Ryujinx moves the handle instead of copying it.
        cmd::GET_NATIVE_HANDLE => {
            if !env.shared().vi.queues.contains_key(&id) {
                return HleReply::result(results::UNKNOWN);
            }
            let event = match env.shared().vi.native_events.get(&id) {
                Some(&e) => e,
                None => {
                    let e = env.k.create_event("vi:IGraphicBufferProducer");
                    env.shared().vi.native_events.insert(id, e);
                    e
                }
            };
            HleReply::Reply(Reply { copy_handles: vec![KObjectRef::ReadableEvent(event)], ..Reply::default() })
        }
        _ => HleReply::Unknown,
    }
}

/// Where TransactParcel's parcel comes from and its reply goes: A and B for command 0;
/// for 3 the non-empty one of each auto pair (A or X in, B or C out), as Eden
/// (`HLERequestContext::ReadBuffer` / `WriteBuffer` pick the map-alias buffer when it is
/// non-empty) and Ryujinx (`IpcMessage.GetBufferType0x21/0x22`) do.
enum Out {
    B(u64),
    C(u64),
}

fn transact(request: &HleRequest<'_>, env: &mut HleEnv<'_>, id: i32, code: u32) -> HleReply {
    let (input, out) = if request.command_id == cmd::TRANSACT_PARCEL {
        if request.a.len() != 1 || request.b.len() != 1 {
            return short(env, request);
        }
        (env.read_a(request, 0), Out::B(request.b[0].size))
    } else {
        let input = match (request.a.first(), request.x.first()) {
            (Some(a), _) if a.size > 0 => env.read(a.address, a.size),
            (_, Some(x)) => env.read(x.address, x.size),
            _ => return short(env, request),
        };
        let out = match (request.b.first(), request.c.first()) {
            (Some(b), _) if b.size > 0 => Out::B(b.size),
            (_, Some(_)) => {
                let size = request.out_pointer_sizes(12, 1).and_then(|s| s.first().copied()).unwrap_or(0);
                Out::C(u64::from(size))
            }
            _ => return short(env, request),
        };
        (input, out)
    };
    let input = match input {
        Ok(bytes) => bytes,
        Err(rc) => return HleReply::result(rc),
    };
    // Eden TransactParcel: an unknown binder id succeeds with the reply untouched.
    if !env.shared().vi.binders.contains_key(&id) {
        env.trace(format!("vi: TransactParcel to unknown binder {id}: success, reply untouched (Eden)"));
        return HleReply::ok(Vec::new());
    }
    if !env.shared().vi.queues.contains_key(&id) {
        return stop(env, format!("vi: TransactParcel code {code} to consumer binder {id} is not modelled"));
    }
    let mut reader = match ParcelReader::new(&input) {
        Ok(r) => r,
        Err(e) => return stop(env, format!("vi: TransactParcel code {code} to binder {id}: {e}")),
    };
    // Ryujinx `IBinder.OnTransact`: a wrong interface token succeeds without a
    // transaction, and `IHOSBinderDriver.TransactParcel` still writes its reply buffer,
    // a zeroed array of the B buffer's size, back (Eden reads the token and ignores it).
    match reader.interface_token() {
        Ok(token) if token == PRODUCER_TOKEN => {}
        other => {
            env.trace(format!(
                "vi: TransactParcel code {code}: interface token {other:?}: success, reply zeroed (Ryujinx)"
            ));
            let zeroed = match out {
                Out::B(size) | Out::C(size) => vec![0u8; usize::try_from(size).unwrap_or(0)],
            };
            match out {
                Out::B(_) => {
                    if let Err(rc) = env.write_b(request, 0, &zeroed) {
                        return HleReply::result(rc);
                    }
                }
                Out::C(_) => env.write_c(0, zeroed),
            }
            return HleReply::ok(Vec::new());
        }
    }
    let Some(queue) = env.shared().vi.queues.get_mut(&id) else { return HleReply::ok(Vec::new()) };
    let (parcel, queued) = match queue.transact(code, &mut reader) {
        Outcome::Reply { parcel, queued, buffer_event } => {
            if buffer_event && let Some(&event) = env.shared().vi.native_events.get(&id) {
                env.k.set_event(event, true);
            }
            (parcel, queued)
        }
        Outcome::Wait(why) => return HleReply::Defer { what: why },
        Outcome::Stop(why) => return stop(env, format!("vi: binder {id}: {why}")),
    };
    // Eden copies min(reply buffer, parcel) bytes.
    match out {
        Out::B(size) => {
            let room = size.min(parcel.len() as u64) as usize;
            if let Err(rc) = env.write_b(request, 0, &parcel[..room]) {
                return HleReply::result(rc);
            }
        }
        Out::C(size) => {
            let room = size.min(parcel.len() as u64) as usize;
            env.write_c(0, parcel[..room].to_vec());
        }
    }
    if let Some(frame) = queued {
        display::present(env.k, id, frame);
    }
    HleReply::ok(Vec::new())
}

/// The result of a reply (tests).
pub fn reply_result(reply: &HleReply) -> Option<ResultCode> {
    match reply {
        HleReply::Reply(r) => Some(r.result),
        _ => None,
    }
}

#[cfg(test)]
mod tests;

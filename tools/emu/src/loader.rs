//! Loading guest programs into new processes.
//!
//! - `exefs.nsp` (PFS0 with `main` NSO + `main.npdm`, formats.md §2-§4) becomes a
//!   sysmodule process: NSO entry ABI (x0 = 0, x1 = main thread handle, lr = 0;
//!   formats.md §1.2), the NPDM's main-thread priority and stack size, its syscall mask
//!   and its service_host / service_access lists for sm.
//! - An `.nro` (formats.md §1) is started either as hbloader starts it (loader config
//!   list in x0, x1 = -1, lr = a return stub: the page holds `svc #0x07` and the bench
//!   reads w0 there as the NRO's result), as Eden/Ryujinx start it (NSO convention,
//!   no config, no heap: the runtime calls SetHeapSize; emulator-bench.md §3), or as Eden
//!   starts it with program arguments ([`LaunchKind::EdenArgs`]: Eden's own config after
//!   the image, lr = the first `svc #7` of the text, still no heap).
//! - A plain ELF (PT_LOADs with their flags) loads the same way, for tests.

use xcbuf_pack::image::ModuleImage;
use xcbuf_pack::npdm::{Npdm, kac::Capability};

use crate::cpu::{Cpu, PAGE_SIZE, Perm};
use crate::kernel::handle_table::{DEFAULT_TABLE_SIZE, HandleTable};
use crate::kernel::process::{KProcess, LaunchKind, ProcessCounters, ProcessState, ServiceAccess};
use crate::kernel::thread::{InitialRegisters, ThreadState};
use crate::kernel::{KObjectRef, Kernel, ProcessId};
use crate::memory::{self, AddressSpace, MemoryState};
use crate::symbols::Symbols;

/// One segment of a program image, relative to its base.
#[derive(Debug, Clone)]
pub struct ImageSegment {
    pub offset: u64,
    pub bytes: Vec<u8>,
    /// Mapped size (>= bytes; the rest is zero: .bss).
    pub size: u64,
    pub perm: Perm,
}

/// What the loader maps.
#[derive(Debug, Clone, Default)]
pub struct ProgramImage {
    pub segments: Vec<ImageSegment>,
}

impl ProgramImage {
    /// From an NRO's or NSO's module image: text R-X, rodata R, data + bss RW.
    pub fn from_module(m: &ModuleImage) -> ProgramImage {
        let seg = |s: &xcbuf_pack::image::Segment, extra: u64, perm| ImageSegment {
            offset: u64::from(s.memory_offset),
            bytes: s.bytes.clone(),
            size: s.bytes.len() as u64 + extra,
            perm,
        };
        ProgramImage {
            segments: vec![
                seg(&m.text, 0, Perm::RX),
                seg(&m.rodata, 0, Perm::R),
                seg(&m.data, u64::from(m.bss_size), Perm::RW),
            ],
        }
    }

    /// From an ELF's PT_LOAD segments (link address = offset from the base).
    pub fn from_elf(bytes: &[u8]) -> Result<ProgramImage, String> {
        use object::{Object, ObjectSegment, SegmentFlags};
        let file = object::File::parse(bytes).map_err(|e| format!("ELF: {e}"))?;
        let mut segments = Vec::new();
        for s in file.segments() {
            let data = s.data().map_err(|e| format!("ELF segment: {e}"))?.to_vec();
            let perm = match s.flags() {
                SegmentFlags::Elf { p_flags, .. } => {
                    let p_flags = p_flags.0;
                    Perm { read: p_flags & 4 != 0, write: p_flags & 2 != 0, execute: p_flags & 1 != 0 }
                }
                _ => Perm::RX,
            };
            segments.push(ImageSegment { offset: s.address(), bytes: data, size: s.size(), perm });
        }
        Ok(ProgramImage { segments })
    }

    /// A single R-X code page made of instruction words (tests).
    pub fn from_code(words: &[u32]) -> ProgramImage {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let size = (bytes.len() as u64).div_ceil(PAGE_SIZE).max(1) * PAGE_SIZE;
        ProgramImage { segments: vec![ImageSegment { offset: 0, bytes, size, perm: Perm::RX }] }
    }
}

/// Everything needed to start a process.
#[derive(Clone)]
pub struct ProcessSetup {
    pub name: String,
    pub kind: LaunchKind,
    pub image: ProgramImage,
    pub code_base: u64,
    pub main_thread_priority: i32,
    pub main_thread_stack_size: u64,
    pub svc_allowed: Option<Vec<bool>>,
    pub services: ServiceAccess,
    pub program_id: u64,
    pub core_mask: u64,
    pub priority_mask: u64,
    pub handle_table_size: usize,
    pub memory_limit: u64,
    /// OverrideHeap size for hbmenu launches.
    pub override_heap_size: u64,
    /// The AppletType entry of an hbmenu launch: Application (0, hbloader's title override,
    /// which it passes as SystemApplication + ApplicationOverride and libnx reads as
    /// Application) or LibraryApplet (2, album mode) (nx-hbloader `main.c` `loadNro`;
    /// screen-output.md §0).
    pub applet_type: u64,
    pub symbols: Option<Symbols>,
}

/// Priority bits 24..=59 (a permissive default; Ryujinx allows 28-59).
pub const DEFAULT_PRIORITY_MASK: u64 = ((1u64 << 60) - 1) & !((1u64 << 24) - 1);

impl ProcessSetup {
    /// Defaults for an NRO (hbloader's permissive NPDM: every svc, any service).
    pub fn nro(name: &str, kind: LaunchKind, image: ProgramImage) -> ProcessSetup {
        ProcessSetup {
            name: name.to_string(),
            kind,
            image,
            code_base: memory::NRO_CODE_BASE,
            main_thread_priority: 44,
            main_thread_stack_size: 0x10_0000,
            svc_allowed: None,
            services: ServiceAccess::default(),
            program_id: 0x0100_0000_0000_100D,
            core_mask: 0b0111,
            priority_mask: DEFAULT_PRIORITY_MASK,
            handle_table_size: DEFAULT_TABLE_SIZE,
            memory_limit: 64 << 20,
            // hbloader hands over most of the applet's memory on hardware (all but what
            // Atmosphère reserves for other applets, screen-output.md §0); the client needs
            // the suite's heap plus 8 MiB of transfer memory for nvdrv and two 0x3C0000-byte
            // frames (screen-output.md §1c, §1e), so 48 MiB, under the 64 MiB memory limit.
            override_heap_size: 48 << 20,
            applet_type: APPLET_TYPE_APPLICATION,
            symbols: None,
        }
    }

    /// Settings from a sysmodule's NPDM (formats.md §3).
    pub fn sysmodule(name: &str, image: ProgramImage, npdm: &Npdm) -> Result<ProcessSetup, String> {
        let caps = npdm.capabilities("main.npdm").map_err(|e| e.to_string())?;
        let granted = npdm.granted_syscalls("main.npdm").map_err(|e| e.to_string())?;
        let mut allowed = vec![false; 0xC0];
        for s in granted {
            if let Some(slot) = allowed.get_mut(s as usize) {
                *slot = true;
            }
        }
        let mut core_mask = 1u64 << npdm.meta.default_cpu_id.min(63);
        let mut priority_mask = DEFAULT_PRIORITY_MASK;
        let mut handle_table_size = DEFAULT_TABLE_SIZE;
        for c in &caps {
            match c {
                Capability::KernelFlags { highest_priority, lowest_priority, min_core, max_core } => {
                    priority_mask =
                        (*highest_priority..=*lowest_priority).filter(|p| *p < 64).fold(0, |m, p| m | (1u64 << p));
                    core_mask = (*min_core..=*max_core).filter(|c| *c < 64).fold(0, |m, c| m | (1u64 << c));
                }
                Capability::HandleTableSize(n) => handle_table_size = usize::from(*n),
                _ => {}
            }
        }
        Ok(ProcessSetup {
            name: name.to_string(),
            kind: LaunchKind::Sysmodule,
            image,
            code_base: memory::SYSMODULE_CODE_BASE,
            main_thread_priority: i32::from(npdm.meta.main_thread_priority),
            main_thread_stack_size: u64::from(npdm.meta.main_thread_stack_size),
            svc_allowed: Some(allowed),
            services: ServiceAccess {
                host: Some(npdm.hosted_services().iter().map(|s| s.to_string()).collect()),
                access: Some(npdm.accessed_services().iter().map(|s| s.to_string()).collect()),
            },
            program_id: npdm.aci0.program_id,
            core_mask,
            priority_mask,
            handle_table_size,
            memory_limit: 16 << 20,
            override_heap_size: 0,
            applet_type: APPLET_TYPE_APPLICATION,
            symbols: None,
        })
    }
}

/// Reads `exefs.nsp` into a sysmodule setup.
pub fn sysmodule_from_exefs(file: &str, bytes: &[u8]) -> Result<ProcessSetup, String> {
    let files = xcbuf_pack::pfs0::read_pfs0(file, bytes).map_err(|e| e.to_string())?;
    let find = |n: &str| files.iter().find(|f| f.name == n).ok_or_else(|| format!("{file}: no `{n}` in the PFS0"));
    let nso = xcbuf_pack::nso::read_nso("main", &find("main")?.data).map_err(|e| e.to_string())?;
    let npdm = xcbuf_pack::npdm::read_npdm("main.npdm", &find("main.npdm")?.data).map_err(|e| e.to_string())?;
    let name = if npdm.meta.name.is_empty() { "sysmodule".to_string() } else { npdm.meta.name.clone() };
    ProcessSetup::sysmodule(&name, ProgramImage::from_module(&nso.image), &npdm)
}

/// Reads an `.nro` into an NRO setup.
pub fn nro_from_file(file: &str, bytes: &[u8], kind: LaunchKind) -> Result<ProcessSetup, String> {
    let nro = xcbuf_pack::nro::read_nro(file, bytes).map_err(|e| e.to_string())?;
    Ok(ProcessSetup::nro("client", kind, ProgramImage::from_module(&nro.image)))
}

/// hbloader config keys (formats.md §1.5; runtime-abi.md §2.2).
mod config_key {
    pub const END_OF_LIST: u32 = 0;
    pub const MAIN_THREAD_HANDLE: u32 = 1;
    pub const OVERRIDE_HEAP: u32 = 3;
    pub const APPLET_TYPE: u32 = 7;
    pub const HOS_VERSION: u32 = 16;
}
/// Flag bit 0 of a config entry: mandatory.
const CONFIG_MANDATORY: u32 = 1;
/// `'ATMOSPHR'` as libnx/hbloader store it in HosVersion value[1].
pub const ATMOSPHERE_MAGIC: u64 = 0x4154_4d4f_5350_4852;
/// The HosVersion the bench reports: 21.0.0 (`major << 16 | minor << 8 | micro`).
pub const HOS_VERSION: u64 = 21 << 16;
/// Where the loader config, its text and the return stub go.
const LOADER_PAGE: u64 = memory::STACK_REGION_BASE;
pub const RETURN_STUB: u64 = memory::STACK_REGION_BASE + PAGE_SIZE;
const MAIN_STACK_TOP: u64 = memory::STACK_REGION_BASE + 0x4000_0000;
/// `svc #0x07` (ExitProcess): the return stub's only instruction.
const SVC_EXIT_PROCESS: u32 = 0xd40000e1;
/// Argv key of a loader config entry (Eden writes it; rt skips it).
const CONFIG_KEY_ARGV: u32 = 5;
/// AppletType value Application (libnx `AppletType_Application`).
pub const APPLET_TYPE_APPLICATION: u64 = 0;
/// AppletType value LibraryApplet (libnx `AppletType_LibraryApplet`): hbloader in album mode.
pub const APPLET_TYPE_LIBRARY_APPLET: u64 = 2;
/// The program arguments the bench's Eden launch passes (Eden builds its config only when
/// there are some); Eden prefixes them with `homebrew `.
pub const EDEN_PROGRAM_ARGS: &str = "xcbuf-emu";

/// Offset of the first `svc #7` in the image's text (its first executable segment), as
/// Eden looks for one (`src/core/loader/nro.cpp` `LoadNroImpl`: 4-byte steps over the code
/// segment, the first match wins).
pub fn first_exit_process_svc(image: &ProgramImage) -> Option<u64> {
    let text = image.segments.iter().find(|s| s.perm.execute)?;
    text.bytes.chunks_exact(4).position(|w| w == SVC_EXIT_PROCESS.to_le_bytes()).map(|i| text.offset + 4 * i as u64)
}

/// Eden's config for an NRO started with program arguments (Eden
/// `src/core/loader/nro.cpp` `LoadNroImpl`): four entries, then the argv string
/// `"homebrew <args>\0"`, at `config`; MainThreadHandle's value[0] is the real handle
/// (patched in by Eden's `KProcess::Run`). Returns the bytes to write there.
pub fn eden_args_config(config: u64, main_thread: u32, args: &str) -> Vec<u8> {
    let argv = format!("homebrew {args}\0");
    let argv_addr = config + 4 * 0x18;
    let entries: [(u32, u64, u64); 4] = [
        (config_key::MAIN_THREAD_HANDLE, u64::from(main_thread), 0),
        (config_key::APPLET_TYPE, APPLET_TYPE_APPLICATION, 0),
        (CONFIG_KEY_ARGV, 0, argv_addr),
        (config_key::END_OF_LIST, 0, 0),
    ];
    let mut bytes = Vec::new();
    for (key, v0, v1) in entries {
        bytes.extend_from_slice(&key.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&v0.to_le_bytes());
        bytes.extend_from_slice(&v1.to_le_bytes());
    }
    bytes.extend_from_slice(argv.as_bytes());
    bytes
}

fn page_up(v: u64) -> Result<u64, String> {
    v.checked_add(PAGE_SIZE - 1).map(|x| x & !(PAGE_SIZE - 1)).ok_or_else(|| "size overflows".to_string())
}

/// Creates a process from `setup`, with its main thread runnable.
pub fn spawn(k: &mut Kernel, setup: ProcessSetup) -> Result<ProcessId, String> {
    let e = |e: crate::cpu::CpuError| format!("{}: {e}", setup.name);
    let mut cpu = Cpu::new().map_err(e)?;
    let mut space = AddressSpace::default();
    let mut code_end = 0u64;
    for s in &setup.image.segments {
        let base = setup.code_base.checked_add(s.offset).ok_or("segment address overflows")?;
        let size = page_up(s.size.max(s.bytes.len() as u64))?;
        if size == 0 {
            continue;
        }
        let state = if s.perm.write { MemoryState::CodeData } else { MemoryState::Code };
        space.map(&mut cpu, base, size, s.perm, state).map_err(e)?;
        cpu.write(base, &s.bytes).map_err(e)?;
        code_end = code_end.max(s.offset + size);
    }
    let stack_size = page_up(setup.main_thread_stack_size.max(PAGE_SIZE))?;
    let stack_base = MAIN_STACK_TOP - stack_size;
    space.map(&mut cpu, stack_base, stack_size, Perm::RW, MemoryState::Stack).map_err(e)?;

    let pid = k.processes.len();
    k.processes.push(KProcess {
        name: setup.name.clone(),
        pid: 0x50 + pid as u64,
        program_id: setup.program_id,
        kind: setup.kind,
        cpu,
        space,
        handles: HandleTable::new(setup.handle_table_size),
        threads: Vec::new(),
        loaded_thread: None,
        svc_allowed: setup.svc_allowed.clone(),
        services: setup.services.clone(),
        state: ProcessState::Running,
        heap_size: 0,
        memory_limit: setup.memory_limit,
        core_mask: setup.core_mask,
        priority_mask: setup.priority_mask,
        session_limit: crate::kernel::process::DEFAULT_SESSION_LIMIT,
        sessions_in_use: 0,
        next_tls: memory::TLS_AREA_BASE,
        free_tls: Vec::new(),
        return_stub: None,
        code_base: setup.code_base,
        code_size: code_end,
        symbols: setup.symbols.clone(),
        counters: ProcessCounters::default(),
        debug_line: String::new(),
        output: Vec::new(),
    });
    let initial = InitialRegisters { pc: setup.code_base, sp: MAIN_STACK_TOP, x0: 0, x1: 0, lr: 0 };
    let main = k
        .create_thread(pid, initial, setup.main_thread_priority)
        .map_err(|r| format!("{}: main thread: {r}", setup.name))?;
    let handle =
        k.add_handle(pid, KObjectRef::Thread(main)).map_err(|r| format!("{}: main thread handle: {r}", setup.name))?;
    k.threads[main].handle_in_own_process = handle;

    match setup.kind {
        LaunchKind::Sysmodule | LaunchKind::Emulator => {
            k.threads[main].initial.x1 = u64::from(handle);
        }
        LaunchKind::EdenArgs => {
            // Eden `LoadNroImpl` appends a page-aligned area for the config and the argv
            // string to the data segment, after .bss (the image's end), and sets lr to the
            // first `svc #7` of the text; `KProcess::Run` enters with x0 = the config,
            // x1 = -1, lr = that address (0 when none was found). No OverrideHeap: the
            // NRO sets its heap up itself.
            let config = setup.code_base + code_end;
            let bytes = eden_args_config(config, handle, EDEN_PROGRAM_ARGS);
            let size = page_up(bytes.len() as u64)?;
            let lr = first_exit_process_svc(&setup.image).map_or(0, |o| setup.code_base + o);
            let p = &mut k.processes[pid];
            p.space.map(&mut p.cpu, config, size, Perm::RW, MemoryState::CodeData).map_err(e)?;
            p.cpu.write(config, &bytes).map_err(e)?;
            p.code_size = code_end + size;
            let th = &mut k.threads[main];
            th.initial.x0 = config;
            th.initial.x1 = u64::MAX;
            th.initial.lr = lr;
        }
        LaunchKind::Hbmenu => {
            let p = &mut k.processes[pid];
            p.space.map(&mut p.cpu, LOADER_PAGE, PAGE_SIZE, Perm::R, MemoryState::Stack).map_err(e)?;
            p.space.map(&mut p.cpu, RETURN_STUB, PAGE_SIZE, Perm::RX, MemoryState::Code).map_err(e)?;
            p.cpu.write(RETURN_STUB, &SVC_EXIT_PROCESS.to_le_bytes()).map_err(e)?;
            p.return_stub = Some(RETURN_STUB);
            let heap = setup.override_heap_size;
            if heap > 0 {
                p.space.map(&mut p.cpu, memory::HEAP_REGION_BASE, heap, Perm::RW, MemoryState::Normal).map_err(e)?;
            }
            let info = b"xcbuf-emu hbloader model";
            let info_addr = LOADER_PAGE + 0x800;
            let mut entries: Vec<(u32, u32, u64, u64)> = vec![
                (config_key::MAIN_THREAD_HANDLE, 0, u64::from(handle), 0),
                (config_key::APPLET_TYPE, 0, setup.applet_type, 0),
                (config_key::HOS_VERSION, 0, HOS_VERSION, ATMOSPHERE_MAGIC),
            ];
            if heap > 0 {
                entries.insert(1, (config_key::OVERRIDE_HEAP, CONFIG_MANDATORY, memory::HEAP_REGION_BASE, heap));
            }
            entries.push((config_key::END_OF_LIST, 0, info_addr, info.len() as u64));
            let mut bytes = Vec::new();
            for (key, flags, v0, v1) in entries {
                bytes.extend_from_slice(&key.to_le_bytes());
                bytes.extend_from_slice(&flags.to_le_bytes());
                bytes.extend_from_slice(&v0.to_le_bytes());
                bytes.extend_from_slice(&v1.to_le_bytes());
            }
            p.cpu.write(LOADER_PAGE, &bytes).map_err(e)?;
            p.cpu.write(info_addr, info).map_err(e)?;
            let th = &mut k.threads[main];
            th.initial.x0 = LOADER_PAGE;
            th.initial.x1 = u64::MAX;
            th.initial.lr = RETURN_STUB;
        }
    }
    k.threads[main].state = ThreadState::Runnable;
    Ok(pid)
}

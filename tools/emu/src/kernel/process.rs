//! KProcess: one guest program with its own unicorn engine, address space, handle
//! table, threads, svc permissions and sm permissions.

use std::collections::BTreeMap;

use crate::cpu::Cpu;
use crate::memory::AddressSpace;
use crate::symbols::Symbols;

use super::ThreadId;
use super::handle_table::HandleTable;

/// What the NPDM lets the process ask sm for (formats.md §3.4). `None` lists mean
/// "anything" (an NRO under hbloader).
#[derive(Debug, Clone, Default)]
pub struct ServiceAccess {
    pub host: Option<Vec<String>>,
    pub access: Option<Vec<String>>,
}

fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

impl ServiceAccess {
    pub fn may_host(&self, name: &str) -> bool {
        self.host.as_ref().is_none_or(|l| l.iter().any(|p| name_matches(p, name)))
    }
    pub fn may_access(&self, name: &str) -> bool {
        self.access.as_ref().is_none_or(|l| l.iter().any(|p| name_matches(p, name)))
    }
}

/// The bench's session limit per process: the System group's share of mesosphere's
/// KSession slab (1133, `init/kern_init_slab_setup.cpp` SlabCountKSession) after pm's
/// Application (1) and Applet (6) limits (`pm_spec.cpp`). No bench process comes near it;
/// tests lower it to see LimitReached.
pub const DEFAULT_SESSION_LIMIT: u64 = 1133 - 1 - 6;

/// How the process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessState {
    Running,
    /// ExitProcess, or the entry returned to the loader stub (`result` = w0).
    Exited {
        result: u32,
        how: String,
    },
    /// Stopped by a CPU exception, svcBreak, an svc not granted or not implemented.
    Faulted {
        report: String,
    },
}

/// Observation counters (issue item 5).
#[derive(Debug, Clone, Default)]
pub struct ProcessCounters {
    pub svcs: BTreeMap<u32, u64>,
    pub requests_sent: u64,
    pub requests_received: u64,
    pub replies_sent: u64,
    pub ipc_bytes_copied: u64,
    /// Last value the runtime reported on a `@heap` debug line.
    pub heap_peak_reported: Option<u64>,
    pub heap_size_max: u64,
}

/// Which loader convention the process was started with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchKind {
    /// NSO entry: x0 = 0, x1 = main thread handle, lr = 0.
    Sysmodule,
    /// NRO under hbloader: x0 = loader config, x1 = -1, lr = return stub.
    Hbmenu,
    /// NRO as Eden/Ryujinx start it: like an NSO, no config.
    Emulator,
    /// NRO as Eden starts it with program arguments: x0 = Eden's loader config
    /// (MainThreadHandle, AppletType, Argv, EndOfList: no HosVersion, no OverrideHeap),
    /// x1 = -1, lr = the first `svc #7` in the NRO's text (0 if none).
    EdenArgs,
}

pub struct KProcess {
    pub name: String,
    pub pid: u64,
    pub program_id: u64,
    pub kind: LaunchKind,
    pub cpu: Cpu,
    pub space: AddressSpace,
    pub handles: HandleTable,
    pub threads: Vec<ThreadId>,
    /// The thread whose registers are in the engine.
    pub loaded_thread: Option<ThreadId>,
    /// svc n granted? `None` = every svc (NRO under hbloader's NPDM or an emulator).
    pub svc_allowed: Option<Vec<bool>>,
    pub services: ServiceAccess,
    pub state: ProcessState,
    pub heap_size: u64,
    pub memory_limit: u64,
    pub core_mask: u64,
    pub priority_mask: u64,
    /// SessionCountMax of the process's resource limit: sessions it may have created
    /// (svcCreateSession, svcConnectToPort/NamedPort) and not yet finalized; one more
    /// gives LimitReached 0x10801 (mesosphere KClientPort::CreateSession,
    /// `svc/kern_svc_session.cpp` CreateSession). Real limits are per resource-limit
    /// group, set by pm (`stratosphere/pm/source/impl/pm_spec.cpp`: Application 1, Applet
    /// 6, System the rest of the kernel's KSession slab); the bench gives each process
    /// [`DEFAULT_SESSION_LIMIT`].
    pub session_limit: u64,
    /// Sessions counted against `session_limit` now.
    pub sessions_in_use: u64,
    /// Next free thread-local slot address.
    pub next_tls: u64,
    /// Free TLS slots of exited threads.
    pub free_tls: Vec<u64>,
    /// Address of the hbloader return stub (`svc #0x07` page), if any.
    pub return_stub: Option<u64>,
    pub code_base: u64,
    pub code_size: u64,
    pub symbols: Option<Symbols>,
    pub counters: ProcessCounters,
    /// Unterminated tail of the debug output.
    pub debug_line: String,
    /// Complete debug output lines.
    pub output: Vec<String>,
}

impl KProcess {
    /// A running process with no code of its own: memory (`cpu`, `space`) and a handle
    /// table, for the host-side client and for tests. Entered like an emulator launch,
    /// every svc allowed, the default priority mask.
    pub fn codeless(
        name: &str,
        pid: u64,
        program_id: u64,
        cpu: Cpu,
        space: AddressSpace,
        handle_table_size: usize,
    ) -> KProcess {
        KProcess {
            name: name.to_string(),
            pid,
            program_id,
            kind: LaunchKind::Emulator,
            cpu,
            space,
            handles: HandleTable::new(handle_table_size),
            threads: Vec::new(),
            loaded_thread: None,
            svc_allowed: None,
            services: ServiceAccess::default(),
            state: ProcessState::Running,
            heap_size: 0,
            memory_limit: 0,
            core_mask: 1,
            priority_mask: crate::loader::DEFAULT_PRIORITY_MASK,
            session_limit: DEFAULT_SESSION_LIMIT,
            sessions_in_use: 0,
            next_tls: crate::memory::TLS_AREA_BASE,
            free_tls: Vec::new(),
            return_stub: None,
            code_base: 0,
            code_size: 0,
            symbols: None,
            counters: ProcessCounters::default(),
            debug_line: String::new(),
            output: Vec::new(),
        }
    }

    pub fn is_running(&self) -> bool {
        self.state == ProcessState::Running
    }

    pub fn svc_granted(&self, svc: u32) -> bool {
        match &self.svc_allowed {
            None => true,
            Some(mask) => mask.get(svc as usize).copied().unwrap_or(false),
        }
    }

    pub fn describe_address(&self, address: u64) -> String {
        let sym = self.symbols.as_ref().and_then(|s| s.lookup(address, self.code_base));
        match sym {
            Some(s) => format!("{address:#x} ({s})"),
            None if address >= self.code_base && address < self.code_base + self.code_size => {
                format!("{address:#x} (image+{:#x})", address - self.code_base)
            }
            None => format!("{address:#x}"),
        }
    }
}

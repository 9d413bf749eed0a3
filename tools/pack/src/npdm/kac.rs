//! Kernel access control: the u32 capability descriptors of ACID and ACI0
//! (formats.md §3.5). A descriptor's type is its number of trailing 1 bits.

use std::collections::BTreeSet;

use crate::error::{Result, invalid};

/// Highest SVC id a SyscallMask can grant: 8 descriptors x 24 bits (formats.md §3.5).
pub const SYSCALL_ID_LIMIT: u32 = 0xC0;
/// SVC ids per SyscallMask descriptor.
const SYSCALLS_PER_DESCRIPTOR: u32 = 24;
/// Thread priorities are 0 (highest) ..= 63 (lowest).
pub const LOWEST_THREAD_PRIORITY: u8 = 63;
/// CPU cores are 0..=3.
pub const HIGHEST_CPU_ID: u8 = 3;
/// Handle table size is a 10-bit field (bits 16-25).
pub const HANDLE_TABLE_SIZE_LIMIT: u16 = 0x3FF;
/// "No interrupt" in an InterruptPair half.
pub const IRQ_NONE: u16 = 0x3FF;

/// Trailing-ones counts that identify each descriptor type (formats.md §3.5 table).
mod id {
    pub const KERNEL_FLAGS: u32 = 3;
    pub const SYSCALL_MASK: u32 = 4;
    pub const MAP_RANGE: u32 = 6;
    pub const MAP_PAGE: u32 = 7;
    pub const MAP_REGION: u32 = 10;
    pub const INTERRUPT_PAIR: u32 = 11;
    pub const APPLICATION_TYPE: u32 = 13;
    pub const KERNEL_VERSION: u32 = 14;
    pub const HANDLE_TABLE_SIZE: u32 = 15;
    pub const DEBUG_FLAGS: u32 = 16;
    /// 0xFFFFFFFF: an unused slot.
    pub const EMPTY: u32 = 32;
}

/// One kernel capability, as npdmtool's JSON describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Thread priority range and core range. `highest_priority` is the numerically
    /// smallest priority allowed, `lowest_priority` the numerically largest.
    KernelFlags {
        highest_priority: u8,
        lowest_priority: u8,
        min_core: u8,
        max_core: u8,
    },
    /// SVC ids the process may call.
    Syscalls(BTreeSet<u32>),
    /// An I/O or static memory range.
    Map {
        address: u64,
        size: u64,
        is_ro: bool,
        is_io: bool,
    },
    /// One I/O page.
    MapPage(u64),
    /// Up to three {region type, read-only}.
    MapRegion([(u8, bool); 3]),
    /// Two interrupt ids ([`IRQ_NONE`] = none).
    IrqPair([u16; 2]),
    /// 0 = system module, 1 = application, 2 = applet.
    ApplicationType(u8),
    /// `major << 4 | minor` as in the JSON (`"0x0030"` = 3.0).
    MinKernelVersion(u32),
    HandleTableSize(u16),
    DebugFlags {
        allow_debug: bool,
        force_debug_prod: bool,
        force_debug: bool,
    },
}

impl Capability {
    /// Checks that every value fits its descriptor field, so that [`Capability::encode`]
    /// never drops bits; `field` names the capability in errors.
    pub fn validate(&self, file: &str, field: &str) -> Result<()> {
        let fail = |what: &str| Err(invalid(file, field, what.to_string()));
        match self {
            Capability::KernelFlags { highest_priority, lowest_priority, min_core, max_core } => {
                if highest_priority > lowest_priority || *lowest_priority > LOWEST_THREAD_PRIORITY {
                    return fail("priorities must satisfy highest <= lowest <= 63");
                }
                if min_core > max_core || *max_core > HIGHEST_CPU_ID {
                    return fail("cores must satisfy min <= max <= 3");
                }
            }
            Capability::Syscalls(ids) => {
                if ids.iter().any(|s| *s >= SYSCALL_ID_LIMIT) {
                    return fail("SVC ids are 0..=0xBF");
                }
            }
            Capability::Map { address, size, .. } => {
                if address % 0x1000 != 0 || address >> 40 != 0 || size % 0x1000 != 0 || size >> 32 != 0 {
                    return fail("map address must be a page below 2^40 and size a page multiple below 4 GiB");
                }
            }
            Capability::MapPage(page) => {
                if page % 0x1000 != 0 || page >> 36 != 0 {
                    return fail("map_page must be a page below 2^36");
                }
            }
            Capability::MapRegion(regions) => {
                if regions.iter().any(|(r, _)| *r > 0x3F) {
                    return fail("region types are 6 bits");
                }
            }
            Capability::IrqPair(irqs) => {
                if irqs.iter().any(|i| *i > IRQ_NONE) {
                    return fail("IRQ numbers are 10 bits");
                }
            }
            Capability::ApplicationType(t) => {
                if *t > 7 {
                    return fail("application type is 3 bits");
                }
            }
            Capability::MinKernelVersion(v) => {
                if *v > 0xFFFF {
                    return fail("kernel version is 16 bits");
                }
            }
            Capability::HandleTableSize(n) => {
                if *n > HANDLE_TABLE_SIZE_LIMIT {
                    return fail("handle table size is 10 bits (at most 1023)");
                }
            }
            Capability::DebugFlags { allow_debug, force_debug_prod, force_debug } => {
                if u8::from(*allow_debug) + u8::from(*force_debug_prod) + u8::from(*force_debug) > 1 {
                    return fail("only one debug flag may be set");
                }
            }
        }
        Ok(())
    }

    /// The descriptors npdmtool writes for this capability.
    pub fn encode(&self) -> Vec<u32> {
        match self {
            Capability::KernelFlags { highest_priority, lowest_priority, min_core, max_core } => {
                let d = u32::from(*max_core) << 24
                    | u32::from(*min_core) << 16
                    | u32::from(*highest_priority & 0x3F) << 10
                    | u32::from(*lowest_priority & 0x3F) << 4;
                vec![d | 0b0111]
            }
            Capability::Syscalls(ids) => {
                let mut masks = [0u32; (SYSCALL_ID_LIMIT / SYSCALLS_PER_DESCRIPTOR) as usize];
                for &svc in ids {
                    if svc < SYSCALL_ID_LIMIT {
                        masks[(svc / SYSCALLS_PER_DESCRIPTOR) as usize] |= 1 << (svc % SYSCALLS_PER_DESCRIPTOR);
                    }
                }
                masks
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| **m != 0)
                    .map(|(i, m)| ((i as u32) << 29) | (m << 5) | 0b01111)
                    .collect()
            }
            Capability::Map { address, size, is_ro, is_io } => {
                let first = ((address >> 12) & 0xFF_FFFF) as u32 | u32::from(*is_ro) << 24;
                let second = ((size >> 12) & 0xF_FFFF) as u32
                    | (((address >> 36) & 0xF) as u32) << 20
                    | u32::from(!*is_io) << 24;
                vec![first << 7 | 0x3F, second << 7 | 0x3F]
            }
            Capability::MapPage(page) => vec![(((page >> 12) & 0xFF_FFFF) as u32) << 8 | 0x7F],
            Capability::MapRegion(regions) => {
                let mut d = 0x3FF;
                for (i, (region, ro)) in regions.iter().enumerate() {
                    d |= (u32::from(region & 0x3F) | u32::from(*ro) << 6) << (11 + 7 * i);
                }
                vec![d]
            }
            Capability::IrqPair([a, b]) => {
                vec![((u32::from(*a & 0x3FF) | u32::from(*b & 0x3FF) << 10) << 12) | 0x7FF]
            }
            Capability::ApplicationType(t) => vec![(u32::from(*t & 7) << 14) | 0x1FFF],
            Capability::MinKernelVersion(v) => vec![((v & 0xFFFF) << 15) | 0x3FFF],
            Capability::HandleTableSize(n) => vec![(u32::from(*n) << 16) | 0x7FFF],
            Capability::DebugFlags { allow_debug, force_debug_prod, force_debug } => {
                let d = u32::from(*allow_debug) | u32::from(*force_debug_prod) << 1 | u32::from(*force_debug) << 2;
                vec![(d << 17) | 0xFFFF]
            }
        }
    }
}

/// Decodes a KAC; `section` ("ACID.KAC" / "ACI0.KAC") names it in errors.
/// Each SyscallMask descriptor becomes its own [`Capability::Syscalls`].
pub fn decode(file: &str, section: &str, words: &[u32]) -> Result<Vec<Capability>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let field = format!("{section}[{i}]");
        match w.trailing_ones() {
            id::KERNEL_FLAGS => out.push(Capability::KernelFlags {
                lowest_priority: ((w >> 4) & 0x3F) as u8,
                highest_priority: ((w >> 10) & 0x3F) as u8,
                min_core: ((w >> 16) & 0xFF) as u8,
                max_core: (w >> 24) as u8,
            }),
            id::SYSCALL_MASK => {
                let mask = (w >> 5) & 0xFF_FFFF;
                let base = (w >> 29) * SYSCALLS_PER_DESCRIPTOR;
                let ids = (0..SYSCALLS_PER_DESCRIPTOR).filter(|b| mask & (1 << b) != 0).map(|b| base + b).collect();
                out.push(Capability::Syscalls(ids));
            }
            id::MAP_RANGE => {
                let Some(&second) = words.get(i + 1).filter(|s| s.trailing_ones() == id::MAP_RANGE) else {
                    return Err(invalid(file, field, format!("{w:#010x}: MapRange without its second word")));
                };
                let (a, s) = (w >> 7, second >> 7);
                out.push(Capability::Map {
                    address: u64::from(a & 0xFF_FFFF) << 12 | u64::from((s >> 20) & 0xF) << 36,
                    size: u64::from(s & 0xF_FFFF) << 12,
                    is_ro: (a >> 24) & 1 != 0,
                    is_io: (s >> 24) & 1 == 0,
                });
                i += 1;
            }
            id::MAP_PAGE => out.push(Capability::MapPage(u64::from((w >> 8) & 0xFF_FFFF) << 12)),
            id::MAP_REGION => {
                let mut regions = [(0u8, false); 3];
                for (k, r) in regions.iter_mut().enumerate() {
                    let bits = (w >> (11 + 7 * k)) & 0x7F;
                    *r = ((bits & 0x3F) as u8, bits & 0x40 != 0);
                }
                out.push(Capability::MapRegion(regions));
            }
            id::INTERRUPT_PAIR => {
                out.push(Capability::IrqPair([((w >> 12) & 0x3FF) as u16, ((w >> 22) & 0x3FF) as u16]))
            }
            id::APPLICATION_TYPE => out.push(Capability::ApplicationType(((w >> 14) & 7) as u8)),
            id::KERNEL_VERSION => out.push(Capability::MinKernelVersion(w >> 15)),
            id::HANDLE_TABLE_SIZE => out.push(Capability::HandleTableSize(((w >> 16) & 0x3FF) as u16)),
            id::DEBUG_FLAGS => out.push(Capability::DebugFlags {
                allow_debug: (w >> 17) & 1 != 0,
                force_debug_prod: (w >> 18) & 1 != 0,
                force_debug: (w >> 19) & 1 != 0,
            }),
            id::EMPTY => {}
            n => {
                return Err(invalid(file, field, format!("{w:#010x}: unknown capability type ({n} trailing ones)")));
            }
        }
        i += 1;
    }
    Ok(out)
}

/// Every SVC id granted by the SyscallMask descriptors among `caps`.
pub fn granted_syscalls(caps: &[Capability]) -> BTreeSet<u32> {
    caps.iter()
        .filter_map(|c| match c {
            Capability::Syscalls(ids) => Some(ids.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect()
}

//! One unicorn engine per guest process: an aarch64 core at EL0 with the system
//! registers a Horizon process expects (emulator-bench.md B.5).
//!
//! The engine never handles an svc itself. Its interrupt hook decodes the svc number
//! from the instruction at `pc - 4` (B.5 test 1: `ESR_EL1` reads 0, so the immediate is
//! taken from the instruction), records it and stops the engine; the bench then runs
//! the kernel model with full access to every process and resumes the thread. Any other
//! exception (`intno != 2`) also stops the engine, because returning from the hook would
//! re-raise it forever (B.5 test 3).
//!
//! Instructions are counted by a block hook (`size / 4` per translated block executed),
//! which is also how a thread's time slice ends: the hook stops the engine once the
//! slice's budget is used up (B.5 "Performance": a block hook costs far less than
//! unicorn's own per-instruction count).
//!
//! The same hook can also count executions per block ([`Cpu::enable_profile`]): the
//! per-function profile of `xcbuf-emu profile` (tools/emu perf/profile.rs) is built from
//! these counts, so it sums to exactly the instruction counter above.
//!
//! The `unicorn-engine` crate's API is safe; this module needs no `unsafe`.

use std::collections::HashMap;
use std::fmt;

use unicorn_engine::unicorn_const::{Arch, HookType, MemType, Mode, Prot};
use unicorn_engine::{Arm64CpuModel, Context, RegisterARM64, RegisterARM64CP, Unicorn};

/// Memory permission of a mapping, as the guest sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Perm {
    pub read: bool,
    pub write: bool,
    pub execute: bool,
}

impl Perm {
    pub const NONE: Perm = Perm { read: false, write: false, execute: false };
    pub const R: Perm = Perm { read: true, write: false, execute: false };
    pub const RW: Perm = Perm { read: true, write: true, execute: false };
    pub const RX: Perm = Perm { read: true, write: false, execute: true };

    fn prot(self) -> Prot {
        let mut p = Prot::NONE;
        if self.read {
            p |= Prot::READ;
        }
        if self.write {
            p |= Prot::WRITE;
        }
        if self.execute {
            p |= Prot::EXEC;
        }
        p
    }

    /// Horizon's `MemoryPermission` bits (R = 1, W = 2, X = 4), as QueryMemory reports.
    pub fn horizon_bits(self) -> u32 {
        (self.read as u32) | ((self.write as u32) << 1) | ((self.execute as u32) << 2)
    }
}

impl fmt::Display for Perm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = if self.read { 'r' } else { '-' };
        let w = if self.write { 'w' } else { '-' };
        let x = if self.execute { 'x' } else { '-' };
        write!(f, "{r}{w}{x}")
    }
}

/// Page size of every mapping.
pub const PAGE_SIZE: u64 = 0x1000;

/// `intno` unicorn reports for an `svc` (QEMU's EXCP_SWI; B.5 test 1).
const INTNO_SVC: u32 = 2;
/// PSTATE for EL0t with D, A, I, F masked (B.5 test 2).
const PSTATE_EL0: u64 = 0x3c0;
/// SCTLR_EL1 bits that let EL0 use `dc zva` (DZE, bit 14), read CTR_EL0 (UCT, bit 15)
/// and run cache maintenance (UCI, bit 26) (B.5 test 4).
const SCTLR_EL0_ACCESS: u64 = (1 << 14) | (1 << 15) | (1 << 26);
/// CNTKCTL_EL1: EL0 may read the physical and virtual counters (B.5 test 4).
const CNTKCTL_EL0_ACCESS: u64 = 0b11;
/// The Switch's counter frequency, 19.2 MHz (B.5 test 4; emulator-bench.md §1 GetSystemTick).
pub const COUNTER_FREQUENCY: u64 = 19_200_000;
/// CPACR_EL1.FPEN = 0b11: no FP/SIMD traps (harmless on 2.1.5, B.5 test 2).
const CPACR_FPEN: u64 = 3 << 20;

/// Why the engine stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// `svc #imm`; `pc` is the address after the svc (where the thread resumes).
    Svc { imm: u32, pc: u64 },
    /// The time slice is used up; the thread is runnable at `pc`.
    SliceEnd { pc: u64 },
    /// A CPU exception other than svc (undefined instruction, breakpoint, ...).
    Exception { intno: u32, pc: u64 },
    /// A memory access the mappings do not allow.
    MemoryFault { access: &'static str, address: u64, pc: u64 },
    /// The engine reported an error without a hook seeing why.
    EngineError { error: String, pc: u64 },
}

/// What the hooks record; lives inside the engine.
#[derive(Default)]
pub struct CpuData {
    stop: Option<Stop>,
    /// Instructions executed by this engine (all threads), counted per block.
    pub instructions: u64,
    /// Stop when `instructions` reaches this value.
    budget_end: u64,
    /// `(address, size)` of the last `svc` page check, for the svc decoder.
    pending_fault: Option<(&'static str, u64)>,
    /// Executions of each block, keyed by (start address, size in bytes), when profiling.
    profile: Option<BlockCounts>,
}

/// Executions of each translated block, keyed by (start address, size in bytes): the
/// block contributes `size / 4` instructions per execution, as in the instruction counter.
pub type BlockCounts = HashMap<(u64, u32), u64>;

/// Error talking to unicorn (mapping, register access).
#[derive(Debug, Clone)]
pub struct CpuError(pub String);

impl fmt::Display for CpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unicorn: {}", self.0)
    }
}

impl std::error::Error for CpuError {}

fn err<E: fmt::Debug>(what: &str) -> impl FnOnce(E) -> CpuError + '_ {
    move |e| CpuError(format!("{what}: {e:?}"))
}

/// General-purpose registers x0..x28 in unicorn's numbering.
const X_REGS: [RegisterARM64; 29] = [
    RegisterARM64::X0,
    RegisterARM64::X1,
    RegisterARM64::X2,
    RegisterARM64::X3,
    RegisterARM64::X4,
    RegisterARM64::X5,
    RegisterARM64::X6,
    RegisterARM64::X7,
    RegisterARM64::X8,
    RegisterARM64::X9,
    RegisterARM64::X10,
    RegisterARM64::X11,
    RegisterARM64::X12,
    RegisterARM64::X13,
    RegisterARM64::X14,
    RegisterARM64::X15,
    RegisterARM64::X16,
    RegisterARM64::X17,
    RegisterARM64::X18,
    RegisterARM64::X19,
    RegisterARM64::X20,
    RegisterARM64::X21,
    RegisterARM64::X22,
    RegisterARM64::X23,
    RegisterARM64::X24,
    RegisterARM64::X25,
    RegisterARM64::X26,
    RegisterARM64::X27,
    RegisterARM64::X28,
];

/// Register `x<n>` for n in 0..=30.
pub fn x_reg(n: usize) -> Option<RegisterARM64> {
    match n {
        0..=28 => Some(X_REGS[n]),
        29 => Some(RegisterARM64::X29),
        30 => Some(RegisterARM64::X30),
        _ => None,
    }
}

/// A register snapshot for reports.
#[derive(Clone, Debug, Default)]
pub struct RegisterDump {
    pub x: [u64; 31],
    pub sp: u64,
    pub pc: u64,
    pub tpidrro_el0: u64,
}

impl fmt::Display for RegisterDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.x.iter().enumerate() {
            write!(f, "x{i:<2}={v:#018x}")?;
            f.write_str(if i % 4 == 3 { "\n" } else { " " })?;
        }
        write!(f, "\nsp ={:#018x} pc ={:#018x} tpidrro_el0={:#x}", self.sp, self.pc, self.tpidrro_el0)
    }
}

/// One guest process's core.
pub struct Cpu {
    uc: Unicorn<'static, CpuData>,
    /// The register state right after setup: the starting point of every new thread.
    base_context: Context,
}

impl Cpu {
    /// A fresh engine: A57 model (set before any mapping, B.5 "Other gotchas"), EL0,
    /// EL0 access to the counter and cache registers, svc/exception/fault hooks.
    pub fn new() -> Result<Cpu, CpuError> {
        let mut uc = Unicorn::new_with_data(Arch::ARM64, Mode::ARM, CpuData::default()).map_err(err("open engine"))?;
        uc.ctl_set_cpu_model(Arm64CpuModel::A57.into()).map_err(err("set cpu model A57"))?;

        // SCTLR_EL1: op0=3, op1=0, CRn=1, CRm=0, op2=0 (B.5 test 4).
        let mut sctlr = RegisterARM64CP { crn: 1, crm: 0, op0: 3, op1: 0, op2: 0, val: 0 };
        uc.reg_read_arm64_coproc(&mut sctlr).map_err(err("read SCTLR_EL1"))?;
        sctlr.val |= SCTLR_EL0_ACCESS;
        uc.reg_write_arm64_coproc(&sctlr).map_err(err("write SCTLR_EL1"))?;
        // CNTKCTL_EL1: op0=3, op1=0, CRn=14, CRm=1, op2=0.
        let cntkctl = RegisterARM64CP { crn: 14, crm: 1, op0: 3, op1: 0, op2: 0, val: CNTKCTL_EL0_ACCESS };
        uc.reg_write_arm64_coproc(&cntkctl).map_err(err("write CNTKCTL_EL1"))?;
        // CNTFRQ_EL0: op0=3, op1=3, CRn=14, CRm=0, op2=0.
        let cntfrq = RegisterARM64CP { crn: 14, crm: 0, op0: 3, op1: 3, op2: 0, val: COUNTER_FREQUENCY };
        uc.reg_write_arm64_coproc(&cntfrq).map_err(err("write CNTFRQ_EL0"))?;
        uc.reg_write(RegisterARM64::CPACR_EL1, CPACR_FPEN).map_err(err("write CPACR_EL1"))?;
        uc.reg_write(RegisterARM64::PSTATE, PSTATE_EL0).map_err(err("write PSTATE"))?;

        uc.add_intr_hook(|uc: &mut Unicorn<'_, CpuData>, intno: u32| {
            let pc = uc.pc_read().unwrap_or(0);
            let stop = if intno == INTNO_SVC {
                let insn_addr = pc.wrapping_sub(4);
                let mut insn = [0u8; 4];
                match uc.mem_read(insn_addr, &mut insn) {
                    // `svc #imm16`: 0xd4000001 | imm16 << 5.
                    Ok(()) => Stop::Svc { imm: (u32::from_le_bytes(insn) >> 5) & 0xffff, pc },
                    Err(e) => {
                        Stop::EngineError { error: format!("svc instruction at {insn_addr:#x} unreadable: {e:?}"), pc }
                    }
                }
            } else {
                Stop::Exception { intno, pc }
            };
            uc.get_data_mut().stop = Some(stop);
            let _ = uc.emu_stop();
        })
        .map_err(err("add interrupt hook"))?;

        uc.add_mem_hook(
            HookType::MEM_READ_UNMAPPED
                | HookType::MEM_WRITE_UNMAPPED
                | HookType::MEM_FETCH_UNMAPPED
                | HookType::MEM_READ_PROT
                | HookType::MEM_WRITE_PROT
                | HookType::MEM_FETCH_PROT,
            1,
            0,
            |uc: &mut Unicorn<'_, CpuData>, ty: MemType, address: u64, _size: usize, _v: i64| {
                let access = match ty {
                    MemType::READ_UNMAPPED => "read of unmapped memory",
                    MemType::WRITE_UNMAPPED => "write to unmapped memory",
                    MemType::FETCH_UNMAPPED => "instruction fetch from unmapped memory",
                    MemType::READ_PROT => "read without read permission",
                    MemType::WRITE_PROT => "write without write permission",
                    MemType::FETCH_PROT => "instruction fetch without execute permission",
                    _ => "invalid memory access",
                };
                uc.get_data_mut().pending_fault = Some((access, address));
                false
            },
        )
        .map_err(err("add memory fault hook"))?;

        uc.add_block_hook(1, 0, |uc: &mut Unicorn<'_, CpuData>, address: u64, size: u32| {
            let data = uc.get_data_mut();
            data.instructions += u64::from(size / 4);
            if let Some(blocks) = data.profile.as_mut() {
                *blocks.entry((address, size)).or_insert(0) += 1;
            }
            if data.instructions >= data.budget_end && data.stop.is_none() {
                let _ = uc.emu_stop();
            }
        })
        .map_err(err("add block hook"))?;

        let base_context = uc.context_init().map_err(err("save base context"))?;
        Ok(Cpu { uc, base_context })
    }

    /// Maps `[address, address + size)` with `perm`; page-aligned.
    pub fn map(&mut self, address: u64, size: u64, perm: Perm) -> Result<(), CpuError> {
        self.uc
            .mem_map(address, size, perm.prot())
            .map_err(|e| CpuError(format!("map {address:#x}+{size:#x} {perm}: {e:?}")))
    }

    pub fn unmap(&mut self, address: u64, size: u64) -> Result<(), CpuError> {
        self.uc.mem_unmap(address, size).map_err(|e| CpuError(format!("unmap {address:#x}+{size:#x}: {e:?}")))
    }

    pub fn protect(&mut self, address: u64, size: u64, perm: Perm) -> Result<(), CpuError> {
        self.uc
            .mem_protect(address, size, perm.prot())
            .map_err(|e| CpuError(format!("protect {address:#x}+{size:#x} {perm}: {e:?}")))
    }

    /// Host read, ignoring guest permissions (the caller checks them).
    pub fn read(&self, address: u64, buf: &mut [u8]) -> Result<(), CpuError> {
        self.uc.mem_read(address, buf).map_err(|e| CpuError(format!("read {address:#x}+{:#x}: {e:?}", buf.len())))
    }

    /// Host write, ignoring guest permissions (the caller checks them).
    pub fn write(&mut self, address: u64, bytes: &[u8]) -> Result<(), CpuError> {
        self.uc.mem_write(address, bytes).map_err(|e| CpuError(format!("write {address:#x}+{:#x}: {e:?}", bytes.len())))
    }

    pub fn read_u32(&self, address: u64) -> Result<u32, CpuError> {
        let mut b = [0u8; 4];
        self.read(address, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn read_u64(&self, address: u64) -> Result<u64, CpuError> {
        let mut b = [0u8; 8];
        self.read(address, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn reg(&self, r: RegisterARM64) -> u64 {
        self.uc.reg_read(r).unwrap_or(0)
    }

    pub fn set_reg(&mut self, r: RegisterARM64, v: u64) -> Result<(), CpuError> {
        self.uc.reg_write(r, v).map_err(err("write register"))
    }

    /// `x<n>`; 0 for n > 30.
    pub fn x(&self, n: usize) -> u64 {
        x_reg(n).map(|r| self.reg(r)).unwrap_or(0)
    }

    pub fn set_x(&mut self, n: usize, v: u64) -> Result<(), CpuError> {
        let r = x_reg(n).ok_or_else(|| CpuError(format!("no register x{n}")))?;
        self.set_reg(r, v)
    }

    pub fn pc(&self) -> u64 {
        self.reg(RegisterARM64::PC)
    }

    pub fn dump(&self) -> RegisterDump {
        let mut d = RegisterDump::default();
        for (i, slot) in d.x.iter_mut().enumerate() {
            *slot = self.x(i);
        }
        d.sp = self.reg(RegisterARM64::SP);
        d.pc = self.pc();
        d.tpidrro_el0 = self.reg(RegisterARM64::TPIDRRO_EL0);
        d
    }

    /// Instructions executed so far by this engine.
    pub fn instructions(&self) -> u64 {
        self.uc.get_data().instructions
    }

    /// Starts counting executions per block (kept until the engine is dropped).
    pub fn enable_profile(&mut self) {
        let data = self.uc.get_data_mut();
        if data.profile.is_none() {
            data.profile = Some(BlockCounts::new());
        }
    }

    /// Executions per block since [`Cpu::enable_profile`]; None when not profiling.
    pub fn profile(&self) -> Option<&BlockCounts> {
        self.uc.get_data().profile.as_ref()
    }

    /// A new context for a thread that has never run.
    pub fn new_context(&self) -> Result<Context, CpuError> {
        let ctx = self.uc.context_alloc().map_err(err("allocate context"))?;
        Ok(ctx)
    }

    /// Loads the setup-time register state (EL0, system registers), zeroing nothing else:
    /// the caller writes every register a new thread starts with.
    pub fn load_base_context(&mut self) -> Result<(), CpuError> {
        self.uc.context_restore(&self.base_context).map_err(err("restore base context"))
    }

    pub fn save_context(&self, ctx: &mut Context) -> Result<(), CpuError> {
        self.uc.context_save(ctx).map_err(err("save context"))
    }

    pub fn restore_context(&self, ctx: &Context) -> Result<(), CpuError> {
        self.uc.context_restore(ctx).map_err(err("restore context"))
    }

    /// Runs the loaded thread from its pc for at most `budget` instructions (rounded up to
    /// the end of a block) or until it stops in an svc or an exception.
    pub fn run(&mut self, budget: u64) -> Stop {
        let start_pc = self.pc();
        {
            let data = self.uc.get_data_mut();
            data.stop = None;
            data.pending_fault = None;
            data.budget_end = data.instructions.saturating_add(budget.max(1));
        }
        // `until` = 0: a thread that branches to 0 (returning from an NSO entry with
        // lr = 0) stops there and is reported as a fault below.
        let result = self.uc.emu_start(start_pc, 0, 0, 0);
        let pc = self.pc();
        let data = self.uc.get_data_mut();
        if let Some(stop) = data.stop.take() {
            return stop;
        }
        if let Some((access, address)) = data.pending_fault.take() {
            return Stop::MemoryFault { access, address, pc };
        }
        match result {
            Ok(()) if pc == 0 => Stop::MemoryFault {
                access: "instruction fetch from unmapped memory (branch to address 0)",
                address: 0,
                pc,
            },
            Ok(()) => Stop::SliceEnd { pc },
            Err(e) => Stop::EngineError { error: format!("{e:?}"), pc },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x71_0000_0000;

    fn cpu_with_code(words: &[u32]) -> Cpu {
        let mut cpu = Cpu::new().unwrap();
        cpu.map(BASE, PAGE_SIZE, Perm::RX).unwrap();
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        cpu.write(BASE, &bytes).unwrap();
        cpu.set_reg(RegisterARM64::PC, BASE).unwrap();
        cpu
    }

    #[test]
    fn svc_number_comes_from_the_instruction_before_pc() {
        // movz x0, #42; svc #0x26; add x0, x0, #1; svc #0x27
        let mut cpu = cpu_with_code(&[0xd2800540, 0xd40004c1, 0x91000400, 0xd40004e1]);
        assert_eq!(cpu.run(1000), Stop::Svc { imm: 0x26, pc: BASE + 8 });
        assert_eq!(cpu.x(0), 42);
        // The engine stopped right after the svc: the add has not run yet.
        assert_eq!(cpu.run(1000), Stop::Svc { imm: 0x27, pc: BASE + 16 });
        assert_eq!(cpu.x(0), 43);
    }

    #[test]
    fn load_from_unmapped_memory_is_a_fault_with_its_address() {
        // ldr x0, [xzr]... (xzr is sp in this encoding) -> use movz x1,#0; ldr x0,[x1]
        let mut cpu = cpu_with_code(&[0xd2800001, 0xf9400020]);
        match cpu.run(1000) {
            Stop::MemoryFault { address: 0, access, .. } => assert!(access.contains("read")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn counter_register_is_readable_at_el0() {
        // mrs x0, cntfrq_el0; svc #1
        let mut cpu = cpu_with_code(&[0xd53be000, 0xd4000021]);
        assert!(matches!(cpu.run(1000), Stop::Svc { imm: 1, .. }));
        assert_eq!(cpu.x(0), COUNTER_FREQUENCY);
    }

    #[test]
    fn endless_loop_ends_with_its_slice() {
        // b .
        let mut cpu = cpu_with_code(&[0x14000000]);
        assert_eq!(cpu.run(10_000), Stop::SliceEnd { pc: BASE });
        assert!(cpu.instructions() >= 10_000);
    }

    #[test]
    fn undefined_instruction_stops_the_engine() {
        // udf #0
        let mut cpu = cpu_with_code(&[0x00000000]);
        assert!(matches!(cpu.run(1000), Stop::Exception { intno: 1, .. }));
    }
}

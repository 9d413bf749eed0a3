//! How deep the runtime's threads went into their stacks, read from guest memory.
//!
//! rt lists the stack of every thread it spawned and has not joined in an exported static
//! named [`SYMBOL`] (rt/src/thread.rs `XCBUF_RT_THREAD_STACKS`, the runtime contract):
//! magic [`MAGIC`], then [`SLOTS`] pairs of little-endian u64 words `base, size` (base 0 =
//! free slot). rt zeroes each stack when it spawns the thread, so the bytes from the
//! lowest non-zero one up to the top are the ones the thread wrote: a lower bound of its
//! deepest use (a frame that only ever stored zeros at its bottom would not show), the
//! same measure as the main stack's ([`crate::perf::main_stack_peak`]), which the kernel
//! maps zeroed: mesosphere `kern_k_process.cpp` `KProcess::Run` maps it with `MapPages`
//! (KMemoryState_Stack), whose `AllocateAndMapPagesImpl` (`kern_k_page_table_base.cpp`)
//! fills new pages with the heap fill value, zero unless debug memory fill is enabled
//! (`InitializeForProcess`).

use crate::kernel::process::KProcess;

/// The static's unmangled name.
pub const SYMBOL: &str = "XCBUF_RT_THREAD_STACKS";
/// `"XCBSTAK1"` as a little-endian u64 (rt/src/thread.rs `THREAD_STACKS_MAGIC`).
pub const MAGIC: u64 = u64::from_le_bytes(*b"XCBSTAK1");
/// Slots of the list (rt/src/thread.rs `THREAD_STACK_SLOTS`).
pub const SLOTS: usize = 4;
/// Bytes of the static.
pub const LIST_SIZE: usize = 8 + 16 * SLOTS;
/// Larger stacks are not read (a corrupt list must not make the bench read gigabytes).
const MAX_STACK: u64 = 1 << 20;

/// One listed stack and the bytes of it the thread wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StackUse {
    pub base: u64,
    pub size: u64,
    pub peak: u64,
}

/// The listed (base, size) pairs of the static's bytes; Err for a wrong magic.
pub fn parse(bytes: &[u8; LIST_SIZE]) -> Result<Vec<(u64, u64)>, String> {
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    if word(0) != MAGIC {
        return Err(format!("{SYMBOL}: magic {:#018x}, expected {MAGIC:#018x} (\"XCBSTAK1\")", word(0)));
    }
    Ok((0..SLOTS).map(|i| (word(1 + 2 * i), word(2 + 2 * i))).filter(|&(base, _)| base != 0).collect())
}

/// Bytes of `stack` (lowest address first) from the lowest non-zero byte to its end.
pub fn written(stack: &[u8]) -> u64 {
    stack.iter().position(|&b| b != 0).map_or(0, |first| (stack.len() - first) as u64)
}

/// The listed stacks of `p` with their peaks: `Ok(None)` without symbols or without
/// [`SYMBOL`]; Err when the list or a stack cannot be read.
pub fn read(p: &KProcess) -> Result<Option<Vec<StackUse>>, String> {
    let Some((address, size)) = p.symbols.as_ref().and_then(|s| s.object(SYMBOL)) else {
        return Ok(None);
    };
    if size < LIST_SIZE as u64 {
        return Err(format!("{SYMBOL}: symbol size {size:#x}, expected at least {LIST_SIZE:#x}"));
    }
    let at = p.code_base.checked_add(address).ok_or_else(|| format!("{SYMBOL}: address {address:#x} overflows"))?;
    let mut bytes = [0u8; LIST_SIZE];
    p.cpu.read(at, &mut bytes).map_err(|e| format!("{SYMBOL} at {at:#x}: {e}"))?;
    let mut stacks = Vec::new();
    for (base, size) in parse(&bytes)? {
        if size == 0 || size > MAX_STACK {
            return Err(format!("{SYMBOL}: stack at {base:#x} has size {size:#x}"));
        }
        let mut stack = vec![0u8; size as usize];
        p.cpu.read(base, &mut stack).map_err(|e| format!("{SYMBOL}: stack at {base:#x}: {e}"))?;
        stacks.push(StackUse { base, size, peak: written(&stack) });
    }
    Ok(Some(stacks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_magic_then_base_size_pairs_and_free_slots_are_skipped() {
        let mut b = [0u8; LIST_SIZE];
        b[..8].copy_from_slice(&MAGIC.to_le_bytes());
        b[8..16].copy_from_slice(&0x8000_0000u64.to_le_bytes());
        b[16..24].copy_from_slice(&0x2000u64.to_le_bytes());
        assert_eq!(parse(&b), Ok(vec![(0x8000_0000, 0x2000)]));
        b[0] ^= 1;
        assert!(parse(&b).is_err());
    }

    #[test]
    fn peak_is_from_the_lowest_written_byte_to_the_top() {
        let mut stack = vec![0u8; 0x1000];
        assert_eq!(written(&stack), 0);
        stack[0xf00] = 1;
        stack[0xc10] = 7;
        assert_eq!(written(&stack), 0x3f0);
    }
}

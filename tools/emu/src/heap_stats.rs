//! The runtime's live heap figures, read straight from guest memory.
//!
//! rt keeps its allocator's size, used and peak bytes in an exported static named
//! [`SYMBOL`] (rt/src/heap.rs, "Live figures for an observer": the runtime contract), so
//! the bench can see the heap of a program that never exits (the sysmodule) without the
//! program logging or making an svc. Given the process's ELF (`--sysmodule-elf`,
//! `--nro-elf`), the symbol's image-relative address plus the process's code base is
//! where the four little-endian u64 words are: magic [`MAGIC`], size, used, peak.

use crate::kernel::process::KProcess;

/// The static's unmangled name (rt/src/heap.rs `XCBUF_RT_HEAP_STATS`).
pub const SYMBOL: &str = "XCBUF_RT_HEAP_STATS";
/// `"XCBHEAP1"` as a little-endian u64 (rt/src/heap.rs `HEAP_STATS_MAGIC`).
pub const MAGIC: u64 = u64::from_le_bytes(*b"XCBHEAP1");
/// Bytes of the static: magic, size, used, peak (rt/src/heap.rs `HeapStats`).
pub const STATS_SIZE: usize = 0x20;

/// The allocator's figures at the moment of reading, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapFigures {
    pub size: u64,
    pub used: u64,
    pub peak: u64,
}

/// Decodes the static's bytes; Err for a wrong magic or figures that contradict each
/// other (used above peak, peak above size).
pub fn parse(bytes: &[u8; STATS_SIZE]) -> Result<HeapFigures, String> {
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    };
    let magic = word(0);
    if magic != MAGIC {
        return Err(format!("{SYMBOL}: magic {magic:#018x}, expected {MAGIC:#018x} (\"XCBHEAP1\")"));
    }
    let figures = HeapFigures { size: word(1), used: word(2), peak: word(3) };
    if figures.used > figures.peak || figures.peak > figures.size {
        return Err(format!(
            "{SYMBOL}: inconsistent figures size={:#x} used={:#x} peak={:#x}",
            figures.size, figures.used, figures.peak
        ));
    }
    Ok(figures)
}

/// The process's heap figures: `Ok(None)` when the bench has no symbols for it or they
/// have no [`SYMBOL`]; Err when the symbol is too small, outside memory or its contents
/// are not rt's statistics.
pub fn read(p: &KProcess) -> Result<Option<HeapFigures>, String> {
    let Some((address, size)) = p.symbols.as_ref().and_then(|s| s.object(SYMBOL)) else {
        return Ok(None);
    };
    if size < STATS_SIZE as u64 {
        return Err(format!("{SYMBOL}: symbol size {size:#x}, expected at least {STATS_SIZE:#x}"));
    }
    let at = p.code_base.checked_add(address).ok_or_else(|| format!("{SYMBOL}: address {address:#x} overflows"))?;
    let mut bytes = [0u8; STATS_SIZE];
    p.cpu.read(at, &mut bytes).map_err(|e| format!("{SYMBOL} at {at:#x}: {e}"))?;
    parse(&bytes).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(magic: u64, size: u64, used: u64, peak: u64) -> [u8; STATS_SIZE] {
        let mut b = [0u8; STATS_SIZE];
        for (i, w) in [magic, size, used, peak].into_iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    #[test]
    fn stats_words_are_magic_size_used_peak() {
        // The sysmodule's static heap: 32 KiB, with the 0x4000-byte xcbuf:i stack live.
        let f = parse(&stats(0x3150_4145_4842_4358, 0x8000, 0x5000, 0x5100)).unwrap();
        assert_eq!(f, HeapFigures { size: 0x8000, used: 0x5000, peak: 0x5100 });
    }

    #[test]
    fn wrong_magic_is_rejected() {
        let e = parse(&stats(0, 0x8000, 0, 0)).unwrap_err();
        assert!(e.contains("magic"), "{e}");
    }

    #[test]
    fn used_above_peak_or_peak_above_size_is_rejected() {
        assert!(parse(&stats(MAGIC, 0x8000, 0x200, 0x100)).is_err());
        assert!(parse(&stats(MAGIC, 0x100, 0x100, 0x200)).is_err());
    }
}

//! What the sysmodule occupies, from its files: the NSO's segments as the loader maps
//! them, the NPDM's main-thread stack, the ELF's static heap symbol and the pointer-buffer
//! sizes the servers print when they start. See [`Footprint`] for what each figure
//! counts; nothing is counted twice.

/// "A few tens of KiB" (design.md "Acceptance figures"), read as at most 64 KiB.
pub const FOOTPRINT_GOAL: u64 = 64 * 1024;

/// Page size the loader rounds segments to.
const PAGE: u64 = 0x1000;

/// What the sysmodule occupies, in bytes. `image` + `heap` + `stack` + `pointer_buffers`
/// = `footprint` = every byte the loader maps for the NSO plus the NPDM main stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// text + rodata + data + bss as mapped (each page-rounded), minus the static heap
    /// (which is in .bss and counted as `heap` + `pointer_buffers`).
    pub image: u64,
    /// The static heap region (the ELF's `HEAP` symbol) minus the pointer buffers carved
    /// from it; it holds the second serving thread's stack and allocator slack.
    pub heap: u64,
    /// The NPDM's main-thread stack (mapped by the loader).
    pub stack: u64,
    /// Sum of the servers' pointer buffers (their start lines), carved from the heap.
    pub pointer_buffers: u64,
    /// The static heap region (the ELF's `HEAP` symbol size).
    pub static_heap: u64,
    /// Every byte mapped for the NSO.
    pub mapped_image: u64,
}

impl Footprint {
    pub fn total(&self) -> u64 {
        self.image + self.heap + self.stack + self.pointer_buffers
    }
}

fn page_up(n: u64) -> Option<u64> {
    n.checked_add(PAGE - 1).map(|v| v & !(PAGE - 1))
}

/// Bytes the loader maps for an NSO image: each segment page-rounded, and .bss from the
/// end of .data page-rounded.
pub fn mapped_image_size(image: &xcbuf_pack::image::ModuleImage) -> Result<u64, String> {
    let seg = |s: &xcbuf_pack::image::Segment| page_up(s.bytes.len() as u64).ok_or("segment size overflows");
    let data_end = image.data.end().ok_or("data segment end overflows")?;
    let bss_end = data_end.checked_add(u64::from(image.bss_size)).ok_or("bss end overflows")?;
    let bss = page_up(bss_end).and_then(|e| page_up(data_end).map(|d| e - d)).ok_or("bss size overflows")?;
    Ok(seg(&image.text)? + seg(&image.rodata)? + seg(&image.data)? + bss)
}

/// The size of the static heap symbol (`...HEAP...`, a data object) in the ELF.
pub fn static_heap_size(elf: &[u8]) -> Result<u64, String> {
    use object::{Object, ObjectSymbol, SymbolKind};
    let file = object::File::parse(elf).map_err(|e| format!("ELF: {e}"))?;
    let found: Vec<u64> = file
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Data)
        .filter(|s| s.name().map(|n| n.contains("4HEAP") || n == "HEAP").unwrap_or(false))
        .map(|s| s.size())
        .collect();
    match found.as_slice() {
        [size] => Ok(*size),
        [] => Err("no HEAP symbol in the sysmodule ELF".into()),
        _ => Err("more than one HEAP symbol in the sysmodule ELF".into()),
    }
}

/// Pointer-buffer sizes from the servers' start lines
/// (`...pointer buffer 0x800 bytes at 0x...`).
pub fn pointer_buffer_sizes(lines: &[String]) -> Vec<u64> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = &l[l.find("pointer buffer ")? + "pointer buffer ".len()..];
            let n = rest.split_whitespace().next()?;
            let n = match n.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok()?,
                None => n.parse().ok()?,
            };
            rest.split_whitespace().nth(1).filter(|w| *w == "bytes").map(|_| n)
        })
        .collect()
}

/// The footprint from the sysmodule's files and its start lines.
pub fn footprint(exefs: &[u8], elf: &[u8], server_output: &[String]) -> Result<Footprint, String> {
    let files = xcbuf_pack::pfs0::read_pfs0("exefs.nsp", exefs).map_err(|e| e.to_string())?;
    let find = |n: &str| files.iter().find(|f| f.name == n).ok_or_else(|| format!("no `{n}` in exefs.nsp"));
    let nso = xcbuf_pack::nso::read_nso("main", &find("main")?.data).map_err(|e| e.to_string())?;
    let npdm = xcbuf_pack::npdm::read_npdm("main.npdm", &find("main.npdm")?.data).map_err(|e| e.to_string())?;
    let mapped_image = mapped_image_size(&nso.image)?;
    let static_heap = static_heap_size(elf)?;
    if static_heap > u64::from(nso.image.bss_size) {
        return Err(format!("static heap {static_heap:#x} larger than .bss {:#x}", nso.image.bss_size));
    }
    let pointer_buffers: u64 = pointer_buffer_sizes(server_output).iter().sum();
    if pointer_buffers == 0 {
        return Err("the servers printed no pointer-buffer size".into());
    }
    // The sysmodule allocates its pointer buffers from the static heap (sysmodule/src/main.rs).
    let heap = static_heap.checked_sub(pointer_buffers).ok_or_else(|| {
        format!("pointer buffers ({pointer_buffers:#x}) larger than the static heap ({static_heap:#x})")
    })?;
    Ok(Footprint {
        image: mapped_image - static_heap,
        heap,
        stack: page_up(u64::from(npdm.meta.main_thread_stack_size)).ok_or("stack size overflows")?,
        pointer_buffers,
        static_heap,
        mapped_image,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_buffer_sizes_are_read_from_server_start_lines() {
        let lines = vec![
            "xcbuf: serving, receive mode 2 (single), pointer buffer 0x800 bytes at 0x8001000, max 8 sessions"
                .to_string(),
            "xcbuf:i: serving, receive mode 6 (indexed), pointer buffer 0x800 bytes at 0x8002000, max 8 sessions"
                .to_string(),
            "xcbuf: session 0 opened (1 open)".to_string(),
        ];
        assert_eq!(pointer_buffer_sizes(&lines), vec![0x800, 0x800]);
    }

    #[test]
    fn mapped_image_of_the_worked_nso_is_0x13000_bytes() {
        // The sysmodule's segments as `xcbuf-pack inspect` shows them: text 0x6008 at 0,
        // rodata 0x11c8 at 0x7000, data 0x1000 at 0x9000, bss 0x8100.
        use xcbuf_pack::image::{Extent, ModuleImage, Segment};
        let seg = |at: u32, len: usize| Segment { memory_offset: at, bytes: vec![0; len] };
        let image = ModuleImage {
            text: seg(0, 0x6008),
            rodata: seg(0x7000, 0x11c8),
            data: seg(0x9000, 0x1000),
            bss_size: 0x8100,
            module_id: [0; 0x20],
            dynstr: Extent::default(),
            dynsym: Extent::default(),
        };
        // 0x7000 + 0x2000 + 0x1000 + 0x9000.
        assert_eq!(mapped_image_size(&image).unwrap(), 0x13000);
    }
}

//! Function symbols from an ELF with symbols (the `--sysmodule-elf` / `--nro-elf`
//! options), so fault reports can name the nearest function.

use object::{Object, ObjectSymbol, SymbolKind};

#[derive(Debug, Clone, Default)]
pub struct Symbols {
    /// (image-relative address, size, name), sorted by address.
    entries: Vec<(u64, u64, String)>,
}

impl Symbols {
    /// Reads the function symbols of an ELF whose image starts at link address 0
    /// (the project's PIE binaries).
    pub fn from_elf(data: &[u8]) -> Result<Symbols, String> {
        let file = object::File::parse(data).map_err(|e| format!("not an ELF: {e}"))?;
        let mut entries: Vec<(u64, u64, String)> = file
            .symbols()
            .filter(|s| s.kind() == SymbolKind::Text && s.address() != 0)
            .filter_map(|s| s.name().ok().map(|n| (s.address(), s.size(), n.to_string())))
            .collect();
        entries.sort();
        Ok(Symbols { entries })
    }

    /// "name+0xoff" for the function containing (or nearest below) `address`.
    pub fn lookup(&self, address: u64, image_base: u64) -> Option<String> {
        let rel = address.checked_sub(image_base)?;
        let idx = self.entries.partition_point(|(a, _, _)| *a <= rel);
        let (start, size, name) = self.entries.get(idx.checked_sub(1)?)?;
        let off = rel - start;
        if *size != 0 && off >= *size && off > 0x1000 {
            return None;
        }
        Some(format!("{name}+{off:#x}"))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

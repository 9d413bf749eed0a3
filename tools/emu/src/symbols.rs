//! Function symbols from an ELF with symbols (the `--sysmodule-elf` / `--nro-elf`
//! options), so fault reports can name the nearest function, and data objects by name
//! (rt's heap statistics, [`crate::heap_stats`]).

use object::{Object, ObjectSymbol, SymbolKind};

#[derive(Debug, Clone, Default)]
pub struct Symbols {
    /// (image-relative address, size, name), sorted by address.
    entries: Vec<(u64, u64, String)>,
    /// (name, image-relative address, size) of the data objects, sorted by name.
    objects: Vec<(String, u64, u64)>,
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
        let mut objects: Vec<(String, u64, u64)> = file
            .symbols()
            .filter(|s| s.kind() == SymbolKind::Data && s.address() != 0)
            .filter_map(|s| s.name().ok().map(|n| (n.to_string(), s.address(), s.size())))
            .collect();
        objects.sort();
        Ok(Symbols { entries, objects })
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

    /// (image-relative address, size) of the data object named exactly `name`.
    pub fn object(&self, name: &str) -> Option<(u64, u64)> {
        let idx = self.objects.binary_search_by(|(n, _, _)| n.as_str().cmp(name)).ok()?;
        let (_, address, size) = &self.objects[idx];
        Some((*address, *size))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

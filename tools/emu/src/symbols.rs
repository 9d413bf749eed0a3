//! Function symbols from an ELF with symbols (the `--sysmodule-elf` / `--nro-elf`
//! options), so fault reports can name the nearest function, the profile can name the
//! function containing an address ([`Symbols::function_at`], `xcbuf-emu profile`), and
//! data objects by name (rt's heap statistics, [`crate::heap_stats`]).

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

    /// Function symbols from (image-relative address, size, name) triples, in any order
    /// (crafted guests in tests).
    pub fn from_functions(functions: Vec<(u64, u64, String)>) -> Symbols {
        let mut entries = functions;
        entries.sort();
        Symbols { entries, objects: Vec::new() }
    }

    /// The function whose range holds the image-relative address `rel`: the last symbol
    /// starting at or below it, if `rel` is below its end (a symbol of size 0, as an
    /// assembly label may be, reaches up to the next symbol). None between functions.
    pub fn function_at(&self, rel: u64) -> Option<Function<'_>> {
        let idx = self.entries.partition_point(|(a, _, _)| *a <= rel).checked_sub(1)?;
        let (start, size, name) = self.entries.get(idx)?;
        let end = if *size != 0 {
            start.checked_add(*size)?
        } else {
            // The next symbol that starts above this one (aliases share a start).
            self.entries.get(idx + 1..)?.iter().map(|(a, _, _)| *a).find(|a| a > start).unwrap_or(u64::MAX)
        };
        (rel < end).then_some(Function { start: *start, end, name })
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

    /// Every function symbol: (image-relative address, size, name), sorted by address.
    pub fn functions(&self) -> &[(u64, u64, String)] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A function symbol's range, image-relative: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function<'a> {
    pub start: u64,
    pub end: u64,
    /// The symbol as the ELF spells it (mangled).
    pub name: &'a str,
}

/// A symbol name as a reader wants it: Rust's v0 and legacy manglings demangled without
/// the crate hashes (`xcbuf_rt::server::serve::<xcbuf_common::xcbuf::commands::Xcbuf>`);
/// other names unchanged.
pub fn demangle(name: &str) -> String {
    format!("{:#}", rustc_demangle::demangle(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbols() -> Symbols {
        Symbols::from_functions(vec![
            (0x100, 0x20, "g".into()),
            (0x80, 0x10, "f".into()),
            (0x200, 0, "label".into()),
            (0x240, 8, "after_label".into()),
        ])
    }

    #[test]
    fn an_address_inside_a_function_is_symbolized_to_that_function() {
        let s = symbols();
        let at = |rel| s.function_at(rel).map(|f| (f.name.to_string(), f.start, f.end));
        assert_eq!(at(0x80), Some(("f".into(), 0x80, 0x90)));
        assert_eq!(at(0x8c), Some(("f".into(), 0x80, 0x90)));
        assert_eq!(at(0x11c), Some(("g".into(), 0x100, 0x120)));
    }

    #[test]
    fn an_address_between_functions_has_no_function() {
        let s = symbols();
        assert_eq!(s.function_at(0x90), None, "just past f's end");
        assert_eq!(s.function_at(0x120), None, "just past g's end");
        assert_eq!(s.function_at(0x7c), None, "below the first symbol");
        assert_eq!(s.function_at(0x248), None, "past the last symbol");
    }

    #[test]
    fn a_symbol_of_size_zero_reaches_up_to_the_next_symbol() {
        let s = symbols();
        assert_eq!(s.function_at(0x23c).map(|f| f.name), Some("label"));
        assert_eq!(s.function_at(0x240).map(|f| f.name), Some("after_label"));
    }

    #[test]
    fn rust_v0_names_are_demangled_without_hashes() {
        let name = "_RNvNtNtCsd9OsoVGTNkU_12xcbuf_common2sf12receive_area3arm";
        assert_eq!(demangle(name), "xcbuf_common::sf::receive_area::arm");
        assert_eq!(demangle("__xcbuf_rt_entry"), "__xcbuf_rt_entry");
    }
}

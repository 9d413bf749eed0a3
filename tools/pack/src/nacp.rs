//! NACP, the application control property hbmenu reads for an NRO's title,
//! author and version (formats.md §1.4). Everything else stays zero.

use crate::bytes::Bytes;
use crate::error::{Result, invalid};

/// `sizeof(NacpStruct)`; hbmenu rejects anything smaller (formats.md §1.3).
pub const NACP_SIZE: usize = 0x4000;
/// 16 language entries of {name[0x200], author[0x100]} at 0 (formats.md §1.4).
pub const NACP_LANGUAGE_COUNT: usize = 16;
pub const NACP_NAME_SIZE: usize = 0x200;
pub const NACP_AUTHOR_SIZE: usize = 0x100;
const NACP_LANGUAGE_ENTRY_SIZE: usize = NACP_NAME_SIZE + NACP_AUTHOR_SIZE;
/// `display_version[0x10]` (formats.md §1.4).
pub const NACP_DISPLAY_VERSION_OFFSET: usize = 0x3060;
pub const NACP_DISPLAY_VERSION_SIZE: usize = 0x10;

/// The fields hbmenu shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nacp {
    pub name: String,
    pub author: String,
    pub display_version: String,
}

impl Nacp {
    /// Serialises to 0x4000 bytes, the same name and author in every language
    /// entry (whichever entry hbmenu picks shows them). Each string must leave
    /// room for its NUL terminator.
    pub fn to_bytes(&self, file: &str) -> Result<Vec<u8>> {
        check_string(file, "nacp.name", &self.name, NACP_NAME_SIZE)?;
        check_string(file, "nacp.author", &self.author, NACP_AUTHOR_SIZE)?;
        check_string(file, "nacp.display_version", &self.display_version, NACP_DISPLAY_VERSION_SIZE)?;
        let mut out = vec![0u8; NACP_SIZE];
        for lang in 0..NACP_LANGUAGE_COUNT {
            let at = lang * NACP_LANGUAGE_ENTRY_SIZE;
            out[at..at + self.name.len()].copy_from_slice(self.name.as_bytes());
            let at = at + NACP_NAME_SIZE;
            out[at..at + self.author.len()].copy_from_slice(self.author.as_bytes());
        }
        let at = NACP_DISPLAY_VERSION_OFFSET;
        out[at..at + self.display_version.len()].copy_from_slice(self.display_version.as_bytes());
        Ok(out)
    }

    /// Reads the first non-empty language entry (hbmenu falls back to entry 0).
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Nacp> {
        if bytes.len() < NACP_SIZE {
            return Err(invalid(file, "nacp", format!("{:#x} bytes; hbmenu needs {NACP_SIZE:#x}", bytes.len())));
        }
        let b = Bytes::new(file, bytes);
        let mut entry = 0;
        for lang in 0..NACP_LANGUAGE_COUNT {
            if bytes[lang * NACP_LANGUAGE_ENTRY_SIZE] != 0 {
                entry = lang;
                break;
            }
        }
        let at = (entry * NACP_LANGUAGE_ENTRY_SIZE) as u64;
        Ok(Nacp {
            name: c_string(file, "nacp.name", b.slice(at, NACP_NAME_SIZE as u64, "nacp.name")?)?,
            author: c_string(
                file,
                "nacp.author",
                b.slice(at + NACP_NAME_SIZE as u64, NACP_AUTHOR_SIZE as u64, "nacp.author")?,
            )?,
            display_version: c_string(
                file,
                "nacp.display_version",
                b.slice(NACP_DISPLAY_VERSION_OFFSET as u64, NACP_DISPLAY_VERSION_SIZE as u64, "nacp.display_version")?,
            )?,
        })
    }
}

fn check_string(file: &str, field: &str, s: &str, size: usize) -> Result<()> {
    if s.len() >= size {
        return Err(invalid(
            file,
            field,
            format!("{} bytes; the field holds at most {} plus a NUL", s.len(), size - 1),
        ));
    }
    if s.as_bytes().contains(&0) {
        return Err(invalid(file, field, "contains a NUL byte"));
    }
    Ok(())
}

fn c_string(file: &str, field: &str, raw: &[u8]) -> Result<String> {
    let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
    String::from_utf8(raw[..end].to_vec()).map_err(|_| invalid(file, field, "not UTF-8"))
}

impl Nacp {
    /// What `xcbuf-pack nro` writes unless told otherwise.
    pub fn xcbuf_default() -> Nacp {
        Nacp {
            name: "xcbuf".to_string(),
            author: "xcbuf project".to_string(),
            display_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

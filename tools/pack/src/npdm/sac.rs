//! Service access control: `[ctrl][name]` entries, `ctrl & 0x0F` = length - 1,
//! `ctrl & 0x80` = may host (register) the service (formats.md §3.4).

use crate::error::{Result, invalid};

/// Host (register) bit of the control byte.
pub const SAC_HOST: u8 = 0x80;
/// Service names are 1..=8 bytes.
pub const SERVICE_NAME_MAX: usize = 8;

/// One SAC entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    pub name: String,
    /// True: the process may register the service; false: it may connect to it.
    pub host: bool,
}

/// Checks a service name (1..=8 bytes, no NUL); `field` names it in errors.
pub fn check_name(file: &str, field: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > SERVICE_NAME_MAX {
        return Err(invalid(file, field, format!("{name:?}: service names are 1 to 8 bytes")));
    }
    if name.as_bytes().contains(&0) {
        return Err(invalid(file, field, format!("{name:?} contains a NUL byte")));
    }
    Ok(())
}

/// Encodes entries in order (npdmtool writes hosts first, then accesses).
pub fn encode(entries: &[ServiceEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let ctrl = (e.name.len() as u8 - 1) | if e.host { SAC_HOST } else { 0 };
        out.push(ctrl);
        out.extend_from_slice(e.name.as_bytes());
    }
    out
}

/// Decodes a SAC; `section` names it in errors.
pub fn decode(file: &str, section: &str, bytes: &[u8]) -> Result<Vec<ServiceEntry>> {
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < bytes.len() {
        let ctrl = bytes[i];
        let len = usize::from(ctrl & 0x0F) + 1;
        if ctrl & 0x70 != 0 || len > SERVICE_NAME_MAX {
            return Err(invalid(file, format!("{section}+{i:#x}"), format!("control byte {ctrl:#04x} is malformed")));
        }
        let name = bytes
            .get(i + 1..i + 1 + len)
            .ok_or_else(|| invalid(file, format!("{section}+{i:#x}"), "name runs past the end of the SAC"))?;
        let name = String::from_utf8(name.to_vec())
            .map_err(|_| invalid(file, format!("{section}+{i:#x}"), "name is not UTF-8"))?;
        out.push(ServiceEntry { name, host: ctrl & SAC_HOST != 0 });
        i += 1 + len;
    }
    Ok(out)
}

//! PFS0, the partition file system an `exefs.nsp` is (formats.md §4).
//!
//! Header, N entries of {u64 data offset, u64 size, u32 name offset, u32 0},
//! a string table of NUL-terminated names padded to 0x20, then the file data
//! back to back.

use crate::bytes::{Bytes, align_up, to_u32, to_usize};
use crate::error::{Result, invalid};

/// `PFS0` (formats.md §4 0x00).
pub const PFS0_MAGIC: &[u8; 4] = b"PFS0";
pub const PFS0_HEADER_SIZE: u64 = 0x10;
pub const PFS0_ENTRY_SIZE: u64 = 0x18;
/// String-table padding used by build_pfs0 and linkle (formats.md §4).
pub const PFS0_STRING_TABLE_ALIGN: u64 = 0x20;

/// One file of a PFS0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pfs0File {
    pub name: String,
    pub data: Vec<u8>,
}

/// Writes a PFS0 holding `files` in the given order.
pub fn write_pfs0(file: &str, files: &[Pfs0File]) -> Result<Vec<u8>> {
    let mut strings = Vec::new();
    let mut name_offsets = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let field = format!("files[{i}].name");
        if f.name.is_empty() || f.name.as_bytes().contains(&0) || f.name.contains('/') {
            return Err(invalid(file, field, format!("{:?} is not a valid file name", f.name)));
        }
        if files[..i].iter().any(|g| g.name == f.name) {
            return Err(invalid(file, field, format!("{:?} appears twice", f.name)));
        }
        name_offsets.push(to_u32(file, &field, strings.len() as u64)?);
        strings.extend_from_slice(f.name.as_bytes());
        strings.push(0);
    }
    let table_size = align_up(strings.len() as u64, PFS0_STRING_TABLE_ALIGN)
        .ok_or_else(|| invalid(file, "string table", "too large"))?;
    strings.resize(to_usize(file, "string table", table_size)?, 0);

    let mut out = Vec::new();
    out.extend_from_slice(PFS0_MAGIC);
    out.extend_from_slice(&to_u32(file, "file count", files.len() as u64)?.to_le_bytes());
    out.extend_from_slice(&to_u32(file, "string table size", table_size)?.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    let mut data_offset = 0u64;
    for (f, name_offset) in files.iter().zip(&name_offsets) {
        out.extend_from_slice(&data_offset.to_le_bytes());
        out.extend_from_slice(&(f.data.len() as u64).to_le_bytes());
        out.extend_from_slice(&name_offset.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        data_offset += f.data.len() as u64;
    }
    out.extend_from_slice(&strings);
    for f in files {
        out.extend_from_slice(&f.data);
    }
    Ok(out)
}

/// Reads every file of a PFS0.
pub fn read_pfs0(file: &str, bytes: &[u8]) -> Result<Vec<Pfs0File>> {
    let b = Bytes::new(file, bytes);
    b.expect_magic(0, PFS0_MAGIC, "PFS0 magic")?;
    let count = u64::from(b.u32(4, "file count (0x04)")?);
    let table_size = u64::from(b.u32(8, "string table size (0x08)")?);
    let entries_size =
        count.checked_mul(PFS0_ENTRY_SIZE).ok_or_else(|| invalid(file, "file count (0x04)", "too large"))?;
    let table_offset = PFS0_HEADER_SIZE + entries_size;
    let table = b.slice(table_offset, table_size, "string table")?;
    let data_start = table_offset + table_size;
    let mut files = Vec::new();
    for i in 0..count {
        let at = PFS0_HEADER_SIZE + i * PFS0_ENTRY_SIZE;
        let field = format!("entries[{i}]");
        let offset = b.u64(at, &format!("{field}.offset"))?;
        let size = b.u64(at + 8, &format!("{field}.size"))?;
        let name_offset = to_usize(file, &field, u64::from(b.u32(at + 16, &format!("{field}.name_offset"))?))?;
        let name_bytes = table
            .get(name_offset..)
            .ok_or_else(|| invalid(file, format!("{field}.name_offset"), "outside the string table"))?;
        let end = name_bytes
            .iter()
            .position(|c| *c == 0)
            .ok_or_else(|| invalid(file, format!("{field}.name_offset"), "name has no NUL terminator"))?;
        let name = String::from_utf8(name_bytes[..end].to_vec())
            .map_err(|_| invalid(file, format!("{field}.name_offset"), "name is not UTF-8"))?;
        let start =
            data_start.checked_add(offset).ok_or_else(|| invalid(file, format!("{field}.offset"), "overflows"))?;
        let data = b.slice(start, size, &format!("{field} ({name})"))?.to_vec();
        files.push(Pfs0File { name, data });
    }
    Ok(files)
}

/// Name of the NSO inside an exefs (formats.md §4).
pub const EXEFS_MAIN: &str = "main";
/// Name of the NPDM inside an exefs (formats.md §4).
pub const EXEFS_NPDM: &str = "main.npdm";

/// `exefs.nsp`: a PFS0 of {`main`, `main.npdm`}.
pub fn write_exefs(file: &str, nso: Vec<u8>, npdm: Vec<u8>) -> Result<Vec<u8>> {
    write_pfs0(
        file,
        &[Pfs0File { name: EXEFS_MAIN.to_string(), data: nso }, Pfs0File { name: EXEFS_NPDM.to_string(), data: npdm }],
    )
}

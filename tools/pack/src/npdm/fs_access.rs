//! Filesystem access: FAC in the ACID (0x2C bytes) and FAH in the ACI0 (0x1C
//! bytes plus content-owner and save-data-owner tails) (formats.md §3.3).
//! Both are packed: their u64 fields sit at 4-byte offsets.

use crate::bytes::Bytes;
use crate::error::{Result, invalid};

/// FAC size: {u8 version, coi_count, sdoi_count, pad, u64 perms, u64 x4}.
pub const FAC_SIZE: usize = 0x2C;
/// FAH fixed part: {u32 version, u64 perms, u32 coi_off, coi_size, sdoi_off, sdoi_size}.
pub const FAH_HEADER_SIZE: usize = 0x1C;
/// Version npdmtool writes in both.
pub const FS_ACCESS_VERSION: u32 = 1;

/// Save-data owner: accessibility byte and program id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveDataOwner {
    pub accessibility: u8,
    pub id: u64,
}

/// The filesystem access of the ACI0 (the FAC carries only the permissions).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FsAccess {
    pub permissions: u64,
    pub content_owner_ids: Vec<u64>,
    pub save_data_owners: Vec<SaveDataOwner>,
}

/// The ACID's FAC as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fac {
    pub version: u8,
    pub permissions: u64,
    pub content_owner_id_count: u8,
    pub save_data_owner_id_count: u8,
    pub content_owner_id_min: u64,
    pub content_owner_id_max: u64,
    pub save_data_owner_id_min: u64,
    pub save_data_owner_id_max: u64,
}

/// The FAC npdmtool writes: version 1, the permissions, no id ranges.
pub fn encode_fac(permissions: u64) -> Vec<u8> {
    let mut v = vec![0u8; FAC_SIZE];
    v[0] = FS_ACCESS_VERSION as u8;
    v[4..12].copy_from_slice(&permissions.to_le_bytes());
    v
}

/// The FAH with its content-owner and save-data-owner tails.
pub fn encode_fah(fs: &FsAccess) -> Vec<u8> {
    let mut coi = Vec::new();
    if !fs.content_owner_ids.is_empty() {
        coi.extend_from_slice(&(fs.content_owner_ids.len() as u32).to_le_bytes());
        for id in &fs.content_owner_ids {
            coi.extend_from_slice(&id.to_le_bytes());
        }
    }
    let mut sdoi = Vec::new();
    if !fs.save_data_owners.is_empty() {
        let n = fs.save_data_owners.len();
        sdoi.extend_from_slice(&(n as u32).to_le_bytes());
        for o in &fs.save_data_owners {
            sdoi.push(o.accessibility);
        }
        sdoi.resize(4 + n.next_multiple_of(4), 0);
        for o in &fs.save_data_owners {
            sdoi.extend_from_slice(&o.id.to_le_bytes());
        }
    }
    let mut v = Vec::with_capacity(FAH_HEADER_SIZE + coi.len() + sdoi.len());
    v.extend_from_slice(&FS_ACCESS_VERSION.to_le_bytes());
    v.extend_from_slice(&fs.permissions.to_le_bytes());
    let coi_offset = FAH_HEADER_SIZE as u32;
    v.extend_from_slice(&coi_offset.to_le_bytes());
    v.extend_from_slice(&(coi.len() as u32).to_le_bytes());
    v.extend_from_slice(&(coi_offset + coi.len() as u32).to_le_bytes());
    v.extend_from_slice(&(sdoi.len() as u32).to_le_bytes());
    v.extend_from_slice(&coi);
    v.extend_from_slice(&sdoi);
    v
}

/// Reads the ACID's FAC.
pub fn decode_fac(file: &str, bytes: &[u8]) -> Result<Fac> {
    let b = Bytes::new(file, bytes);
    Ok(Fac {
        version: b.u8(0, "ACID.FAC.version")?,
        content_owner_id_count: b.u8(1, "ACID.FAC.content_owner_id_count")?,
        save_data_owner_id_count: b.u8(2, "ACID.FAC.save_data_owner_id_count")?,
        permissions: b.u64(4, "ACID.FAC.permissions")?,
        content_owner_id_min: b.u64(0x0C, "ACID.FAC.content_owner_id_min")?,
        content_owner_id_max: b.u64(0x14, "ACID.FAC.content_owner_id_max")?,
        save_data_owner_id_min: b.u64(0x1C, "ACID.FAC.save_data_owner_id_min")?,
        save_data_owner_id_max: b.u64(0x24, "ACID.FAC.save_data_owner_id_max")?,
    })
}

/// Reads the ACI0's FAH and its tails.
pub fn decode_fah(file: &str, bytes: &[u8]) -> Result<FsAccess> {
    let b = Bytes::new(file, bytes);
    let version = b.u32(0, "ACI0.FAH.version")?;
    if version != FS_ACCESS_VERSION {
        return Err(invalid(file, "ACI0.FAH.version", format!("{version} (expected 1)")));
    }
    let permissions = b.u64(4, "ACI0.FAH.permissions")?;
    let coi_offset = u64::from(b.u32(0x0C, "ACI0.FAH.content_owner_offset")?);
    let coi_size = u64::from(b.u32(0x10, "ACI0.FAH.content_owner_size")?);
    let sdoi_offset = u64::from(b.u32(0x14, "ACI0.FAH.save_data_owner_offset")?);
    let sdoi_size = u64::from(b.u32(0x18, "ACI0.FAH.save_data_owner_size")?);
    let mut content_owner_ids = Vec::new();
    if coi_size != 0 {
        let t = Bytes::new(file, b.slice(coi_offset, coi_size, "ACI0.FAH.content_owner_ids")?);
        let n = u64::from(t.u32(0, "ACI0.FAH.content_owner_ids.count")?);
        for k in 0..n {
            content_owner_ids.push(t.u64(4 + 8 * k, "ACI0.FAH.content_owner_ids")?);
        }
    }
    let mut save_data_owners = Vec::new();
    if sdoi_size != 0 {
        let t = Bytes::new(file, b.slice(sdoi_offset, sdoi_size, "ACI0.FAH.save_data_owner_ids")?);
        let n = u64::from(t.u32(0, "ACI0.FAH.save_data_owner_ids.count")?);
        let ids_at = 4 + n.next_multiple_of(4);
        for k in 0..n {
            save_data_owners.push(SaveDataOwner {
                accessibility: t.u8(4 + k, "ACI0.FAH.save_data_owner_ids.accessibility")?,
                id: t.u64(ids_at + 8 * k, "ACI0.FAH.save_data_owner_ids.id")?,
            });
        }
    }
    Ok(FsAccess { permissions, content_owner_ids, save_data_owners })
}

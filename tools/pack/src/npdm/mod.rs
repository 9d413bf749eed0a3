//! NPDM (`main.npdm`): META header, ACID and ACI0 (formats.md §3), written the
//! way switch-tools' npdmtool writes them, so the same JSON gives the same bytes.
//!
//! Layout (npdmtool): META (0x80) at 0, ACID at 0x80 (0x240 header, FAC, SAC,
//! KAC, each sub-block 0x10-aligned), ACI0 at the next 0x10 boundary (0x40
//! header, FAH, SAC, KAC). ACID signature and modulus are zero: Atmosphère
//! does not check them for SD-card programs (formats.md §5 "ACID signatures").

pub mod fs_access;
pub mod json;
pub mod kac;
pub mod sac;

use std::collections::BTreeSet;

use crate::bytes::{Bytes, put_u32, put_u64, to_u32};
use crate::error::{Result, invalid};
use fs_access::{Fac, FsAccess};
use kac::Capability;
use sac::ServiceEntry;

pub use json::parse_npdm_json;

pub const META_MAGIC: &[u8; 4] = b"META";
pub const ACID_MAGIC: &[u8; 4] = b"ACID";
pub const ACI0_MAGIC: &[u8; 4] = b"ACI0";
/// META header size (formats.md §3.1).
pub const META_SIZE: usize = 0x80;
/// ACID header size: signature, modulus and 0x40 of fields (formats.md §3.2).
pub const ACID_HEADER_SIZE: usize = 0x240;
/// Bytes of the ACID before the signed region (the signature).
pub const ACID_SIGNATURE_SIZE: usize = 0x100;
/// ACI0 header size (formats.md §3.3).
pub const ACI0_HEADER_SIZE: usize = 0x40;
/// Alignment of every sub-block (npdmtool).
const BLOCK_ALIGN: usize = 0x10;
/// Largest npdm the loader accepts (formats.md §3.1 `MetaCacheBufferSize`).
pub const NPDM_SIZE_LIMIT: usize = 0x8000;
/// ACID flag bit 0: production (formats.md §3.2; required, §3.6).
pub const ACID_FLAG_PRODUCTION: u32 = 1;

/// Everything an NPDM says, as the JSON gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpdmSpec {
    /// Process name, at most 15 bytes.
    pub name: String,
    pub signature_key_generation: u32,
    pub program_id: u64,
    pub program_id_range_min: u64,
    pub program_id_range_max: u64,
    pub main_thread_stack_size: u32,
    pub main_thread_priority: u8,
    pub default_cpu_id: u8,
    pub system_resource_size: u32,
    pub version: u32,
    /// META flags byte: is_64_bit, address space type, and the optional bits (formats.md §3.1).
    pub mmu_flags: u8,
    pub is_retail: bool,
    /// 0 application, 1 applet, 2 system, 3 system non-secure.
    pub pool_partition: u8,
    pub fs_access: FsAccess,
    /// SAC entries, hosts first (npdmtool's order).
    pub services: Vec<ServiceEntry>,
    /// KAC, in JSON order.
    pub capabilities: Vec<Capability>,
}

impl NpdmSpec {
    /// ACID flags word: production bit and pool partition (formats.md §3.2).
    pub fn acid_flags(&self) -> u32 {
        u32::from(self.is_retail) | (u32::from(self.pool_partition) & 3) << 2
    }
}

fn align(n: usize) -> usize {
    n.next_multiple_of(BLOCK_ALIGN)
}

/// Serialises `spec` exactly as npdmtool would.
pub fn write_npdm(file: &str, spec: &NpdmSpec) -> Result<Vec<u8>> {
    if spec.name.len() > json::NAME_MAX || spec.name.as_bytes().contains(&0) {
        return Err(invalid(file, "name", format!("{:?}: at most {} bytes, no NUL", spec.name, json::NAME_MAX)));
    }
    if spec.pool_partition > 3 {
        return Err(invalid(file, "pool_partition", format!("{} (0..=3)", spec.pool_partition)));
    }
    for (i, s) in spec.services.iter().enumerate() {
        sac::check_name(file, &format!("services[{i}]"), &s.name)?;
    }
    for (i, c) in spec.capabilities.iter().enumerate() {
        c.validate(file, &format!("kernel_capabilities[{i}]"))?;
    }
    let sac = sac::encode(&spec.services);
    let kac: Vec<u8> = spec.capabilities.iter().flat_map(Capability::encode).flat_map(u32::to_le_bytes).collect();

    // ACID: header, FAC, SAC, KAC.
    let fac = fs_access::encode_fac(spec.fs_access.permissions);
    let acid_fac_off = ACID_HEADER_SIZE;
    let acid_sac_off = align(acid_fac_off + fac.len());
    let acid_kac_off = align(acid_sac_off + sac.len());
    let acid_size = acid_kac_off + kac.len();
    let mut acid = vec![0u8; acid_size];
    acid[0x200..0x204].copy_from_slice(ACID_MAGIC);
    put_u32(&mut acid, 0x204, to_u32(file, "ACID.size", (acid_size - ACID_SIGNATURE_SIZE) as u64)?);
    put_u32(&mut acid, 0x20C, spec.acid_flags());
    put_u64(&mut acid, 0x210, spec.program_id_range_min);
    put_u64(&mut acid, 0x218, spec.program_id_range_max);
    for (at, off, len) in
        [(0x220, acid_fac_off, fac.len()), (0x228, acid_sac_off, sac.len()), (0x230, acid_kac_off, kac.len())]
    {
        put_u32(&mut acid, at, off as u32);
        put_u32(&mut acid, at + 4, len as u32);
    }
    acid[acid_fac_off..acid_fac_off + fac.len()].copy_from_slice(&fac);
    acid[acid_sac_off..acid_sac_off + sac.len()].copy_from_slice(&sac);
    acid[acid_kac_off..acid_kac_off + kac.len()].copy_from_slice(&kac);

    // ACI0: header, FAH, SAC, KAC.
    let fah = fs_access::encode_fah(&spec.fs_access);
    // Every block is bounded before any offset is narrowed to its u32 field.
    let blocks = META_SIZE + ACID_HEADER_SIZE + fac.len() + ACI0_HEADER_SIZE + fah.len() + 2 * (sac.len() + kac.len());
    if blocks > NPDM_SIZE_LIMIT {
        return Err(invalid(file, "npdm", format!("over {NPDM_SIZE_LIMIT:#x} bytes, the most the loader accepts")));
    }
    let aci_fah_off = ACI0_HEADER_SIZE;
    let aci_sac_off = align(aci_fah_off + fah.len());
    let aci_kac_off = align(aci_sac_off + sac.len());
    let aci_size = aci_kac_off + kac.len();
    let mut aci = vec![0u8; aci_size];
    aci[..4].copy_from_slice(ACI0_MAGIC);
    put_u64(&mut aci, 0x10, spec.program_id);
    for (at, off, len) in
        [(0x20, aci_fah_off, fah.len()), (0x28, aci_sac_off, sac.len()), (0x30, aci_kac_off, kac.len())]
    {
        put_u32(&mut aci, at, off as u32);
        put_u32(&mut aci, at + 4, len as u32);
    }
    aci[aci_fah_off..aci_fah_off + fah.len()].copy_from_slice(&fah);
    aci[aci_sac_off..aci_sac_off + sac.len()].copy_from_slice(&sac);
    aci[aci_kac_off..aci_kac_off + kac.len()].copy_from_slice(&kac);

    // META.
    let acid_off = META_SIZE;
    let aci_off = align(acid_off + acid_size);
    let total = aci_off + aci_size;
    if total > NPDM_SIZE_LIMIT {
        return Err(invalid(
            file,
            "npdm",
            format!("{total:#x} bytes; the loader accepts at most {NPDM_SIZE_LIMIT:#x}"),
        ));
    }
    let mut out = vec![0u8; total];
    out[..4].copy_from_slice(META_MAGIC);
    put_u32(&mut out, 0x04, spec.signature_key_generation);
    out[0x0C] = spec.mmu_flags;
    out[0x0E] = spec.main_thread_priority;
    out[0x0F] = spec.default_cpu_id;
    put_u32(&mut out, 0x14, spec.system_resource_size);
    put_u32(&mut out, 0x18, spec.version);
    put_u32(&mut out, 0x1C, spec.main_thread_stack_size);
    out[0x20..0x20 + spec.name.len()].copy_from_slice(spec.name.as_bytes());
    put_u32(&mut out, 0x70, aci_off as u32);
    put_u32(&mut out, 0x74, aci_size as u32);
    put_u32(&mut out, 0x78, acid_off as u32);
    put_u32(&mut out, 0x7C, acid_size as u32);
    out[acid_off..acid_off + acid_size].copy_from_slice(&acid);
    out[aci_off..aci_off + aci_size].copy_from_slice(&aci);
    Ok(out)
}

/// The META header as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub signature_key_generation: u32,
    pub mmu_flags: u8,
    pub main_thread_priority: u8,
    pub default_cpu_id: u8,
    pub system_resource_size: u32,
    pub version: u32,
    pub main_thread_stack_size: u32,
    pub name: String,
    pub product_code: [u8; 0x10],
}

impl Meta {
    pub fn is_64_bit(&self) -> bool {
        self.mmu_flags & 1 != 0
    }
    pub fn address_space_type(&self) -> u8 {
        (self.mmu_flags >> 1) & 7
    }
}

/// The ACID as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acid {
    pub version: u8,
    pub unknown_209: u8,
    pub flags: u32,
    pub program_id_min: u64,
    pub program_id_max: u64,
    pub fac: Fac,
    pub services: Vec<ServiceEntry>,
    pub kac: Vec<u32>,
}

impl Acid {
    pub fn is_production(&self) -> bool {
        self.flags & ACID_FLAG_PRODUCTION != 0
    }
    pub fn pool_partition(&self) -> u8 {
        ((self.flags >> 2) & 0xF) as u8
    }
}

/// The ACI0 as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aci0 {
    pub program_id: u64,
    pub fs_access: FsAccess,
    pub services: Vec<ServiceEntry>,
    pub kac: Vec<u32>,
}

/// A parsed NPDM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Npdm {
    pub meta: Meta,
    pub acid: Acid,
    pub aci0: Aci0,
}

impl Npdm {
    /// The ACI0's kernel capabilities, decoded.
    pub fn capabilities(&self, file: &str) -> Result<Vec<Capability>> {
        kac::decode(file, "ACI0.KAC", &self.aci0.kac)
    }

    /// SVC ids the ACI0 grants.
    pub fn granted_syscalls(&self, file: &str) -> Result<BTreeSet<u32>> {
        Ok(kac::granted_syscalls(&self.capabilities(file)?))
    }

    /// Services the process may register (ACI0 SAC host entries).
    pub fn hosted_services(&self) -> Vec<&str> {
        self.aci0.services.iter().filter(|s| s.host).map(|s| s.name.as_str()).collect()
    }

    /// Services the process may connect to (ACI0 SAC client entries).
    pub fn accessed_services(&self) -> Vec<&str> {
        self.aci0.services.iter().filter(|s| !s.host).map(|s| s.name.as_str()).collect()
    }
}

/// A sub-block `{offset, size}` pair of the ACID/ACI0 header, checked to lie
/// inside its parent block.
fn sub_block<'a>(parent: &Bytes<'a>, at: u64, field: &str) -> Result<&'a [u8]> {
    let off = u64::from(parent.u32(at, field)?);
    let size = u64::from(parent.u32(at + 4, field)?);
    parent.slice(off, size, field)
}

fn kac_words(bytes: &[u8]) -> Vec<u32> {
    bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Reads an NPDM, checking what the loader checks (formats.md §5 "What is validated").
pub fn read_npdm(file: &str, bytes: &[u8]) -> Result<Npdm> {
    if bytes.len() > NPDM_SIZE_LIMIT {
        return Err(invalid(
            file,
            "npdm",
            format!("{:#x} bytes; the loader accepts at most {NPDM_SIZE_LIMIT:#x}", bytes.len()),
        ));
    }
    let b = Bytes::new(file, bytes);
    b.expect_magic(0, META_MAGIC, "META.magic")?;
    let name_raw = b.slice(0x20, 0x10, "META.name")?;
    let name_end = name_raw.iter().position(|c| *c == 0).unwrap_or(name_raw.len());
    let mut product_code = [0u8; 0x10];
    product_code.copy_from_slice(b.slice(0x30, 0x10, "META.product_code")?);
    let meta = Meta {
        signature_key_generation: b.u32(0x04, "META.signature_key_generation")?,
        mmu_flags: b.u8(0x0C, "META.flags")?,
        main_thread_priority: b.u8(0x0E, "META.main_thread_priority")?,
        default_cpu_id: b.u8(0x0F, "META.default_cpu_id")?,
        system_resource_size: b.u32(0x14, "META.system_resource_size")?,
        version: b.u32(0x18, "META.version")?,
        main_thread_stack_size: b.u32(0x1C, "META.main_thread_stack_size")?,
        name: String::from_utf8(name_raw[..name_end].to_vec()).map_err(|_| invalid(file, "META.name", "not UTF-8"))?,
        product_code,
    };

    let acid_bytes = sub_block(&b, 0x78, "META.acid_offset/size")?;
    let a = Bytes::new(file, acid_bytes);
    a.expect_magic(0x200, ACID_MAGIC, "ACID.magic")?;
    let acid_size = a.u32(0x204, "ACID.size")?;
    if u64::from(acid_size) + ACID_SIGNATURE_SIZE as u64 != acid_bytes.len() as u64 {
        return Err(invalid(
            file,
            "ACID.size",
            format!("{acid_size:#x} + 0x100 does not match the META's ACID size {:#x}", acid_bytes.len()),
        ));
    }
    let acid = Acid {
        version: a.u8(0x208, "ACID.version")?,
        unknown_209: a.u8(0x209, "ACID.unknown_209")?,
        flags: a.u32(0x20C, "ACID.flags")?,
        program_id_min: a.u64(0x210, "ACID.program_id_min")?,
        program_id_max: a.u64(0x218, "ACID.program_id_max")?,
        fac: fs_access::decode_fac(file, sub_block(&a, 0x220, "ACID.fac_offset/size")?)?,
        services: sac::decode(file, "ACID.SAC", sub_block(&a, 0x228, "ACID.sac_offset/size")?)?,
        kac: kac_words(sub_block(&a, 0x230, "ACID.kac_offset/size")?),
    };

    let aci_bytes = sub_block(&b, 0x70, "META.aci0_offset/size")?;
    let c = Bytes::new(file, aci_bytes);
    c.expect_magic(0, ACI0_MAGIC, "ACI0.magic")?;
    let aci0 = Aci0 {
        program_id: c.u64(0x10, "ACI0.program_id")?,
        fs_access: fs_access::decode_fah(file, sub_block(&c, 0x20, "ACI0.fah_offset/size")?)?,
        services: sac::decode(file, "ACI0.SAC", sub_block(&c, 0x28, "ACI0.sac_offset/size")?)?,
        kac: kac_words(sub_block(&c, 0x30, "ACI0.kac_offset/size")?),
    };
    for (name, words) in [("ACID.KAC", &acid.kac), ("ACI0.KAC", &aci0.kac)] {
        kac::decode(file, name, words)?;
    }
    Ok(Npdm { meta, acid, aci0 })
}

//! `xcbuf-pack inspect`: detects a file by its magic and prints what the
//! matching reader sees.

use std::fmt::Write;

use crate::error::Result;
use crate::image::ModuleImage;
use crate::npdm::kac::Capability;
use crate::{elf, nacp, npdm, nro, nso, pfs0};

/// The formats `inspect` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Elf,
    Nro,
    Nso,
    Npdm,
    Pfs0,
}

/// Detects the format from the magic (NRO0 sits at 0x10, the others at 0).
pub fn detect(bytes: &[u8]) -> Option<Kind> {
    if bytes.get(0x10..0x14) == Some(nro::NRO_MAGIC) {
        return Some(Kind::Nro);
    }
    match bytes.get(..4)? {
        b"\x7fELF" => Some(Kind::Elf),
        m if m == nso::NSO_MAGIC => Some(Kind::Nso),
        m if m == npdm::META_MAGIC => Some(Kind::Npdm),
        m if m == pfs0::PFS0_MAGIC => Some(Kind::Pfs0),
        _ => None,
    }
}

/// A human-readable description of the file.
pub fn describe(file: &str, bytes: &[u8]) -> Result<String> {
    let mut out = String::new();
    describe_into(&mut out, file, bytes, "")?;
    Ok(out)
}

fn describe_into(out: &mut String, file: &str, bytes: &[u8], indent: &str) -> Result<()> {
    match detect(bytes) {
        Some(Kind::Elf) => {
            let m = elf::read_elf(file, bytes)?;
            let _ = writeln!(out, "{indent}ELF ({} bytes)", bytes.len());
            image_lines(out, file, &m.image, indent)?;
            if let Some((vaddr, memsz)) = m.bss_load {
                let _ = writeln!(out, "{indent}  bss PT_LOAD  vaddr {vaddr:#x} memsz {memsz:#x}");
            }
            let _ = writeln!(out, "{indent}  build-id     {}", m.build_id.as_deref().map_or("(none)".into(), hex));
        }
        Some(Kind::Nro) => {
            let n = nro::read_nro(file, bytes)?;
            let _ =
                writeln!(out, "{indent}NRO ({} bytes, image size {:#x}, flags {:#x})", bytes.len(), n.size, n.flags);
            image_lines(out, file, &n.image, indent)?;
            match &n.assets {
                None => {
                    let _ = writeln!(out, "{indent}  ASET         (none)");
                }
                Some(a) => {
                    let dims = crate::icon::jpeg_dimensions(&a.icon)
                        .map_or("not a JPEG".to_string(), |(w, h)| format!("JPEG {w}x{h}"));
                    let _ = writeln!(out, "{indent}  ASET icon    {} bytes ({dims})", a.icon.len());
                    if a.nacp.is_empty() {
                        let _ = writeln!(out, "{indent}  ASET nacp    (none)");
                    } else {
                        let c = nacp::Nacp::parse(file, &a.nacp)?;
                        let _ = writeln!(
                            out,
                            "{indent}  ASET nacp    name {:?} author {:?} version {:?}",
                            c.name, c.author, c.display_version
                        );
                    }
                    let _ = writeln!(out, "{indent}  ASET romfs   {} bytes", a.romfs.len());
                }
            }
        }
        Some(Kind::Nso) => {
            let n = nso::read_nso(file, bytes)?;
            let _ = writeln!(
                out,
                "{indent}NSO ({} bytes, flags {:#x}, on-disk sizes {:#x?}, hashes verified)",
                bytes.len(),
                n.flags,
                n.file_sizes
            );
            image_lines(out, file, &n.image, indent)?;
        }
        Some(Kind::Npdm) => {
            let n = npdm::read_npdm(file, bytes)?;
            let m = &n.meta;
            let _ = writeln!(out, "{indent}NPDM ({} bytes) name {:?}", bytes.len(), m.name);
            let _ = writeln!(
                out,
                "{indent}  META  64-bit {} address space {} priority {} cpu {} stack {:#x} version {:#x}",
                m.is_64_bit(),
                m.address_space_type(),
                m.main_thread_priority,
                m.default_cpu_id,
                m.main_thread_stack_size,
                m.version
            );
            let a = &n.acid;
            let _ = writeln!(
                out,
                "{indent}  ACID  production {} pool {} program ids {:#018x}..={:#018x} fs perms {:#x}",
                a.is_production(),
                a.pool_partition(),
                a.program_id_min,
                a.program_id_max,
                a.fac.permissions
            );
            let _ = writeln!(
                out,
                "{indent}  ACI0  program id {:#018x} fs perms {:#x}",
                n.aci0.program_id, n.aci0.fs_access.permissions
            );
            let _ = writeln!(out, "{indent}  SAC   host {:?} access {:?}", n.hosted_services(), n.accessed_services());
            for c in n.capabilities(file)? {
                let line = match c {
                    Capability::Syscalls(ids) => {
                        format!("syscalls {}", ids.iter().map(|i| format!("{i:#04x}")).collect::<Vec<_>>().join(" "))
                    }
                    other => format!("{other:?}"),
                };
                let _ = writeln!(out, "{indent}  KAC   {line}");
            }
        }
        Some(Kind::Pfs0) => {
            let files = pfs0::read_pfs0(file, bytes)?;
            let _ = writeln!(out, "{indent}PFS0 ({} bytes, {} files)", bytes.len(), files.len());
            for f in files {
                let _ = writeln!(out, "{indent}  {} ({} bytes)", f.name, f.data.len());
                if detect(&f.data).is_some() {
                    describe_into(out, &format!("{file}/{}", f.name), &f.data, &format!("{indent}    "))?;
                }
            }
        }
        None => {
            let _ = writeln!(out, "{indent}unknown format (no ELF/NRO0/NSO0/META/PFS0 magic)");
        }
    }
    Ok(())
}

fn image_lines(out: &mut String, file: &str, image: &ModuleImage, indent: &str) -> Result<()> {
    for (name, seg) in image.segments() {
        let perm = match name {
            "text" => "R-X",
            "rodata" => "R--",
            _ => "RW-",
        };
        let _ = writeln!(
            out,
            "{indent}  {name:<12} {perm} offset {:#08x} size {:#08x}",
            seg.memory_offset,
            seg.bytes.len()
        );
    }
    let _ = writeln!(out, "{indent}  bss          RW- offset {:#08x} size {:#08x}", image.bss_offset(), image.bss_size);
    let _ = writeln!(out, "{indent}  module id    {}", hex(&image.module_id));
    let _ = writeln!(
        out,
        "{indent}  dynstr       {:#x}+{:#x}, dynsym {:#x}+{:#x}",
        image.dynstr.offset, image.dynstr.size, image.dynsym.offset, image.dynsym.size
    );
    match image.mod0(file) {
        Ok(m) => {
            let rel = |v: i32| m.absolute(v).map_or("(negative)".into(), |a| format!("{a:#x}"));
            let _ = writeln!(
                out,
                "{indent}  MOD0 at {:#x}  dynamic {} bss {}..{} eh_frame_hdr {}..{} LNY2 revision {}",
                m.offset,
                rel(m.dynamic),
                rel(m.bss_start),
                rel(m.bss_end),
                rel(m.eh_frame_hdr_start),
                rel(m.eh_frame_hdr_end),
                m.lny2_revision.map_or("(absent)".into(), |r| r.to_string())
            );
        }
        Err(e) => {
            let _ = writeln!(out, "{indent}  MOD0         not found: {e}");
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

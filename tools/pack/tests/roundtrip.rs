//! Write, read back, compare: NRO (formats.md §1), NSO (§2), PFS0 (§4).

mod common;

use common::*;
use sha2::{Digest, Sha256};
use xcbuf_pack::aset::Assets;
use xcbuf_pack::elf::read_elf;
use xcbuf_pack::icon::{icon_jpeg, jpeg_dimensions};
use xcbuf_pack::nacp::Nacp;
use xcbuf_pack::nro::{read_nro, write_nro};
use xcbuf_pack::nso::{flags, read_nso, write_nso};
use xcbuf_pack::pfs0::{Pfs0File, read_pfs0, write_exefs, write_pfs0};

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn nacp() -> Nacp {
    Nacp { name: "xcbuf".into(), author: "xcbuf project".into(), display_version: "0.1.0".into() }
}

#[test]
fn nro_header_matches_the_elf_layout() {
    let m = read_elf("t.elf", &default_elf()).unwrap();
    let nro = write_nro("t.nro", &m.image, None).unwrap();
    // NroStart comes from the image: branch, MOD0 offset, "HOMEBREW".
    assert_eq!(u32_at(&nro, 0), 0x1400_0020);
    assert_eq!(u32_at(&nro, 4), 0x2000);
    assert_eq!(&nro[8..16], b"HOMEBREW");
    assert_eq!(&nro[0x10..0x14], b"NRO0");
    assert_eq!(u32_at(&nro, 0x18), 0x4000, "size = end of page-aligned data");
    // Segments {offset, size}: sizes rounded up to 0x1000, file offset == memory offset.
    assert_eq!([u32_at(&nro, 0x20), u32_at(&nro, 0x24)], [0, 0x2000]);
    assert_eq!([u32_at(&nro, 0x28), u32_at(&nro, 0x2C)], [0x2000, 0x1000]);
    assert_eq!([u32_at(&nro, 0x30), u32_at(&nro, 0x34)], [0x3000, 0x1000]);
    assert_eq!(u32_at(&nro, 0x38), 0x1000, "bss = bss PT_LOAD memsz 0x4a0, page-aligned");
    assert_eq!(&nro[0x40..0x54], &BUILD_ID);
    assert_eq!(nro.len(), 0x4000, "no ASET when no assets");
    assert_eq!(&nro[0x2000..0x2004], b"MOD0");
}

#[test]
fn nro_round_trip_keeps_segments_bss_module_id_and_assets() {
    let m = read_elf("t.elf", &default_elf()).unwrap();
    let assets = Assets { icon: icon_jpeg().unwrap(), nacp: nacp().to_bytes("t").unwrap(), romfs: Vec::new() };
    let bytes = write_nro("t.nro", &m.image, Some(&assets)).unwrap();
    let nro = read_nro("t.nro", &bytes).unwrap();
    let img = &nro.image;
    assert_eq!(nro.size, 0x4000);
    // text: identical outside the header overlay, zero padded to the page.
    assert_eq!(img.text.bytes.len(), 0x2000);
    assert_eq!(&img.text.bytes[..0x10], &text_bytes()[..0x10]);
    assert_eq!(&img.text.bytes[0x80..TEXT_SIZE], &text_bytes()[0x80..]);
    assert!(img.text.bytes[TEXT_SIZE..].iter().all(|b| *b == 0));
    assert_eq!(&img.rodata.bytes[..RODATA_SIZE], &rodata_bytes()[..]);
    assert_eq!(&img.data.bytes[..DATA_FILESZ], &data_bytes()[..]);
    assert_eq!(img.bss_size, 0x1000);
    assert_eq!(img.module_id, m.image.module_id);
    let mod0 = img.mod0("t.nro").unwrap();
    assert_eq!(mod0.lny2_revision, Some(1));
    assert_eq!(mod0.absolute(mod0.bss_start), Some(0x4000));
    // ASET at `size`: icon then NACP, offsets relative to the ASET header.
    assert_eq!(&bytes[0x4000..0x4004], b"ASET");
    assert_eq!(u64::from_le_bytes(bytes[0x4008..0x4010].try_into().unwrap()), 0x38);
    let got = nro.assets.unwrap();
    assert_eq!(got, assets);
    assert_eq!(jpeg_dimensions(&got.icon), Some((256, 256)));
    assert_eq!(got.nacp.len(), 0x4000);
    assert_eq!(Nacp::parse("t", &got.nacp).unwrap(), nacp());
}

#[test]
fn nacp_puts_version_at_0x3060_and_fills_every_language() {
    let b = nacp().to_bytes("t").unwrap();
    assert_eq!(b.len(), 0x4000);
    assert_eq!(&b[0x3060..0x3065], b"0.1.0");
    for lang in 0..16 {
        assert_eq!(&b[lang * 0x300..lang * 0x300 + 5], b"xcbuf");
        assert_eq!(&b[lang * 0x300 + 0x200..lang * 0x300 + 0x20D], b"xcbuf project");
    }
}

#[test]
fn icon_is_a_256x256_baseline_jpeg_of_the_monogram() {
    let jpeg = icon_jpeg().unwrap();
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
    assert_eq!(&jpeg[jpeg.len() - 2..], &[0xFF, 0xD9]);
    assert_eq!(jpeg_dimensions(&jpeg), Some((256, 256)));
    assert!(jpeg.windows(2).any(|w| w == [0xFF, 0xC0]), "SOF0 (baseline)");
    let px = xcbuf_pack::icon::icon_rgb();
    let at = |x: usize, y: usize| &px[(y * 256 + x) * 3..(y * 256 + x) * 3 + 3];
    assert_eq!(at(64, 128), &[0xf2, 0x8c, 0x28], "centre of the X");
    assert_eq!(at(196 - 47, 128), &[0x3c, 0xc8, 0xe6], "left of the C ring");
    assert_eq!(at(5, 5), &[0x1b, 0x26, 0x3b], "background");
}

#[test]
fn nso_round_trip_decompresses_and_checks_hashes() {
    let m = read_elf("t.elf", &default_elf()).unwrap();
    let bytes = write_nso("t.nso", &m.image).unwrap();
    assert_eq!(&bytes[..4], b"NSO0");
    assert_eq!(u32_at(&bytes, 0x0C), 0x3F, "compressed + hashed, as elf2nso and linkle");
    assert_eq!(u32_at(&bytes, 0x10), 0x100, "text follows the 0x100 header");
    assert_eq!([u32_at(&bytes, 0x14), u32_at(&bytes, 0x18)], [0, 0x1234]);
    assert_eq!([u32_at(&bytes, 0x24), u32_at(&bytes, 0x28)], [0x2000, 0x800]);
    assert_eq!([u32_at(&bytes, 0x34), u32_at(&bytes, 0x38)], [0x3000, 0x1000]);
    assert_eq!(u32_at(&bytes, 0x3C), 0x4A0, "bss = the bss PT_LOAD's memsz");
    assert_eq!(&bytes[0x40..0x54], &BUILD_ID);
    let nso = read_nso("t.nso", &bytes).unwrap();
    assert_eq!(nso.flags, flags::ALL_COMPRESSED_AND_HASHED);
    assert_eq!(nso.image, m.image);
    assert_eq!(nso.hashes[0].as_slice(), Sha256::digest(text_bytes()).as_slice());
    assert_eq!(nso.hashes[1].as_slice(), Sha256::digest(rodata_bytes()).as_slice());
    assert!(nso.file_sizes.iter().all(|s| *s > 0));
    assert_eq!(nso.image.mod0("t.nso").unwrap().lny2_revision, Some(1));
}

/// Bytes LZ4 cannot shrink (xorshift noise).
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn nso_segment_lz4_cannot_shrink_is_stored_uncompressed_with_its_flag_clear() {
    // Atmosphère's loader (ldr_process_creation.cpp, LoadAutoLoadModuleSegment)
    // rejects a compressed size above the segment size.
    let mut m = read_elf("t.elf", &default_elf()).unwrap();
    let len = m.image.data.bytes.len();
    m.image.data.bytes = noise(len);
    assert!(lz4_flex::block::compress(&m.image.data.bytes).len() > len, "the noise must be incompressible");
    let bytes = write_nso("t.nso", &m.image).unwrap();
    assert_eq!(u32_at(&bytes, 0x0C), 0x3F & !flags::DATA_COMPRESSED, "data stored as is, still hashed");
    assert_eq!(u32_at(&bytes, 0x68), len as u32, "data.file_size = data.size");
    let at = u32_at(&bytes, 0x30) as usize;
    assert_eq!(&bytes[at..at + len], m.image.data.bytes.as_slice(), "data bytes verbatim in the file");
    assert_eq!(at + len, bytes.len(), "nothing after the last segment");
    for i in 0..3 {
        assert!(u32_at(&bytes, 0x60 + 4 * i) <= u32_at(&bytes, 0x18 + 0x10 * i), "segment {i}: file size <= size");
    }
    let back = read_nso("t.nso", &bytes).unwrap();
    assert_eq!(back.image, m.image);
    assert_eq!(back.flags, 0x3F & !flags::DATA_COMPRESSED);
    let shown = xcbuf_pack::inspect::describe("t.nso", &bytes).unwrap();
    assert!(shown.contains("NSO (") && shown.contains("flags 0x3b"), "{shown}");

    // Every segment incompressible: flags hash-only (0x38), as formats.md §2 allows.
    m.image.text.bytes = noise(m.image.text.bytes.len());
    m.image.text.bytes[..16].copy_from_slice(&text_bytes()[..16]);
    m.image.rodata.bytes = {
        let mut r = noise(m.image.rodata.bytes.len());
        let m0 = rodata_bytes();
        r[..0x40].copy_from_slice(&m0[..0x40]);
        r
    };
    let bytes = write_nso("t.nso", &m.image).unwrap();
    assert_eq!(u32_at(&bytes, 0x0C), flags::ALL_HASHED);
    assert_eq!(read_nso("t.nso", &bytes).unwrap().image, m.image);
}

#[test]
fn nso_dynstr_and_dynsym_are_rodata_relative() {
    let mut m = read_elf("t.elf", &default_elf()).unwrap();
    m.image.dynstr = xcbuf_pack::image::Extent { offset: 0x2100, size: 0x40 };
    m.image.dynsym = xcbuf_pack::image::Extent { offset: 0x2200, size: 0x30 };
    let bytes = write_nso("t.nso", &m.image).unwrap();
    assert_eq!([u32_at(&bytes, 0x90), u32_at(&bytes, 0x94)], [0x100, 0x40]);
    assert_eq!([u32_at(&bytes, 0x98), u32_at(&bytes, 0x9C)], [0x200, 0x30]);
    let back = read_nso("t.nso", &bytes).unwrap();
    assert_eq!(back.image.dynstr, m.image.dynstr);
    assert_eq!(back.image.dynsym, m.image.dynsym);
}

#[test]
fn exefs_layout_matches_the_linkle_worked_example() {
    // formats.md §4: 2 files, 0x20-byte string table, data at 0x60, main at 0, main.npdm at 0x216.
    let main = vec![0xAB; 0x216];
    let npdm = vec![0xCD; 0x3D0];
    let b = write_exefs("exefs.nsp", main.clone(), npdm.clone()).unwrap();
    assert_eq!(&b[..4], b"PFS0");
    assert_eq!(u32_at(&b, 4), 2);
    assert_eq!(u32_at(&b, 8), 0x20);
    assert_eq!(u64::from_le_bytes(b[0x10..0x18].try_into().unwrap()), 0);
    assert_eq!(u64::from_le_bytes(b[0x28..0x30].try_into().unwrap()), 0x216);
    assert_eq!(&b[0x40..0x4F], b"main\0main.npdm\0");
    assert_eq!(&b[0x60..0x60 + 0x216], &main[..]);
    assert_eq!(b.len(), 0x60 + 0x216 + 0x3D0);
    let files = read_pfs0("exefs.nsp", &b).unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!((files[0].name.as_str(), &files[0].data), ("main", &main));
    assert_eq!((files[1].name.as_str(), &files[1].data), ("main.npdm", &npdm));
}

#[test]
fn pfs0_round_trip_pads_the_string_table_to_0x20() {
    let files: Vec<Pfs0File> =
        (0..5).map(|i| Pfs0File { name: format!("subsdk{i}"), data: vec![i as u8; i * 3] }).collect();
    let b = write_pfs0("t.pfs0", &files).unwrap();
    // 5 names of 8 bytes = 40 bytes -> 0x40.
    assert_eq!(u32_at(&b, 8), 0x40);
    assert_eq!(read_pfs0("t.pfs0", &b).unwrap(), files);
}

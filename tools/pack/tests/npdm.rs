//! NPDM: byte-identical to npdmtool (formats.md §3; shared/testdata/npdm), and
//! the reader sees what the loader sees.

use std::collections::BTreeSet;

use xcbuf_pack::npdm::kac::Capability;
use xcbuf_pack::npdm::{parse_npdm_json, read_npdm, write_npdm};

const GOLDEN_JSON: &str = include_str!("data/sysmodule.json");
const GOLDEN_NPDM: &[u8] = include_bytes!("data/sysmodule.npdm");
const SYSMODULE_JSON: &str = include_str!("../../../sysmodule/npdm.json");

#[test]
fn npdm_is_byte_identical_to_npdmtool() {
    let spec = parse_npdm_json("sysmodule.json", GOLDEN_JSON).unwrap();
    let ours = write_npdm("sysmodule.json", &spec).unwrap();
    assert_eq!(ours.len(), 976);
    if let Some(i) = ours.iter().zip(GOLDEN_NPDM).position(|(a, b)| a != b) {
        panic!("first difference at {i:#x}: ours {:#04x}, npdmtool {:#04x}", ours[i], GOLDEN_NPDM[i]);
    }
    assert_eq!(ours, GOLDEN_NPDM);
}

#[test]
fn golden_npdm_reads_back_as_its_json() {
    let n = read_npdm("sysmodule.npdm", GOLDEN_NPDM).unwrap();
    assert_eq!(n.meta.name, "rust-sys");
    assert_eq!(n.meta.main_thread_priority, 49);
    assert_eq!(n.meta.default_cpu_id, 3);
    assert_eq!(n.meta.main_thread_stack_size, 0x4000);
    assert!(n.meta.is_64_bit());
    assert_eq!(n.meta.address_space_type(), 3);
    assert!(n.acid.is_production());
    assert_eq!(n.acid.pool_partition(), 2);
    assert_eq!((n.acid.version, n.acid.unknown_209), (0, 0));
    assert_eq!(n.acid.program_id_min, 0x4200000000000ABC);
    assert_eq!(n.aci0.program_id, 0x4200000000000ABC);
    assert_eq!(n.acid.fac.permissions, u64::MAX);
    assert_eq!(n.aci0.fs_access.permissions, u64::MAX);
    assert_eq!(n.hosted_services(), ["rust:sv"]);
    assert_eq!(n.accessed_services(), ["fsp-srv", "set:sys", "lm"]);
    assert_eq!(n.acid.kac, n.aci0.kac, "npdmtool writes the same KAC into both");
    let want: BTreeSet<u32> = [
        0x01, 0x02, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x16, 0x18, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x21, 0x24,
        0x26, 0x27, 0x28, 0x29, 0x34, 0x35, 0x41, 0x43, 0x45, 0x71, 0x7f,
    ]
    .into();
    assert_eq!(n.granted_syscalls("t").unwrap(), want);
    let caps = n.capabilities("t").unwrap();
    assert_eq!(
        caps[0],
        Capability::KernelFlags { highest_priority: 24, lowest_priority: 63, min_core: 3, max_core: 3 }
    );
    assert!(caps.contains(&Capability::MinKernelVersion(0x30)));
    assert!(caps.contains(&Capability::HandleTableSize(128)));
}

#[test]
fn kernel_flags_descriptor_puts_the_lowest_priority_in_bits_4_to_9() {
    // 0x030363f7 in the golden file: cores 3..3, priorities 24 (bits 10-15) and 63 (bits 4-9).
    let c = Capability::KernelFlags { highest_priority: 24, lowest_priority: 63, min_core: 3, max_core: 3 };
    assert_eq!(c.encode(), [0x0303_63F7]);
}

#[test]
fn syscall_n_sets_bit_n_mod_24_of_descriptor_n_div_24() {
    let c = Capability::Syscalls([0x7f, 0x71].into());
    // 0x71 = 4*24 + 17, 0x7f = 5*24 + 7 (golden: 0x8040000f, 0xa000100f).
    assert_eq!(c.encode(), [0x8040_000F, 0xA000_100F]);
}

#[test]
fn every_capability_type_round_trips_through_its_descriptor() {
    let caps = vec![
        Capability::KernelFlags { highest_priority: 44, lowest_priority: 59, min_core: 0, max_core: 3 },
        Capability::Syscalls([0x00, 0x17, 0x18, 0xBF].into()),
        Capability::Map { address: 0x7_0000_3000, size: 0x2000, is_ro: true, is_io: true },
        Capability::Map { address: 0x5000_0000, size: 0x10_0000, is_ro: false, is_io: false },
        Capability::MapPage(0x6000_4000),
        Capability::MapRegion([(1, true), (2, false), (0, false)]),
        Capability::IrqPair([0x20, 0x3FF]),
        Capability::ApplicationType(1),
        Capability::MinKernelVersion(0x0030),
        Capability::HandleTableSize(80),
        Capability::DebugFlags { allow_debug: true, force_debug_prod: false, force_debug: false },
    ];
    let words: Vec<u32> = caps.iter().flat_map(Capability::encode).collect();
    let back = xcbuf_pack::npdm::kac::decode("t", "KAC", &words).unwrap();
    // Syscalls decode one descriptor at a time.
    let mut expected = caps.clone();
    expected[1] = Capability::Syscalls([0x00, 0x17].into());
    expected.insert(2, Capability::Syscalls([0x18].into()));
    expected.insert(3, Capability::Syscalls([0xBF].into()));
    assert_eq!(back, expected);
}

#[test]
fn sysmodule_npdm_grants_only_what_the_server_needs() {
    let spec = parse_npdm_json("npdm.json", SYSMODULE_JSON).unwrap();
    let bytes = write_npdm("npdm.json", &spec).unwrap();
    let n = read_npdm("main.npdm", &bytes).unwrap();
    assert_eq!(n.meta.name, "xcbuf");
    assert_eq!(n.aci0.program_id, 0x4200000000000c0b, "the Makefile's PROGRAM_ID");
    assert_eq!(n.meta.main_thread_priority, 49);
    assert_eq!(n.meta.default_cpu_id, 3);
    assert_eq!(n.meta.main_thread_stack_size, 0x3000, "sized from the measured peak, tools/emu/tests/stacks.rs");
    assert!(n.acid.is_production(), "AMS ValidateAcid requires is_retail");
    assert_eq!(n.acid.pool_partition(), 2, "system pool");
    assert_eq!(n.aci0.fs_access.permissions, 0);
    assert_eq!(n.hosted_services(), ["xcbuf", "xcbuf:i"]);
    assert!(n.accessed_services().is_empty(), "sm: is a named port: no SAC entry");
    // The exact list is checked against the binary by built.rs; here: the server's
    // own svcs are there and nothing from the debug / process / SMC range 0x60..=0x7F.
    let granted = n.granted_syscalls("t").unwrap();
    assert!(granted.contains(&0x41) && granted.contains(&0x43), "AcceptSession, ReplyAndReceive");
    let privileged: Vec<u32> = granted.iter().copied().filter(|s| (0x60..=0x7F).contains(s)).collect();
    assert!(privileged.is_empty(), "privileged svcs granted: {privileged:#x?}");
    let caps = n.capabilities("t").unwrap();
    assert!(caps.contains(&Capability::HandleTableSize(80)));
    assert!(
        caps.iter()
            .all(|c| !matches!(c, Capability::DebugFlags { .. } | Capability::Map { .. } | Capability::MapPage(_))),
        "no debug or memory-mapping capabilities"
    );
}

#[test]
fn title_id_and_program_id_names_are_equivalent() {
    let new_names = GOLDEN_JSON.replace("\"title_id\"", "\"program_id\"").replace("title_id_range", "program_id_range");
    let a = write_npdm("a", &parse_npdm_json("a", GOLDEN_JSON).unwrap()).unwrap();
    let b = write_npdm("b", &parse_npdm_json("b", &new_names).unwrap()).unwrap();
    assert_eq!(a, b);
}

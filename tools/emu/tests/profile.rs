//! The profile (`xcbuf-emu profile`) on a crafted guest whose instruction counts are known
//! exactly: hand-assembled aarch64 words (assembled once with `llvm-mc -triple=aarch64`;
//! the source is in the comment).

use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::loader::{ProcessSetup, ProgramImage};
use xcbuf_emu::memory::NRO_CODE_BASE;
use xcbuf_emu::perf::profile::{FunctionCount, phase_profile};
use xcbuf_emu::perf::{LoopOptions, run_loop_setups};
use xcbuf_emu::run::RunConfig;
use xcbuf_emu::symbols::Symbols;

/// ```text
/// _start: stp x29, x30, [sp, #-16]!
///         adr x0, begin; mov x1, #19; svc #0x27     // "@perf begin calls 1"
///         bl f; bl f; bl g; bl h
///         adr x0, end; mov x1, #18; svc #0x27       // "@perf end errors=0"
///         ldp x29, x30, [sp], #16; mov w0, #0; ret
/// f:      add x2, x2, #1; add x2, x2, #1; ret        // 3 instructions
/// h:      add x3, x3, #1; add x3, x3, #1             // 2, then falls through into g
/// g:      add x4, x4, #1 (4 times); ret              // 5
/// begin:  .ascii "@perf begin calls 1"
/// end:    .ascii "@perf end errors=0"
/// ```
const CALLS: [u32; 34] = [
    0xa9bf7bfd, 0x100002e0, 0xd2800261, 0xd40004e1, 0x9400000a, 0x94000009, 0x9400000d, 0x9400000a, 0x70000280,
    0xd2800241, 0xd40004e1, 0xa8c17bfd, 0x52800000, 0xd65f03c0, 0x91000442, 0x91000442, 0xd65f03c0, 0x91000463,
    0x91000463, 0x91000484, 0x91000484, 0x91000484, 0x91000484, 0xd65f03c0, 0x72657040, 0x65622066, 0x206e6967,
    0x6c6c6163, 0x40312073, 0x66726570, 0x646e6520, 0x72726520, 0x3d73726f, 0x00000030,
];

fn calls_symbols() -> Symbols {
    Symbols::from_functions(vec![
        (0x00, 0x38, "_start".into()),
        (0x38, 0x0c, "f".into()),
        (0x44, 0x08, "h".into()),
        (0x4c, 0x14, "g".into()),
    ])
}

#[test]
fn a_crafted_guest_with_known_counts_is_attributed_exactly() {
    let mut client = ProcessSetup::nro("client", LaunchKind::Hbmenu, ProgramImage::from_code(&CALLS));
    client.symbols = Some(calls_symbols());
    let run = run_loop_setups(None, client, &RunConfig::default(), LoopOptions { idle_ns: None, profile: true })
        .expect("the crafted run");
    assert_eq!(run.client_errors, Some(0));
    assert_eq!(run.phases.len(), 1);
    let phase = &run.phases[0];
    assert_eq!((phase.name.as_str(), phase.requests), ("calls", 1));
    // Between the marks: the four `bl` (one block each) and the block that writes the end
    // marker (3, counted as it starts, before its svc) in _start; f twice; g once from its
    // start and once through h's fall-through block (h 2 + g 5, one block of 7).
    assert_eq!(phase.client.instructions, 7 + 6 + 10 + 2);
    let symbols = calls_symbols();
    let p = phase_profile(phase, (&symbols, NRO_CODE_BASE), (&symbols, NRO_CODE_BASE)).expect("sums to the counter");
    let fc = |name: &str, instructions, entries| FunctionCount { name: name.into(), instructions, entries };
    assert_eq!(p.client.functions, vec![fc("g", 10, 1), fc("_start", 7, 0), fc("f", 6, 2), fc("h", 2, 1)]);
    assert_eq!(p.client.total, 25);
    // The hottest block is h's fall-through into g: 7 instructions, once (f's is 3, twice).
    let hot: Vec<(&str, u64, u64)> =
        p.client.hot_blocks.iter().take(2).map(|b| (b.location.as_str(), b.size, b.executions)).collect();
    assert_eq!(hot, vec![("h+0x0", 7, 1), ("f+0x0", 3, 2)]);
}

#[test]
fn a_phase_without_a_profile_is_an_error_not_an_empty_table() {
    let client = ProcessSetup::nro("client", LaunchKind::Hbmenu, ProgramImage::from_code(&CALLS));
    let run = run_loop_setups(None, client, &RunConfig::default(), LoopOptions::default()).expect("the crafted run");
    let symbols = calls_symbols();
    let err = phase_profile(&run.phases[0], (&symbols, NRO_CODE_BASE), (&symbols, NRO_CODE_BASE)).unwrap_err();
    assert!(err.contains("was not profiled"), "{err}");
}

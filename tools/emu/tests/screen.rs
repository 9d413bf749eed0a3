//! The page on screen, end to end: the real client runs in the bench; the last frame it
//! queued on a shown layer (vi's compositor: read from the client's nvmap memory and
//! de-swizzled by the bench's own block-linear reader, `hle::vi::display`) must equal,
//! pixel for pixel, the page rendered on the host by `common::screen` from the report
//! lines the client printed to its debug output (the client puts exactly its report
//! lines on the page: `client-nro/src/screen/sink.rs`; which lines those are:
//! `xcbuf_client::report::is_page_line`).
//!
//! And the comparison is not blind: a frame swizzled with another block height, a page
//! missing one line, and a frame on a stray layer (never shown, as in Ryujinx) all fail
//! it. The runs need `make dist`'s output: a plain `cargo test` lists them as ignored,
//! `make test` runs them ([`xcbuf_pack::built`]).

use xcbuf_client::report::is_page_line;
use xcbuf_common::screen::{self, BlockLinearSurface, Console, LinearSurface, Page};
use xcbuf_emu::hle::vi::display::{Frame, SurfaceLayout};
use xcbuf_emu::hle::vi::testing;
use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::observe::{RunEnd, RunReport};
use xcbuf_emu::run::{self, RunConfig};
use xcbuf_pack::built;

/// The frame's layout as the client queues it (screen-output.md §1e).
const LAYOUT: SurfaceLayout =
    SurfaceLayout { width: 1280, height: 720, bytes_per_pixel: 4, pitch: 5120, block_height_log2: 4 };

fn run_client(sysmodule: bool) -> RunReport {
    run_launched(sysmodule, if sysmodule { LaunchKind::Hbmenu } else { LaunchKind::Emulator })
}

fn run_launched(sysmodule: bool, launch: LaunchKind) -> RunReport {
    let config = RunConfig {
        sysmodule: sysmodule.then(built::sysmodule_nsp),
        nro: Some(built::client_nro()),
        no_sysmodule: !sysmodule,
        launch,
        ..RunConfig::default()
    };
    let report = run::run(&config);
    assert_eq!(report.end, RunEnd::Completed, "{}\n{}", report.summary(), report.client_lines.join("\n"));
    report
}

/// The page lines of a run, in order: from the title line to the exit hint.
fn page_lines(report: &RunReport) -> Vec<String> {
    let all: Vec<&str> = report.client_lines.iter().map(|l| l.trim_end()).collect();
    let start = all
        .iter()
        .position(|l| l.starts_with("xcbuf ") && l.contains("(server: "))
        .unwrap_or_else(|| panic!("no title line\n{}", all.join("\n")));
    let end = all[start..]
        .iter()
        .position(|l| *l == Page::EXIT_HINT)
        .map(|i| start + i)
        .unwrap_or_else(|| panic!("no exit hint\n{}", all.join("\n")));
    // The client's own rule for the lines it put on the page (`report::is_page_line`), and
    // the exit hint, its footer.
    all[start..=end].iter().copied().filter(|l| is_page_line(l) || *l == Page::EXIT_HINT).map(String::from).collect()
}

/// The page as the host renders it from `lines` (common::screen, as the client does).
fn host_console(lines: &[String]) -> Console {
    let mut console = Console::new();
    for line in lines {
        if line == Page::EXIT_HINT {
            Page::push_exit_hint(&mut console);
        } else {
            Page::push_report_line(&mut console, line);
        }
    }
    console
}

fn host_page(lines: &[String]) -> Vec<u32> {
    let mut pixels = vec![0u32; LinearSurface::LEN];
    host_console(lines).render(&mut LinearSurface(&mut pixels));
    pixels
}

/// Pixel-for-pixel comparison: Err names how many pixels differ and the first one.
fn compare(frame: &Frame, page: &[u32]) -> Result<(), String> {
    if (frame.width, frame.height) != (screen::WIDTH as u32, screen::HEIGHT as u32) {
        return Err(format!("frame is {}x{}", frame.width, frame.height));
    }
    let got: Vec<u32> = frame.rgba.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let differ: Vec<usize> = (0..page.len()).filter(|&i| got.get(i) != page.get(i)).collect();
    match differ.first() {
        None => Ok(()),
        Some(&i) => Err(format!(
            "{} pixels differ; the first at ({}, {}): guest {:#010x}, host {:#010x}",
            differ.len(),
            i % screen::WIDTH,
            i / screen::WIDTH,
            got.get(i).copied().unwrap_or(0),
            page[i]
        )),
    }
}

/// The guest's page and its report lines.
fn guest_page(sysmodule: bool) -> (Frame, Vec<String>) {
    page_of(&run_client(sysmodule))
}

fn page_of(report: &RunReport) -> (Frame, Vec<String>) {
    let lines = page_lines(report);
    let frame = report.screen.clone().unwrap_or_else(|| {
        panic!("no frame was shown: {:?}\n{}", report.frames_not_shown, report.client_lines.join("\n"))
    });
    (frame, lines)
}

/// `linear` (RGBA8 rows of 5120 bytes) swizzled as `layout` says.
fn swizzle(linear: &[u8], layout: &SurfaceLayout) -> Vec<u8> {
    let mut out = vec![0u8; layout.swizzled_size().expect("layout") as usize];
    for y in 0..layout.height {
        for x in 0..layout.width * layout.bytes_per_pixel {
            out[layout.offset(x, y) as usize] = linear[(y * layout.pitch + x) as usize];
        }
    }
    out
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn the_guest_frame_is_the_host_page_pixel_for_pixel_with_the_sysmodule() {
    let (frame, lines) = guest_page(true);
    assert!(lines.iter().any(|l| l == "server: sysmodule"), "{lines:#?}");
    compare(&frame, &host_page(&lines)).unwrap_or_else(|e| panic!("{e}\n{lines:#?}"));
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn the_guest_frame_is_the_host_page_pixel_for_pixel_in_process() {
    let (frame, lines) = guest_page(false);
    assert!(lines.iter().any(|l| l == "server: in-process"), "{lines:#?}");
    compare(&frame, &host_page(&lines)).unwrap_or_else(|e| panic!("{e}\n{lines:#?}"));
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn the_guest_frame_is_the_host_page_pixel_for_pixel_under_eden_arguments() {
    let (frame, lines) = page_of(&run_launched(false, LaunchKind::EdenArgs));
    assert!(lines.iter().any(|l| l == "server: in-process"), "{lines:#?}");
    compare(&frame, &host_page(&lines)).unwrap_or_else(|e| panic!("{e}\n{lines:#?}"));
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn a_page_missing_one_line_fails_the_comparison() {
    let (frame, lines) = guest_page(true);
    let pass = lines.iter().position(|l| l.starts_with("PASS ")).expect("a PASS line");
    let mut missing = lines.clone();
    missing.remove(pass);
    let e = compare(&frame, &host_page(&missing)).expect_err("a page without a line must differ");
    assert!(e.contains("pixels differ"), "{e}");
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn the_guest_frame_on_a_stray_layer_is_never_shown() {
    let (frame, lines) = guest_page(true);
    let swizzled = swizzle(&frame.rgba, &LAYOUT);
    // The same bytes on a managed layer come back as the page...
    let managed = testing::show(&swizzled, false).expect("shown on a managed layer");
    compare(&managed, &host_page(&lines)).expect("the managed layer shows the page");
    // ...and on a stray layer nothing is shown, so there is nothing that could match.
    assert_eq!(testing::show(&swizzled, true), None);
}

#[test]
fn a_frame_swizzled_with_another_block_height_fails_the_comparison() {
    let lines: Vec<String> =
        ["xcbuf 0.0.0 (server: sysmodule)", "server: sysmodule", "PASS one: it did", "1 passed, 0 failed"]
            .iter()
            .map(|s| s.to_string())
            .chain([Page::EXIT_HINT.to_string()])
            .collect();
    let page = host_page(&lines);
    // common::screen's own block-linear frame (the client's swizzle), read back by the
    // bench's de-swizzle through vi: the same page.
    let mut frame = vec![0u8; screen::FRAME_SIZE];
    host_console(&lines).render(&mut BlockLinearSurface(&mut frame));
    let shown = testing::show(&frame, false).expect("shown");
    compare(&shown, &page).expect("common::screen's swizzle and the bench's agree");
    // Swizzled with 8-GOB blocks (block_height_log2 3) while the GBFR says 16: not the page.
    let linear: Vec<u8> = page.iter().flat_map(|p| p.to_le_bytes()).collect();
    let wrong = swizzle(&linear, &SurfaceLayout { block_height_log2: 3, ..LAYOUT });
    let mut padded = vec![0u8; screen::FRAME_SIZE];
    padded[..wrong.len()].copy_from_slice(&wrong);
    let shown = testing::show(&padded, false).expect("shown");
    let e = compare(&shown, &page).expect_err("a frame with 8-GOB blocks must differ");
    assert!(e.contains("pixels differ"), "{e}");
}

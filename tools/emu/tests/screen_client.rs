//! The client NRO's screen in the bench, end to end: the page comes up, every report line
//! reaches it, + ends the wait and the teardown runs, in the order of screen-output.md §1g
//! (rows 2-33, libnx's order), in every launch the client meets. The calls are read from
//! the bench's IPC trace (`RunConfig::trace_ipc`). Needs `make dist` (run by `make test`).

use xcbuf_client::report::is_page_line;
use xcbuf_common::screen::{Console, HEIGHT, LinearSurface, Page, WIDTH};
use xcbuf_emu::kernel::process::LaunchKind;
use xcbuf_emu::kernel::profile::KernelProfile;
use xcbuf_emu::observe::{RunEnd, RunReport};
use xcbuf_emu::run::{self, RunConfig};
use xcbuf_pack::built;

/// The services of the screen and the buttons (sm, fsp-srv and xcbuf are the suite's).
const SCREEN_SERVICES: [&str; 6] = ["appletOE", "appletAE", "vi:m", "hid", "nvdrv", "nvdrv:a"];

/// The screen's calls in order, as `service interface command` (`service control N`,
/// `service Close`, `service domain-close`).
fn screen_calls(report: &RunReport) -> Vec<String> {
    let mut calls = Vec::new();
    for line in &report.trace {
        let Some((service, rest)) = line.split_once(": ") else { continue };
        if !SCREEN_SERVICES.contains(&service) {
            continue;
        }
        let call = if let Some(rest) = rest.strip_prefix("control command ") {
            format!("{service} control {}", rest.split(' ').next().unwrap_or(""))
        } else if rest.starts_with("Close (type 2)") {
            format!("{service} Close")
        } else if rest.starts_with("domain Close") {
            format!("{service} domain-close")
        } else if let Some((interface, tail)) = rest.split_once(" command ") {
            format!("{service} {interface} {}", tail.split(' ').next().unwrap_or(""))
        } else {
            continue;
        };
        calls.push(call);
    }
    calls
}

fn config(sysmodule: bool, launch: LaunchKind, kernel: KernelProfile) -> RunConfig {
    RunConfig {
        sysmodule: sysmodule.then(built::sysmodule_nsp),
        nro: Some(built::client_nro()),
        no_sysmodule: !sysmodule,
        launch,
        kernel,
        trace_ipc: true,
        ..RunConfig::default()
    }
}

/// Rows 2-26 for an Application (appletOE; hbmenu's bench launch and both emulators),
/// through the first QUEUE and the npad set-up.
const OPEN_APPLICATION: &[&str] = &[
    "appletOE control 0",                   // 3 ConvertCurrentObjectToDomain
    "appletOE IApplicationProxyService 0",  // 4 OpenApplicationProxy
    "appletOE IApplicationProxy 0",         // 5 GetCommonStateGetter
    "appletOE IApplicationProxy 1",         //   GetSelfController
    "appletOE IApplicationProxy 2",         //   GetWindowController
    "appletOE IWindowController 1",         // 6 GetAppletResourceUserId
    "appletOE ICommonStateGetter 0",        // 7 GetEventHandle
    "appletOE ICommonStateGetter 9",        // 8 GetCurrentFocusState
    "appletOE IWindowController 10",        // 9 AcquireForegroundRights
    "appletOE IApplicationProxy 20",        // 10 GetApplicationFunctions
    "appletOE IApplicationFunctions 40",    //    NotifyRunning
    "hid IHidServer 0",                     // 11 CreateAppletResource
    "hid IAppletResource 0",                //    GetSharedMemoryHandle
    "vi:m IManagerRootService 2",           // 12 GetDisplayService(1)
    "vi:m Close",                           //    the root session closed
    "vi:m IApplicationDisplayService 100",  // 13 GetRelayService
    "vi:m IApplicationDisplayService 1010", //    OpenDisplay
    "appletOE ISelfController 40",          // 14 CreateManagedDisplayLayer
    "vi:m IApplicationDisplayService 2020", // 15 OpenLayer
    "vi:m IApplicationDisplayService 2101", //    SetLayerScalingMode
    "vi:m IHOSBinderDriver 1",              // 16 AdjustRefcount weak
    "vi:m IHOSBinderDriver 1",              //    strong
    "vi:m IHOSBinderDriver 0",              // 17 CONNECT
    "nvdrv INvDrvServices 3",               // 20 Initialize
    "nvdrv INvDrvServices 8",               // 21 SetAruid
    "nvdrv INvDrvServices 0",               // 22 Open /dev/nvmap
    "nvdrv INvDrvServices 1",               //    CREATE
    "nvdrv INvDrvServices 1",               //    ALLOC
    "nvdrv INvDrvServices 1",               //    GET_ID
    "vi:m IHOSBinderDriver 0",              // 23 SET_PREALLOCATED_BUFFER slot 0
    "vi:m IHOSBinderDriver 0",              //    slot 1
    "vi:m IHOSBinderDriver 0",              // 24 DEQUEUE
    "vi:m IHOSBinderDriver 0",              //    REQUEST_BUFFER
    "vi:m IHOSBinderDriver 0",              // 25 QUEUE: the page is visible
    "hid IHidServer 109",                   // 26 ActivateNpadWithRevision
    "hid IHidServer 102",                   //    SetSupportedNpadIdType
    "hid IHidServer 100",                   //    SetSupportedNpadStyleSet
];

/// Rows 2-26 for a LibraryApplet (hbloader's album mode): appletAE 201 with the
/// AppletAttribute, no focus wait, no ApplicationFunctions (rows 8-10 are Application
/// only), nvdrv:a.
fn open_library_applet() -> Vec<String> {
    let mut calls = vec![
        "appletAE control 0".to_string(),
        "appletAE IAllSystemAppletProxiesService 201".to_string(),
        "appletAE ILibraryAppletProxy 0".to_string(),
        "appletAE ILibraryAppletProxy 1".to_string(),
        "appletAE ILibraryAppletProxy 2".to_string(),
        "appletAE IWindowController 1".to_string(),
        "appletAE ICommonStateGetter 0".to_string(),
    ];
    for c in &OPEN_APPLICATION[11..] {
        calls.push(c.replace("appletOE", "appletAE").replace("nvdrv ", "nvdrv:a "));
    }
    calls
}

/// Rows 28-33 after the last QUEUE.
const CLOSE: &[&str] = &[
    "vi:m IHOSBinderDriver 0",              // 28 DISCONNECT
    "vi:m IHOSBinderDriver 1",              //    AdjustRefcount strong -1
    "vi:m IHOSBinderDriver 1",              //    weak -1
    "nvdrv INvDrvServices 1",               // 29 FREE
    "nvdrv INvDrvServices 2",               //    Close(fd)
    "nvdrv Close",                          //    the session (30: then QueryMemory)
    "vi:m IApplicationDisplayService 2021", // 31 CloseLayer
    "vi:m IApplicationDisplayService 1020", //    CloseDisplay
    "vi:m Close",                           //    the relay
    "vi:m Close",                           //    the display service
    "hid Close",                            // 32 IAppletResource
    "hid Close",                            //    hid
    "appletOE domain-close",                // 33 ApplicationFunctions
    "appletOE domain-close",                //    WindowController
    "appletOE domain-close",                //    SelfController
    "appletOE domain-close",                //    CommonStateGetter
    "appletOE domain-close",                //    the proxy
    "appletOE Close",                       //    the session
];

/// Runs `config` and checks the screen's whole life: the page shown, the calls in §1g's
/// order, the frames, the report lines on it, the suite and the exit unchanged.
fn check(config: RunConfig) -> RunReport {
    let report = run::run(&config);
    let shown = report.client_lines.join("\n");
    assert_eq!(report.end, RunEnd::Completed, "run did not complete:\n{}\n{shown}", report.summary());
    let calls = screen_calls(&report);
    let listed = calls.join("\n");
    let (open, close): (Vec<String>, Vec<String>) = if config.album {
        let mut close: Vec<String> =
            CLOSE.iter().map(|c| c.replace("appletOE", "appletAE").replace("nvdrv ", "nvdrv:a ")).collect();
        // No ApplicationFunctions object to close.
        close.remove(CLOSE.len() - 6);
        (open_library_applet(), close)
    } else {
        (OPEN_APPLICATION.iter().map(|s| s.to_string()).collect(), CLOSE.iter().map(|s| s.to_string()).collect())
    };
    assert!(calls.starts_with(&open), "{listed}");
    assert!(calls.ends_with(&close), "{listed}");
    // Between them only presents: DEQUEUE, [REQUEST_BUFFER the first time a slot comes
    // back], QUEUE, i.e. relay TransactParcel only (no fence wait: the bench's vi, like
    // Eden and Ryujinx, releases with no fence).
    let middle = &calls[open.len()..calls.len() - close.len()];
    assert!(middle.iter().all(|c| c == "vi:m IHOSBinderDriver 0"), "{listed}");
    assert!(report.frames_not_shown.is_empty(), "{:?}", report.frames_not_shown);
    assert!(report.screen.is_some(), "no frame shown");
    for bad in ["screen: ", "page stopped", "page closing"] {
        assert!(!report.client_lines.iter().any(|l| l.contains(bad)), "`{bad}` in the output\n{shown}");
    }
    assert!(report.client_lines.iter().any(|l| l == "13 passed, 0 failed"), "{shown}");
    assert!(report.client_lines.iter().any(|l| l == "Press + to exit"), "{shown}");
    last_frame_is_the_page_of_the_output(&report);
    report
}

/// The last frame (drawn row by row into two alternating buffers) is, pixel for pixel, the
/// whole page rendered at once on the host from the guest's page lines and the exit hint.
fn last_frame_is_the_page_of_the_output(report: &RunReport) {
    let mut console = Console::new();
    for line in report.client_lines.iter().map(|l| l.trim_end()).filter(|l| is_page_line(l)) {
        Page::push_report_line(&mut console, line);
    }
    Page::push_exit_hint(&mut console);
    let mut words = vec![0u32; WIDTH * HEIGHT];
    console.render(&mut LinearSurface(&mut words));
    let expected: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let frame = report.screen.as_ref().expect("a frame");
    assert_eq!((frame.width as usize, frame.height as usize), (WIDTH, HEIGHT));
    let first = frame.rgba.iter().zip(&expected).position(|(a, b)| a != b);
    assert!(first.is_none(), "first differing byte {first:?} (pixel row {:?})", first.map(|i| i / 4 / WIDTH));
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn the_page_follows_screen_output_1g_from_hbmenu_with_the_sysmodule() {
    let report = check(config(true, LaunchKind::Hbmenu, KernelProfile::Horizon));
    assert_eq!(report.nro_result, Some(0));
}

/// hbmenu started from the album: a LibraryApplet (appletAE 201, nvdrv:a).
#[test]
#[ignore = "needs make dist: run by make test"]
fn the_page_follows_screen_output_1g_as_a_library_applet_from_the_album() {
    let config = RunConfig { album: true, ..config(true, LaunchKind::Hbmenu, KernelProfile::Horizon) };
    let report = check(config);
    assert_eq!(report.nro_result, Some(0));
}

#[test]
#[ignore = "needs make dist: run by make test"]
fn the_page_follows_screen_output_1g_as_eden_and_ryujinx_start_it() {
    check(config(false, LaunchKind::Emulator, KernelProfile::Horizon));
    check(config(false, LaunchKind::EdenArgs, KernelProfile::Horizon));
    check(config(false, LaunchKind::Emulator, KernelProfile::Ryujinx));
}

/// A console's display releases each frame with a fence: the client opens
/// `/dev/nvhost-ctrl` the first time a DEQUEUE returns one and waits on it (SYNCPT_WAIT)
/// before drawing into that slot (libnx `nwindowDequeueBuffer` -> `nvMultiFenceWait`).
#[test]
#[ignore = "needs make dist: run by make test"]
fn a_released_frame_s_fence_is_waited_on_through_nvhost_ctrl_before_the_slot_is_drawn_again() {
    let config = RunConfig { release_fences: true, ..config(true, LaunchKind::Hbmenu, KernelProfile::Horizon) };
    let report = run::run(&config);
    let calls = screen_calls(&report);
    let listed = calls.join("\n");
    assert_eq!(report.end, RunEnd::Completed, "{}", report.summary());
    assert!(report.screen.is_some() && report.frames_not_shown.is_empty());
    // The second Open (nvhost-ctrl) comes after the second DEQUEUE (the first that gets a
    // slot back with a fence), then one SYNCPT_WAIT per dequeue of a released slot.
    let opens: Vec<usize> =
        calls.iter().enumerate().filter(|(_, c)| *c == "nvdrv INvDrvServices 0").map(|(i, _)| i).collect();
    assert_eq!(opens.len(), 2, "{listed}");
    assert!(opens[1] > OPEN_APPLICATION.len(), "{listed}");
    assert_eq!(calls.get(opens[1] + 1).map(String::as_str), Some("nvdrv INvDrvServices 1"), "{listed}");
    // Both fds closed at the end.
    let closes = calls.iter().filter(|c| *c == "nvdrv INvDrvServices 2").count();
    assert_eq!(closes, 2, "{listed}");
}

/// A screen step that fails (here vi is missing: Atmosphère's HasService says so) changes
/// nothing else: the suite runs, the report file is written, the exit result is the
/// suite's, and the report says which step failed and its result; what was opened before
/// (am, hid) is closed again.
#[test]
#[ignore = "needs make dist: run by make test"]
fn a_failed_screen_step_is_reported_and_changes_nothing_else() {
    for missing in ["vi:m", "nvdrv"] {
        let mut config = config(true, LaunchKind::Hbmenu, KernelProfile::Horizon);
        config.without_services = vec![missing.to_string()];
        if missing == "vi:m" {
            config.without_services.extend(["vi:s".to_string(), "vi:u".to_string()]);
        }
        let report = run::run(&config);
        let shown = report.client_lines.join("\n");
        assert_eq!(report.end, RunEnd::Completed, "{}\n{shown}", report.summary());
        assert_eq!(report.nro_result, Some(0), "{shown}");
        let step = if missing == "vi:m" { "vi GetService" } else { "nvdrv GetService" };
        let line = format!("screen: not shown: {step} failed (0xe15 (sm NotRegistered))");
        assert!(report.client_lines.contains(&line), "no `{line}`\n{shown}");
        assert!(report.client_lines.iter().any(|l| l == "13 passed, 0 failed"), "{shown}");
        let file = String::from_utf8_lossy(&report.sd_files["/switch/xcbuf/report.txt"]).to_string();
        assert!(file.contains(&line), "{file}");
        assert!(report.screen.is_none());
        assert!(!report.client_lines.iter().any(|l| l == "Press + to exit"), "{shown}");
        // Everything opened before the failure was closed: am's session, hid's two.
        let calls = screen_calls(&report);
        let listed = calls.join("\n");
        assert!(calls.ends_with(&["appletOE Close".to_string()]), "{listed}");
        assert_eq!(calls.iter().filter(|c| *c == "hid Close").count(), 2, "{listed}");
    }
}

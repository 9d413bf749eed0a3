//! The kernel knows no HLE service by name: no file under `src/kernel/` imports a
//! service module (issue 12). The kernel may use the framework (`crate::hle::` items of
//! `hle/mod.rs`, `hle/session.rs`, `hle/dispatch.rs`), never `hle/sm.rs`, `hle/fsp.rs`,
//! `hle/set_sys.rs`, `hle/lm.rs` or any other service module, nor the registry.

use std::path::{Path, PathBuf};

/// The framework's own files; every other file of `src/hle/` is a service module.
const FRAMEWORK: [&str; 3] = ["mod", "session", "dispatch"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The forbidden paths: `hle::NAME` and `crate::NAME` for each service module (and the
/// registry), plus the old top-level `crate::sm` / `crate::fsp`.
fn forbidden(src: &Path) -> Vec<String> {
    let mut modules: Vec<String> = std::fs::read_dir(src.join("hle"))
        .expect("src/hle")
        .filter_map(|e| {
            let path = e.ok()?.path();
            let stem = path.file_stem()?.to_str()?.to_string();
            (!FRAMEWORK.contains(&stem.as_str())).then_some(stem)
        })
        .collect();
    for known in ["sm", "fsp", "set_sys", "lm", "registry"] {
        if !modules.iter().any(|m| m == known) {
            modules.push(known.to_string());
        }
    }
    modules.iter().flat_map(|m| [format!("hle::{m}"), format!("crate::{m}")]).collect()
}

/// Occurrences of any of `needles` in the `.rs` files under `dir`: (file, line, needle).
fn find(dir: &Path, needles: &[String]) -> Vec<(PathBuf, usize, String)> {
    let mut files = Vec::new();
    rust_files(dir, &mut files);
    let mut hits = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        for (i, line) in text.lines().enumerate() {
            for n in needles {
                // A whole path segment: `hle::fsp` but not `hle::fsp_like`.
                let mut rest = line;
                while let Some(at) = rest.find(n.as_str()) {
                    let after = rest[at + n.len()..].chars().next();
                    if !after.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        hits.push((file.clone(), i + 1, n.clone()));
                        break;
                    }
                    rest = &rest[at + n.len()..];
                }
            }
        }
    }
    hits
}

#[test]
fn no_kernel_source_imports_an_hle_service_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let needles = forbidden(&src);
    let hits = find(&src.join("kernel"), &needles);
    assert!(
        hits.is_empty(),
        "the kernel names HLE service modules (use the crate::hle framework entry points):\n{}",
        hits.iter().map(|(f, l, n)| format!("  {}:{l}: {n}", f.display())).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_boundary_check_finds_a_service_import() {
    // The check itself: a file naming a service module is caught.
    let dir = std::env::temp_dir().join(format!("xcbuf-hle-boundary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("bad.rs"), "use crate::hle::fsp::SdCard;\nfn f() { crate::sm::install(); }\n")
        .expect("write");
    std::fs::write(
        dir.join("good.rs"),
        "use crate::hle::session::HleSession;\nfn f() { crate::hle::handle_request(); }\n",
    )
    .expect("write");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let hits = find(&dir, &forbidden(&src));
    let _ = std::fs::remove_dir_all(&dir);
    let names: Vec<&str> = hits.iter().map(|(_, _, n)| n.as_str()).collect();
    assert_eq!(names, vec!["hle::fsp", "crate::sm"]);
    assert!(hits.iter().all(|(f, _, _)| f.ends_with("bad.rs")));
}

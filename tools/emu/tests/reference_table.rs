//! `docs/kernel-model.md` lists every rule the bench models with the real source it
//! follows and the test that pins it. This test reads that table and fails when a row
//! names no test, or a test that does not exist in the repository (a `fn` of that name
//! in some `.rs` file), so the table cannot drift from the tests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" || name == "dist" {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `fn NAME` defined in the repository's Rust files.
fn defined_functions() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&repo_root(), &mut files);
    let mut names = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for line in text.lines() {
            let line = line.trim_start();
            let rest = line.strip_prefix("pub fn ").or_else(|| line.strip_prefix("fn "));
            if let Some(rest) = rest {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                names.insert(name);
            }
        }
    }
    names
}

/// (line number, rule, test names) of every row of a table whose header starts `| rule |`.
fn table_rows(doc: &str) -> Vec<(usize, String, Vec<String>)> {
    let mut rows = Vec::new();
    let mut in_table = false;
    for (i, line) in doc.lines().enumerate() {
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        if line.starts_with("| rule |") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        let cells: Vec<&str> = line.trim().trim_matches('|').split(" | ").collect();
        let rule = cells.first().map(|c| c.trim().to_string()).unwrap_or_default();
        let tests =
            cells.last().map(|c| c.split('`').skip(1).step_by(2).map(str::to_string).collect()).unwrap_or_default();
        rows.push((i + 1, rule, tests));
    }
    rows
}

#[test]
fn every_rule_in_the_kernel_model_table_names_tests_that_exist() {
    let path = repo_root().join("docs/kernel-model.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows = table_rows(&doc);
    assert!(rows.len() >= 30, "the table has {} rows; expected the whole model", rows.len());
    let defined = defined_functions();
    let mut problems = Vec::new();
    for (line, rule, tests) in &rows {
        if tests.is_empty() {
            problems.push(format!("docs/kernel-model.md:{line}: `{rule}` names no test"));
        }
        for test in tests {
            if !defined.contains(test) {
                problems.push(format!("docs/kernel-model.md:{line}: test `{test}` does not exist"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

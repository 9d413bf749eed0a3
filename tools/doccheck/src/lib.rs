//! The citation check of `make lint`: every place in the repository that cites one of
//! the project's documents must point at something that exists.
//!
//! # What counts as a citation
//! A file name ending in `.md` (optionally in backticks), followed by
//! - nothing: the document must exist;
//! - `§N` (one or more, chained with `/`, `-`, `–` or `, `; `N` is `3`, `3.3`, `10`...) or an
//!   appendix id such as `B.5`: the document must have a heading whose text starts with
//!   `N` followed by a space, by `. `, or by nothing;
//! - `"Label"` directly after the name: a heading of the document must contain `Label`;
//! - `§N "Label"`: section N must exist and `Label` must occur inside it (its heading, a
//!   sub-heading or its text: a bold lead-in such as **Error handling.** counts).
//!
//! A quoted label that a comment wraps onto the next line is joined with that line (the
//! comment marker `//!`, `///`, `//`, `#` or `*` is dropped).
//!
//! # Where documents are looked up
//! A bare name (`horizon-ipc.md`) is `docs/<name>` or, failing that, `<name>` at the
//! repository root (README.md, CONTRIBUTING.md). In source and build files a path
//! (`docs/kernel-model.md`, `tools/pack/README.md`) is taken from the root when its first
//! directory exists there, from the citing file's directory when it starts with `./` or
//! `../`; any other path names another project's file and is not checked. In Markdown
//! only bare names are checked: the reference docs quote other projects' paths
//! (Eden's `docs/user/CFW.md`).
//!
//! # What is scanned
//! Source and build files (`.rs`, `.toml`, `.json`, `.ld`, `.sh`, `Makefile`, `.ci/run`)
//! and Markdown files, everywhere but `target/`, `dist/`, hidden directories other than
//! `.ci/`, and this crate (whose tests are made of dangling citations). Headings inside
//! fenced code blocks are not headings.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// One citation as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Citation {
    /// 1-based line of the document name.
    pub line: usize,
    /// The citation's text (joined with the next lines when a quote wraps).
    pub text: String,
    /// The document as written: `horizon-ipc.md`, `docs/kernel-model.md`.
    pub doc: String,
    /// Section ids after `§` (or an appendix id), in order.
    pub sections: Vec<String>,
    /// The quoted label, if any.
    pub label: Option<String>,
}

/// A citation that does not resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dangling {
    /// The citing file, relative to the root.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// The citation as written.
    pub text: String,
    /// Why it does not resolve.
    pub reason: String,
}

impl fmt::Display for Dangling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: `{}`: {}", self.file.display(), self.line, self.text, self.reason)
    }
}

/// What a scan found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Files read.
    pub files: usize,
    /// Citations checked (external paths not counted).
    pub citations: usize,
    /// The ones that do not resolve, in file and line order.
    pub dangling: Vec<Dangling>,
}

// ---------------------------------------------------------------------------------------
// Finding citations
// ---------------------------------------------------------------------------------------

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// A continuation line without its comment marker.
fn strip_comment_marker(line: &str) -> &str {
    let t = line.trim_start();
    for marker in ["//!", "///", "//", "#", "*"] {
        if let Some(rest) = t.strip_prefix(marker) {
            return rest.trim_start();
        }
    }
    t
}

/// A section id at the start of `s` (after `§` and optional spaces): digits, letters and
/// dots, without a trailing dot. Returns the id and the bytes consumed.
fn section_id(s: &str) -> Option<(String, usize)> {
    let lead = s.len() - s.trim_start_matches(' ').len();
    let body = &s[lead..];
    let end = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).unwrap_or(body.len());
    let id = body[..end].trim_end_matches('.');
    if id.is_empty() || !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some((id.to_string(), lead + id.len()))
}

/// An appendix id (`B.5`) at the start of `s`: a capital, a dot, a digit.
fn appendix_id(s: &str) -> Option<(String, usize)> {
    let b = s.as_bytes();
    if b.len() >= 3 && b[0].is_ascii_uppercase() && b[1] == b'.' && b[2].is_ascii_digit() {
        return section_id(s);
    }
    None
}

/// The sections (`§a/§b`, `§a-§b`, `§a, §b`) at the start of `s`.
fn sections_at(s: &str) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(after) = s[at..].strip_prefix('§') {
        let Some((id, used)) = section_id(after) else { break };
        out.push(id);
        at += '§'.len_utf8() + used;
        let rest = &s[at..];
        let sep = ["/", "-", "–", ", ", " and "]
            .iter()
            .find(|sep| rest.strip_prefix(**sep).is_some_and(|r| r.starts_with('§')));
        match sep {
            Some(sep) => at += sep.len(),
            None => break,
        }
    }
    (out, at)
}

/// Every citation in `text`.
pub fn find_citations(text: &str) -> Vec<Citation> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let mut from = 0;
        while let Some(found) = line[from..].find(".md") {
            let dot = from + found;
            let end = dot + 3;
            from = end;
            if line[end..].starts_with(|c: char| c.is_ascii_alphanumeric()) {
                continue;
            }
            let start = line[..dot]
                .rfind(|c: char| !is_name_char(c))
                .map_or(0, |i| i + line[i..].chars().next().map_or(1, char::len_utf8));
            let doc = &line[start..end];
            let relative = doc.starts_with("./") || doc.starts_with("../");
            if !(relative || doc.starts_with(|c: char| c.is_ascii_alphanumeric())) {
                continue;
            }
            let mut at = end;
            if line[at..].starts_with('`') {
                at += 1;
            }
            let spaces = line[at..].len() - line[at..].trim_start_matches(' ').len();
            let mut sections = Vec::new();
            let mut label = None;
            let mut cursor = at + spaces;
            let rest = &line[cursor..];
            if rest.starts_with('§') {
                let (ids, used) = sections_at(rest);
                sections = ids;
                cursor += used;
            } else if let Some((id, used)) = appendix_id(rest) {
                sections.push(id);
                cursor += used;
            } else {
                cursor = at;
            }
            // A label follows the name or the sections after at least one space (a quote
            // right after the name ends a string literal: `read("docs/x.md")`).
            let gap = line[cursor..].len() - line[cursor..].trim_start_matches(' ').len();
            let quote_at = (gap > 0).then_some(cursor + gap);
            let mut text_end = cursor;
            let mut joined = String::new();
            if let Some(q) = quote_at.filter(|&q| line[q..].starts_with('"')) {
                let mut body = line[q + 1..].to_string();
                let mut next = n + 1;
                loop {
                    if let Some(close) = body.find('"') {
                        label = Some(body[..close].to_string());
                        if next == n + 1 {
                            text_end = q + 1 + close + 1;
                        } else {
                            joined = format!("{} \"{}\"", line[start..q].trim_end(), &body[..close]);
                        }
                        break;
                    }
                    match lines.get(next) {
                        Some(l) if next <= n + 3 => {
                            body.push(' ');
                            body.push_str(strip_comment_marker(l));
                            next += 1;
                        }
                        _ => break,
                    }
                }
            }
            let text =
                if joined.is_empty() { line[start..text_end].trim_end().to_string() } else { joined }.replace('`', "");
            out.push(Citation { line: n + 1, text, doc: doc.to_string(), sections, label });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Documents
// ---------------------------------------------------------------------------------------

/// A Markdown heading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heading {
    /// Number of `#`.
    pub level: usize,
    /// The text after the `#`s.
    pub text: String,
    /// 0-based line.
    pub line: usize,
}

/// A document's lines and headings.
#[derive(Clone, Debug, Default)]
pub struct Document {
    lines: Vec<String>,
    headings: Vec<Heading>,
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Document {
    /// Parses `text` (headings outside fenced code blocks).
    pub fn parse(text: &str) -> Document {
        let mut headings = Vec::new();
        let mut fenced = false;
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            if t.starts_with("```") || t.starts_with("~~~") {
                fenced = !fenced;
                continue;
            }
            if fenced || !line.starts_with('#') {
                continue;
            }
            let level = line.len() - line.trim_start_matches('#').len();
            let rest = &line[level..];
            if !rest.starts_with(' ') {
                continue;
            }
            let text = rest.trim().trim_end_matches('#').trim().to_string();
            headings.push(Heading { level, text, line: i });
        }
        Document { lines, headings }
    }

    /// The headings, in order.
    pub fn headings(&self) -> &[Heading] {
        &self.headings
    }

    /// Headings that number section `id`: the text starts with `id` and then a space,
    /// `. ` or nothing (`3` is `3. Request direction`, not `3.3 X descriptor`).
    fn numbered(&self, id: &str) -> impl Iterator<Item = usize> + '_ {
        let id = id.to_string();
        self.headings.iter().enumerate().filter_map(move |(i, h)| {
            let rest = h.text.strip_prefix(id.as_str())?;
            let ok = rest.is_empty() || rest.starts_with(' ') || rest == "." || rest.starts_with(". ");
            ok.then_some(i)
        })
    }

    /// The text of the section whose heading is `headings[i]`: up to the next heading of
    /// the same or a higher level.
    fn section_text(&self, i: usize) -> String {
        let h = &self.headings[i];
        let end = self.headings[i + 1..].iter().find(|n| n.level <= h.level).map_or(self.lines.len(), |n| n.line);
        squash(&self.lines[h.line..end].join("\n"))
    }

    /// Why `sections` and `label` do not resolve in this document, or `None` when they do.
    pub fn unresolved(&self, sections: &[String], label: Option<&str>) -> Option<String> {
        for id in sections {
            if self.numbered(id).next().is_none() {
                return Some(format!("no heading numbered {id}"));
            }
        }
        let label = squash(label?);
        match sections.first() {
            None => {
                let found = self.headings.iter().any(|h| squash(&h.text).contains(&label));
                (!found).then(|| format!("no heading contains \"{label}\""))
            }
            Some(id) => {
                let found = self.numbered(id).any(|i| self.section_text(i).contains(&label));
                (!found).then(|| format!("section {id} does not contain \"{label}\""))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The scan
// ---------------------------------------------------------------------------------------

/// Where a cited document is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// In the repository, at this path.
    Found(PathBuf),
    /// Should be in the repository and is not.
    Missing,
    /// Another project's file: not checked.
    External,
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Where `doc`, cited from a file in `dir` (relative to `root`), is. `markdown`: the
/// citing file is Markdown, where a path (`docs/user/CFW.md`) names another project's
/// file: only bare names are ours there.
pub fn resolve(root: &Path, dir: &Path, doc: &str, markdown: bool) -> Resolution {
    let found = |p: PathBuf| if p.is_file() { Resolution::Found(p) } else { Resolution::Missing };
    if doc.starts_with("./") || doc.starts_with("../") {
        return found(normalize(&root.join(dir).join(doc)));
    }
    if let Some((first, _)) = doc.split_once('/') {
        let ours = !markdown && root.join(first).is_dir();
        return if ours { found(root.join(doc)) } else { Resolution::External };
    }
    [root.join("docs").join(doc), root.join(doc)]
        .into_iter()
        .find(|p| p.is_file())
        .map_or(Resolution::Missing, Resolution::Found)
}

fn scanned(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "rs" | "toml" | "json" | "ld" | "sh" | "md") || name == "Makefile" || path.ends_with(".ci/run")
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(root.join(dir))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let rel = dir.join(&*name);
        if e.file_type()?.is_dir() {
            // The checker's own tests are made of dangling citations.
            let skip = (name.starts_with('.') && name != ".ci")
                || (dir.as_os_str().is_empty() && (name == "target" || name == "dist"))
                || rel == Path::new("tools/doccheck");
            if !skip {
                walk(root, &rel, out)?;
            }
        } else if scanned(&rel) {
            out.push(rel);
        }
    }
    Ok(())
}

/// Checks every citation in the files under `root`.
pub fn check(root: &Path) -> io::Result<Report> {
    let mut files = Vec::new();
    walk(root, Path::new(""), &mut files)?;
    let mut docs: HashMap<PathBuf, Document> = HashMap::new();
    let mut report = Report::default();
    for rel in files {
        let Ok(text) = fs::read_to_string(root.join(&rel)) else { continue };
        report.files += 1;
        let dir = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        let markdown = rel.extension().is_some_and(|e| e == "md");
        for c in find_citations(&text) {
            let reason = match resolve(root, &dir, &c.doc, markdown) {
                Resolution::External => continue,
                Resolution::Missing => Some(format!("no document {} in the repository", c.doc)),
                Resolution::Found(path) => {
                    if !docs.contains_key(&path) {
                        let doc = Document::parse(&fs::read_to_string(&path)?);
                        docs.insert(path.clone(), doc);
                    }
                    docs[&path].unresolved(&c.sections, c.label.as_deref())
                }
            };
            report.citations += 1;
            if let Some(reason) = reason {
                report.dangling.push(Dangling { file: rel.clone(), line: c.line, text: c.text, reason });
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Title\n\n## 3. Request direction\n\ntext\n\n### 3.3 X descriptor handling\n\n\
- **Memory checks.** the copy reads the source\n\n## 10. Emulators\n\n#### Register ABI\n\n\
### B.5 unicorn probe\n\n```\n# 7. not a heading\n```\n";

    fn one(text: &str) -> Citation {
        let mut c = find_citations(text);
        assert_eq!(c.len(), 1, "{c:?}");
        c.remove(0)
    }

    fn resolves(text: &str) -> Option<String> {
        let c = one(text);
        Document::parse(DOC).unresolved(&c.sections, c.label.as_deref())
    }

    #[test]
    fn a_section_number_resolves_to_the_heading_that_starts_with_it() {
        assert_eq!(resolves("see horizon-ipc.md §3.3."), None);
        assert_eq!(resolves("(horizon-ipc.md §3)"), None);
        assert_eq!(resolves("`horizon-ipc.md` §10"), None);
        assert_eq!(resolves("emulator-bench.md B.5 test 6"), None);
    }

    #[test]
    fn a_section_number_that_no_heading_starts_with_is_dangling() {
        assert_eq!(resolves("horizon-ipc.md §4"), Some("no heading numbered 4".into()));
        // 3.3 does not stand for 3, nor 10 for 1, nor a heading in a code block.
        assert_eq!(
            Document::parse("## 3.3 X\n## 10. Y\n").unresolved(&["3".into()], None),
            Some("no heading numbered 3".into())
        );
        assert_eq!(resolves("horizon-ipc.md §1"), Some("no heading numbered 1".into()));
        assert_eq!(resolves("horizon-ipc.md §7"), Some("no heading numbered 7".into()));
    }

    #[test]
    fn every_section_of_a_chain_must_resolve() {
        let c = one("horizon-ipc.md §3-§10, then");
        assert_eq!(c.sections, ["3", "10"]);
        assert_eq!(resolves("horizon-ipc.md §3/§4"), Some("no heading numbered 4".into()));
    }

    #[test]
    fn a_quoted_label_alone_must_be_part_of_a_heading() {
        assert_eq!(resolves("horizon-ipc.md \"Register ABI\""), None);
        assert_eq!(resolves("horizon-ipc.md \"X descriptor\""), None);
        assert_eq!(resolves("horizon-ipc.md \"Memory checks\""), Some("no heading contains \"Memory checks\"".into()));
    }

    #[test]
    fn a_label_after_a_section_must_lie_inside_that_section() {
        assert_eq!(resolves("horizon-ipc.md §3.3 \"Memory checks\""), None);
        assert_eq!(resolves("horizon-ipc.md §3 \"Memory checks\""), None);
        assert_eq!(resolves("horizon-ipc.md §10 \"Register ABI\""), None);
        assert_eq!(
            resolves("horizon-ipc.md §10 \"Memory checks\""),
            Some("section 10 does not contain \"Memory checks\"".into())
        );
    }

    #[test]
    fn a_label_wrapped_onto_the_next_comment_line_is_joined() {
        let c = one("/// see horizon-ipc.md \"X descriptor\n/// handling\" for the rule\n");
        assert_eq!(c.label.as_deref(), Some("X descriptor handling"));
        assert_eq!(c.line, 1);
        assert_eq!(Document::parse(DOC).unresolved(&c.sections, c.label.as_deref()), None);
    }

    #[test]
    fn prose_after_a_name_is_not_a_label() {
        let c = one("design.md (\"a hostile client never crashes\")");
        assert_eq!((c.sections.len(), c.label), (0, None));
        let c = one("design.md, \"Server rules\"");
        assert_eq!(c.label, None);
    }

    #[test]
    fn a_quote_right_after_the_name_closes_a_string_literal() {
        let c = one("let path = root.join(\"docs/kernel-model.md\"); f(\"x\")");
        assert_eq!((c.doc.as_str(), c.label), ("docs/kernel-model.md", None));
    }

    #[test]
    fn urls_and_other_extensions_are_not_citations() {
        assert!(find_citations("https://github.com/x/y/blob/master/README.md and a.mdx").is_empty());
    }

    #[test]
    fn documents_are_looked_up_in_docs_then_the_root() {
        let root = std::env::temp_dir().join(format!("doccheck-{}", std::process::id()));
        fs::create_dir_all(root.join("docs")).unwrap();
        fs::create_dir_all(root.join("src")).unwrap();
        fs::write(root.join("docs/horizon-ipc.md"), DOC).unwrap();
        fs::write(root.join("CONTRIBUTING.md"), "# Contributing\n\nEden's docs/user/CFW.md\n").unwrap();
        fs::write(
            root.join("src/lib.rs"),
            "// horizon-ipc.md §3.3\n// CONTRIBUTING.md \"Contributing\"\n// input.md §2\n\
             // docs/horizon-ipc.md §9\n// nx/docs/README.md\n",
        )
        .unwrap();
        let report = check(&root).unwrap();
        fs::remove_dir_all(&root).unwrap();
        let got: Vec<(usize, &str)> = report.dangling.iter().map(|d| (d.line, d.reason.as_str())).collect();
        assert_eq!(got, [(3, "no document input.md in the repository"), (4, "no heading numbered 9")]);
        assert_eq!(report.citations, 4);
    }
}

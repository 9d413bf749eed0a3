//! Puts rt/ on the linker's search path so that `--script=link.ld` (passed by
//! aarch64-nintendo-switch.json) finds rt/link.ld when a program that depends on rt is
//! linked. `rustc-link-search` propagates from a dependency's build script to the final
//! link, unlike `rustc-link-arg`.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-search=native={dir}");
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-changed=build.rs");
}

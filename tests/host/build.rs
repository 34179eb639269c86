//! Links the `spin-sdk` crate's own `wit/` directory (a build dependency) to
//! `spin-sdk-wit/` beside this file, where `bindgen!` reads it. No copy is kept.

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let wit = spin_sdk_wit_dir(&manifest_dir);
    let link = manifest_dir.join("spin-sdk-wit");
    if std::fs::read_link(&link).ok().as_deref() != Some(wit.as_path()) {
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&wit, &link).expect("symlink spin-sdk-wit");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", wit.display());
}

/// Where cargo unpacked the `spin-sdk` package this crate builds against: as a
/// build dependency it is unpacked in the registry before this script runs.
fn spin_sdk_wit_dir(_manifest_dir: &Path) -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let registry = cargo_home.join("registry").join("src");
    for index in std::fs::read_dir(&registry).expect("cargo registry sources").flatten() {
        let wit = index.path().join(concat!("spin-sdk-", "5.2.0")).join("wit");
        if wit.join("world.wit").exists() {
            return wit;
        }
    }
    panic!("spin-sdk 5.2.0 not found under {}", registry.display());
}

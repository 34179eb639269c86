//! Embeds the console's built front end (`console/dist`, made by esbuild) into the
//! component: one [`Asset`] row per file, with its content type and a strong ETag (the
//! first 16 bytes of its SHA-256). Without `console/dist` the build stops and says how to
//! make it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../console/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    println!("cargo:rerun-if-changed={}", dist.join("assets").display());
    let index = dist.join("index.html");
    println!("cargo:rerun-if-changed={}", index.display());
    if !index.is_file() {
        panic!(
            "\n\nconsole/dist/index.html is missing: the console's front end is not built.\n\
             Run scripts/setup.sh, or: npm --prefix console ci && npm --prefix console run build\n\n"
        );
    }
    let mut files = vec![(String::from("index.html"), index)];
    let assets = dist.join("assets");
    if let Ok(entries) = std::fs::read_dir(&assets) {
        let mut names: Vec<PathBuf> =
            entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
        names.sort();
        for path in names {
            println!("cargo:rerun-if-changed={}", path.display());
            let name = path.file_name().and_then(|n| n.to_str()).expect("asset names are UTF-8").to_owned();
            files.push((format!("assets/{name}"), path));
        }
    }

    let mut out = String::from("/// The console's files, from `console/dist`.\npub static ASSETS: &[Asset] = &[\n");
    for (path, file) in files {
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let etag = hex::encode(&Sha256::digest(&bytes)[..16]);
        let file = file.canonicalize().expect("the file exists");
        writeln!(
            out,
            "    Asset {{ path: {path:?}, content_type: {:?}, etag: \"\\\"{etag}\\\"\", body: include_bytes!({:?}) }},",
            content_type(&path),
            file.display().to_string()
        )
        .expect("writing to a String");
    }
    out.push_str("];\n");
    let generated = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("assets.rs");
    std::fs::write(generated, out).expect("writing assets.rs");
}

/// The `content-type` of a file, by its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

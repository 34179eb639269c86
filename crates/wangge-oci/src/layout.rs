//! Writing the image (镜像) as an OCI image layout: the blobs, the manifest, `index.json`, `oci-layout`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use crate::locked::{LockedApp, canonical, lock};
use crate::manifest::AppManifest;
use crate::{
    LOCKED_APP_DIGEST_LABEL, OCI_CONFIG_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE, REF_NAME_ANNOTATION,
    Result, SPIN_APPLICATION_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE, digest, error,
};

/// What to package and where.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// `spin.toml`.
    pub manifest: PathBuf,
    /// The layout directory (created; its old blobs are replaced).
    pub out: PathBuf,
    /// The tag, in `index.json`'s `org.opencontainers.image.ref.name`; `[application] version` when
    /// not given.
    pub tag: Option<String>,
    /// `org.opencontainers.image.created`, in Unix seconds; left out when not given.
    pub created: Option<i64>,
}

/// A content descriptor: media type, digest, size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What the blob is.
    pub media_type: String,
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    /// Its length in bytes.
    pub size: u64,
}

/// What was written.
#[derive(Debug)]
pub struct Packaged {
    /// The layout directory.
    pub out: PathBuf,
    /// The tag in `index.json`.
    pub tag: String,
    /// The image manifest's descriptor (the image's digest).
    pub manifest: Descriptor,
    /// The layers, in manifest order (component wasm, then the locked app).
    pub layers: Vec<Descriptor>,
    /// The locked app that was stored.
    pub locked: LockedApp,
}

/// Packages the app: reads `spin.toml` and the component wasm, writes the layout.
pub fn package(options: &PackageOptions) -> Result<Packaged> {
    let manifest = AppManifest::from_file(&options.manifest)?;
    let mut wasm = BTreeMap::new();
    for (id, component) in &manifest.components {
        let path = component.source_path(&manifest.root)?;
        let bytes = std::fs::read(&path)
            .map_err(|e| error(format!("component `{id}`: cannot read {} ({e}): build it first", path.display())))?;
        if !bytes.starts_with(b"\0asm") {
            return Err(error(format!("component `{id}`: {} is not a wasm binary", path.display())));
        }
        wasm.insert(id.clone(), bytes);
    }
    let locked = lock(&manifest, &wasm)?;
    let tag = options.tag.clone().unwrap_or_else(|| manifest.application.version.clone());
    if tag.is_empty() {
        return Err(error("no tag: pass --tag or set [application] version"));
    }
    let mut blobs = Blobs::create(&options.out)?;
    let mut layers = Vec::new();
    let mut seen = BTreeSet::new();
    for (id, _) in &manifest.components {
        let bytes = &wasm[id];
        if seen.insert(digest(bytes)) {
            layers.push(blobs.put(WASM_LAYER_MEDIA_TYPE, bytes)?);
        }
    }
    let locked_layer = blobs.put(SPIN_APPLICATION_MEDIA_TYPE, &locked.to_json())?;
    layers.push(locked_layer.clone());
    let config = blobs.put(OCI_CONFIG_MEDIA_TYPE, &image_config(&locked_layer.digest))?;
    let annotations = annotations(&manifest, options.created);
    let manifest_json = canonical(json!({
        "schemaVersion": 2,
        "config": config,
        "layers": layers,
        "annotations": annotations,
    }));
    let image = blobs.put(OCI_MANIFEST_MEDIA_TYPE, &to_vec(&manifest_json))?;
    blobs.finish(&image, &tag)?;
    Ok(Packaged { out: options.out.clone(), tag, manifest: image, layers, locked })
}

/// The image config Spin writes (oci-client's `ConfigFile`, fields in its order): wasm, `Wasip1`,
/// and the label naming the locked app layer.
fn image_config(locked_digest: &str) -> Vec<u8> {
    #[derive(Serialize)]
    struct Labels<'a> {
        #[serde(rename = "Labels")]
        labels: BTreeMap<&'a str, &'a str>,
    }
    #[derive(Serialize)]
    struct Rootfs {
        r#type: &'static str,
        diff_ids: [String; 0],
    }
    #[derive(Serialize)]
    struct ConfigFile<'a> {
        architecture: &'static str,
        os: &'static str,
        config: Labels<'a>,
        rootfs: Rootfs,
    }
    let config = ConfigFile {
        architecture: "wasm",
        os: "Wasip1",
        config: Labels { labels: BTreeMap::from([(LOCKED_APP_DIGEST_LABEL, locked_digest)]) },
        rootfs: Rootfs { r#type: "layers", diff_ids: [] },
    };
    serde_json::to_vec(&config).expect("the image config always serializes")
}

/// The manifest annotations Spin infers from `[application]`, with `created` only when given.
fn annotations(manifest: &AppManifest, created: Option<i64>) -> BTreeMap<String, String> {
    let app = &manifest.application;
    let mut out = BTreeMap::new();
    let mut put = |key: &str, value: &str| {
        if !value.is_empty() {
            out.insert(format!("org.opencontainers.image.{key}"), value.to_string());
        }
    };
    put("authors", &app.authors.join(", "));
    put("title", &app.name);
    put("description", &app.description);
    put("version", &app.version);
    if let Some(seconds) = created {
        put("created", &rfc3339(seconds));
    }
    out
}

/// Unix seconds as RFC 3339 in UTC, as chrono's `to_rfc3339` writes whole seconds
/// (`2026-01-02T03:04:05+00:00`).
pub fn rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Compact JSON bytes.
fn to_vec(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON values always serialize")
}

/// The layout directory being written.
struct Blobs {
    dir: PathBuf,
}

impl Blobs {
    /// Makes `dir` a fresh layout: refuses a non-empty directory that is not one, and removes the
    /// blobs of an old one (so nothing stale is left).
    fn create(dir: &Path) -> Result<Self> {
        let io = |e: std::io::Error| error(format!("{}: {e}", dir.display()));
        if dir.exists() {
            let empty = std::fs::read_dir(dir).map_err(io)?.next().is_none();
            if !empty && !dir.join("oci-layout").exists() {
                return Err(error(format!("{} is not empty and not an OCI layout: not overwriting it", dir.display())));
            }
            for old in ["blobs", "index.json", "oci-layout"] {
                let path = dir.join(old);
                if path.is_dir() {
                    std::fs::remove_dir_all(&path).map_err(io)?;
                } else if path.exists() {
                    std::fs::remove_file(&path).map_err(io)?;
                }
            }
        }
        std::fs::create_dir_all(dir.join("blobs/sha256")).map_err(io)?;
        Ok(Blobs { dir: dir.to_path_buf() })
    }

    /// Stores a blob under its digest and returns its descriptor.
    fn put(&mut self, media_type: &str, bytes: &[u8]) -> Result<Descriptor> {
        let digest = digest(bytes);
        let path = self.dir.join("blobs/sha256").join(&digest["sha256:".len()..]);
        std::fs::write(&path, bytes).map_err(|e| error(format!("{}: {e}", path.display())))?;
        Ok(Descriptor { media_type: media_type.into(), digest, size: bytes.len() as u64 })
    }

    /// Writes `index.json` (the image, tagged) and then `oci-layout`.
    fn finish(self, image: &Descriptor, tag: &str) -> Result<()> {
        let index = canonical(json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX_MEDIA_TYPE,
            "manifests": [{
                "mediaType": image.media_type,
                "digest": image.digest,
                "size": image.size,
                "annotations": { REF_NAME_ANNOTATION: tag },
            }],
        }));
        let write = |name: &str, bytes: Vec<u8>| {
            let path = self.dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| error(format!("{}: {e}", path.display())))
        };
        write("index.json", to_vec(&index))?;
        write("oci-layout", to_vec(&json!({ "imageLayoutVersion": "1.0.0" })))
    }
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn rfc3339_writes_utc_whole_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00+00:00");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00+00:00");
        assert_eq!(rfc3339(1_798_588_800 + 3_723), "2026-12-30T01:02:03+00:00");
    }
}

//! Reading a layout back (校验): every blob's bytes against its digest and its descriptor's size, the
//! manifest, the config and the locked app, as a registry or the shim would check them.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{
    LOCKED_APP_DIGEST_LABEL, OCI_CONFIG_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE, REF_NAME_ANNOTATION, Result,
    SPIN_APPLICATION_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE, digest, error,
};

/// One layer read back: its descriptor's fields and its bytes.
#[derive(Debug)]
pub struct Layer {
    /// The descriptor's media type.
    pub media_type: String,
    /// The descriptor's digest.
    pub digest: String,
    /// The blob's bytes (their digest and length checked against the descriptor).
    pub bytes: Vec<u8>,
}

/// A layout read back and checked.
#[derive(Debug)]
pub struct Image {
    /// The tag in `index.json`.
    pub tag: String,
    /// The manifest's digest (from `index.json`, checked).
    pub manifest_digest: String,
    /// The image manifest.
    pub manifest: Value,
    /// The image config.
    pub config: Value,
    /// Every layer, in manifest order.
    pub layers: Vec<Layer>,
    /// The locked app (the layer with Spin's application media type).
    pub locked: Value,
}

impl Image {
    /// The wasm layers.
    pub fn wasm_layers(&self) -> impl Iterator<Item = &Layer> {
        self.layers.iter().filter(|l| l.media_type == WASM_LAYER_MEDIA_TYPE)
    }
}

/// Reads the layout at `dir`, checking every descriptor against its blob, and that the image has
/// exactly one locked app layer, named by the config's label, and only layer types Spin writes.
pub fn read_layout(dir: &Path) -> Result<Image> {
    let layout = read_json(&dir.join("oci-layout"))?;
    if layout["imageLayoutVersion"] != "1.0.0" {
        return Err(error(format!("{}: oci-layout is not version 1.0.0", dir.display())));
    }
    let index = read_json(&dir.join("index.json"))?;
    let manifests = index["manifests"].as_array().ok_or_else(|| error("index.json has no manifests"))?;
    let [entry] = manifests.as_slice() else {
        return Err(error(format!("index.json lists {} manifests, not one", manifests.len())));
    };
    expect_media_type(entry, OCI_MANIFEST_MEDIA_TYPE)?;
    let tag = entry["annotations"][REF_NAME_ANNOTATION]
        .as_str()
        .ok_or_else(|| error(format!("index.json's manifest has no {REF_NAME_ANNOTATION}")))?
        .to_string();
    let manifest: Value = parse(&read_blob(dir, entry)?, "the manifest")?;
    if manifest["schemaVersion"] != 2 {
        return Err(error("the manifest's schemaVersion is not 2"));
    }
    expect_media_type(&manifest["config"], OCI_CONFIG_MEDIA_TYPE)?;
    let config: Value = parse(&read_blob(dir, &manifest["config"])?, "the image config")?;
    let mut layers = Vec::new();
    for descriptor in manifest["layers"].as_array().ok_or_else(|| error("the manifest has no layers"))? {
        let media_type = descriptor["mediaType"].as_str().unwrap_or_default().to_string();
        if media_type != WASM_LAYER_MEDIA_TYPE && media_type != SPIN_APPLICATION_MEDIA_TYPE {
            return Err(error(format!("layer media type {media_type:?} is not one this app's image has")));
        }
        let bytes = read_blob(dir, descriptor)?;
        layers.push(Layer { media_type, digest: descriptor["digest"].as_str().unwrap_or_default().into(), bytes });
    }
    let apps: Vec<&Layer> = layers.iter().filter(|l| l.media_type == SPIN_APPLICATION_MEDIA_TYPE).collect();
    let [app] = apps.as_slice() else {
        return Err(error(format!("{} locked app layers, not one", apps.len())));
    };
    if config["config"]["Labels"][LOCKED_APP_DIGEST_LABEL] != app.digest.as_str() {
        return Err(error(format!("the config's {LOCKED_APP_DIGEST_LABEL} does not name the locked app layer")));
    }
    let locked = parse(&app.bytes, "the locked app")?;
    let manifest_digest = entry["digest"].as_str().unwrap_or_default().to_string();
    Ok(Image { tag, manifest_digest, manifest, config, layers, locked })
}

/// The bytes a descriptor names, checked: the blob exists, its sha256 is the digest, its length the size.
pub fn read_blob(dir: &Path, descriptor: &Value) -> Result<Vec<u8>> {
    let name =
        descriptor["digest"].as_str().ok_or_else(|| error(format!("descriptor without digest: {descriptor}")))?;
    let hex = name.strip_prefix("sha256:").ok_or_else(|| error(format!("digest {name} is not sha256")))?;
    let path: PathBuf = dir.join("blobs/sha256").join(hex);
    let bytes = std::fs::read(&path).map_err(|e| error(format!("{}: {e}", path.display())))?;
    let actual = digest(&bytes);
    if actual != name {
        return Err(error(format!("{}: content is {actual}, not {name}", path.display())));
    }
    if descriptor["size"].as_u64() != Some(bytes.len() as u64) {
        return Err(error(format!(
            "{}: {} bytes, descriptor says {}",
            path.display(),
            bytes.len(),
            descriptor["size"]
        )));
    }
    Ok(bytes)
}

/// Checks a descriptor's media type.
fn expect_media_type(descriptor: &Value, expected: &str) -> Result<()> {
    if descriptor["mediaType"] == expected {
        Ok(())
    } else {
        Err(error(format!("media type {} where {expected} was expected", descriptor["mediaType"])))
    }
}

/// A JSON file.
fn read_json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).map_err(|e| error(format!("{}: {e}", path.display())))?;
    parse(&bytes, &path.display().to_string())
}

/// JSON bytes.
fn parse(bytes: &[u8], what: &str) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| error(format!("{what} is not JSON: {e}")))
}

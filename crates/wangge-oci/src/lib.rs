//! The OCI artifact (制品) of the Wangge Spin app: `spin.toml` and the built components, written as an
//! OCI image layout (镜像布局) holding the same image `spin registry push` sends to a registry, so that
//! SpinKube's `containerd-shim-spin` can run it once it is copied to a registry (`oras cp`, `skopeo
//! copy`, `crane push`), and so that the format is checked here without a registry.
//!
//! # What is written (`target/oci/` by default)
//!
//! - `oci-layout` (`{"imageLayoutVersion":"1.0.0"}`) and `index.json`: one manifest descriptor with
//!   the annotation `org.opencontainers.image.ref.name` = the tag.
//! - `blobs/sha256/<hex>`: the image manifest, the image config, one layer per distinct component wasm
//!   (`application/vnd.wasm.content.layer.v1+wasm`, deduplicated by digest, in component order) and,
//!   last, the locked app (`application/vnd.fermyon.spin.application.v1+config`): `spin.toml` resolved
//!   the way Spin's loader resolves it, with each component's `source` replaced by the digest of its
//!   layer (and inlined, base64, when it is 128 bytes or less).
//! - The image config is the OCI config Spin writes: architecture `wasm`, os `Wasip1`, and the label
//!   `com.fermyon.spin.lockedAppDigest` naming the locked app layer (so that two apps never share an
//!   image ID).
//! - The manifest's annotations are the ones Spin infers: `org.opencontainers.image.title`,
//!   `.description`, `.version` from `[application]`, and `.created`. Spin stamps `created` with the
//!   push time; we take it from `--created <unix seconds>` (`scripts/package.sh` passes
//!   `SOURCE_DATE_EPOCH`, or the time of the last commit) and leave it out without one, so the same
//!   inputs give the same digests.
//!
//! # Sources for the format (read in the Spin repository, github.com/spinframework/spin)
//!
//! - `crates/oci/src/client.rs`: the media types (`SPIN_APPLICATION_MEDIA_TYPE`,
//!   `WASM_LAYER_MEDIA_TYPE`), `push_locked_core` (the locked app as the last layer, the config with
//!   `com.fermyon.spin.lockedAppDigest`, architecture `Wasm`, os `Other("Wasip1")`), `assemble_layers`
//!   (layers deduplicated, the `origin` metadata removed), `content_ref_for_layer` (the digest, and the
//!   bytes inlined up to `DEFAULT_CONTENT_REF_INLINE_MAX_SIZE` = 128), `all_annotations` (title,
//!   description, version, authors, created).
//! - `crates/loader/src/local.rs`: `load_manifest`, `load_component` (component metadata keys
//!   `description`, `allowed_outbound_hosts`, `key_value_stores`, `databases` (from
//!   `sqlite_databases`), `ai_models`, `build`; `config` from `[component.x.variables]`; the
//!   `local_service_chaining` host requirement for `*.spin.internal` hosts), `locked_metadata` (`name`,
//!   `version`, `description`, `authors`, `triggers`, and `trigger` with `type` when the app has one
//!   trigger type), `locked_variable`.
//! - `crates/locked-app/src/locked.rs`: the locked app JSON (field order, `spin_lock_version` 1 when
//!   there are host requirements, `must_understand`, `ContentRef`), `crates/locked-app/src/values.rs`
//!   (empty strings and arrays left out), `crates/serde/src/base64.rs` (standard base64, no padding).
//! - `crates/manifest/src/normalize.rs`: trigger IDs (`<component>-<type>-trigger`, then
//!   `<type>-trigger<n>`).
//! - `crates/compose/src/lib.rs`: `spin registry push` composes by default, and a component without
//!   dependencies (all of ours) is pushed byte for byte as built.
//! - github.com/oras-project/rust-oci-client, `src/manifest.rs` (`OciImageManifest::build`: no
//!   `mediaType` field in the manifest, descriptors `mediaType`/`digest`/`size`), `src/client.rs`
//!   (`push_manifest`: canonical JSON, keys sorted, no whitespace), `src/config.rs` (`ConfigFile`
//!   field order, `rootfs` `{"type":"layers","diff_ids":[]}`).
//! - github.com/spinframework/containerd-shim-spin, `containerd-shim-spin/src/source.rs` and
//!   `engine.rs`: the shim accepts exactly these layer media types, writes the
//!   `application/vnd.fermyon.spin.application.v1+config` layer as the app's `spin.json` and puts the
//!   wasm layers in Spin's cache by digest: what makes this image runnable by SpinKube.
//! - The OCI image layout itself (`oci-layout`, `index.json`, `blobs/`) is not written by Spin (it
//!   pushes to a registry): that part follows github.com/opencontainers/image-spec, `image-layout.md`
//!   and `annotations.md`.
//!
//! Not supported, refused with a message: component `files`, `dependencies`, `allowed_http_hosts`,
//! sources given by URL, build profiles. Wangge's `spin.toml` uses none of them.

pub mod layout;
pub mod locked;
pub mod manifest;
pub mod verify;

/// The media type of the locked app layer (Spin's `SPIN_APPLICATION_MEDIA_TYPE`).
pub const SPIN_APPLICATION_MEDIA_TYPE: &str = "application/vnd.fermyon.spin.application.v1+config";
/// The media type of a component's wasm layer (Spin's `WASM_LAYER_MEDIA_TYPE`).
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/vnd.wasm.content.layer.v1+wasm";
/// The media type of the image manifest (the `Content-Type` Spin pushes it with).
pub const OCI_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The media type of the image config blob.
pub const OCI_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The media type of `index.json`.
pub const OCI_INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// The label in the image config naming the locked app layer's digest.
pub const LOCKED_APP_DIGEST_LABEL: &str = "com.fermyon.spin.lockedAppDigest";
/// The `index.json` annotation that holds the tag.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// Component sources this size or smaller are also inlined in the locked app (Spin's
/// `DEFAULT_CONTENT_REF_INLINE_MAX_SIZE`).
pub const INLINE_MAX_SIZE: usize = 128;

/// Why packaging failed: a message naming the file and what is wrong with it.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// The result of every fallible step here.
pub type Result<T> = std::result::Result<T, Error>;

/// An [`Error`] from anything printable.
pub(crate) fn error(message: impl Into<String>) -> Error {
    Error(message.into())
}

/// `sha256:<hex>` of the bytes: an OCI digest.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for byte in hash {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

//! The OCI layout read back: on a self-contained fixture app (two tiny wasm files, three components),
//! and on the real `spin.toml` with the built components.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use wangge_oci::layout::{PackageOptions, package};
use wangge_oci::verify::read_layout;
use wangge_oci::{SPIN_APPLICATION_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE, digest};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh directory under target/test-state, unique to this test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("target/test-state").join(format!("oci-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The smallest wasm module: 8 bytes, so inlined in the locked app.
const SMALL_WASM: &[u8] = b"\0asm\x01\0\0\0";

/// A wasm module with a 200-byte custom section: over the inline limit.
fn big_wasm() -> Vec<u8> {
    let mut bytes = SMALL_WASM.to_vec();
    bytes.extend_from_slice(&[0x00, 0xcc, 0x01, 3, b'p', b'a', b'd']);
    bytes.extend(std::iter::repeat_n(7u8, 200));
    bytes
}

const FIXTURE_TOML: &str = r#"
spin_manifest_version = 2

[application]
name = "fixture"
version = "1.2.3"
description = "测试 fixture"

[variables]
key = { required = true, secret = true }
region = { default = "3206" }

[[trigger.http]]
route = "/b/..."
component = "beta"

[[trigger.http]]
route = "/a/..."
component = "alpha"

[[trigger.http]]
id = "named"
route = "/a2/..."
component = "alpha"

[[trigger.http]]
route = "/a3/..."
component = "alpha"

[component.beta]
source = "big.wasm"
allowed_outbound_hosts = ["http://alpha.spin.internal", "postgres://{{ region }}"]
key_value_stores = ["default"]
sqlite_databases = ["beta"]
[component.beta.variables]
key = "{{ key }}"

[component.alpha]
source = "small.wasm"
description = "alpha"

[component.gamma]
source = "big.wasm"
[component.gamma.build]
command = "true"
"#;

/// Writes the fixture app into `dir` and returns its spin.toml.
fn fixture(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("small.wasm"), SMALL_WASM).unwrap();
    std::fs::write(dir.join("big.wasm"), big_wasm()).unwrap();
    std::fs::write(dir.join("spin.toml"), FIXTURE_TOML).unwrap();
    dir.join("spin.toml")
}

fn options(manifest: PathBuf, out: PathBuf) -> PackageOptions {
    PackageOptions { manifest, out, tag: Some("v7".into()), created: Some(1_798_592_523) }
}

#[test]
fn the_fixture_reads_back_with_spin_media_types_one_layer_per_distinct_wasm_and_a_locked_app() {
    let dir = temp_dir("fixture");
    let done = package(&options(fixture(&dir), dir.join("oci"))).unwrap();
    let image = read_layout(&dir.join("oci")).unwrap();
    assert_eq!(image.tag, "v7");
    assert_eq!(image.manifest_digest, done.manifest.digest);

    // Two distinct wasm files for three components: two wasm layers, in component order, then the app.
    let kinds: Vec<&str> = image.layers.iter().map(|l| l.media_type.as_str()).collect();
    assert_eq!(kinds, [WASM_LAYER_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE, SPIN_APPLICATION_MEDIA_TYPE]);
    assert_eq!(image.layers[0].bytes, big_wasm());
    assert_eq!(image.layers[1].bytes, SMALL_WASM);

    let locked = &image.locked;
    let ids: Vec<&str> = locked["components"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["beta", "alpha", "gamma"], "declaration order, as Spin keeps it");
    let triggers: Vec<(&str, &str, &str)> = locked["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let config = &t["trigger_config"];
            (t["id"].as_str().unwrap(), config["component"].as_str().unwrap(), config["route"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        triggers,
        [
            ("beta-http-trigger", "beta", "/b/..."),
            ("alpha-http-trigger", "alpha", "/a/..."),
            ("named", "alpha", "/a2/..."),
            ("http-trigger1", "alpha", "/a3/..."),
        ],
        "trigger IDs as Spin's normalization assigns them"
    );
    for component in locked["components"].as_array().unwrap() {
        let source = &component["source"];
        assert_eq!(source["content_type"], "application/wasm");
        assert!(source.get("source").is_none(), "no file path left in a pushed locked app");
        let layer = image.wasm_layers().find(|l| source["digest"] == l.digest.as_str());
        assert!(layer.is_some(), "component {} points at a layer of the image", component["id"]);
    }
    assert_eq!(locked["components"][0]["source"]["digest"], locked["components"][2]["source"]["digest"]);
    assert_eq!(locked["components"][0]["host_requirements"]["local_service_chaining"], "required");
    assert_eq!(locked["components"][2]["metadata"]["build"]["command"], "true");
    assert_eq!(image.manifest["annotations"]["org.opencontainers.image.created"], "2026-12-30T01:02:03+00:00");
    assert_eq!(image.manifest["annotations"]["org.opencontainers.image.title"], "fixture");
}

#[test]
fn the_locked_app_and_config_bytes_are_laid_out_as_spin_writes_them() {
    let dir = temp_dir("golden");
    let done = package(&options(fixture(&dir), dir.join("oci"))).unwrap();
    let image = read_layout(&dir.join("oci")).unwrap();
    let app = &image.layers.last().unwrap();
    let text = String::from_utf8(app.bytes.clone()).unwrap();
    let prefix = concat!(
        r#"{"spin_lock_version":1,"must_understand":["component_host_requirements"],"#,
        r#""metadata":{"description":"测试 fixture","name":"fixture","trigger":{"type":"http"},"triggers":{},"version":"1.2.3"},"#,
        r#""variables":{"key":{"secret":true},"region":{"default":"3206"}},"#,
        r#""triggers":[{"id":"beta-http-trigger","trigger_type":"http","trigger_config":{"component":"beta","route":"/b/..."}},"#,
    );
    assert!(text.starts_with(prefix), "locked app starts differently:\n{text}");
    let big = digest(&big_wasm());
    let beta = format!(
        concat!(
            r#"{{"id":"beta","metadata":{{"allowed_outbound_hosts":["http://alpha.spin.internal","postgres://{{{{ region }}}}"],"#,
            r#""databases":["beta"],"key_value_stores":["default"]}},"#,
            r#""source":{{"content_type":"application/wasm","digest":"{}"}},"#,
            r#""config":{{"key":"{{{{ key }}}}"}},"host_requirements":{{"local_service_chaining":"required"}}}}"#,
        ),
        big
    );
    assert!(text.contains(&beta), "component beta differs:\n{text}\nexpected {beta}");
    let alpha = format!(
        r#"{{"id":"alpha","metadata":{{"description":"alpha"}},"source":{{"content_type":"application/wasm","inline":"AGFzbQEAAAA","digest":"{}"}}}}"#,
        digest(SMALL_WASM)
    );
    assert!(text.contains(&alpha), "component alpha (inlined) differs:\n{text}\nexpected {alpha}");

    let config = wangge_oci::verify::read_blob(&dir.join("oci"), &image.manifest["config"]).unwrap();
    let expected = format!(
        r#"{{"architecture":"wasm","os":"Wasip1","config":{{"Labels":{{"com.fermyon.spin.lockedAppDigest":"{}"}}}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#,
        done.layers.last().unwrap().digest
    );
    assert_eq!(String::from_utf8(config).unwrap(), expected);
    let manifest =
        wangge_oci::verify::read_blob(&dir.join("oci"), &serde_json::to_value(&done.manifest).unwrap()).unwrap();
    let manifest = String::from_utf8(manifest).unwrap();
    assert!(
        manifest.starts_with(r#"{"annotations":{"org.opencontainers.image.created":"#),
        "canonical JSON: {manifest}"
    );
    assert!(manifest.ends_with(r#""schemaVersion":2}"#), "canonical JSON, no mediaType field: {manifest}");
}

#[test]
fn the_same_inputs_give_the_same_digests_and_a_repackage_leaves_no_stale_blob() {
    let dir = temp_dir("deterministic");
    let manifest = fixture(&dir);
    let first = package(&options(manifest.clone(), dir.join("one"))).unwrap();
    let second = package(&options(manifest.clone(), dir.join("two"))).unwrap();
    assert_eq!(first.manifest, second.manifest);
    assert_eq!(blob_names(&dir.join("one")), blob_names(&dir.join("two")));
    let index = |d: &str| std::fs::read(dir.join(d).join("index.json")).unwrap();
    assert_eq!(index("one"), index("two"));

    std::fs::write(dir.join("small.wasm"), b"\0asm\x01\0\0\0\0\x01\0").unwrap();
    let third = package(&options(manifest, dir.join("one"))).unwrap();
    assert_ne!(third.manifest, first.manifest);
    let names = blob_names(&dir.join("one"));
    assert!(!names.contains(&digest(SMALL_WASM)["sha256:".len()..]), "the old wasm blob is gone");
    assert_eq!(names.len(), 2 + 1 + 2, "two wasm layers, the app, the config, the manifest: {names:?}");
    read_layout(&dir.join("one")).unwrap();
}

#[test]
fn a_tampered_blob_or_a_non_layout_directory_is_refused() {
    let dir = temp_dir("tampered");
    let manifest = fixture(&dir);
    let done = package(&options(manifest.clone(), dir.join("oci"))).unwrap();
    let wasm = dir.join("oci/blobs/sha256").join(&done.layers[1].digest["sha256:".len()..]);
    std::fs::write(&wasm, b"\0asm\x01\0\0\x01").unwrap();
    let err = read_layout(&dir.join("oci")).unwrap_err().to_string();
    assert!(err.contains("content is sha256:"), "{err}");

    std::fs::create_dir_all(dir.join("elsewhere")).unwrap();
    std::fs::write(dir.join("elsewhere/notes.txt"), "keep me").unwrap();
    let err = package(&options(manifest, dir.join("elsewhere"))).unwrap_err().to_string();
    assert!(err.contains("not an OCI layout"), "{err}");
    assert!(dir.join("elsewhere/notes.txt").exists());
}

fn blob_names(layout: &Path) -> BTreeSet<String> {
    std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

/// The real app: every component of spin.toml built (scripts/package.sh and scripts/setup.sh build them).
#[test]
fn the_real_spin_toml_packages_every_component_and_trigger() {
    let root = workspace_root();
    let spin: toml::Table = toml::from_str(&std::fs::read_to_string(root.join("spin.toml")).unwrap()).unwrap();
    let components = spin["component"].as_table().unwrap();
    let mut files = BTreeMap::new();
    for (id, component) in components {
        let path = root.join(component["source"].as_str().unwrap());
        assert!(path.exists(), "{} is missing: build the components first (scripts/package.sh does)", path.display());
        files.insert(id.clone(), std::fs::read(&path).unwrap());
    }
    let dir = temp_dir("real");
    let options = PackageOptions {
        manifest: root.join("spin.toml"),
        out: dir.join("oci"),
        tag: Some("e2e".into()),
        created: None,
    };
    package(&options).unwrap();
    let image = read_layout(&dir.join("oci")).unwrap();
    assert_eq!(image.tag, "e2e");

    let distinct: BTreeSet<String> = files.values().map(|b| digest(b)).collect();
    assert_eq!(image.wasm_layers().count(), distinct.len(), "one layer per distinct component wasm");
    assert_eq!(image.layers.last().unwrap().media_type, SPIN_APPLICATION_MEDIA_TYPE);
    let locked_components = image.locked["components"].as_array().unwrap();
    let locked_ids: BTreeSet<&str> = locked_components.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(locked_ids, files.keys().map(String::as_str).collect(), "every component of spin.toml");
    for component in locked_components {
        let id = component["id"].as_str().unwrap();
        let layer = image.wasm_layers().find(|l| component["source"]["digest"] == l.digest.as_str()).unwrap();
        assert!(layer.bytes == files[id], "{id}: its layer holds exactly the built file");
    }
    let locked_triggers: BTreeSet<(String, String)> = image.locked["triggers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["trigger_config"]["route"].to_string(), t["trigger_config"]["component"].to_string()))
        .collect();
    let http = spin["trigger"]["http"].as_array().unwrap();
    assert_eq!(locked_triggers.len(), http.len());
    for trigger in http {
        let key = (
            Value::from(trigger["route"].as_str().unwrap()).to_string(),
            Value::from(trigger["component"].as_str().unwrap()).to_string(),
        );
        assert!(locked_triggers.contains(&key), "trigger {key:?} of spin.toml is in the locked app");
    }
    let variables = spin["variables"].as_table().unwrap();
    let locked_variables = image.locked["variables"].as_object().unwrap();
    assert_eq!(locked_variables.keys().collect::<BTreeSet<_>>(), variables.keys().collect::<BTreeSet<_>>());
}

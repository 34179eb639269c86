//! `--runtime-config-file`: where each key-value store and SQLite database lives.
//!
//! As in Spin: a key-value `path` is relative to the runtime-config file's
//! directory, a SQLite `path` to the working directory; the `default` store and
//! database live in the state directory (`.spin/` beside `spin.toml`). A key-value
//! store may also be `type = "redis"` with a `url`, as in Spin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuntimeConfigFile {
    #[serde(default)]
    state_dir: Option<String>,
    #[serde(default)]
    key_value_store: BTreeMap<String, StoreDecl>,
    #[serde(default)]
    sqlite_database: BTreeMap<String, StoreDecl>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreDecl {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: Option<String>,
    /// `type = "redis"`: `redis://host[:port][/db]`.
    #[serde(default)]
    url: Option<String>,
}

/// Where a key-value store lives.
#[derive(Debug, Clone, PartialEq)]
pub enum KvStoreConfig {
    /// Spin's SQLite store: a file, or memory (`None`).
    Spin(Option<PathBuf>),
    /// A Redis server.
    Redis(String),
}

/// Resolved file locations. `None` as a path means in memory.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    pub state_dir: PathBuf,
    pub key_value: BTreeMap<String, KvStoreConfig>,
    pub sqlite: BTreeMap<String, Option<PathBuf>>,
}

impl RuntimeConfig {
    pub fn load(file: Option<&Path>, app_dir: &Path, state_dir: Option<&Path>) -> Result<RuntimeConfig> {
        let parsed: RuntimeConfigFile = match file {
            Some(path) => {
                toml::from_str(&std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)
                    .with_context(|| format!("parsing {}", path.display()))?
            }
            None => RuntimeConfigFile::default(),
        };
        let config_dir = file.and_then(Path::parent).map(Path::to_path_buf).unwrap_or_else(|| app_dir.to_path_buf());
        let cwd = std::env::current_dir()?;
        let state_dir = match (state_dir, &parsed.state_dir) {
            (Some(dir), _) => dir.to_path_buf(),
            (None, Some(dir)) => config_dir.join(dir),
            (None, None) => app_dir.join(".spin"),
        };
        let mut config = RuntimeConfig { state_dir: state_dir.clone(), ..Default::default() };
        config.key_value.insert("default".into(), KvStoreConfig::Spin(Some(state_dir.join("sqlite_key_value.db"))));
        config.sqlite.insert("default".into(), Some(state_dir.join("sqlite_db.db")));
        for (label, decl) in parsed.key_value_store {
            let store = match decl.kind.as_str() {
                "spin" if decl.url.is_none() => KvStoreConfig::Spin(decl.path.map(|p| config_dir.join(p))),
                "redis" if decl.path.is_none() => match decl.url {
                    Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
                        KvStoreConfig::Redis(url)
                    }
                    Some(url) => bail!("key_value_store `{label}`: `{url}` is not a redis:// URL"),
                    None => bail!("key_value_store `{label}`: type = \"redis\" needs a `url`"),
                },
                "spin" | "redis" => {
                    bail!("key_value_store `{label}`: `path` is for type = \"spin\", `url` for type = \"redis\"")
                }
                _ => bail!("key_value_store `{label}`: only type = \"spin\" or \"redis\" is supported by this host"),
            };
            config.key_value.insert(label, store);
        }
        for (label, decl) in parsed.sqlite_database {
            if decl.kind != "spin" || decl.url.is_some() {
                bail!("sqlite_database `{label}`: only type = \"spin\" is supported by this host");
            }
            config.sqlite.insert(label, decl.path.map(|p| cwd.join(p)));
        }
        Ok(config)
    }
}

//! `wangge-deploy`: writes Wangge's Kubernetes manifests (scripts/deploy.sh calls it), and
//! renders and checks them.
//!
//! ```text
//! wangge-deploy city|all --registry R --tag T [--out DIR] [OPTIONS]
//! wangge-deploy district CODE --registry R --tag T [--out DIR] [OPTIONS]
//! wangge-deploy render DIR        print the rendered documents of a Kustomize directory
//! wangge-deploy check DIR         render DIR and run the checks (wangge_deploy::checks)
//! OPTIONS: --namespace NS (wangge) --domain D (wangge.example) --data DIR (data/nantong)
//!          --spin-toml F (spin.toml) --openapi F (schemas/openapi.json)
//! The defaults are relative to $WANGGE_ROOT (scripts/deploy.sh sets it to the repository), or
//! to the working directory.
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use wangge_deploy::city::{District, district_prefix, load_districts};
use wangge_deploy::manifests::{self, Settings};
use wangge_deploy::spin_manifest::SpinManifest;
use wangge_deploy::{checks, layout, render, scaling};

/// What to write or do.
enum Command {
    /// The city part.
    City,
    /// One district's part.
    District(String),
    /// The city and every district.
    All,
    /// Print a rendered directory.
    Render(PathBuf),
    /// Render a directory and check it.
    Check(PathBuf),
}

struct Args {
    command: Command,
    registry: Option<String>,
    tag: Option<String>,
    out: PathBuf,
    namespace: String,
    domain: String,
    data: PathBuf,
    spin_toml: PathBuf,
    openapi: PathBuf,
}

fn parse_args() -> Result<Args> {
    let mut argv = std::env::args().skip(1);
    let command = match argv.next().as_deref() {
        Some("city") => Command::City,
        Some("all") => Command::All,
        Some("district") => Command::District(argv.next().context("district needs a code")?),
        Some("render") => Command::Render(argv.next().context("render needs a directory")?.into()),
        Some("check") => Command::Check(argv.next().context("check needs a directory")?.into()),
        other => bail!("usage: wangge-deploy city|district CODE|all|render DIR|check DIR ... (got {other:?})"),
    };
    // Defaults are in the repository: $WANGGE_ROOT (scripts/deploy.sh sets it), or here.
    let root = PathBuf::from(std::env::var_os("WANGGE_ROOT").unwrap_or_else(|| ".".into()));
    let mut args = Args {
        command,
        registry: None,
        tag: None,
        out: root.join("deploy"),
        namespace: "wangge".into(),
        domain: "wangge.example".into(),
        data: root.join("data/nantong"),
        spin_toml: root.join("spin.toml"),
        openapi: root.join("schemas/openapi.json"),
    };
    while let Some(flag) = argv.next() {
        let value = argv.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--registry" => args.registry = Some(value),
            "--tag" => args.tag = Some(value),
            "--out" => args.out = value.into(),
            "--namespace" => args.namespace = value,
            "--domain" => args.domain = value,
            "--data" => args.data = value.into(),
            "--spin-toml" => args.spin_toml = value.into(),
            "--openapi" => args.openapi = value.into(),
            _ => bail!("unknown option {flag}"),
        }
    }
    Ok(args)
}

fn write_district(args: &Args, settings: &Settings, manifest: &SpinManifest, d: &District) -> Result<PathBuf> {
    let overlay = layout::write_part(
        &args.out.join(format!("district-{}", d.code)),
        &settings.namespace,
        &manifests::district(settings, manifest, d),
    )?;
    let r = scaling::district_replicas(d);
    eprintln!("{} {}: {} grids, {} staff: {}..{} replicas", d.code, d.name, d.grids, d.staff, r.min, r.max);
    Ok(overlay)
}

fn generate(args: &Args) -> Result<()> {
    let settings = Settings {
        registry: args.registry.clone().context("--registry is required")?,
        tag: args.tag.clone().context("--tag is required")?,
        namespace: args.namespace.clone(),
        domain: args.domain.clone(),
    };
    let manifest = SpinManifest::load(&args.spin_toml)?;
    let districts = load_districts(&args.data)?;
    let mut overlays = Vec::new();
    if matches!(args.command, Command::City | Command::All) {
        let city = manifests::city(&settings, &manifest);
        overlays.push(layout::write_part(&args.out.join("city"), &settings.namespace, &city)?);
    }
    match &args.command {
        Command::District(code) => {
            let code = district_prefix(code)?;
            let d = districts
                .iter()
                .find(|d| d.code == code)
                .with_context(|| format!("no district {code} in {}", args.data.display()))?;
            overlays.push(write_district(args, &settings, &manifest, d)?);
        }
        Command::All => {
            for d in &districts {
                overlays.push(write_district(args, &settings, &manifest, d)?);
            }
            layout::write_root(&args.out, &overlays)?;
        }
        _ => {}
    }
    for overlay in &overlays {
        println!("{}", overlay.display());
    }
    Ok(())
}

fn check(args: &Args, dir: &Path) -> Result<()> {
    let documents = render::render(dir)?;
    let manifest = SpinManifest::load(&args.spin_toml)?;
    let openapi: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&args.openapi)?)?;
    let problems = checks::all(&documents, &manifest, &openapi);
    for p in &problems {
        eprintln!("{p}");
    }
    if !problems.is_empty() {
        bail!("{} problems in {}", problems.len(), dir.display());
    }
    eprintln!("{}: {} documents, no problems", dir.display(), documents.len());
    Ok(())
}

fn main() -> Result<()> {
    let args = parse_args()?;
    match &args.command {
        Command::Render(dir) => {
            let documents = render::render(dir)?;
            print!("{}", layout::to_yaml(&documents.iter().collect::<Vec<_>>())?);
            Ok(())
        }
        Command::Check(dir) => check(&args, dir),
        _ => generate(&args),
    }
}

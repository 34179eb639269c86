//! `wangge-package`: writes the app's OCI image layout (see the `wangge_oci` crate), or checks one.
//!
//! ```text
//! wangge-package [--manifest spin.toml] [--out target/oci] [--tag T] [--created UNIX_SECONDS]
//! wangge-package --verify DIR
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use wangge_oci::layout::{PackageOptions, package};
use wangge_oci::verify::read_layout;

/// What the command line asks for.
enum Command {
    /// Write a layout.
    Package(PackageOptions),
    /// Read a layout back and check it.
    Verify(PathBuf),
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut options = PackageOptions {
        manifest: PathBuf::from("spin.toml"),
        out: PathBuf::from("target/oci"),
        tag: None,
        created: None,
    };
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--manifest" => options.manifest = value()?.into(),
            "--out" => options.out = value()?.into(),
            "--tag" => options.tag = Some(value()?),
            "--created" => {
                let text = value()?;
                let seconds = text.parse().map_err(|_| format!("--created {text}: not Unix seconds"))?;
                options.created = Some(seconds);
            }
            "--verify" => return Ok(Command::Verify(value()?.into())),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Command::Package(options))
}

fn main() -> ExitCode {
    let command = match parse_args(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("wangge-package: {message}");
            eprintln!("usage: wangge-package [--manifest spin.toml] [--out DIR] [--tag T] [--created UNIX_SECONDS]");
            eprintln!("       wangge-package --verify DIR");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Package(options) => match package(&options) {
            Ok(done) => {
                let wasm = done.layers.iter().filter(|l| l.media_type == wangge_oci::WASM_LAYER_MEDIA_TYPE).count();
                println!(
                    "{}: {} tagged {} ({} component layers, {} components, locked app {})",
                    done.out.display(),
                    done.manifest.digest,
                    done.tag,
                    wasm,
                    done.locked.components.len(),
                    done.layers.last().map_or("", |l| l.digest.as_str()),
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("wangge-package: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Verify(dir) => match read_layout(&dir) {
            Ok(image) => {
                println!(
                    "{}: {} tagged {}, {} layers, all blobs match",
                    dir.display(),
                    image.manifest_digest,
                    image.tag,
                    image.layers.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("wangge-package: {}: {e}", dir.display());
                ExitCode::FAILURE
            }
        },
    }
}

//! Compiles every crate in `guest/examples` to a wasm32-wasip2 component, the
//! way wasmtime's `crates/test-programs/artifacts` does, and emits one path
//! constant per guest so a test can't name a guest that was not built.
//!
//! The components are also copied to `<target>/guests/<name>.wasm`, the
//! stable path the demo `hostel.toml` refers to.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let guest_root = manifest_dir.join("../../guest");
    let examples = guest_root.join("examples");

    let guests = guest_names(&examples);
    for path in [
        examples.join("Cargo.toml"),
        examples.join("Cargo.lock"),
        guest_root.join("sdk/Cargo.toml"),
        guest_root.join("sdk/src"),
        guest_root.join("../wit"),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    for g in &guests {
        // A guest may build another guest's sources (training-agent-broken).
        if examples.join(g).join("src").exists() {
            println!("cargo:rerun-if-changed={}", examples.join(g).join("src").display());
        }
        println!("cargo:rerun-if-changed={}", examples.join(g).join("Cargo.toml").display());
    }

    let target_dir = out_dir.join("guests");
    build_guests(&examples, &target_dir, &[]);
    // Cargo unifies features across a workspace build, so a guest that
    // turns the SDK's default features off (to import nothing
    // Hostel-specific) is built again on its own, with its own features.
    for g in guests
        .iter()
        .filter(|g| fs::read_to_string(examples.join(g).join("Cargo.toml")).is_ok_and(|t| t.contains("default-features = false")))
    {
        build_guests(&examples, &target_dir, &["-p", g]);
    }

    // <target>/<profile>/build/<pkg>-<hash>/out → <target>
    let demo_dir = out_dir.ancestors().nth(4).map(|t| t.join("guests"));
    if let Some(dir) = &demo_dir {
        fs::create_dir_all(dir).expect("create <target>/guests");
    }

    let mut generated = String::new();
    for g in &guests {
        let built = target_dir.join("wasm32-wasip2/release").join(format!("{}.wasm", g.replace('-', "_")));
        assert!(built.exists(), "guest `{g}` built but `{}` is missing", built.display());
        let constant = format!("{}_COMPONENT", g.to_uppercase().replace('-', "_"));
        writeln!(generated, "/// Path of the `{g}` guest component.\npub const {constant}: &str = {:?};", built.display().to_string())
            .unwrap();
        if let Some(dir) = &demo_dir {
            copy_if_changed(&built, &dir.join(format!("{g}.wasm")));
        }
    }
    writeln!(generated, "/// Every guest as `(name, path)`.\npub const ALL: &[(&str, &str)] = &[").unwrap();
    for g in &guests {
        writeln!(generated, "    ({g:?}, {}_COMPONENT),", g.to_uppercase().replace('-', "_")).unwrap();
    }
    generated.push_str("];\n");
    fs::write(out_dir.join("components.rs"), generated).expect("write components.rs");
}

/// Every directory under `examples` with a Cargo.toml is a guest.
fn guest_names(examples: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(examples)
        .expect("read guest/examples")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n != "target")
        .collect();
    names.sort();
    names
}

/// Copies only when contents differ, so a running `hostel serve` watching
/// the file does not see spurious rewrites.
fn copy_if_changed(from: &Path, to: &Path) {
    let new = fs::read(from).expect("read built guest");
    if fs::read(to).ok().as_deref() != Some(&new[..]) {
        fs::write(to, new).expect("copy guest to <target>/guests");
    }
}

/// `cargo build --release --target wasm32-wasip2` of the guest workspace
/// (or of the packages `extra` selects) into `target_dir`.
fn build_guests(examples: &Path, target_dir: &Path, extra: &[&str]) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--target=wasm32-wasip2", "--manifest-path"])
        .arg(examples.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .args(extra);
    // Flags meant for the host build must not leak into the guest build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd.status().expect("failed to run `cargo` to build the guest examples");
    assert!(
        status.success(),
        "building the guest examples for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );
}

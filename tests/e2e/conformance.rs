//! MCP judged by software nobody here wrote: the official conformance
//! suite (both protocol eras), the TypeScript SDK client and the MCP
//! Inspector CLI, all pinned in `tests/mcp/package-lock.json` and run
//! against `hostel serve` on loopback.

use crate::support::{Hostel, ECHO_COMPONENT, EVERYTHING_COMPONENT};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn config() -> String {
    format!(
        r#"
[[tenant]]
name = "everything"
component = "{EVERYTHING_COMPONENT}"

[[tenant]]
name = "echo"
component = "{ECHO_COMPONENT}"
"#
    )
}

fn clients_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/mcp");
    assert!(
        dir.join("node_modules/.bin/node").exists(),
        "MCP test clients are not installed: run `npm ci --prefix tests/mcp` (`.ci/run` does)"
    );
    dir
}

/// Runs `script args…` on the pinned Node 22 (the suite needs ≥ 22; the
/// machine's `node` may be older), with that Node first on `PATH` for any
/// child processes.
fn node(script: &str, args: &[&str]) -> Output {
    let dir = clients_dir();
    let bin = dir.join("node_modules/.bin");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    Command::new(bin.join("node")).arg(dir.join(script)).args(args).current_dir(&dir).env("PATH", path).output().expect("run node")
}

fn assert_ok(what: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    stdout
}

/// The suite's summary shows each of `scenarios` as run and passed.
fn assert_passed(stdout: &str, scenarios: &[&str]) {
    for scenario in scenarios {
        assert!(stdout.contains(&format!("✓ {scenario}:")), "{scenario} did not run and pass:\n{stdout}");
    }
}

/// `localhost`, not 127.0.0.1: the suite's DNS-rebinding scenario only
/// runs against a localhost URL.
fn url(h: &Hostel, tenant: &str) -> String {
    format!("http://localhost:{}/{tenant}/mcp", h.addr.port())
}

#[test]
fn conformance_suite_2025_11_25() {
    let h = Hostel::start(&config());
    let baseline = clients_dir().join("expected-failures-2025-11-25.yml");
    let out = node(
        "node_modules/conformance-legacy/dist/index.js",
        &["server", "--url", &url(&h, "everything"), "--spec-version", "2025-11-25", "--expected-failures", baseline.to_str().unwrap()],
    );
    // With a baseline the exit code is exact: 0 only if every scenario not
    // listed passes and every listed one still fails.
    let stdout = assert_ok("conformance 0.1.16 --spec-version 2025-11-25", &out);
    assert_passed(&stdout, &["tools-call-with-progress", "tools-call-with-logging", "prompts-get-with-args", "dns-rebinding-protection"]);
}

#[test]
fn conformance_suite_2026_07_28() {
    let h = Hostel::start(&config());
    let out =
        node("node_modules/conformance-next/dist/index.js", &["server", "--url", &url(&h, "everything"), "--requirements", "2026-07-28"]);
    // The exit code is 0 only if every scenario the revision requires
    // passes (extension and pending scenarios are run but not scored).
    let stdout = assert_ok("conformance 0.2.0-alpha.12 --requirements 2026-07-28", &out);
    assert_passed(&stdout, &["server-stateless", "input-required-result-tampered-state", "input-required-result-multi-round", "caching"]);
}

#[test]
fn typescript_sdk_client() {
    let h = Hostel::start(&config());
    let stdout = assert_ok("the TypeScript SDK client", &node("ts_client.mjs", &[&url(&h, "everything")]));
    assert!(stdout.starts_with("ok "), "{stdout}");
}

#[test]
fn inspector_cli_lists_and_calls_tools() {
    let h = Hostel::start(&config());
    let inspector = "node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js";
    let target = url(&h, "echo");
    let listed = assert_ok("inspector tools/list", &node(inspector, &["--cli", &target, "--transport", "http", "--method", "tools/list"]));
    let tools: serde_json::Value = serde_json::from_str(&listed).unwrap_or_else(|e| panic!("inspector printed no JSON ({e}):\n{listed}"));
    let names: Vec<&str> = tools["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"echo"), "{names:?}");
    let called = assert_ok(
        "inspector tools/call",
        &node(
            inspector,
            &[
                "--cli",
                &target,
                "--transport",
                "http",
                "--method",
                "tools/call",
                "--tool-name",
                "echo",
                "--tool-arg",
                "text=from the inspector",
            ],
        ),
    );
    let result: serde_json::Value = serde_json::from_str(&called).unwrap_or_else(|e| panic!("inspector printed no JSON ({e}):\n{called}"));
    assert_eq!(result["content"][0]["text"], "from the inspector", "{result}");
}

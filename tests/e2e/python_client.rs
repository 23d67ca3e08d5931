//! A real MCP client nobody here wrote: the official Python SDK (`mcp`,
//! installed by `.ci/run`) initializes, lists and calls tools on two
//! tenants through `hostel serve`, then uses the `everything` tenant in
//! its newest mode (MCP 2026-07-28 via `server/discover`, including an
//! input-required round trip) and in legacy mode.

use crate::support::{demo_config, Hostel, EVERYTHING_COMPONENT};

#[test]
fn python_mcp_client_talks_to_two_tenants() {
    let config = format!("{}\n[[tenant]]\nname = \"everything\"\ncomponent = \"{EVERYTHING_COMPONENT}\"\n", demo_config());
    let h = Hostel::start(&config);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/python/mcp_client.py");
    let python = std::env::var("HOSTEL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(&python)
        .arg(script)
        .arg(format!("http://{}", h.addr))
        .output()
        .unwrap_or_else(|e| panic!("failed to run `{python}`: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python client failed (is `mcp` installed? `.ci/run` installs it)\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), 4, "{stdout}");
}

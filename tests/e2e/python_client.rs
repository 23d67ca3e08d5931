//! A real MCP client nobody here wrote: the official Python SDK (`mcp`,
//! installed by `.ci/run`) initializes, lists and calls tools on two
//! tenants through `hostel serve`.

use crate::support::{demo_config, Hostel};

#[test]
fn python_mcp_client_talks_to_two_tenants() {
    let h = Hostel::start(&demo_config());
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
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), 2, "{stdout}");
}

//! The AOT compile cache: a second start loads artifacts instead of
//! compiling; a corrupt artifact is detected and rebuilt; `hostel compile`
//! fills the same cache `serve` reads.

use crate::support::{demo_config, Hostel, ECHO_COMPONENT};
use std::time::Instant;

const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

fn artifacts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    v.sort();
    v
}

#[test]
fn second_start_uses_cache_and_corruption_is_recovered() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    let t = Instant::now();
    let mut h = Hostel::start_in(dir, &demo_config());
    let cold = t.elapsed();
    assert_eq!((h.metric("hostel_compile_cache_misses_total"), h.metric("hostel_compile_cache_hits_total")), (2, 0));
    assert_eq!(artifacts(dir).len(), 2);
    h.kill();

    let t = Instant::now();
    let mut h = Hostel::start_in(dir, &demo_config());
    let warm = t.elapsed();
    assert_eq!((h.metric("hostel_compile_cache_misses_total"), h.metric("hostel_compile_cache_hits_total")), (0, 2));
    assert!(h.stderr().contains("cache=\"hit\""), "{}", h.stderr());
    assert_eq!(h.rpc("echo", PING, &[]).status, 200);
    eprintln!("start to ready: cold cache {cold:?}, warm cache {warm:?}");
    h.kill();

    // Flip bytes in the middle of one artifact: detected, recompiled, served.
    let victim = &artifacts(dir)[0];
    let mut bytes = std::fs::read(victim).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(victim, &bytes).unwrap();
    // And truncate the other one.
    let other = &artifacts(dir)[1];
    let len = std::fs::metadata(other).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(other).unwrap().set_len(len / 3).unwrap();

    let h = Hostel::start_in(dir, &demo_config());
    assert_eq!((h.metric("hostel_compile_cache_misses_total"), h.metric("hostel_compile_cache_hits_total")), (2, 0));
    assert!(h.stderr().contains("corrupt cached artifact"), "{}", h.stderr());
    assert!(h.stderr().contains("cache=\"rebuilt\""), "{}", h.stderr());
    assert_eq!(h.rpc("echo", PING, &[]).status, 200);
    assert_eq!(h.rpc("words", PING, &[("authorization", "Bearer tok-words")]).status, 200);
}

#[test]
fn compile_command_fills_the_cache_serve_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hostel"))
        .args(["compile", ECHO_COMPONENT, "-o"])
        .arg(dir.join("echo.cwasm"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::metadata(dir.join("echo.cwasm")).unwrap().len() > 0);

    let config = format!("[[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n");
    let h = Hostel::start_in(dir, &config);
    assert_eq!((h.metric("hostel_compile_cache_misses_total"), h.metric("hostel_compile_cache_hits_total")), (0, 1));

    // Not a component: a clear error naming the problem.
    std::fs::write(dir.join("bad.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hostel"))
        .arg("compile")
        .arg(dir.join("bad.wasm"))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("core WebAssembly module, not a component"));
}

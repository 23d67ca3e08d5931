//! The cluster packaging is checked, not just written: the Kubernetes
//! manifests against the published schemas (`kubernetes-validate`,
//! strict), and the configs they and the image carry against Hostel's own
//! config parser.

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

#[test]
fn kubernetes_manifests_validate_strictly() {
    let dir = root().join("deploy/k8s");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "yaml")).collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    let out = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict"])
        .args(&files)
        .output()
        .expect("run kubernetes-validate (`.ci/run` installs it)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "manifests rejected:\n{text}");
    assert_eq!(text.matches("passed").count(), files.len(), "{text}");
    let deployment = std::fs::read_to_string(dir.join("deployment.yaml")).unwrap();
    for needle in ["replicas: 2", "path: /readyz", "path: /healthz", "secretKeyRef", "runAsNonRoot: true", "memory: 256Mi"] {
        assert!(deployment.contains(needle), "deployment.yaml lacks `{needle}`");
    }
    assert!(std::fs::read_to_string(dir.join("pdb.yaml")).unwrap().contains("kind: PodDisruptionBudget"));
    // The Secret example lives outside the apply set; it must validate too.
    let example = root().join("deploy/secret.example.yaml");
    let out = Command::new("python3").args(["-m", "kubernetes_validate", "--strict"]).arg(&example).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn shipped_configs_parse() {
    let image = std::fs::read_to_string(root().join("deploy/hostel.toml")).unwrap();
    hostel::config::Config::parse(&image).unwrap_or_else(|e| panic!("deploy/hostel.toml: {e:#}"));
    // The ConfigMap's hostel.toml: the indented block after `hostel.toml: |`.
    let cm = std::fs::read_to_string(root().join("deploy/k8s/configmap.yaml")).unwrap();
    let block: String = cm
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("hostel.toml: |"))
        .skip(1)
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect();
    assert!(block.contains("[[tenant]]"), "{block}");
    hostel::config::Config::parse(&block).unwrap_or_else(|e| panic!("configmap hostel.toml: {e:#}\n{block}"));
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    for needle in ["AS build", "USER 10001", "HEALTHCHECK", "/healthz"] {
        assert!(dockerfile.contains(needle), "Dockerfile lacks `{needle}`");
    }
}

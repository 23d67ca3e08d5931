//! `hostel storyboard run` (in-process, no network) judged against the
//! official AdCP runner (`@adcp/sdk`, pinned in `tests/adcp`) driving the
//! same component through `hostel serve`: the same pass/fail for every step,
//! for the training agent and for a build of it that drops a required field.
//! Plus the runner's own contract: exit codes, formats, loud failures.

use crate::support::{training_agent_config, Hostel};
use hostel_test_artifacts::{MISBEHAVE_COMPONENT, TRAINING_AGENT_BROKEN_COMPONENT, TRAINING_AGENT_COMPONENT};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The bundled storyboards that target the training agent's tenants: what
/// the official runner selects from each tenant's `get_adcp_capabilities`
/// (`adcp storyboard run <url>` without ids), less `security_baseline` and
/// `signed_requests`, which grade the HTTP server's authentication and
/// request signatures and are reported as not run in-process.
const COMMON: &[&str] = &[
    "capability_discovery",
    "pagination_integrity_collection_lists",
    "pagination_integrity_content_standards",
    "deterministic_testing",
    "error_compliance",
    "get_media_buys_pagination_integrity",
    "get_signals_pagination_integrity",
    "idempotency",
    "pagination_integrity",
    "pagination_integrity_creative_formats",
    "pagination_integrity_list_accounts",
    "pagination_integrity_property_lists",
    "schema_validation",
    "v3_envelope_integrity",
    "webhook_emission",
];
const SALES: (&str, &str, &[&str]) = ("sales", "demo-sales-v1", &["media_buy_seller", "creative_sales_agent", "media_buy_state_machine"]);
const SIGNALS: (&str, &str, &[&str]) = ("signals", "demo-signals-v1", &["signals_baseline"]);

/// Every storyboard id run for a tenant.
fn ids(own: &[&str]) -> Vec<String> {
    COMMON.iter().chain(own).map(|s| s.to_string()).collect()
}

fn sdk() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/adcp/node_modules/@adcp/sdk");
    assert!(dir.exists(), "the AdCP SDK is not installed: run `npm ci --prefix tests/adcp` (`.ci/run` does)");
    dir
}

/// The compliance bundle shipped in the pinned `@adcp/sdk`.
pub fn bundle() -> PathBuf {
    let version = std::fs::read_to_string(sdk().join("ADCP_VERSION")).unwrap();
    sdk().join("compliance/cache").join(version.trim())
}

/// `<storyboard>/<phase> › <step title> #n` → passed, from the official
/// runner's `--json` report (a skip counts as passed unless its
/// prerequisite failed, in both runners).
fn official(h: &Hostel, (tenant, token, ids): (&str, &str, &[&str])) -> BTreeMap<String, bool> {
    let url = format!("http://{}/{tenant}/mcp", h.addr);
    let out = Command::new(crate::adcp::runner())
        .args(["storyboard", "run", &url, "--storyboards", &self::ids(ids).join(","), "--protocol", "mcp", "--auth", token])
        .args(["--allow-http", "--webhook-receiver", "--timeout", "600", "--json"])
        .output()
        .expect("run the official AdCP runner");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("official runner on {tenant}: {e}; stderr:\n{}", String::from_utf8_lossy(&out.stderr)));
    let mut steps = Vec::new();
    for track in report["tracks"].as_array().unwrap() {
        for scenario in track["scenarios"].as_array().unwrap() {
            for s in scenario["steps"].as_array().unwrap() {
                steps.push((format!("{} › {}", scenario["scenario"].as_str().unwrap(), s["step"].as_str().unwrap()), s["passed"] == true));
            }
        }
    }
    numbered(steps)
}

/// `hostel storyboard run`.
fn hostel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hostel")).arg("storyboard").arg("run").args(args).output().expect("run hostel storyboard")
}

/// The same map from `hostel storyboard run --format json`, and each
/// storyboard's verdict.
fn ours(h: &Hostel, (tenant, _, ids): (&str, &str, &[&str])) -> (BTreeMap<String, bool>, BTreeMap<String, bool>) {
    let (bundle, config, cache) = (bundle(), h.dir.join("hostel.toml"), h.dir.join("cache"));
    let mut args = vec!["--tenant", tenant, "--config", config.to_str().unwrap(), "--format", "json", "--jobs", "2"];
    args.extend(["--bundle", bundle.to_str().unwrap(), "--cache-dir", cache.to_str().unwrap()]);
    let ids = self::ids(ids);
    args.extend(ids.iter().map(String::as_str));
    let out = hostel(&args);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("hostel storyboard run for {tenant}: {e}; stderr:\n{}", String::from_utf8_lossy(&out.stderr)));
    let (mut steps, mut verdicts) = (Vec::new(), BTreeMap::new());
    for sb in report["storyboards"].as_array().unwrap() {
        assert_eq!(sb.get("error"), None, "{tenant}: {}", sb);
        verdicts.insert(format!("{tenant}: {}", sb["storyboard_id"].as_str().unwrap()), sb["overall_passed"] == true);
        for phase in sb["phases"].as_array().unwrap() {
            for s in phase["steps"].as_array().unwrap() {
                let key = format!(
                    "{}/{} › {}",
                    sb["storyboard_id"].as_str().unwrap(),
                    phase["phase_id"].as_str().unwrap(),
                    s["title"].as_str().unwrap()
                );
                steps.push((key, s["passed"] == true));
            }
        }
    }
    (numbered(steps), verdicts)
}

/// Keys made unique by occurrence (a phase may repeat a title).
fn numbered(steps: Vec<(String, bool)>) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    for (key, passed) in steps {
        let n = (1..).find(|n| !out.contains_key(&format!("{key} #{n}"))).unwrap();
        out.insert(format!("{key} #{n}"), passed);
    }
    out
}

fn disagreements(theirs: &BTreeMap<String, bool>, mine: &BTreeMap<String, bool>) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = theirs.keys().chain(mine.keys()).collect();
    keys.into_iter()
        .filter(|k| theirs.get(*k) != mine.get(*k))
        .map(|k| format!("{k}: official {:?}, hostel {:?}", theirs.get(k), mine.get(k)))
        .collect()
}

/// Both runners, every applicable storyboard, both tenants; returns the
/// steps that did not pass (which both agree on) and each storyboard's verdict.
fn agree(component: &str) -> (Vec<String>, BTreeMap<String, bool>) {
    let tmp = tempfile::tempdir().unwrap();
    let h = Hostel::start_in(tmp.path(), &training_agent_config(component, None));
    let (mut failed, mut verdicts) = (Vec::new(), BTreeMap::new());
    let mut problems = Vec::new();
    for tenant in [SALES, SIGNALS] {
        let theirs = official(&h, tenant);
        let (mine, tenant_verdicts) = ours(&h, tenant);
        verdicts.extend(tenant_verdicts);
        assert!(theirs.len() > 50, "{}: the official runner graded almost nothing: {theirs:?}", tenant.0);
        problems.extend(disagreements(&theirs, &mine).into_iter().map(|d| format!("{}: {d}", tenant.0)));
        failed.extend(mine.iter().filter(|(_, p)| !**p).map(|(k, _)| format!("{}: {k}", tenant.0)));
    }
    assert!(problems.is_empty(), "the runners disagree on {} steps:\n{}", problems.len(), problems.join("\n"));
    (failed, verdicts)
}

/// What the training agent implements fully: these storyboards pass (the
/// rest of the selection fails in both runners alike, e.g. pagination and
/// governance, which it does not implement).
const PASSING: &[&str] = &[
    "sales: capability_discovery",
    "sales: media_buy_seller",
    "sales: media_buy_seller/refine_products",
    "sales: media_buy_seller/delivery_reporting",
    "sales: media_buy_seller/measurement_terms_rejected",
    "sales: media_buy_seller/pending_creatives_to_start",
    "sales: media_buy_seller/inventory_list_targeting",
    "sales: media_buy_seller/inventory_list_no_match",
    "sales: media_buy_seller/invalid_transitions",
    "sales: media_buy_seller/creative_fate_after_cancellation",
    "sales: media_buy_seller/create_media_buy_async",
    "sales: error_compliance",
    "sales: idempotency",
    "sales: deterministic_testing",
    "sales: schema_validation",
    "signals: capability_discovery",
    "signals: signals_baseline",
    "signals: idempotency",
];

#[test]
fn storyboards_agree_with_the_official_runner() {
    let (not_passed, verdicts) = agree(TRAINING_AGENT_COMPONENT);
    let failing: Vec<&&str> = PASSING.iter().filter(|id| verdicts.get(**id) != Some(&true)).collect();
    assert!(failing.is_empty(), "both runners agree, but these storyboards failed: {failing:?}\nsteps not passed: {not_passed:#?}");
}

#[test]
fn a_broken_guest_fails_the_same_steps_in_both_runners() {
    let (not_passed, verdicts) = agree(TRAINING_AGENT_BROKEN_COMPONENT);
    assert!(not_passed.iter().any(|k| k.contains("Establish account")), "{not_passed:#?}");
    assert_eq!(verdicts.get("sales: media_buy_seller"), Some(&false), "a guest without the required account_id passed: {verdicts:?}");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A storyboard outside the bundle that calls `task` on the misbehave guest.
fn misbehave_storyboard(id: &str, task: &str, check: &str) -> String {
    format!(
        r#"
id: {id}
title: "{id}"
phases:
  - id: only
    title: "Only phase"
    steps:
      - id: call
        title: "Call {task}"
        task: {task}
        sample_request: {{}}
        validations:
          - check: {check}
            description: "checked"
"#
    )
}

fn run_misbehave(dir: &Path, files: &[&str], format: &str) -> Output {
    let bundle = bundle();
    let mut args = vec!["--component", MISBEHAVE_COMPONENT, "--format", format, "--bundle", bundle.to_str().unwrap()];
    args.extend(["--cache-dir", dir.to_str().unwrap()]);
    args.extend(files);
    hostel(&args)
}

/// A guest that traps mid-run fails that step with the reason, and the run
/// goes on with the next storyboard; an unknown check kind and a schema ref
/// that does not resolve fail their step loudly.
#[test]
fn traps_and_unknown_checks_fail_the_step_and_the_run_continues() {
    let tmp = tempfile::tempdir().unwrap();
    let trap = write(tmp.path(), "trap.yaml", &misbehave_storyboard("trap_story", "panic", "field_present"));
    let unknown = write(tmp.path(), "unknown.yaml", &misbehave_storyboard("unknown_check", "probe_host", "telepathy"));
    let bad_ref = misbehave_storyboard("bad_ref", "probe_host", "response_schema")
        .replace("        task: probe_host\n", "        task: probe_host\n        response_schema_ref: \"protocol/no-such-schema.json\"\n");
    let bad_ref = write(tmp.path(), "bad_ref.yaml", &bad_ref);
    let out = run_misbehave(tmp.path(), &[&trap, &unknown, &bad_ref], "json");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = |i: usize| report["storyboards"][i]["phases"][0]["steps"][0].clone();
    assert_eq!(step(0)["passed"], false);
    assert!(step(0)["error"].as_str().unwrap().contains("trap") || step(0)["error"].as_str().unwrap().contains("panic"), "{}", step(0));
    let checks = step(1)["validations"].as_array().unwrap().clone();
    assert!(checks.iter().any(|c| c["passed"] == false && c.to_string().contains("telepathy")), "{checks:?}");
    let checks = step(2)["validations"].as_array().unwrap().clone();
    assert!(checks.iter().any(|c| c["passed"] == false && c.to_string().contains("no-such-schema.json")), "{checks:?}");
    assert_eq!(report["failures"].as_array().unwrap().len(), 3, "{report}");
}

/// Unusable input exits 2 and says where: YAML errors with line and
/// column, unknown ids, unreadable components.
#[test]
fn unusable_input_exits_2_with_a_precise_message() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = write(tmp.path(), "bad.yaml", "id: x\nphases:\n  - id: [unclosed\n");
    let out = run_misbehave(tmp.path(), &[&bad], "text");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 3") && stderr.contains("column"), "{stderr}");

    let out = run_misbehave(tmp.path(), &["no_such_storyboard"], "text");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no storyboard `no_such_storyboard`"), "{stderr}");

    let bundle = bundle();
    let out = hostel(&["--component", "/nonexistent.wasm", "--bundle", bundle.to_str().unwrap(), "capability_discovery"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/nonexistent.wasm"), "{stderr}");

    // One good storyboard next to a bad file: the good one still runs and
    // the report names the bad one.
    let good = write(tmp.path(), "good.yaml", &misbehave_storyboard("good_story", "probe_host", "field_present"));
    let out = run_misbehave(tmp.path(), &[&bad, &good], "json");
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = report["storyboards"].as_array().unwrap().iter().map(|s| s["storyboard_id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"good_story"), "{report}");
    assert!(report.to_string().contains("bad.yaml"), "{report}");
}

/// JUnit for CI systems: a suite per storyboard, a case per step.
#[test]
fn junit_report_has_a_case_per_step() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = bundle();
    let report = tmp.path().join("report.xml");
    let out = hostel(&[
        "--component",
        TRAINING_AGENT_COMPONENT,
        "--format",
        "junit",
        "--output",
        report.to_str().unwrap(),
        "--cache-dir",
        tmp.path().to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "capability_discovery",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let xml = std::fs::read_to_string(report).unwrap();
    assert!(xml.contains("<testsuite name=\"capability_discovery\""), "{xml}");
    assert!(xml.matches("<testcase ").count() >= 2 && !xml.contains("<failure"), "{xml}");
}

/// The sandbox: even a tenant whose config allows an origin cannot reach it
/// during a storyboard run (only the runner's receiver is allowed), and the
/// step says why.
#[test]
fn storyboard_runs_deny_outbound_http() {
    let tmp = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let config =
        format!("[[tenant]]\nname = \"fetcher\"\ncomponent = \"{MISBEHAVE_COMPONENT}\"\noutbound = [\"http://127.0.0.1:{port}\"]\n");
    let config = write(tmp.path(), "hostel.toml", &config);
    let story = misbehave_storyboard("no_network", "fetch", "field_present")
        .replace("sample_request: {}", &format!("sample_request: {{ url: \"http://127.0.0.1:{port}/secret\" }}"));
    let story = write(tmp.path(), "no_network.yaml", &story);
    let bundle = bundle();
    let out = hostel(&[
        "--tenant",
        "fetcher",
        "--config",
        &config,
        "--format",
        "json",
        "--bundle",
        bundle.to_str().unwrap(),
        "--cache-dir",
        tmp.path().to_str().unwrap(),
        &story,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let step = &report["storyboards"][0]["phases"][0]["steps"][0];
    assert!(step.to_string().contains("HttpRequestDenied"), "{step}");
    assert!(listener.accept().is_err(), "the guest reached the network during a storyboard run");
}

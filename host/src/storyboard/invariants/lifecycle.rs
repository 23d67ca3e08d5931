//! `status.monotonic` (default-invariants.js): across a run, an observed
//! resource's status may only move along an edge of its spec lifecycle
//! graph. Tables: server/state-machine.js (media buy, creative asset) and
//! default-invariants.js (the rest), citing `enums/*-status.json`.

use super::{adcp_error, as_str, Finding, StepView};
use serde_json::Value;
use std::collections::HashMap;

/// A lifecycle graph: `(from, legal targets)` rows, and its enum schema file.
struct Graph {
    edges: &'static [(&'static str, &'static [&'static str])],
    enum_file: &'static str,
}

static MEDIA_BUY: Graph = Graph {
    edges: &[
        ("pending_creatives", &["pending_start", "active", "paused", "canceled", "rejected"]),
        ("pending_start", &["active", "paused", "canceled", "rejected"]),
        ("active", &["paused", "completed", "canceled"]),
        ("paused", &["active", "completed", "canceled"]),
        ("completed", &[]),
        ("rejected", &[]),
        ("canceled", &[]),
    ],
    enum_file: "media-buy-status.json",
};

static CREATIVE_ASSET: Graph = Graph {
    edges: &[
        ("processing", &["pending_review", "rejected"]),
        ("pending_review", &["approved", "rejected"]),
        ("approved", &["archived", "rejected"]),
        ("archived", &["approved"]),
        ("rejected", &["processing", "pending_review"]),
    ],
    enum_file: "creative-status.json",
};

static CREATIVE_APPROVAL: Graph = Graph {
    edges: &[("pending_review", &["approved", "rejected"]), ("approved", &["rejected"]), ("rejected", &["pending_review"])],
    enum_file: "creative-approval-status.json",
};

static ACCOUNT: Graph = Graph {
    edges: &[
        ("pending_approval", &["active", "rejected"]),
        ("active", &["suspended", "payment_required", "closed"]),
        ("suspended", &["active", "payment_required", "closed"]),
        ("payment_required", &["active", "suspended", "closed"]),
        ("rejected", &[]),
        ("closed", &[]),
    ],
    enum_file: "account-status.json",
};

static SI_SESSION: Graph = Graph {
    edges: &[
        ("active", &["pending_handoff", "complete", "terminated"]),
        ("pending_handoff", &["complete", "terminated"]),
        ("complete", &[]),
        ("terminated", &[]),
    ],
    enum_file: "si-session-status.json",
};

static CATALOG_ITEM: Graph = Graph {
    edges: &[
        ("pending", &["approved", "rejected", "warning"]),
        ("approved", &["warning", "rejected"]),
        ("warning", &["approved", "rejected"]),
        ("rejected", &["pending"]),
    ],
    enum_file: "catalog-item-status.json",
};

static PROPOSAL: Graph = Graph { edges: &[("draft", &["committed"]), ("committed", &[])], enum_file: "proposal-status.json" };

static AUDIENCE: Graph = Graph {
    edges: &[("processing", &["ready", "too_small"]), ("ready", &["processing", "too_small"]), ("too_small", &["processing", "ready"])],
    enum_file: "audience-status.json",
};

/// The AdCP version the enum URLs cite (version.js `ADCP_VERSION` of @adcp/sdk 6.11.0).
const ADCP_VERSION: &str = "3.0.6";

/// One status seen on one resource.
struct Observation {
    resource_type: &'static str,
    resource_id: String,
    status: String,
    graph: &'static Graph,
}

/// Last status per `type:id`, with the step that showed it.
#[derive(Debug, Clone, Default)]
pub(super) struct History(HashMap<String, (String, String)>);

impl History {
    /// How many resources were seen.
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// One pass when the step showed lifecycle statuses along legal edges,
    /// one failure at the first illegal edge, nothing when it showed none.
    pub(super) fn observe(&mut self, view: &StepView<'_>) -> Vec<Finding> {
        // Negative-path and failed steps observe no new state (onStep's guards).
        if view.expect_error || !view.passed || adcp_error(view).is_some() {
            return Vec::new();
        }
        let Some(body) = view.response.as_ref().filter(|b| b.is_object() || b.is_array()) else { return Vec::new() };
        let description = "Resource statuses transition only along spec lifecycle edges";
        let observations = extract(view.task, body);
        for ob in &observations {
            let key = format!("{}:{}", ob.resource_type, ob.resource_id);
            let Some((prev_step, prev_status)) = self.0.get(&key).cloned() else {
                self.0.insert(key, (view.step_id.to_owned(), ob.status.clone()));
                continue;
            };
            if prev_status == ob.status {
                // A re-read keeps the older anchor step for diagnostics.
                continue;
            }
            let Some((_, targets)) = ob.graph.edges.iter().find(|(from, _)| *from == prev_status) else {
                // Unknown previous status: response_schema's business; re-anchor.
                self.0.insert(key, (view.step_id.to_owned(), ob.status.clone()));
                continue;
            };
            if !targets.contains(&ob.status.as_str()) {
                return vec![Finding::fail(description, violation(ob, &prev_step, &prev_status, view.step_id, targets))];
            }
            self.0.insert(key, (view.step_id.to_owned(), ob.status.clone()));
        }
        if observations.is_empty() {
            Vec::new()
        } else {
            vec![Finding::pass(description)]
        }
    }
}

fn violation(ob: &Observation, prev_step: &str, prev_status: &str, step_id: &str, targets: &[&str]) -> String {
    let mut legal = targets.to_vec();
    legal.sort_unstable();
    let legal = if legal.is_empty() {
        "(none — terminal state)".to_owned()
    } else {
        legal.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ")
    };
    format!(
        "{} {}: {prev_status} → {} (step \"{prev_step}\" → step \"{step_id}\") is not in the lifecycle graph. Legal next states from \"{prev_status}\": {legal}. See https://adcontextprotocol.org/schemas/{ADCP_VERSION}/enums/{} for the canonical lifecycle.",
        ob.resource_type, ob.resource_id, ob.status, ob.graph.enum_file
    )
}

fn items<'a>(body: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    body.get(key).and_then(Value::as_array).into_iter().flatten().filter(|v| v.is_object())
}

/// The statuses a task's response shows (`extractStatusObservations`); unknown tasks show none.
fn extract(task: &str, body: &Value) -> Vec<Observation> {
    let mut obs = Vec::new();
    match task {
        "create_media_buy" | "update_media_buy" => push_media_buy(&mut obs, body),
        "get_media_buys" => items(body, "media_buys").for_each(|mb| push_media_buy(&mut obs, mb)),
        "sync_creatives" | "list_creatives" => {
            items(body, "creatives").for_each(|c| push(&mut obs, c, "creative", "creative_id", &CREATIVE_ASSET))
        }
        "sync_accounts" | "list_accounts" => items(body, "accounts").for_each(|a| push(&mut obs, a, "account", "account_id", &ACCOUNT)),
        "si_initiate_session" | "si_send_message" | "si_terminate_session" => push(&mut obs, body, "si_session", "session_id", &SI_SESSION),
        "sync_catalogs" | "list_catalogs" => {
            items(body, "catalogs").flat_map(|cat| items(cat, "items")).for_each(|i| push_catalog_item(&mut obs, i));
            items(body, "items").for_each(|i| push_catalog_item(&mut obs, i));
        }
        "get_products" => {
            if let Some(p) = body.get("proposal").filter(|p| p.is_object()) {
                push(&mut obs, p, "proposal", "proposal_id", &PROPOSAL);
            }
        }
        "sync_audiences" => items(body, "audiences").for_each(|a| push(&mut obs, a, "audience", "audience_id", &AUDIENCE)),
        _ => {}
    }
    obs
}

fn push(obs: &mut Vec<Observation>, record: &Value, resource_type: &'static str, id_field: &str, graph: &'static Graph) {
    push_with_id(obs, record, resource_type, as_str(record.get(id_field)), graph);
}

fn push_with_id(obs: &mut Vec<Observation>, record: &Value, resource_type: &'static str, id: Option<&str>, graph: &'static Graph) {
    if let (Some(id), Some(status)) = (id, as_str(record.get("status"))) {
        obs.push(Observation { resource_type, resource_id: id.to_owned(), status: status.to_owned(), graph });
    }
}

/// The buy's status, then each package's per-creative `approval_status`.
fn push_media_buy(obs: &mut Vec<Observation>, record: &Value) {
    push(obs, record, "media_buy", "media_buy_id", &MEDIA_BUY);
    for ca in items(record, "packages").flat_map(|pkg| items(pkg, "creative_approvals")) {
        if let (Some(id), Some(status)) = (as_str(ca.get("creative_id")), as_str(ca.get("approval_status"))) {
            obs.push(Observation {
                resource_type: "creative_approval",
                resource_id: id.to_owned(),
                status: status.to_owned(),
                graph: &CREATIVE_APPROVAL,
            });
        }
    }
}

/// Catalog items are keyed by `item_id`, else `offering_id`, `sku`, `id`.
fn push_catalog_item(obs: &mut Vec<Observation>, record: &Value) {
    let id = ["item_id", "offering_id", "sku", "id"].iter().find_map(|k| as_str(record.get(*k)));
    push_with_id(obs, record, "catalog_item", id, &CATALOG_ITEM);
}

#[cfg(test)]
mod tests {
    use super::super::{Invariants, Observed};
    use crate::storyboard::Check;
    use serde_json::{json, Value};

    fn monotonic(inv: &mut Invariants, id: &str, task: &str, response: Value) -> Vec<Check> {
        let step = json!({"id": id});
        let checks = inv.observe(Observed { step: &step, task, request: &json!({}), response: Some(&response), passed: true });
        checks.into_iter().filter(|c| c.description.starts_with("status.monotonic")).collect()
    }

    fn verdicts(inv: &mut Invariants, seq: &[(&str, &str, Value)]) -> Vec<Option<bool>> {
        seq.iter().map(|(id, task, resp)| monotonic(inv, id, task, resp.clone()).first().map(|c| c.passed)).collect()
    }

    #[test]
    fn media_buy_forward_path_passes() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        let seq = [
            ("create", "create_media_buy", json!({"media_buy_id": "mb_1", "status": "pending_creatives"})),
            ("replay", "create_media_buy", json!({"media_buy_id": "mb_1", "status": "pending_creatives"})),
            ("read", "get_media_buys", json!({"media_buys": [{"media_buy_id": "mb_1", "status": "active"}]})),
            ("pause", "update_media_buy", json!({"media_buy_id": "mb_1", "status": "paused"})),
            ("caps", "get_adcp_capabilities", json!({"status": "active"})),
        ];
        assert_eq!(verdicts(&mut inv, &seq), [Some(true), Some(true), Some(true), Some(true), None]);
        assert_eq!(inv.observation_count(), 1);
    }

    #[test]
    fn media_buy_going_backwards_fails() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        monotonic(&mut inv, "create", "create_media_buy", json!({"media_buy_id": "mb_1", "status": "active"}));
        let checks = monotonic(
            &mut inv,
            "regress",
            "get_media_buys",
            json!({"media_buys": [{"media_buy_id": "mb_1", "status": "pending_creatives"}]}),
        );
        assert!(!checks[0].passed);
        assert_eq!(
            checks[0].error.as_deref(),
            Some(
                "media_buy mb_1: active → pending_creatives (step \"create\" → step \"regress\") is not in the lifecycle graph. Legal next \
                 states from \"active\": \"canceled\", \"completed\", \"paused\". See https://adcontextprotocol.org/schemas/3.0.6/enums/media-buy-status.json \
                 for the canonical lifecycle."
            )
        );
    }

    #[test]
    fn leaving_a_terminal_state_fails() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        monotonic(&mut inv, "cancel", "update_media_buy", json!({"media_buy_id": "mb_1", "status": "canceled"}));
        let checks = monotonic(&mut inv, "resume", "update_media_buy", json!({"media_buy_id": "mb_1", "status": "active"}));
        assert!(checks[0].error.as_deref().unwrap().contains("Legal next states from \"canceled\": (none — terminal state)."));
    }

    #[test]
    fn creatives_accounts_and_approvals_follow_their_graphs() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        let creative = |s: &str| json!({"creatives": [{"creative_id": "cr_1", "status": s}]});
        let account = |s: &str| json!({"accounts": [{"account_id": "acc_1", "status": s}]});
        let approval = |s: &str| json!({"media_buy_id": "mb_1", "packages": [{"creative_approvals": [{"creative_id": "cr_1", "approval_status": s}]}]});
        let ok = [
            ("s1", "sync_creatives", creative("pending_review")),
            ("s2", "list_creatives", creative("approved")),
            ("s3", "list_creatives", creative("archived")),
            ("a1", "sync_accounts", account("active")),
            ("a2", "list_accounts", account("suspended")),
            ("a3", "list_accounts", account("payment_required")),
            ("p1", "update_media_buy", approval("pending_review")),
            ("p2", "update_media_buy", approval("approved")),
        ];
        assert!(verdicts(&mut inv, &ok).iter().all(|v| *v == Some(true)));
        let bad = [
            ("s4", "list_creatives", creative("processing")),
            ("a4", "list_accounts", account("pending_approval")),
            ("p3", "update_media_buy", approval("pending_review")),
        ];
        assert_eq!(verdicts(&mut inv, &bad), [Some(false), Some(false), Some(false)]);
    }

    #[test]
    fn failed_negative_and_error_steps_are_not_observed() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        monotonic(&mut inv, "create", "create_media_buy", json!({"media_buy_id": "mb_1", "status": "active"}));
        let back = json!({"media_buy_id": "mb_1", "status": "pending_creatives"});
        let failed = json!({"id": "failed"});
        let checks =
            inv.observe(Observed { step: &failed, task: "create_media_buy", request: &json!({}), response: Some(&back), passed: false });
        assert!(checks.iter().all(|c| !c.description.starts_with("status.monotonic")));
        let negative = json!({"id": "neg", "expect_error": true});
        let checks =
            inv.observe(Observed { step: &negative, task: "create_media_buy", request: &json!({}), response: Some(&back), passed: true });
        assert!(checks.iter().all(|c| !c.description.starts_with("status.monotonic")));
        let with_error = json!({"media_buy_id": "mb_1", "status": "pending_creatives", "adcp_error": {"code": "X"}});
        assert!(monotonic(&mut inv, "err", "update_media_buy", with_error).is_empty());
    }

    #[test]
    fn an_unknown_previous_status_re_anchors() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        monotonic(&mut inv, "a", "create_media_buy", json!({"media_buy_id": "mb_1", "status": "mystery"}));
        assert!(monotonic(&mut inv, "b", "create_media_buy", json!({"media_buy_id": "mb_1", "status": "completed"}))[0].passed);
        assert!(!monotonic(&mut inv, "c", "create_media_buy", json!({"media_buy_id": "mb_1", "status": "active"}))[0].passed);
    }

    #[test]
    fn a_failure_skips_the_invariants_after_it() {
        // runner.js flips result.passed on the first failure; status.monotonic then sees a failed step.
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        let step = json!({"id": "s"});
        let resp = json!({"media_buy_id": "mb_1", "status": "active", "debug": {"api_key": "x"}});
        let checks =
            inv.observe(Observed { step: &step, task: "create_media_buy", request: &json!({}), response: Some(&resp), passed: true });
        assert_eq!(checks.len(), 1, "{checks:?}");
        assert!(!checks[0].passed);
    }
}

//! What a storyboard run produced, and the three ways to print it: text for
//! people, JSON shaped like the official runner's results, JUnit XML for CI.

use super::Check;
use serde::Serialize;
use std::fmt::Write as _;

/// One step's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// The storyboard's `steps[].id` (seeding steps: `seed_<kind>.<id>`).
    pub step_id: String,
    /// The phase it belongs to.
    pub phase_id: String,
    /// Its title, as the official runner reports it.
    pub title: String,
    /// The tool called (or `expect_webhook`).
    pub task: String,
    /// Whether it passed. A skip is a pass unless its prerequisite failed.
    pub passed: bool,
    /// Whether it was skipped rather than run.
    pub skipped: bool,
    /// Why it was skipped (`missing_tool`, `prerequisite_failed`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Wall time of the step.
    pub duration_ms: f64,
    /// Every graded check, invariants included.
    pub validations: Vec<Check>,
    /// What went wrong, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The arguments sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<serde_json::Value>,
    /// The tool's answer as graded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<serde_json::Value>,
}

/// One phase's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseResult {
    /// `phases[].id`.
    pub phase_id: String,
    /// `phases[].title`.
    pub phase_title: String,
    /// True when no step failed and no step was skipped for a failed prerequisite.
    pub passed: bool,
    /// `optional: true` phases report failures without failing the storyboard.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    /// The steps, in run order.
    pub steps: Vec<StepResult>,
}

/// One storyboard's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct StoryboardResult {
    /// Its `id` (empty when the input could not be read).
    pub storyboard_id: String,
    /// Its `title`.
    pub storyboard_title: String,
    /// True when every step passed (skips included) and nothing broke.
    pub overall_passed: bool,
    /// Phases in run order, controller seeding first.
    pub phases: Vec<PhaseResult>,
    /// Steps that passed (not counting skips).
    pub passed_count: usize,
    /// Steps that ran and failed, outside optional phases.
    pub failed_count: usize,
    /// Steps skipped (including those whose prerequisite failed).
    pub skipped_count: usize,
    /// Wall time.
    pub total_duration_ms: f64,
    /// Why the storyboard could not run at all (unusable input).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StepResult {
    /// `step` of `phase_id`, not run yet: not passed, nothing graded.
    pub fn of(step: &serde_json::Value, phase_id: &str) -> StepResult {
        StepResult {
            step_id: step["id"].as_str().unwrap_or_default().to_owned(),
            phase_id: phase_id.to_owned(),
            title: step["title"].as_str().unwrap_or_default().to_owned(),
            task: step["task"].as_str().unwrap_or_default().to_owned(),
            passed: false,
            skipped: false,
            skip_reason: None,
            duration_ms: 0.0,
            validations: Vec::new(),
            error: None,
            request: None,
            response: None,
        }
    }
}

impl StoryboardResult {
    /// The result of running `phases` (the totals come from [`Self::finish`]).
    pub fn new(id: &str, title: &str, phases: Vec<PhaseResult>, error: Option<String>) -> StoryboardResult {
        StoryboardResult {
            storyboard_id: id.to_owned(),
            storyboard_title: title.to_owned(),
            overall_passed: false,
            phases,
            passed_count: 0,
            failed_count: 0,
            skipped_count: 0,
            total_duration_ms: 0.0,
            error,
        }
    }

    /// A storyboard that could not be run: the message says why.
    pub fn unusable(id: &str, title: &str, error: String) -> StoryboardResult {
        StoryboardResult::new(id, title, Vec::new(), Some(error))
    }

    /// Recounts from the phases, as runner.js does: a skip is never a
    /// failure in the totals (even when its prerequisite failed, which
    /// still fails its phase), and the storyboard passes when nothing failed
    /// and some required phase passed with a step that really ran.
    pub fn finish(mut self) -> StoryboardResult {
        for phase in &mut self.phases {
            phase.passed = phase.steps.iter().all(|s| s.passed);
        }
        let steps = || self.phases.iter().flat_map(|p| &p.steps);
        self.skipped_count = steps().filter(|s| s.skipped).count();
        self.passed_count = steps().filter(|s| s.passed && !s.skipped).count();
        self.failed_count = self.phases.iter().filter(|p| !p.optional).flat_map(|p| &p.steps).filter(|s| !s.passed && !s.skipped).count();
        let ran = self.phases.iter().any(|p| !p.steps.is_empty());
        let required_passed = !ran
            || self.phases.iter().any(|p| {
                !p.optional && p.phase_id != super::seeding::PHASE_ID && p.passed && p.steps.iter().any(|s| s.passed && !s.skipped)
            });
        self.overall_passed = self.error.is_none() && self.failed_count == 0 && required_passed;
        self
    }
}

/// The whole run as JSON: per-storyboard results plus the totals of the
/// official runner's `--summary-output` (`passed`, `failed`, `failures[]`).
pub fn json(results: &[StoryboardResult]) -> String {
    let failures: Vec<serde_json::Value> = results
        .iter()
        .flat_map(|r| {
            let steps = r
                .phases
                .iter()
                .flat_map(|p| &p.steps)
                .filter(|s| !s.passed && !s.skipped)
                .map(move |s| serde_json::json!({ "storyboard_id": r.storyboard_id, "step_id": s.step_id, "reason": reason(s) }));
            let broken = r.error.as_ref().map(|e| serde_json::json!({ "storyboard_id": r.storyboard_id, "step_id": null, "reason": e }));
            steps.chain(broken)
        })
        .collect();
    let all = || results.iter().flat_map(|r| r.phases.iter().flat_map(|p| &p.steps));
    serde_json::to_string_pretty(&serde_json::json!({
        "schema_version": 1,
        "overall_passed": results.iter().all(|r| r.overall_passed),
        "passed": results.iter().map(|r| r.passed_count).sum::<usize>(),
        "failed": results.iter().map(|r| r.failed_count).sum::<usize>() + results.iter().filter(|r| r.error.is_some()).count(),
        "skipped": all().filter(|s| s.skipped).count(),
        "failures": failures,
        "storyboards": results,
    }))
    .expect("results serialize")
}

/// Why a step failed, in one line.
pub fn reason(s: &StepResult) -> String {
    let failed: Vec<String> = s
        .validations
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{}: {}{}", c.check, c.description, c.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default()))
        .collect();
    match (&s.error, failed.is_empty()) {
        (Some(e), true) => e.clone(),
        (Some(e), false) => format!("{e}; {}", failed.join("; ")),
        (None, false) => failed.join("; "),
        (None, true) => "failed".into(),
    }
}

/// One line per step, as the run goes (also used for the final report).
pub fn step_line(storyboard: &str, s: &StepResult) -> String {
    let mark = match (s.passed, s.skipped) {
        (true, false) => "ok  ",
        (true, true) => "skip",
        (false, _) => "FAIL",
    };
    let mut line = format!("{mark} {storyboard} › {} › {} ({}, {:.1} ms)", s.phase_id, s.title, s.task, s.duration_ms);
    if let Some(why) = &s.skip_reason {
        let _ = write!(line, " [{why}]");
    }
    if !s.passed {
        let _ = write!(line, "\n       {}", reason(s));
    }
    line
}

/// The text report: every step, then one line per storyboard and totals.
pub fn text(results: &[StoryboardResult]) -> String {
    let mut out = String::new();
    for r in results {
        for s in r.phases.iter().flat_map(|p| &p.steps) {
            let _ = writeln!(out, "{}", step_line(&r.storyboard_id, s));
        }
    }
    let _ = writeln!(out);
    for r in results {
        let verdict = if r.overall_passed { "PASS" } else { "FAIL" };
        let _ = write!(
            out,
            "{verdict} {}: {} passed, {} failed, {} skipped in {:.0} ms",
            r.storyboard_id, r.passed_count, r.failed_count, r.skipped_count, r.total_duration_ms
        );
        match &r.error {
            Some(e) => {
                let _ = writeln!(out, "\n     {e}");
            }
            None => out.push('\n'),
        }
    }
    let passed = results.iter().filter(|r| r.overall_passed).count();
    let _ = writeln!(out, "{passed}/{} storyboards passed", results.len());
    out
}

/// JUnit XML: a `testsuite` per storyboard, a `testcase` per step (the
/// official runner's `--format junit` shape), skips as `<skipped/>`.
pub fn junit(results: &[StoryboardResult]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let (tests, failures): (usize, usize) =
        results.iter().fold((0, 0), |(t, f), r| (t + r.passed_count + r.failed_count + r.skipped_count, f + r.failed_count));
    let errors = results.iter().filter(|r| r.error.is_some()).count();
    let _ = writeln!(out, "<testsuites name=\"hostel storyboard run\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">");
    for r in results {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            xml(&r.storyboard_id),
            r.passed_count + r.failed_count + r.skipped_count,
            r.failed_count,
            usize::from(r.error.is_some()),
            r.skipped_count,
            r.total_duration_ms / 1000.0
        );
        if let Some(e) = &r.error {
            let _ = writeln!(
                out,
                "    <testcase name=\"load\" classname=\"{}\"><error message=\"{}\"/></testcase>",
                xml(&r.storyboard_id),
                xml(e)
            );
        }
        for s in r.phases.iter().flat_map(|p| &p.steps) {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}.{}\" time=\"{:.3}\"",
                xml(&format!("{} — {}", s.step_id, s.title)),
                xml(&r.storyboard_id),
                xml(&s.phase_id),
                s.duration_ms / 1000.0
            );
            if !s.passed {
                let why = reason(s);
                let _ = writeln!(out, "><failure message=\"{}\">{}</failure></testcase>", xml(&why), xml(&why));
            } else if s.skipped {
                let _ = writeln!(out, "><skipped message=\"{}\"/></testcase>", xml(s.skip_reason.as_deref().unwrap_or("skipped")));
            } else {
                let _ = writeln!(out, "/>");
            }
        }
        let _ = writeln!(out, "  </testsuite>");
    }
    out.push_str("</testsuites>\n");
    out
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

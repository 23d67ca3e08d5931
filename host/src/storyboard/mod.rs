//! `hostel storyboard run`: AdCP storyboards against a tenant component,
//! in-process, a fresh instance per step, throwaway state, no network but
//! the runner's own webhook receiver. Agrees step by step with the official
//! `@adcp/sdk` runner (whose behaviour each module cites).

pub mod bundle;
pub mod checks;
pub mod cli;
pub mod context;
pub mod flow;
pub mod invariants;
pub mod outcome;
pub mod path;
pub mod report;
pub mod request;
pub mod sandbox;
mod seeding;
mod step;
pub mod webhook;

/// Flags that passed steps contributed (`contributes_to`), each with the
/// first `(phase id, step id)` that contributed it.
pub type Contributions = std::collections::HashMap<String, (String, String)>;

/// One graded validation of a step, as the official runner reports it in `validations[]`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    /// The check kind (`field_present`, `response_schema`, …; `assertion` for invariants).
    pub check: String,
    /// The storyboard's description of what is checked.
    pub description: String,
    /// Whether it held.
    pub passed: bool,
    /// Why it failed (expected vs actual), or None.
    pub error: Option<String>,
}

//! Finding storyboards: YAML files, directories of them, and ids looked up
//! in a compliance bundle (the `compliance/cache/<version>/` directory of
//! `@adcp/sdk`), with `requires_scenarios` expanded the way the official
//! runner does (scenarios first, each once, no nesting).

use anyhow::{bail, Context as _, Result};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// A storyboard ready to run.
#[derive(Clone)]
pub struct Storyboard {
    /// Its `id`.
    pub id: String,
    /// The parsed YAML.
    pub doc: Value,
    /// Where it came from (for messages).
    pub path: PathBuf,
    /// The test kit named by `prerequisites.test_kit`, if any.
    pub test_kit: Option<Value>,
}

/// A compliance bundle: the root holding `index.json`, `universal/`,
/// `protocols/`, `specialisms/` and `test-kits/`.
pub struct Bundle {
    root: PathBuf,
    all: Vec<(PathBuf, Value)>,
}

/// Reads one YAML file. Errors name the file, line and column.
pub fn read_yaml(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    serde_yaml::from_str(&text).map_err(|e| anyhow::anyhow!("`{}` is not valid YAML: {e}", path.display()))
}

impl Bundle {
    /// Loads every storyboard under `root`. A file that does not parse is an
    /// error here only when it is asked for by id, so one broken file does
    /// not hide the rest.
    pub fn open(root: &Path) -> Result<Bundle> {
        anyhow::ensure!(root.is_dir(), "storyboard bundle `{}` is not a directory", root.display());
        let mut all = Vec::new();
        for path in yaml_files(root)? {
            if let Ok(doc) = read_yaml(&path) {
                if doc.get("phases").is_some() && doc.get("id").is_some() {
                    all.push((path, doc));
                }
            }
        }
        Ok(Bundle { root: root.to_owned(), all })
    }

    /// The bundle root containing `path` (the nearest ancestor with an
    /// `index.json`), so a storyboard file named directly still finds its
    /// test kit and scenarios.
    pub fn root_of(path: &Path) -> Option<PathBuf> {
        path.ancestors().skip(1).find(|d| d.join("index.json").is_file() && d.join("test-kits").is_dir()).map(Path::to_owned)
    }

    /// The bundle's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn by_id(&self, id: &str) -> Option<&(PathBuf, Value)> {
        self.all.iter().find(|(_, d)| d["id"].as_str() == Some(id))
    }

    /// The storyboard called `id`.
    pub fn get(&self, id: &str) -> Result<Storyboard> {
        let (path, doc) = self.by_id(id).with_context(|| {
            let mut known: Vec<&str> = self.all.iter().filter_map(|(_, d)| d["id"].as_str()).filter(|i| !i.contains('/')).collect();
            known.sort();
            known.dedup();
            format!("no storyboard `{id}` in bundle `{}`; known: {}", self.root.display(), known.join(", "))
        })?;
        self.storyboard(path.clone(), doc.clone())
    }

    fn storyboard(&self, path: PathBuf, mut doc: Value) -> Result<Storyboard> {
        let id = doc["id"].as_str().with_context(|| format!("`{}` has no string `id`", path.display()))?.to_owned();
        resolve_contributes(&mut doc, &id)?;
        let test_kit = match doc["prerequisites"]["test_kit"].as_str() {
            Some(kit) => Some(read_yaml(&self.root.join(kit)).with_context(|| format!("storyboard `{id}`: test kit `{kit}`"))?),
            None => None,
        };
        Ok(Storyboard { id, doc, path, test_kit })
    }
}

/// loader.js: `contributes: true` is shorthand, legal only in a phase with
/// a `branch_set`, for `contributes_to: <branch_set.id>`; a string
/// `contributes_to` there must name that same flag.
fn resolve_contributes(doc: &mut Value, id: &str) -> Result<()> {
    for phase in doc["phases"].as_array_mut().map(Vec::as_mut_slice).unwrap_or_default() {
        let flag = phase["branch_set"]["id"].as_str().map(str::to_owned);
        for step in phase["steps"].as_array_mut().map(Vec::as_mut_slice).unwrap_or_default() {
            let Some(step) = step.as_object_mut() else { continue };
            let step_id = step.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
            if let Some(shorthand) = step.remove("contributes") {
                anyhow::ensure!(
                    !step.contains_key("contributes_to"),
                    "[{id}] step '{step_id}' declares both 'contributes' and 'contributes_to' — pick one"
                );
                if shorthand == true {
                    let flag = flag.clone().with_context(|| {
                        format!("[{id}] step '{step_id}': 'contributes: true' is only legal inside a phase that declares branch_set")
                    })?;
                    step.insert("contributes_to".into(), flag.into());
                }
            } else if let (Some(to), Some(flag)) = (step.get("contributes_to").and_then(Value::as_str), &flag) {
                anyhow::ensure!(
                    to == flag,
                    "[{id}] step '{step_id}': contributes_to='{to}' must equal enclosing phase's branch_set.id='{flag}'"
                );
            }
        }
    }
    Ok(())
}

/// Resolves command-line inputs (files, directories, ids) to storyboards in
/// run order, scenarios before the storyboards that require them. Inputs
/// that cannot be used are returned as errors, one per input, so the caller
/// can report them and still run the rest.
pub fn resolve(inputs: &[String], bundle_dir: Option<&Path>) -> (Vec<Storyboard>, Vec<anyhow::Error>) {
    let mut bundles: Vec<Bundle> = Vec::new();
    let open = |root: &Path, bundles: &mut Vec<Bundle>| -> Result<usize> {
        if let Some(i) = bundles.iter().position(|b| b.root == root) {
            return Ok(i);
        }
        bundles.push(Bundle::open(root)?);
        Ok(bundles.len() - 1)
    };
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    let mut seen = HashSet::new();
    for input in inputs {
        let path = Path::new(input);
        let found: Result<Vec<(usize, Storyboard)>> = (|| {
            if path.is_file() || path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                let doc = read_yaml(path)?;
                anyhow::ensure!(doc.get("phases").is_some(), "`{}` is not a storyboard (no `phases`)", path.display());
                let root = Bundle::root_of(path).or_else(|| bundle_dir.map(Path::to_owned));
                let root = root.with_context(|| format!("`{}`: no bundle found around it; pass --bundle", path.display()))?;
                let b = open(&root, &mut bundles)?;
                Ok(vec![(b, bundles[b].storyboard(path.to_owned(), doc)?)])
            } else if path.is_dir() {
                let root = Bundle::root_of(&path.join("x")).or_else(|| bundle_dir.map(Path::to_owned)).unwrap_or_else(|| path.to_owned());
                let b = open(&root, &mut bundles)?;
                let mut found = Vec::new();
                for file in yaml_files(path)? {
                    let doc = read_yaml(&file)?;
                    // Scenario files (`a/b` ids) run through the storyboard
                    // that requires them, as in the official runner.
                    if doc.get("phases").is_some() && doc["id"].as_str().is_some_and(|id| !id.contains('/')) {
                        found.push((b, bundles[b].storyboard(file, doc)?));
                    }
                }
                anyhow::ensure!(!found.is_empty(), "no storyboards in `{}`", path.display());
                Ok(found)
            } else {
                let root = bundle_dir.with_context(|| {
                    format!("`{input}` is neither a file nor a directory, and no bundle is configured to look it up as an id (--bundle or HOSTEL_ADCP_BUNDLE)")
                })?;
                let b = open(root, &mut bundles)?;
                Ok(vec![(b, bundles[b].get(input)?)])
            }
        })();
        match found.and_then(|list| expand(list, &bundles)) {
            Ok(list) => {
                for sb in list {
                    if seen.insert(sb.id.clone()) {
                        out.push(sb);
                    }
                }
            }
            Err(e) => errors.push(e.context(format!("storyboard input `{input}`"))),
        }
    }
    (out, errors)
}

/// Puts each storyboard's `requires_scenarios` before it (comply.js
/// `expandScenarios`: unknown ids and nested requirements are errors).
fn expand(list: Vec<(usize, Storyboard)>, bundles: &[Bundle]) -> Result<Vec<Storyboard>> {
    let mut out = Vec::new();
    for (b, sb) in list {
        for scenario in sb.doc["requires_scenarios"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let id = scenario.as_str().context("requires_scenarios entries must be strings")?;
            let found = bundles[b].get(id).with_context(|| format!("storyboard `{}` requires unknown scenario `{id}`", sb.id))?;
            if found.doc["requires_scenarios"].as_array().is_some_and(|a| !a.is_empty()) {
                bail!("scenario `{id}` has requires_scenarios, but nested scenario dependencies are not supported");
            }
            out.push(found);
        }
        out.push(sb);
    }
    Ok(out)
}

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("cannot list `{}`", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "test-kits" && n != "test-vectors") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The JSON schema directory for a bundle: `--schemas` if given, else the
/// `schemas/` directory inside the bundle, else the `@adcp/sdk` layout
/// (`compliance/cache/<ver>` next to `dist/lib/schemas-data/<major>.<minor>`).
pub fn schemas_dir(explicit: Option<&Path>, bundle_root: &Path) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_owned());
    }
    let inside = bundle_root.join("schemas");
    if inside.is_dir() {
        return Some(inside);
    }
    let version = bundle_root.file_name()?.to_str()?;
    let major_minor: Vec<&str> = version.split('.').take(2).collect();
    let sdk = bundle_root.parent()?.parent()?.parent()?;
    let dir = sdk.join("dist/lib/schemas-data").join(major_minor.join("."));
    dir.is_dir().then_some(dir)
}

//! Resources: fixed URIs and RFC 6570 (level 1) URI templates, each read by
//! a handler.

use crate::content::ResourceContents;
use crate::ctx::Ctx;
use crate::tool::ToolError;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Values a template URI matched, by variable name.
pub type TemplateVars = BTreeMap<String, String>;

pub(crate) type ReadFn = Box<dyn Fn(&Ctx) -> Result<Vec<ResourceContents>, ToolError>>;
pub(crate) type TemplateReadFn = Box<dyn Fn(&str, &TemplateVars, &Ctx) -> Result<Vec<ResourceContents>, ToolError>>;

/// Listing metadata shared by resources and templates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceInfo {
    /// Display name.
    pub name: String,
    /// What it is.
    pub description: Option<String>,
    /// MIME type of its contents.
    pub mime_type: Option<String>,
}

impl ResourceInfo {
    /// Metadata with a name, description and MIME type.
    pub fn new(name: &str, description: &str, mime_type: &str) -> Self {
        ResourceInfo { name: name.into(), description: Some(description.into()), mime_type: Some(mime_type.into()) }
    }

    fn fill(&self, mut out: Value) -> Value {
        out["name"] = json!(self.name);
        if let Some(d) = &self.description {
            out["description"] = json!(d);
        }
        if let Some(m) = &self.mime_type {
            out["mimeType"] = json!(m);
        }
        out
    }
}

/// A resource at a fixed URI.
pub(crate) struct Resource {
    pub uri: String,
    pub info: ResourceInfo,
    pub read: ReadFn,
}

impl Resource {
    pub fn describe(&self) -> Value {
        self.info.fill(json!({ "uri": self.uri }))
    }
}

/// Resources whose URIs match a template such as `test://items/{id}`.
pub(crate) struct Template {
    pub uri_template: String,
    pub info: ResourceInfo,
    pub read: TemplateReadFn,
}

impl Template {
    pub fn describe(&self) -> Value {
        self.info.fill(json!({ "uriTemplate": self.uri_template }))
    }

    /// The variables `uri` binds, if it matches. A variable matches one or
    /// more characters other than `/`, `?` and `#`, so `{id}` stays inside
    /// one path segment.
    pub fn matches(&self, uri: &str) -> Option<TemplateVars> {
        match_template(&self.uri_template, uri)
    }
}

fn match_template(template: &str, uri: &str) -> Option<TemplateVars> {
    let mut vars = TemplateVars::new();
    let (mut t, mut u) = (template, uri);
    while !t.is_empty() {
        match t.find('{') {
            Some(0) => {
                let end = t.find('}')?;
                let name = &t[1..end];
                t = &t[end + 1..];
                // The literal after the variable (up to the next variable)
                // tells where the value stops.
                let literal = &t[..t.find('{').unwrap_or(t.len())];
                let limit = u.find(['/', '?', '#']).unwrap_or(u.len());
                let stop = if literal.is_empty() { limit } else { u.find(literal)? };
                if stop == 0 || stop > limit {
                    return None;
                }
                vars.insert(name.into(), u[..stop].into());
                u = &u[stop..];
            }
            Some(n) => {
                u = u.strip_prefix(&t[..n])?;
                t = &t[n..];
            }
            None => {
                return (u == t).then_some(vars);
            }
        }
    }
    u.is_empty().then_some(vars)
}

#[cfg(test)]
mod tests {
    use super::match_template;

    #[test]
    fn templates() {
        let m = match_template("test://template/{id}/data", "test://template/123/data").unwrap();
        assert_eq!(m["id"], "123");
        assert!(match_template("test://template/{id}/data", "test://template//data").is_none());
        assert!(match_template("test://template/{id}/data", "test://template/1/2/data").is_none());
        assert!(match_template("test://template/{id}/data", "test://template/1/datax").is_none());
        let m = match_template("db://{table}/{key}", "db://users/42").unwrap();
        assert_eq!((m["table"].as_str(), m["key"].as_str()), ("users", "42"));
        assert!(match_template("a://{x}", "a://").is_none());
        assert!(match_template("a://fixed", "a://fixed").is_some());
    }
}

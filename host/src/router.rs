//! Maps a request path to what serves it. Pure, so it is cheap to test and
//! to fuzz; tenant names are checked here, before any lookup. Depends on
//! nothing but `anyhow`, so the fuzz target (`host/fuzz`) can include this
//! file without building the whole host.

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// `GET /healthz`: the process is up.
    Health,
    /// `GET /readyz`: every tenant is ready.
    Ready,
    /// `GET /metrics`: Prometheus text.
    Metrics,
    /// `/admin/…`: the admin API; carries the rest of the path.
    Admin(&'a str),
    /// `/<tenant>/mcp`.
    TenantPath(&'a str),
    /// `/mcp`: the tenant comes from the `Host` header.
    HostRouted,
    /// `/<segment>/mcp` where the segment can't be a tenant name.
    BadTenant(&'a str),
    /// Anything else.
    NotFound,
}

/// Routes `path` (query already stripped).
pub fn route(path: &str) -> Route<'_> {
    match path {
        "/healthz" => return Route::Health,
        "/readyz" => return Route::Ready,
        "/metrics" => return Route::Metrics,
        "/mcp" => return Route::HostRouted,
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("/admin").filter(|r| r.is_empty() || r.starts_with('/')) {
        return Route::Admin(rest);
    }
    match path.strip_prefix('/').and_then(|p| p.strip_suffix("/mcp")) {
        Some(name) if validate_tenant_name(name).is_ok() => Route::TenantPath(name),
        Some(name) => Route::BadTenant(name),
        None => Route::NotFound,
    }
}

/// Tenant names appear in URLs and cache keys: `[a-z0-9-]{1,63}`, no leading
/// or trailing dash.
pub fn validate_tenant_name(name: &str) -> anyhow::Result<()> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if name.is_empty() || name.len() > 63 || !ok_chars || name.starts_with('-') || name.ends_with('-') {
        anyhow::bail!("invalid tenant name `{name}`: use 1-63 characters of a-z, 0-9 and `-`, not starting or ending with `-`");
    }
    // `/admin/…` is the admin API; a tenant of that name could never be reached.
    if name == "admin" {
        anyhow::bail!("invalid tenant name `admin`: reserved for the admin API");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/sales/mcp"), Route::TenantPath("sales"));
        assert_eq!(route("/mcp"), Route::HostRouted);
        assert_eq!(route("/healthz"), Route::Health);
        assert_eq!(route("/admin/tenants/a"), Route::Admin("/tenants/a"));
        assert_eq!(route("/administrator/mcp"), Route::TenantPath("administrator"));
        for bad in ["/../mcp", "/%2e%2e/mcp", "/Sales/mcp", "/a/b/mcp", "//mcp", "/säles/mcp", "/-a/mcp"] {
            assert!(matches!(route(bad), Route::BadTenant(_)), "{bad}");
        }
        assert_eq!(route("/sales/mcp/"), Route::NotFound);
        assert_eq!(route("/"), Route::NotFound);
    }
}

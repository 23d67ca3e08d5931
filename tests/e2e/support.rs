//! Test harness: start the real `hostel` binary on 127.0.0.1:0 with a
//! generated config, and talk HTTP/1.1 to it like any client would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use hostel_test_artifacts::{
    ECHO_COMPONENT, EVERYTHING_COMPONENT, KEEPER_COMPONENT, MISBEHAVE_COMPONENT, SPIN_INIT_COMPONENT, STALL_COMPONENT,
    TRAINING_AGENT_COMPONENT, UNLINKABLE_COMPONENT, WORDSMITH_COMPONENT,
};

/// The admin token of tests that set `admin_token_env = "HOSTEL_TEST_ADMIN_TOKEN"`.
pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A running `hostel serve`; killed on drop.
pub struct Hostel {
    child: Child,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

/// Default test tenants: `echo` (open) and `words` (token `tok-words`).
pub fn demo_config() -> String {
    format!(
        r#"
[[tenant]]
name = "echo"
component = "{ECHO_COMPONENT}"
hosts = ["echo.test"]

[[tenant]]
name = "words"
component = "{WORDSMITH_COMPONENT}"
tokens = ["tok-words", "tok-words-2"]
"#
    )
}

/// The AdCP training agent (`component`) as tenants `sales` and `signals`
/// (tokens `demo-sales-v1`, `demo-signals-v1`), allowed to reach loopback
/// (the storyboard runners' webhook receivers); state at `state`, or the
/// default under the server's directory.
pub fn training_agent_config(component: &str, state: Option<&str>) -> String {
    let server = state.map(|s| format!("[server]\nstate = \"{s}\"\n\n")).unwrap_or_default();
    let mut config = format!("{server}[limits]\nmax_concurrent = 256\n");
    for (name, token) in [("sales", "demo-sales-v1"), ("signals", "demo-signals-v1")] {
        config.push_str(&format!(
            "\n[[tenant]]\nname = \"{name}\"\ncomponent = \"{component}\"\ntokens = [\"{token}\"]\noutbound = [\"http://127.0.0.1:*\"]\n"
        ));
    }
    config
}

impl Hostel {
    /// Starts with `config` in a fresh temp dir and waits until ready.
    pub fn start(config: &str) -> Hostel {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut h = Hostel::start_in(&dir, config);
        h._tmp = Some(tmp);
        h
    }

    /// Starts with `config` in `dir` (cache under `dir/cache`), ready.
    pub fn start_in(dir: &Path, config: &str) -> Hostel {
        let h = Hostel::spawn(dir, config);
        h.wait_ready();
        h
    }

    /// Starts without waiting for tenants.
    pub fn spawn(dir: &Path, config: &str) -> Hostel {
        Hostel::spawn_with(dir, config, &[])
    }

    /// Starts with extra `serve` arguments (e.g. `--log-format json`), ready.
    pub fn start_with(config: &str, extra: &[&str]) -> Hostel {
        let tmp = tempfile::tempdir().unwrap();
        let mut h = Hostel::spawn_with(tmp.path(), config, extra);
        h.wait_ready();
        h._tmp = Some(tmp);
        h
    }

    fn spawn_with(dir: &Path, config: &str, extra: &[&str]) -> Hostel {
        std::fs::write(dir.join("hostel.toml"), config).unwrap();
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_hostel"))
            .arg("serve")
            .arg("--config")
            .arg(dir.join("hostel.toml"))
            .args(["--listen", "127.0.0.1:0", "--cache-dir"])
            .arg(dir.join("cache"))
            .args(extra)
            .env("RUST_LOG", "info")
            // Named by configs that enable the admin API (`admin_token_env`).
            .env("HOSTEL_TEST_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("HOSTEL_TEST_SHORT_TOKEN", "short")
            // Relative paths in the config (the default `.hostel/state.db`)
            // land in the test's own directory.
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn hostel");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("hostel listening on http://")
            .unwrap_or_else(|| {
                panic!("unexpected first line {line:?}; stderr: {}", std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default())
            })
            .parse()
            .unwrap();
        Hostel { child, addr, dir: dir.to_path_buf(), _tmp: None }
    }

    /// See [`call_tool`].
    pub fn call_tool(&self, tenant: &str, tool: &str, args: serde_json::Value) -> Result<serde_json::Value, String> {
        call_tool(self.addr, tenant, tool, args)
    }

    /// Polls `/readyz` until 200 (at most 120 s: a cold compile in debug).
    pub fn wait_ready(&self) {
        let start = Instant::now();
        loop {
            if let Ok(r) = self.try_request("GET", "/readyz", &[], b"") {
                if r.status == 200 {
                    return;
                }
            }
            assert!(start.elapsed() < Duration::from_secs(120), "hostel never became ready: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's log so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// One request on a new connection.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        self.try_request(method, path, headers, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn try_request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<Resp> {
        http(self.addr, method, path, headers, body)
    }

    /// POSTs a JSON-RPC body to `/<tenant>/mcp` with MCP's usual headers.
    pub fn rpc(&self, tenant: &str, body: &str, extra: &[(&str, &str)]) -> Resp {
        let mut headers = vec![("content-type", "application/json"), ("accept", "application/json, text/event-stream")];
        headers.extend_from_slice(extra);
        self.request("POST", &format!("/{tenant}/mcp"), &headers, body.as_bytes())
    }

    /// Value of a `/metrics` sample (0 when absent).
    pub fn metric(&self, sample: &str) -> u64 {
        let text = self.request("GET", "/metrics", &[], b"").text();
        text.lines().find_map(|l| l.strip_prefix(sample).and_then(|rest| rest.trim().parse().ok())).unwrap_or(0)
    }

    /// Sends signal `sig` (e.g. `HUP`) to the server.
    pub fn signal(&self, sig: &str) {
        Command::new("kill").args([&format!("-{sig}"), &self.child.id().to_string()]).status().unwrap();
    }

    /// SIGTERMs the server and waits for it to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }

    /// SIGKILLs the server and waits for it.
    /// Resident memory of the server process, bytes (Linux `/proc`).
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).unwrap().trim().trim_end_matches(" kB").trim().parse().unwrap();
        kb * 1024
    }

    /// SIGKILL: no shutdown, no flushing (crash-safety tests).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Hostel {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("status {} body {:?} is not JSON: {e}", self.status, self.text()))
    }
}

/// Minimal HTTP/1.1 client: one request per connection, Content-Length
/// bodies (all Hostel sends). Raw so tests can send what real clients would
/// not (bad headers, huge bodies).
pub fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n", body.len());
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| std::io::Error::other(format!("unparseable response: {:?}", String::from_utf8_lossy(&raw))))
}

fn parse_response(raw: &[u8]) -> Option<Resp> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    Some(Resp { status, headers, body: raw[split + 4..].to_vec() })
}

/// Calls `tool` on `tenant` with `args`: `Ok(structuredContent)` on
/// success, `Err(text)` for an `isError` result; panics on anything else
/// (HTTP or JSON-RPC errors), with the response in the message.
pub fn call_tool(addr: SocketAddr, tenant: &str, tool: &str, args: serde_json::Value) -> Result<serde_json::Value, String> {
    call_tool_as(addr, tenant, None, tool, args).map_err(|e| e["content"][0]["text"].as_str().unwrap_or_default().to_owned())
}

/// [`call_tool`] with a bearer token; an `isError` result comes back
/// whole (`Err(result)`), for tests that inspect structured errors.
pub fn call_tool_as(
    addr: SocketAddr,
    tenant: &str,
    token: Option<&str>,
    tool: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, serde_json::Value> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": args}});
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json"), ("accept", "application/json, text/event-stream")];
    if let Some(b) = &bearer {
        headers.push(("authorization", b.as_str()));
    }
    let r = http(addr, "POST", &format!("/{tenant}/mcp"), &headers, body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("{tool} on {tenant}: {e}"));
    assert_eq!(r.status, 200, "{tool} on {tenant}: {}", r.text());
    let v = r.json();
    let result = v.get("result").unwrap_or_else(|| panic!("{tool} on {tenant}: no result in {v}"));
    if result["isError"] == true {
        return Err(result.clone());
    }
    Ok(result["structuredContent"].clone())
}

/// Runs `f(0..n)` on `n` threads released together; results in order.
pub fn parallel<T: Send + 'static>(n: usize, f: impl Fn(usize) -> T + Send + Sync + 'static) -> Vec<T> {
    let f = std::sync::Arc::new(f);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (f, barrier) = (f.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                f(i)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Which state backend a test runs against.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A state URL for one test under `dir`, and what must live as long as it
/// (the Postgres database, dropped afterwards).
pub fn state_for(backend: Backend, dir: &Path) -> (String, Option<PgDatabase>) {
    match backend {
        Backend::Sqlite => (format!("sqlite://{}/state/hostel.db", dir.display()), None),
        Backend::Postgres => {
            let db = PgDatabase::create();
            (db.url.clone(), Some(db))
        }
    }
}

/// A fresh database on the test PostgreSQL server, dropped afterwards.
pub struct PgDatabase {
    admin: String,
    name: String,
    /// Connection URL of the new database.
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let admin = std::env::var("HOSTEL_TEST_POSTGRES").expect(
            "HOSTEL_TEST_POSTGRES must name a PostgreSQL server the tests may create databases on, \
             e.g. postgres://hostel:hostel@127.0.0.1:5432/postgres (`.ci/run` installs and starts one)",
        );
        let name = format!("hostel_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        admin_sql(&admin, &format!("CREATE DATABASE {name}"));
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
        PgDatabase { url: format!("{base}/{name}"), admin, name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        admin_sql(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn admin_sql(admin: &str, sql: &str) {
    use sqlx::{Connection, Executor};
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut conn = sqlx::PgConnection::connect(admin).await.unwrap_or_else(|e| panic!("connect to {admin}: {e}"));
        conn.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    });
}

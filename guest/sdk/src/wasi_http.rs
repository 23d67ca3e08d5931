//! Glue between the two request exports (`wasi:http/incoming-handler` and
//! the lean `hostel:lean/handler`) and [`Server::handle`].

use crate::http::{HttpRequest, HttpResponse};
use crate::server::{MakeServer, Server};
use crate::Prebuilt;
use wasip2::http::types::{Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam};
use wasip2::io::streams::{InputStream, StreamError};

/// Reads the whole request, runs the server, writes the response.
pub fn serve<M>(make: &impl MakeServer<M>, prebuilt: &Prebuilt<Server>, request: IncomingRequest, out: ResponseOutparam) {
    let response = match read_request(request) {
        Ok(req) => make.with_server(prebuilt, &req, |server| server.handle(&req)),
        Err(msg) => HttpResponse::json(
            400,
            &crate::jsonrpc::RpcError::new(crate::jsonrpc::INVALID_REQUEST, msg).to_response(&serde_json::Value::Null),
        ),
    };
    write_response(response, out);
}

/// The lean export: the host already read the request; no streams.
pub fn serve_lean<M>(
    make: &impl MakeServer<M>,
    prebuilt: &Prebuilt<Server>,
    request: crate::lean::exports::hostel::lean::handler::Request,
) -> crate::lean::exports::hostel::lean::handler::Response {
    let req = HttpRequest { method: request.method, path: request.path, headers: request.headers, body: request.body };
    let resp = make.with_server(prebuilt, &req, |server| server.handle(&req));
    let mut headers = resp.headers;
    headers.push(("content-length".into(), resp.body.len().to_string()));
    crate::lean::exports::hostel::lean::handler::Response { status: resp.status, headers, body: resp.body }
}

fn read_request(request: IncomingRequest) -> Result<HttpRequest, String> {
    let method = match request.method() {
        Method::Get => "GET".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::Delete => "DELETE".to_owned(),
        Method::Head => "HEAD".to_owned(),
        Method::Options => "OPTIONS".to_owned(),
        Method::Patch => "PATCH".to_owned(),
        Method::Connect => "CONNECT".to_owned(),
        Method::Trace => "TRACE".to_owned(),
        Method::Other(m) => m,
    };
    let path = request.path_with_query().unwrap_or_else(|| "/".into());
    let headers =
        request.headers().entries().into_iter().map(|(k, v)| (k.to_ascii_lowercase(), String::from_utf8_lossy(&v).into_owned())).collect();
    let body_res = request.consume().map_err(|()| "request body unavailable".to_string())?;
    let stream = body_res.stream().map_err(|()| "request body stream unavailable".to_string())?;
    // The host already bounds request bodies (`max_body_bytes`).
    let body = read_to_end(&stream, usize::MAX, "request body")?;
    drop(stream);
    Ok(HttpRequest { method, path, headers, body })
}

/// Reads `stream` to its end, at most `max` bytes; `what` names it in
/// errors. A stream that fails before its end is an error, never a
/// shorter body.
pub(crate) fn read_to_end(stream: &InputStream, max: usize, what: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) if bytes.len() + chunk.len() > max => return Err(format!("{what} over {max} bytes")),
            Ok(chunk) => bytes.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok(bytes),
            Err(StreamError::LastOperationFailed(e)) => return Err(format!("reading {what}: {}", e.to_debug_string())),
        }
    }
}

fn write_response(response: HttpResponse, out: ResponseOutparam) {
    let mut entries: Vec<(String, Vec<u8>)> = response.headers.into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
    entries.push(("content-length".into(), response.body.len().to_string().into_bytes()));
    let Ok(fields) = Fields::from_list(&entries) else {
        ResponseOutparam::set(out, Err(wasip2::http::types::ErrorCode::InternalError(Some("invalid response header".into()))));
        return;
    };
    let resp = OutgoingResponse::new(fields);
    let _ = resp.set_status_code(response.status);
    let Ok(body) = resp.body() else { return };
    // Set the response before writing so the host can stream the body out.
    ResponseOutparam::set(out, Ok(resp));
    if let Ok(stream) = body.write() {
        for chunk in response.body.chunks(4096) {
            // Once the client has all `content-length` bytes the stream may
            // report Closed: the answer is delivered, so stop quietly.
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
        drop(stream);
    }
    let _ = OutgoingBody::finish(body, None);
}

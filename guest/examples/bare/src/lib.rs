//! The floor under every SDK guest: reads the request body, answers a fixed
//! JSON-RPC result, no JSON parsing. Benchmarks subtract this from the echo
//! guest to see what the SDK costs.

use wasip2::http::types::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};

struct Bare;

const BODY: &[u8] = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}"#;

impl wasip2::exports::http::incoming_handler::Guest for Bare {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        if let Ok(body) = request.consume() {
            if let Ok(stream) = body.stream() {
                while stream.blocking_read(16 * 1024).is_ok() {}
            }
        }
        let fields = Fields::from_list(&[
            ("content-type".to_string(), b"application/json".to_vec()),
            ("content-length".to_string(), BODY.len().to_string().into_bytes()),
        ])
        .expect("static headers are valid");
        let resp = OutgoingResponse::new(fields);
        let body = resp.body().expect("first call to body()");
        ResponseOutparam::set(out, Ok(resp));
        if let Ok(stream) = body.write() {
            let _ = stream.blocking_write_and_flush(BODY);
        }
        let _ = OutgoingBody::finish(body, None);
    }
}

wasip2::http::proxy::export!(Bare);

//! Test guest for the host's deadline on response bodies: it sends headers
//! promising 1000 bytes, writes 10, then waits forever (blocked in the
//! host, not spinning). The host must answer 504, never a truncated 200.

use wasip2::http::types::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};

struct Stall;

impl wasip2::exports::http::incoming_handler::Guest for Stall {
    fn handle(_request: IncomingRequest, out: ResponseOutparam) {
        let fields = Fields::from_list(&[
            ("content-type".to_string(), b"application/json".to_vec()),
            ("content-length".to_string(), b"1000".to_vec()),
        ])
        .expect("static headers are valid");
        let resp = OutgoingResponse::new(fields);
        let body = resp.body().expect("first call to body()");
        ResponseOutparam::set(out, Ok(resp));
        if let Ok(stream) = body.write() {
            let _ = stream.blocking_write_and_flush(b"{\"partial\"");
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
    }
}

wasip2::http::proxy::export!(Stall);

//! Imports `example:missing/clock`, which Hostel does not provide: linking
//! must fail with a clear error and leave running tenants alone.

use wasip2::http::types::{IncomingRequest, ResponseOutparam};

wit_bindgen::generate!({
    inline: "
        package example:missing;
        interface clock { now: func() -> u64; }
        world needs-clock { import clock; }
    ",
    world: "needs-clock",
});

struct Unlinkable;

impl wasip2::exports::http::incoming_handler::Guest for Unlinkable {
    fn handle(_request: IncomingRequest, _out: ResponseOutparam) {
        // Using the import keeps it in the component.
        let _ = example::missing::clock::now();
    }
}

wasip2::http::proxy::export!(Unlinkable);

//! Paths of Hostel's example guest components, compiled for wasm32-wasip2 by
//! this crate's build script. Used by tests, benches and the demo config.
#![deny(missing_docs)]

include!(concat!(env!("OUT_DIR"), "/components.rs"));

//! End-to-end tests: the real `hostel` binary on 127.0.0.1:0, real HTTP,
//! real guest components built by `hostel-test-artifacts`.

mod support;

mod adcp;
mod admin;
mod cache;
mod conformance;
mod entry;
mod errors;
mod faults;
mod hostile;
mod lazy;
mod mcp;
mod observability;
mod outbound;
mod packaging;
mod preinit;
mod python_client;
mod race;
mod state;
mod storyboard;

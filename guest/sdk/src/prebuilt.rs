//! Values built once per instance image instead of once per request.
//!
//! Hostel pre-initializes SDK guests at deploy: it calls the component's
//! `hostel:lean/init` export once, snapshots linear memory, and starts
//! every request's fresh instance from that snapshot. Whatever a
//! [`Prebuilt`] holds after `init` is therefore already there when a
//! request arrives. Under a host that does not pre-initialize, the value is
//! built on first use, once per instance, which costs what building it per
//! request did.

use std::cell::OnceCell;

/// A value built at pre-initialization (or on first use) and then only
/// read. Keep it in a `static` and fill it from a function the component's
/// `init` runs (see [`export!`](crate::export)'s `init = ...`).
///
/// Only deterministic setup belongs here: registries, schemas, parsed
/// catalogs. Time, randomness and host resources taken during `init` would
/// be frozen into every later instance.
pub struct Prebuilt<T> {
    cell: OnceCell<T>,
}

// SAFETY: a component on wasm32 without the `atomics` feature runs on
// exactly one thread, so the cell can never be reached from two threads.
// Natively (SDK unit tests) the type is not `Sync`, so it cannot be put in
// a `static` there.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
unsafe impl<T> Sync for Prebuilt<T> {}

impl<T> Prebuilt<T> {
    /// An empty slot, for a `static`.
    pub const fn new() -> Self {
        Prebuilt { cell: OnceCell::new() }
    }

    /// The value, built by `build` if this instance image does not have it yet.
    pub fn get_or_init(&self, build: impl FnOnce() -> T) -> &T {
        self.cell.get_or_init(build)
    }
}

impl<T> Default for Prebuilt<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::Prebuilt;

    #[test]
    fn builds_once() {
        let slot = Prebuilt::new();
        let mut builds = 0;
        assert_eq!(
            *slot.get_or_init(|| {
                builds += 1;
                7
            }),
            7
        );
        assert_eq!(*slot.get_or_init(|| 8), 7, "a second build must not replace the first value");
        assert_eq!(builds, 1);
    }
}

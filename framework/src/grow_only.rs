//! Tables that only grow, read by id on the request path without taking their lock.
//!
//! The prepared headers and the metric series extensions name by id live in process-wide
//! tables whose entries never change once added. Each thread reads its own copy of such a
//! table: a copy is never wrong, only short, and is brought up to date when an id past its
//! end is asked for. A read lock instead cost two atomic read-modify-writes on every use (a
//! prepared header set, a counter added), each as dear as the work it guarded.

use std::cell::RefCell;
use std::thread::LocalKey;

use parking_lot::RwLock;

/// `read` given entry `id` of `table`, read from this thread's `copy` of it; none for an id
/// the table does not have. The entry is lent rather than returned, so a caller that only
/// looks copies nothing.
pub(crate) fn read<T: Clone + 'static, R>(
    copy: &'static LocalKey<RefCell<Vec<T>>>,
    table: &RwLock<Vec<T>>,
    id: u32,
    read: impl FnOnce(&T) -> R,
) -> Option<R> {
    let id = id as usize;
    copy.with_borrow_mut(|copy| {
        if id >= copy.len() {
            copy.clone_from(&table.read());
        }
        copy.get(id).map(read)
    })
}

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
    let mut read = Some(read);
    let from_copy = copy.try_with(|copy| {
        let mut copy = copy.borrow_mut();
        if id >= copy.len() {
            // Copied again only when the table has grown: an id it does not have (a faulty
            // extension's) costs a read lock, not a copy of every entry each time.
            let table = table.read();
            if table.len() > copy.len() {
                copy.clone_from(&table);
            }
        }
        copy.get(id)
            .map(|entry| read.take().map(|read| read(entry)))
    });
    match from_copy {
        Ok(found) => found.flatten(),
        // The thread is exiting and its copy is gone (an update from a thread-local's
        // destructor): read the table itself.
        Err(_) => {
            let table = table.read();
            let entry = table.get(id)?;
            read.take().map(|read| read(entry))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use parking_lot::RwLock;

    static TABLE: RwLock<Vec<u32>> = RwLock::new(Vec::new());
    thread_local! {
        static COPY: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    }

    #[test]
    fn an_entry_added_after_the_copy_was_made_is_found_and_an_unknown_id_is_none() {
        TABLE.write().push(10);
        assert_eq!(super::read(&COPY, &TABLE, 0, |v| *v), Some(10));
        TABLE.write().push(11);
        assert_eq!(super::read(&COPY, &TABLE, 1, |v| *v), Some(11));
        assert_eq!(super::read(&COPY, &TABLE, 7, |v| *v), None);
        assert_eq!(
            COPY.with_borrow(Vec::len),
            2,
            "the copy is the table, no more"
        );
    }
}

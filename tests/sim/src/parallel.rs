//! Work spread over the driver's clients: each worker thread has its own client (its own
//! keep-alive connections) and takes the next item until none is left.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::client::Client;

/// Runs `f` on every item with the clients as workers; the results come back in the items' order.
pub fn each<T: Send, R: Send>(clients: &mut [Client], items: Vec<T>, f: impl Fn(&Client, T) -> R + Sync) -> Vec<R> {
    let n = items.len();
    if n == 0 {
        return Vec::new();
    }
    if n == 1 || clients.len() == 1 {
        return items.into_iter().map(|item| f(&clients[0], item)).collect();
    }
    let items: Vec<Mutex<Option<T>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for client in clients.iter_mut().take(n) {
            let (items, results, next, f) = (&items, &results, &next, &f);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n {
                        break;
                    }
                    let item = items[i].lock().unwrap().take().expect("each item once");
                    let r = f(client, item);
                    *results[i].lock().unwrap() = Some(r);
                }
            });
        }
    });
    results.into_iter().map(|r| r.into_inner().unwrap().expect("every item ran")).collect()
}

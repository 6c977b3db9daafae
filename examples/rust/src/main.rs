//! The binary half of the example: it drives the shop library through methods, trait default
//! methods, closures, threads, an early return and a panic that it catches. Its output is
//! deterministic.
#![deny(unsafe_code)]

use std::panic;
use std::thread;

use telemetry_demo::shop::{Cart, Describe, Stack};

fn noop() {}

fn square(n: u64) -> u64 {
    n * n
}

/// Squares computed on threads, each joined in order.
fn squares(n: u64) -> Vec<u64> {
    let handles: Vec<_> = (0..n).map(|i| thread::spawn(move || square(i))).collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// Turns the panic of an empty cart into an error.
fn safe_checkout(cart: &Cart) -> Result<u64, String> {
    panic::catch_unwind(panic::AssertUnwindSafe(|| cart.checkout())).map_err(|e| {
        let message = e.downcast_ref::<&str>().copied().unwrap_or("unknown");
        format!("recovered: {}", message)
    })
}

fn main() {
    println!("telemetry demo");
    noop();
    let mut cart = Cart::default();
    for (name, price, qty) in [("apple", 50, 3), ("pear", 120, 1), ("plum", 80, 1)] {
        if let Err(e) = cart.add(name, price, qty) {
            println!("error: {}", e);
        }
    }
    println!("items: {}", cart.names().join(", "));
    println!("subtotal: {}", cart.subtotal(10));
    println!("checkout: {:?}", safe_checkout(&cart));
    println!("empty checkout: {:?}", safe_checkout(&Cart::default()));
    let labels: Vec<Box<dyn Fn() -> String>> = ["one", "two"]
        .iter()
        .map(|word| -> Box<dyn Fn() -> String> { Box::new(move || { word.to_uppercase() }) })
        .collect();
    for label in &labels {
        println!("label: {}", label());
    }
    println!("squares: {:?}", squares(4));
    let mut stack = Stack::new();
    stack.push(1);
    stack.push(2);
    println!("stack: {} {}", stack.len(), stack.describe());
    println!("history: {}", cart.describe());
}

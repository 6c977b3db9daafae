use std::collections::HashMap;
use std::fmt;

use super::{Describe, Stack};

/// One line of a cart; prices in cents.
#[derive(Debug, Clone)]
pub struct Item {
    pub name: String,
    pub price: u64,
    pub qty: u64,
}

impl Item {
    pub fn total(&self) -> u64 { self.price * self.qty }
}

#[derive(Debug)]
pub struct OutOfStock(pub String);

impl fmt::Display for OutOfStock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "add {}: out of stock", self.0)
    }
}

#[derive(Default)]
pub struct Cart {
    items: Vec<Item>,
    log: Stack<String>,
}

fn stock() -> HashMap<&'static str, u64> {
    [("apple", 5), ("pear", 2), ("plum", 0)].into_iter().collect()
}

/// Checks the stock; an early return on the error path.
fn reserve(name: &str, qty: u64) -> Result<(), OutOfStock> {
    let available = stock().get(name).copied().unwrap_or(0);
    if available < qty {
        return Err(OutOfStock(name.to_string()));
    }
    Ok(())
}

impl Cart {
    pub fn add(&mut self, name: &str, price: u64, qty: u64) -> Result<(), OutOfStock> {
        reserve(name, qty)?;
        self.items.push(Item { name: name.to_string(), price, qty });
        self.log.push(format!("add {}", name));
        Ok(())
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.items.iter().map(|i| i.name.clone()).collect();
        names.sort_by(|a, b| {
            b.cmp(a)
        });
        names
    }

    /// A nested function does the arithmetic.
    pub fn subtotal(&self, percent_off: u64) -> u64 {
        fn discounted(cents: u64, percent_off: u64) -> u64 {
            cents * (100 - percent_off) / 100
        }
        self.items.iter().map(|i| discounted(i.total(), percent_off)).sum()
    }

    /// Panics on an empty cart.
    pub fn checkout(&self) -> u64 {
        if self.items.is_empty() {
            panic!("checkout of an empty cart");
        }
        self.items.iter().map(Item::total).sum()
    }
}

impl Describe for Cart {
    fn label(&self) -> String {
        self.log.items().join("; ")
    }
}

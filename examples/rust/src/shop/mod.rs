//! A cart with methods, a generic stack, a trait with a default method, an error return and a
//! panic that the binary catches.

mod cart;
mod stack;

pub use cart::Cart;
pub use stack::Stack;

/// Something with a one-line description; the default method is instrumented too.
pub trait Describe {
    fn label(&self) -> String;

    fn describe(&self) -> String {
        format!("<{}>", self.label())
    }
}

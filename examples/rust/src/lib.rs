//! The library half of the example. It has no function of its own: the crate root only
//! declares modules, as many real crates do.

pub mod shop;

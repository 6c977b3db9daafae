// Calls a tiny function N times; prints nanoseconds per call (loop included).
use std::hint::black_box;
use std::time::Instant;

#[inline(never)]
fn tiny(x: u64) -> u64 {
    x + 1
}

fn run(n: u64) -> u128 {
    let t0 = Instant::now();
    let mut x = 0;
    for _ in 0..n {
        x = black_box(tiny(black_box(x)));
    }
    let ns = t0.elapsed().as_nanos();
    assert_eq!(x, n);
    ns
}

fn main() {
    let n: u64 = std::env::args().nth(1).unwrap().parse().unwrap();
    println!("{}", run(n) as f64 / n as f64);
}

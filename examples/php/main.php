<?php
// The example program: it drives the shop library through methods, a static method, a
// constructor, closures, a generator, an early return and an exception it catches. Its output
// is deterministic.
declare(strict_types=1);

require_once __DIR__ . '/src/Cart.php';

use Shop\Cart;
use Shop\EmptyCart;
use Shop\OutOfStock;

function noop(): void {}

function square(int $n): int
{
    return $n * $n;
}

/** Squares from a generator; exits are recorded when it is exhausted. */
function squares(int $n): iterable
{
    for ($i = 0; $i < $n; $i++) {
        yield square($i);
    }
}

/** Turns the exception of an empty cart into a message. */
function safe_checkout(Cart $cart): string
{
    try {
        return (string) $cart->checkout();
    } catch (EmptyCart $e) {
        return 'recovered: ' . $e->getMessage();
    }
}

function main(): void
{
    echo "telemetry demo\n";
    noop();
    $cart = new Cart('ada');
    foreach ([['apple', 50, 3], ['pear', 120, 1], ['plum', 80, 1]] as [$name, $price, $qty]) {
        try {
            $cart->add($name, $price, $qty);
        } catch (OutOfStock $e) {
            echo 'error: ', $e->getMessage(), "\n";
        }
    }
    echo 'items: ', implode(', ', $cart->names()), "\n";
    echo 'subtotal: ', $cart->subtotal(10), "\n";
    echo 'checkout: ', safe_checkout($cart), "\n";
    echo 'empty checkout: ', safe_checkout(new Cart('bob')), "\n";
    $labels = array_map(function (string $word) use ($cart): string {
        return strtoupper($word) . '@' . $cart->owner;
    }, ['one', 'two']);
    echo 'labels: ', implode(' ', $labels), "\n";
    $double = fn (int $x): int => $x * 2;
    echo 'double: ', $double(21), "\n";
    echo 'squares: ', implode(',', iterator_to_array(squares(4))), "\n";
    echo 'history: ', Cart::describe($cart), "\n";
}

main();

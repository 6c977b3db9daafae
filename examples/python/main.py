#!/usr/bin/env python3
"""Run the shop: fill a cart, print it, check out twice (the second time fails)."""

import asyncio

from shop.cart import Cart, OutOfStock


def checkout(cart: Cart) -> str:
    try:
        cart.reserve()
    except OutOfStock as exc:
        return f"out of stock: {exc}"
    total = cart.subtotal() + Cart.tax(cart.subtotal())
    return asyncio.run(cart.pay(total))


def main() -> None:
    cart = Cart(stock={"apple": 5, "pear": 1})
    cart.add("apple", 120, 3)
    cart.add("pear", 250)
    cart.add("ghost", 999, 0)
    for line in cart.lines():
        print(line)
    print(checkout(cart))
    print(checkout(cart))


if __name__ == "__main__":
    main()

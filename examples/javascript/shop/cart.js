"use strict";
// The cart: a CommonJS module with a class, private and static members, a getter,
// a generator, an async method and an error that its caller catches.
const inventory = require("./inventory.cjs");

class OutOfStock extends Error {
  constructor(item) {
    super(item);
    this.name = "OutOfStock";
  }
}

class Cart {
  static TAX = 0.2;
  #items = [];
  events = [];
  log = (what) => {
    this.events.push(what);
  };

  constructor(owner) {
    this.owner = owner;
  }

  add(name, qty) {
    if (qty <= 0) {
      return false;
    }
    this.#reserve(name, qty);
    this.#items.push({ name, qty, price: inventory.price(name) });
    this.log(`add ${name}`);
    return true;
  }

  #reserve(name, qty) {
    if (!inventory.take(name, qty)) {
      throw new OutOfStock(name);
    }
  }

  get count() {
    return this.#items.reduce((n, item) => n + item.qty, 0);
  }

  *lines() {
    for (const item of this.#items) {
      yield `${item.qty} x ${item.name}`;
    }
  }

  subtotal() {
    const discounted = (item) => {
      const price = item.price * item.qty;
      return item.qty >= 3 ? price * 0.9 : price;
    };
    return this.#items.map(discounted).reduce((a, b) => a + b, 0);
  }

  async settle(coupon) {
    await new Promise((resolve) => setImmediate(resolve));
    const sub = this.subtotal();
    this.log("settle");
    return Cart.withTax(coupon ? sub - coupon : sub);
  }

  static withTax(amount) { return Math.round(amount * (1 + Cart.TAX) * 100) / 100; }
}

module.exports = { Cart, OutOfStock };

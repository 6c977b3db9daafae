#!/usr/bin/env node
// A small shop: an ESM entry point over CommonJS and ESM modules.
import { Cart } from "./shop/cart.js";
import banner, { money, table } from "./shop/format.mjs";
import inventory from "./shop/inventory.cjs";

async function checkout(cart, coupon) {
  const total = await cart.settle(coupon);
  return money(total);
}

async function main() {
  console.log(banner("shop"));
  const cart = new Cart("ana");
  cart.add("apple", 3);
  cart.add("pear", 0); // ignored: early return
  cart.add("plum", 4);
  try {
    cart.add("pear", 9);
  } catch (err) {
    console.log(`caught ${err.name}: ${err.message}`);
  }
  for (const line of cart.lines()) {
    console.log(line);
  }
  console.log("items:", cart.count);
  console.log("total:", await checkout(cart, 0.5));
  console.log(table([["fruit", "stock"], ...[...inventory.names()].map((n) => [n, inventory.left(n)])]));
  console.log("pair under 0.8:", inventory.findPair(0.8).join("+"));
  const { strictThis, sloppyThis } = inventory; // called without a receiver
  console.log("this in strict:", strictThis(), "sloppy:", sloppyThis());
  console.log("events:", cart.events.join(", "));
}

await main();

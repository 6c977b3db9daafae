// Stock levels: object-literal methods, a labelled loop, and function-level directives.
const stock = { apple: 5, pear: 2, plum: 10 };
const prices = { apple: 0.5, pear: 0.75, plum: 0.2 };

function strictThis() {
  "use strict";
  return typeof this;
}

function sloppyThis() {
  return typeof this;
}

const inventory = {
  take(name, qty) {
    if ((stock[name] || 0) < qty) return false;
    stock[name] -= qty;
    return true;
  },
  price: function (name) { return prices[name]; },
  left: (name) => {
    return stock[name];
  },
  *names() {
    yield* Object.keys(stock).sort();
  },
  findPair(limit) {
    let found = null;
    outer: for (const a of Object.keys(prices)) {
      for (const b of Object.keys(prices)) {
        if (a !== b && prices[a] + prices[b] <= limit) {
          found = [a, b];
          break outer;
        }
      }
    }
    return found;
  },
  strictThis,
  sloppyThis,
};

module.exports = inventory;

"""Shopping cart with prices, discounts and a checkout that can fail."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


class OutOfStock(Exception):
    pass


@dataclass
class Item:
    name: str
    price_cents: int
    quantity: int = 1

    @property
    def total(self) -> int:
        return self.price_cents * self.quantity


@dataclass
class Cart:
    items: list[Item] = field(default_factory=list)
    stock: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, price_cents: int, quantity: int = 1) -> None:
        if quantity <= 0:
            return  # early return: nothing to add
        self.items.append(Item(name, price_cents, quantity))

    def lines(self):
        """Yield one formatted line per item."""
        for item in self.items:
            yield f"{item.quantity} x {item.name:<8} {item.total / 100:>7.2f}"

    def subtotal(self) -> int:
        def discounted(item: Item) -> int:
            if item.quantity >= 3:
                return item.total * 9 // 10
            return item.total

        return sum(discounted(i) for i in self.items)

    @staticmethod
    def tax(amount: int) -> int:
        return amount * 8 // 100

    def reserve(self) -> None:
        for item in self.items:
            if self.stock.get(item.name, 0) < item.quantity:
                raise OutOfStock(item.name)
            self.stock[item.name] -= item.quantity

    async def pay(self, amount: int) -> str:
        await asyncio.sleep(0)
        return f"paid {amount / 100:.2f}"

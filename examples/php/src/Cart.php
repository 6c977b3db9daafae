<?php

declare(strict_types=1);

namespace Shop;

final class OutOfStock extends \RuntimeException {}

final class EmptyCart extends \LogicException {}

/** Something with a one-line label; the trait's method is instrumented too. */
trait Labelled
{
    public function label(): string
    {
        return '<' . implode('; ', $this->history()) . '>';
    }
}

interface HasHistory
{
    public function history(): array;
}

/**
 * A cart: a constructor with a promoted property, instance and static methods, an abstract-free
 * interface implementation, an early return and an exception.
 */
final class Cart implements HasHistory
{
    use Labelled;

    private const STOCK = ['apple' => 5, 'pear' => 2, 'plum' => 0];

    /** @var list<array{string, int, int}> */
    private array $items = [];
    /** @var list<string> */
    private array $log = [];

    public function __construct(public string $owner)
    {
        $this->owner = ucfirst($owner);
    }

    public static function describe(self $cart): string
    {
        return $cart->label();
    }

    public function add(string $name, int $price, int $qty): self
    {
        $this->reserve($name, $qty);
        $this->items[] = [$name, $price, $qty];
        $this->log[] = "add $name";
        return $this;
    }

    /** @return list<string> */
    public function names(): array
    {
        $names = array_column($this->items, 0);
        usort($names, static function (string $a, string $b): int { return $b <=> $a; });
        return $names;
    }

    public function subtotal(int $percentOff): int
    {
        $sum = 0;
        foreach ($this->items as [, $price, $qty]) {
            $sum += intdiv($price * $qty * (100 - $percentOff), 100);
        }
        return $sum;
    }

    public function checkout(): int
    {
        if ($this->items === []) {
            throw new EmptyCart('checkout of an empty cart');
        }
        return array_sum(array_map(fn (array $i): int => $i[1] * $i[2], $this->items));
    }

    public function history(): array
    {
        return $this->log;
    }

    private function reserve(string $name, int $qty): bool
    {
        if ((self::STOCK[$name] ?? 0) >= $qty) {
            return true;
        }
        throw new OutOfStock("add $name: out of stock");
    }
}

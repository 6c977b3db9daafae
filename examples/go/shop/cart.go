// Package shop is the library half of the example: a cart with methods, a generic stack,
// error returns and a panic that its caller recovers from.
package shop

import (
	"errors"
	"fmt"
	"sort"
)

// ErrOutOfStock is returned when an item cannot be reserved.
var ErrOutOfStock = errors.New("out of stock")

var stock = map[string]int{"apple": 5, "pear": 2, "plum": 0}

// Item is one line of a cart.
type Item struct {
	Name  string
	Price int // cents
	Qty   int
}

// Total is a method with a value receiver.
func (i Item) Total() int { return i.Price * i.Qty }

// Cart holds items; its methods have pointer receivers.
type Cart struct {
	items []Item
	log   Stack[string]
}

// Add reserves stock and adds an item; it returns an error when there is not enough.
func (c *Cart) Add(name string, price, qty int) error {
	if err := reserve(name, qty); err != nil {
		return fmt.Errorf("add %s: %w", name, err)
	}
	c.items = append(c.items, Item{name, price, qty})
	c.log.Push("add " + name)
	return nil
}

func reserve(name string, qty int) error {
	if stock[name] < qty {
		return ErrOutOfStock
	}
	stock[name] -= qty
	return nil
}

// Subtotal sums the items with a discount applied by a closure.
func (c *Cart) Subtotal(percentOff int) (sum int) {
	discounted := func(cents int) int {
		return cents * (100 - percentOff) / 100
	}
	for _, it := range c.items {
		sum += discounted(it.Total())
	}
	return sum
}

// Names lists the items in order.
func (c *Cart) Names() []string {
	names := make([]string, 0, len(c.items))
	for _, it := range c.items {
		names = append(names, it.Name)
	}
	sort.Slice(names, func(a, b int) bool { return names[a] < names[b] })
	return names
}

// Checkout panics on an empty cart; callers recover.
func (c *Cart) Checkout() int {
	if len(c.items) == 0 {
		panic("checkout of an empty cart")
	}
	return c.Subtotal(0)
}

// History is the log of what happened to the cart, oldest first.
func (c *Cart) History() []string { return c.log.Items() }

// Stack is a generic type with methods.
type Stack[T any] struct{ items []T }

// Push adds a value.
func (s *Stack[T]) Push(v T) { s.items = append(s.items, v) }

// Items copies the values out.
func (s Stack[T]) Items() []T {
	out := make([]T, len(s.items))
	copy(out, s.items)
	return out
}

// Len is one line long.
func (s Stack[T]) Len() int { return len(s.items) }

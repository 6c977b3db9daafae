// Command telemetrydemo exercises the shop package: methods, closures, goroutines, an error
// return and a recovered panic. Its output is deterministic.
package main

import (
	"fmt"
	"strings"
	"sync"

	"example.com/telemetrydemo/shop"
)

var greeting string

func init() {
	greeting = "telemetry demo"
}

func noop() {}

func square(n int) int { return n * n }

// squares computes in goroutines, each writing its own slot.
func squares(n int) []int {
	out := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			out[i] = square(i)
		}(i)
	}
	wg.Wait()
	return out
}

// safeCheckout turns the panic of an empty cart into an error.
func safeCheckout(c *shop.Cart) (total int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered: %v", r)
		}
	}()
	return c.Checkout(), nil
}

func main() {
	fmt.Println(greeting)
	noop()
	cart := &shop.Cart{}
	for _, order := range []struct {
		name       string
		price, qty int
	}{{"apple", 50, 3}, {"pear", 120, 1}, {"plum", 80, 1}} {
		if err := cart.Add(order.name, order.price, order.qty); err != nil {
			fmt.Println("error:", err)
		}
	}
	fmt.Println("items:", strings.Join(cart.Names(), ", "))
	fmt.Println("subtotal:", cart.Subtotal(10))
	total, err := safeCheckout(cart)
	fmt.Println("checkout:", total, err)
	_, err = safeCheckout(&shop.Cart{})
	fmt.Println("empty checkout:", err)
	var labels []func() string
	for _, word := range []string{"one", "two"} {
		labels = append(labels, func() string { return strings.ToUpper(word) })
	}
	for _, label := range labels {
		fmt.Println("label:", label())
	}
	fmt.Println("squares:", squares(4))
	fmt.Println("history:", cart.History())
}

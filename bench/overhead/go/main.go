// Calls a tiny function N times; prints nanoseconds per call (loop included).
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

//go:noinline
func tiny(x int) int {
	return x + 1
}

func run(n int) (time.Duration, int) {
	t0 := time.Now()
	x := 0
	for i := 0; i < n; i++ {
		x = tiny(x)
	}
	return time.Since(t0), x
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	d, x := run(n)
	if x != n {
		panic("bad sum")
	}
	fmt.Println(float64(d.Nanoseconds()) / float64(n))
}

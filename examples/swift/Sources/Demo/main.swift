// The example program: it drives the shop through methods, an initializer, a static method,
// an extension, nested functions, an early return and a thrown error it catches. Its output is
// deterministic. (The tests cannot build Swift here: they check the instrumented text.)

func noop() {}

func square(_ n: Int) -> Int {
    return n * n
}

/// A single-expression body returns implicitly: it is left as it is.
func cube(_ n: Int) -> Int { n * n * n }

func squares(_ n: Int) -> [Int] {
    var out: [Int] = []
    for i in 0..<n {
        out.append(square(i))
    }
    return out
}

/// Turns the error of an empty cart into a message.
func safeCheckout(_ cart: Cart) -> String {
    do {
        return String(try cart.checkout())
    } catch {
        return "recovered: \(error)"
    }
}

func main() {
    print("telemetry demo")
    noop()
    var cart = Cart(owner: "ada")
    for (name, price, qty) in [("apple", 50, 3), ("pear", 120, 1), ("plum", 80, 1)] {
        do {
            try cart.add(name, price: price, qty: qty)
        } catch {
            print("error: \(error)")
        }
    }
    print("items: \(cart.names().joined(separator: ", "))")
    print("subtotal: \(cart.subtotal(percentOff: 10))")
    print("checkout: \(safeCheckout(cart))")
    print("empty checkout: \(safeCheckout(Cart(owner: "bob")))")
    let labels = ["one", "two"].map { word in word.uppercased() }
    print("labels: \(labels.joined(separator: " "))")
    print("squares: \(squares(4)) cube: \(cube(3))")
    print("history: \(Cart.describe(cart))")
}

main()

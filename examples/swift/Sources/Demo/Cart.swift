enum ShopError: Error, CustomStringConvertible {
    case outOfStock(String)
    case emptyCart

    var description: String {
        switch self {
        case .outOfStock(let name): return "add \(name): out of stock"
        case .emptyCart: return "checkout of an empty cart"
        }
    }
}

/// One line of a cart; prices in cents.
struct Item {
    let name: String
    let price: Int
    let qty: Int

    var total: Int { price * qty }
}

struct Cart {
    private static let stock = ["apple": 5, "pear": 2, "plum": 0]

    let owner: String
    private var items: [Item] = []
    private var log: [String] = []

    init(owner: String) {
        self.owner = owner.capitalized
    }

    static func describe(_ cart: Cart) -> String {
        return cart.log.joined(separator: "; ")
    }

    mutating func add(_ name: String, price: Int, qty: Int) throws {
        try reserve(name, qty)
        items.append(Item(name: name, price: price, qty: qty))
        log.append("add \(name)")
    }

    func names() -> [String] {
        return items.map { $0.name }.sorted { $0 > $1 }
    }

    /// A nested function does the arithmetic.
    func subtotal(percentOff: Int) -> Int {
        func discounted(_ cents: Int) -> Int {
            return cents * (100 - percentOff) / 100
        }
        return items.reduce(0) { $0 + discounted($1.total) }
    }

    func checkout() throws -> Int {
        if items.isEmpty {
            throw ShopError.emptyCart
        }
        return items.reduce(0) { $0 + $1.total }
    }

    private func reserve(_ name: String, _ qty: Int) throws {
        if Cart.stock[name, default: 0] >= qty {
            return
        }
        throw ShopError.outOfStock(name)
    }
}

extension Cart: CustomStringConvertible {
    var description: String { "Cart(\(owner))" }

    func isEmpty() -> Bool { items.isEmpty }
}

package shop

import kotlin.concurrent.thread
import kotlin.coroutines.resume
import kotlin.coroutines.suspendCoroutine

/** Thrown by [Cart.reserve] when the stock cannot cover an item. */
class OutOfStock(item: String) : Exception(item)

/** One line of the cart. */
data class Item(val name: String, val priceCents: Int, val quantity: Int = 1) {
    init {
        require(priceCents >= 0) { "negative price for $name" }
    }

    val total: Int
        get() {
            return priceCents * quantity
        }
}

/** How a checkout went. */
enum class Status {
    PAID {
        override fun label(): String {
            return "paid"
        }
    },
    REFUSED {
        override fun label(): String {
            return "refused"
        }
    };

    abstract fun label(): String
}

interface Payment {
    fun pay(amount: Int): String

    fun receipt(amount: Int): String {
        return pay(amount) + " (" + Status.PAID.label() + ")"
    }
}

/** Shopping cart with prices, discounts and a checkout that can fail. */
class Cart(stock: Map<String, Int>) {
    private val items = mutableListOf<Item>()
    private val stock: MutableMap<String, Int>

    init {
        this.stock = stock.toMutableMap()
    }

    constructor() : this(emptyMap()) {
        println("empty cart")
    }

    fun add(name: String, priceCents: Int, quantity: Int = 1) {
        if (quantity <= 0) {
            return // early return: nothing to add
        }
        items.add(Item(name, priceCents, quantity))
    }

    fun lines(): List<String> {
        return items.map { "${it.quantity} x ${it.name.padEnd(8)} ${(it.total / 100.0).money()}" }
    }

    fun subtotal(): Int {
        fun discounted(item: Item): Int {
            if (item.quantity >= 3) {
                return item.total * 9 / 10
            }
            return item.total
        }
        return items.sumOf(::discounted)
    }

    fun reserve() {
        for (item in items) {
            if (stock.getOrDefault(item.name, 0) < item.quantity) {
                throw OutOfStock(item.name)
            }
            stock[item.name] = stock.getValue(item.name) - item.quantity
        }
    }

    /** A payment as an object expression; it settles on another thread. */
    fun card(): Payment = object : Payment {
        override fun pay(amount: Int): String {
            return "paid " + (amount / 100.0).money()
        }
    }

    companion object {
        fun tax(amount: Int): Int {
            return amount * 8 / 100
        }
    }
}

/** Extension function: reported as `Double.money`. */
fun Double.money(): String {
    return String.format("%7.2f", this).trim()
}

/** A suspend function that resumes on another thread. */
suspend fun settle(receipt: String): String {
    val settled = suspendCoroutine<String> { cont ->
        thread { cont.resume("$receipt, settled") }
    }
    return settled
}

import java.util.concurrent.CountDownLatch
import kotlin.coroutines.Continuation
import kotlin.coroutines.EmptyCoroutineContext
import kotlin.coroutines.startCoroutine
import shop.Cart
import shop.OutOfStock
import shop.Status
import shop.settle

/** Run the shop: fill a cart, print it, check out twice (the second time fails). */
fun checkout(cart: Cart): String {
    try {
        cart.reserve()
    } catch (e: OutOfStock) {
        return "out of stock: ${e.message} (${Status.REFUSED.label()})"
    }
    val total = cart.subtotal() + Cart.tax(cart.subtotal())
    return cart.card().receipt(total)
}

/** Runs a suspend function to its end on this thread's behalf. */
fun <T> runSuspend(block: suspend () -> T): T {
    val done = CountDownLatch(1)
    var result: Result<T>? = null
    block.startCoroutine(Continuation(EmptyCoroutineContext) {
        result = it
        done.countDown()
    })
    done.await()
    return result!!.getOrThrow()
}

fun main() {
    val cart = Cart(mapOf("apple" to 5, "pear" to 1))
    cart.add("apple", 120, 3)
    cart.add("pear", 250)
    cart.add("ghost", 999, 0)
    for (line in cart.lines()) {
        println(line)
    }
    val first = checkout(cart)
    println(runSuspend { settle(first) })
    println(checkout(cart))
    val shout = fun(s: String): String {
        return s.uppercase() + "!"
    }
    try {
        Cart().add("broken", -1)
    } catch (e: IllegalArgumentException) {
        println(shout("rejected: ${e.message}"))
    }
}

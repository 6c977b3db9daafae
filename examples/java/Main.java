import java.util.Map;
import shop.Cart;
import shop.OutOfStock;

/** Run the shop: fill a cart, print it, check out twice (the second time fails). */
public class Main {
    static String checkout(Cart cart) {
        try {
            cart.reserve();
        } catch (OutOfStock e) {
            return "out of stock: " + e.getMessage() + " (" + Cart.Status.REFUSED.label() + ")";
        }
        int total = cart.subtotal() + Cart.tax(cart.subtotal());
        return cart.card().receipt(total);
    }

    public static void main(String[] args) {
        Cart cart = new Cart(Map.of("apple", 5, "pear", 1));
        cart.add("apple", 120, 3);
        cart.add("pear", 250, 1);
        cart.add("ghost", 999, 0);
        for (String line : cart.lines()) {
            System.out.println(line);
        }
        System.out.println(checkout(cart));
        System.out.println(checkout(cart));
        try {
            new Cart().add("broken", -1, 1);
        } catch (IllegalArgumentException e) {
            System.out.println("rejected: " + e.getMessage());
        }
    }
}

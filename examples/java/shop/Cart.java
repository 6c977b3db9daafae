package shop;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;

/** Shopping cart with prices, discounts and a checkout that can fail. */
public class Cart {
    /** One line of the cart; a record with a compact constructor that validates. */
    public record Item(String name, int priceCents, int quantity) {
        public Item {
            if (priceCents < 0) {
                throw new IllegalArgumentException("negative price for " + name);
            }
        }

        int total() {
            return priceCents * quantity;
        }
    }

    /** How a checkout went. */
    public enum Status {
        PAID {
            public String label() { return "paid"; }
        },
        REFUSED {
            public String label() {
                return "refused";
            }
        };

        public abstract String label();
    }

    private final List<Item> items = new ArrayList<>();
    private final Map<String, Integer> stock;

    public Cart(Map<String, Integer> stock) {
        this.stock = new HashMap<>(stock);
    }

    public Cart() {
        this(Map.of());
    }

    public void add(String name, int priceCents, int quantity) {
        if (quantity <= 0) {
            return; // early return: nothing to add
        }
        items.add(new Item(name, priceCents, quantity));
    }

    public List<String> lines() {
        List<String> out = new ArrayList<>();
        items.forEach(item -> {
            out.add(String.format("%d x %-8s %7.2f", item.quantity(), item.name(), item.total() / 100.0));
        });
        return out;
    }

    public int subtotal() {
        ToIntFunction<Item> discounted = item -> {
            if (item.quantity() >= 3) {
                return item.total() * 9 / 10;
            }
            return item.total();
        };
        return items.stream().mapToInt(discounted).sum();
    }

    public static int tax(int amount) { return amount * 8 / 100; }

    public void reserve() throws OutOfStock {
        for (Item item : items) {
            if (stock.getOrDefault(item.name(), 0) < item.quantity()) {
                throw new OutOfStock(item.name());
            }
            stock.merge(item.name(), -item.quantity(), Integer::sum);
        }
    }

    public interface Payment {
        String pay(int amount);

        default String receipt(int amount) {
            return pay(amount) + " (" + Status.PAID.label() + ")";
        }
    }

    /** A payment as an anonymous class, the way pre-lambda code writes it. */
    public Payment card() {
        return new Payment() {
            @Override
            public String pay(int amount) {
                return String.format("paid %.2f", amount / 100.0);
            }
        };
    }
}

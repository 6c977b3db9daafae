package shop;

/** Thrown by {@link Cart#reserve()} when the stock cannot cover an item. */
public class OutOfStock extends Exception {
    private static final long serialVersionUID = 1L;

    public OutOfStock(String item) {
        super(item);
    }
}

// Calls a tiny function N times; prints nanoseconds per call (loop included).
public class Driver {
    static int tiny(int x) {
        return x + 1;
    }

    static long run(int n) {
        int x = 0;
        for (int i = 0; i < n / 10; i++) x = tiny(x); // warm-up: JIT before timing
        x = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) x = tiny(x);
        long ns = System.nanoTime() - t0;
        if (x != n) throw new IllegalStateException("bad sum");
        return ns;
    }

    public static void main(String[] args) {
        int n = Integer.parseInt(args[0]);
        System.out.println((double) run(n) / n);
    }
}

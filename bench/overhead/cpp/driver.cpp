// Calls a tiny function N times; prints nanoseconds per call (loop included).
#include <chrono>
#include <cstdio>
#include <cstdlib>

__attribute__((noinline)) static long tiny(long x) {
    return x + 1;
}

static long long run(long n) {
    volatile long x = 0;
    auto a = std::chrono::steady_clock::now();
    for (long i = 0; i < n; i++) x = tiny(x);
    auto b = std::chrono::steady_clock::now();
    if (x != n) std::abort();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

int main(int argc, char **argv) {
    long n = argc > 1 ? std::atol(argv[1]) : 1;
    std::printf("%f\n", (double)run(n) / n);
    return 0;
}

/* Calls a tiny function N times; prints nanoseconds per call (loop included). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

__attribute__((noinline)) static long tiny(long x) {
    return x + 1;
}

static long long run(long n) {
    struct timespec a, b;
    volatile long x = 0;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) x = tiny(x);
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (x != n) abort();
    return (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
}

int main(int argc, char **argv) {
    long n = atol(argv[1]);
    printf("%f\n", (double)run(n) / n);
    return 0;
}

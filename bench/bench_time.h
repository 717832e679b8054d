/*
 * bench_time.h - what the benchmark programs share: the clock every call is
 * timed with and the comparison for sorting the times. Not part of make
 * check; never linked into the product.
 */
#ifndef JFA_BENCH_TIME_H
#define JFA_BENCH_TIME_H

#include <stdint.h>
#include <time.h>

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* qsort comparison of int64_t times */
static inline int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

#endif

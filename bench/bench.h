/* SPDX-License-Identifier: MIT */
/*
 * bench/bench.h - what the benchmarks share: the clock, the exit on a
 * failed library call, and for those that keep the best and median of
 * alternating turns, the number of turns and the sort.
 */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libvdpastate/libvdpastate.h>

/* Seconds on the monotonic clock. */
static inline double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A library call failed: say which and why, exit 1. */
static inline void bench_die(const char *what)
{
	fprintf(stderr, "bench: %s failed: %s\n", what, vdpastate_last_error());
	exit(1);
}

/* VDS_BENCH_TURNS when it is 1..max, else def. */
static inline unsigned int bench_turns(unsigned int def, unsigned int max)
{
	const char *e = getenv("VDS_BENCH_TURNS");
	long n = e ? strtol(e, NULL, 10) : (long)def;

	return n >= 1 && n <= (long)max ? (unsigned int)n : def;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sort t[0..n) and give its best (smallest) and median value. */
static inline void bench_best_median(double *t, unsigned int n, double *best,
				     double *med)
{
	qsort(t, n, sizeof(*t), bench_cmp_double);
	*best = t[0];
	*med = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

#endif /* BENCH_BENCH_H */

/* SPDX-License-Identifier: MIT */
/* bench-stats.h — clock and latency statistics shared by the bench clients.
 *
 * Every client of tests/bench prints its figures as one line of key=value
 * pairs (tests/bench/run parses them), so the percentile code lives here once.
 */
#pragma once

#include <glib.h>

/* CLOCK_MONOTONIC in nanoseconds. */
gint64 bench_now_ns (void);

/* Latency samples in nanoseconds. */
typedef struct {
  GArray *samples;   /* gint64 */
} BenchStats;

void bench_stats_init (BenchStats *stats);
void bench_stats_clear (BenchStats *stats);
void bench_stats_add (BenchStats *stats, gint64 ns);
/* Sorts in place; returns the sample at quantile q (0..1), 0 when empty. */
gint64 bench_stats_quantile (BenchStats *stats, double q);

/* Appends " p50_us=… p99_us=… max_us=… min_us=…" to out. */
void bench_stats_format (BenchStats *stats, GString *out);

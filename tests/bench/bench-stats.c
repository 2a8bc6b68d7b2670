/* SPDX-License-Identifier: MIT */
/* bench-stats.c — clock and latency statistics shared by the bench clients. */
#include "bench-stats.h"

#include <time.h>

gint64
bench_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

void
bench_stats_init (BenchStats *stats)
{
  stats->samples = g_array_new (FALSE, FALSE, sizeof (gint64));
}

void
bench_stats_clear (BenchStats *stats)
{
  g_clear_pointer (&stats->samples, g_array_unref);
}

void
bench_stats_add (BenchStats *stats, gint64 ns)
{
  g_array_append_val (stats->samples, ns);
}

static gint
compare_i64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return (x > y) - (x < y);
}

gint64
bench_stats_quantile (BenchStats *stats, double q)
{
  guint n = stats->samples->len;
  guint index;

  if (n == 0)
    return 0;
  g_array_sort (stats->samples, compare_i64);
  /* Nearest rank: the smallest sample with at least q of them at or below. */
  index = (guint) (q * n + 0.999999);
  index = CLAMP (index, 1, n) - 1;
  return g_array_index (stats->samples, gint64, index);
}

void
bench_stats_format (BenchStats *stats, GString *out)
{
  g_string_append_printf (out, " samples=%u p50_us=%.1f p99_us=%.1f max_us=%.1f min_us=%.1f",
                          stats->samples->len,
                          bench_stats_quantile (stats, 0.50) / 1000.0,
                          bench_stats_quantile (stats, 0.99) / 1000.0,
                          bench_stats_quantile (stats, 1.0) / 1000.0,
                          bench_stats_quantile (stats, 0.0) / 1000.0);
}

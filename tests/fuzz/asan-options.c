/* SPDX-License-Identifier: MIT */
/* asan-options.c — AddressSanitizer defaults for the libFuzzer targets
 * (ASAN_OPTIONS still overrides each). A fresh jobd per input makes many
 * short-lived allocations with deep GLib stacks: a smaller quarantine and
 * shorter allocation stacks about double the executions per second of
 * fuzz-legacy-request and keep its memory well under libFuzzer's 2 GB limit,
 * while reports still show where memory was freed. */
const char *__asan_default_options (void);

const char *
__asan_default_options (void)
{
  return "quarantine_size_mb=32:malloc_context_size=8:detect_leaks=0";
}

/* The monotonic clock in the units the agent's deadlines use. Header-only:
 * one definition for every deadline (message idle time, spawn waits,
 * decision timing) instead of a private copy per file. */
#ifndef UVM_MONOTONIC_H
#define UVM_MONOTONIC_H

#include <stdint.h>
#include <time.h>

static inline uint64_t uvm_monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline long long uvm_monotonic_ms(void)
{
	return (long long)(uvm_monotonic_ns() / 1000000u);
}

#endif

/*
 * disk_pace: the wait before the next size poll; see disk_pace.h.
 */
#include "disk_pace.h"

static int64_t clamp(int64_t ms)
{
	return ms < DISK_PACE_MIN_MS   ? DISK_PACE_MIN_MS
	       : ms > DISK_PACE_MAX_MS ? DISK_PACE_MAX_MS
	                               : ms;
}

int64_t disk_pace_next(int64_t prev_wait_ms, int64_t last_size, int64_t size, int64_t elapsed_ms,
                       int64_t quota)
{
	if (last_size < 0 || size <= last_size || elapsed_ms <= 0)
		return clamp(prev_wait_ms > DISK_PACE_MAX_MS / 2 ? DISK_PACE_MAX_MS
		                                                 : prev_wait_ms * 2);
	if (size >= quota)
		return DISK_PACE_MIN_MS;
	/* (quota - size) / rate, rate = growth / elapsed; in double, no overflow */
	double to_quota = (double)(quota - size) * (double)elapsed_ms / (double)(size - last_size);
	return to_quota / 2 >= DISK_PACE_MAX_MS ? DISK_PACE_MAX_MS : clamp((int64_t)(to_quota / 2));
}

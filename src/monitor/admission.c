/*
 * admission: connection admission; see admission.h.
 */
#include "admission.h"

/* OpenSSH's drop_connection(): below start none, at full all, between
 * them rate % rising linearly to 100 %. */
static int startup_drop_percent(const int ms[3], unsigned unauth)
{
	unsigned start = (unsigned)ms[0], rate = (unsigned)ms[1], full = (unsigned)ms[2];

	if (unauth < start)
		return 0;
	if (unauth >= full)
		return 100;
	return (int)(rate + (100 - rate) * (unauth - start) / (full - start));
}

const char *admission_check(const struct config *cfg, const struct admission_load *load,
                            uint32_t rnd)
{
	if (load->authed >= (unsigned)cfg->server.max_concurrent_sessions)
		return "max_concurrent_sessions";
	if (load->from_ip >= (unsigned)cfg->server.max_sessions_per_ip)
		return "max_sessions_per_ip";
	int p = startup_drop_percent(cfg->server.max_startups, load->unauth);
	if (p > 0 && (int)(rnd % 100) < p)
		return "max_startups";
	return NULL;
}

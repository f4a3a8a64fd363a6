/* libFuzzer harness: any bytes as the tail of an event log. */
#include <stdint.h>
#include <string.h>

#include "orphans.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct orphan_session o;

	memset(&o, 0, sizeof(o));
	if (orphans_find((const char *)data, size, "abc", &o) == 1 &&
	    strlen(o.session_id) != SESSION_ID_LEN)
		__builtin_trap();
	return 0;
}

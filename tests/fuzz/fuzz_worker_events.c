/* libFuzzer harness: the monitor's policy for a worker's events. Whatever a worker sends, the
 * policy refuses it or returns an object of scalar fields only, all named in its table. */
#include <stdint.h>
#include <string.h>

#include "worker_events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *type = NULL, *why = NULL, *k;
	json_t *o, *v;
	size_t tl;

	if (size < 2)
		return 0;
	/* First byte: the phase and how long the type name is. */
	tl = (size_t)(data[0] & 0x1f);
	if (tl > size - 1)
		tl = size - 1;
	o = worker_event_check(data + 1, tl, data[0] & 0x80, data + 1 + tl, size - 1 - tl, &type,
	                       &why);
	if (o == NULL) {
		if (why == NULL)
			__builtin_trap();
		return 0;
	}
	if (type == NULL || tl != strlen(type) || memcmp(type, data + 1, tl) != 0)
		__builtin_trap();
	json_object_foreach(o, k, v)
	{
		if (json_is_object(v) || json_is_array(v) || strcmp(k, "alert") == 0 ||
		    strcmp(k, "session") == 0 || strcmp(k, "timestamp") == 0)
			__builtin_trap();
	}
	json_decref(o);
	return 0;
}

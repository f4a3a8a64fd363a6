/* libFuzzer harness: the monitor's decoder of worker messages must refuse or
 * accept any datagram without crashing or reading out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	if (ipc_decode(data, size, &m) == 0) {
		for (size_t i = 0; i < 3; i++)
			if (m.s[i].n > 0 && (m.s[i].p < data || m.s[i].p + m.s[i].n > data + size))
				__builtin_trap();
	}
	return 0;
}

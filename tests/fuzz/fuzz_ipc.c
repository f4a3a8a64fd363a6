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
		for (const struct ipc_field *f = ipc_layout(m.type); f->kind != 0; f++) {
			const struct ipc_str *str = (const void *)((const char *)&m + f->off);
			if ((f->kind == 's' || f->kind == 'S') && str->n > 0 &&
			    (str->p < data || str->p + str->n > data + size))
				__builtin_trap();
		}
	}
	return 0;
}

/* libFuzzer harness: any bytes as what a worker writes to its stderr, fed
 * in chunks of varying size with the clock moving. */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>

#include "log.h"
#include "worker_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int nul = -1;
	struct worker_log *w;
	int64_t now = 0;
	size_t chunk;
	char func[64];
	const char *msg;
	int level;

	if (nul < 0) {
		nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
		log_set_fd(nul);
		log_setup(LOG_DEBUG, 0, "monitor");
	}
	if (size == 0)
		return 0;
	/* Both formats of the monitor's log. */
	log_setup(LOG_DEBUG, data[0] & 1, "monitor");
	if (worker_log_parse((const char *)data, size, &level, func, sizeof(func), &msg) == 0 &&
	    (msg < (const char *)data || msg > (const char *)data + size || level < LOG_DEBUG ||
	     level > LOG_CRITICAL || strlen(func) == 0))
		__builtin_trap();
	w = worker_log_new("0123456789abcdef0123456789abcdef");
	if (w == NULL)
		return 0;
	worker_log_set_pid(w, 1234);
	chunk = (size_t)(data[0] >> 1) + 1;
	while (size > 0) {
		size_t n = size < chunk ? size : chunk;
		worker_log_feed(w, data, n, now);
		data += n;
		size -= n;
		now += 37;
		chunk = chunk * 3 % 4099 + 1;
	}
	worker_log_free(w);
	return 0;
}

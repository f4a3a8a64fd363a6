/* libFuzzer harness: any command line (and any SFTP path) against a few
 * bait files. The first byte picks the event kind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "honeytoken.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *items[] = {"/etc/config/app.env", "/root/.ssh/config",
	                        "/home/admin/.bash_history", "/x", NULL};
	struct strlist bait = {.items = items, .n = 4};

	if (size == 0)
		return 0;
	const char *cmd = (const char *)data + 1;
	size_t n = size - 1;
	for (size_t i = 0; i < bait.n; i++)
		(void)honeytoken_names(cmd, n, items[i]);

	json_t *s = json_stringn_nocheck(cmd, n);
	json_t *e =
	    json_pack("{s:s, s:o}", "event", data[0] & 1 ? "command.input" : "file.transfer",
	              data[0] & 1 ? "command" : "path", s);
	size_t found = honeytoken_mark(&bait, e);
	json_t *paths = json_object_get(json_object_get(e, "alert"), "paths");
	if (json_array_size(paths) != found)
		__builtin_trap();
	json_decref(e);
	return 0;
}

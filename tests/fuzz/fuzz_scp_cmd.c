/* libFuzzer harness: any exec command through the scp recognizer. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scp_cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cmd = malloc(size + 1);
	bool up;
	char *path = NULL;

	if (cmd == NULL)
		return 0;
	memcpy(cmd, data, size);
	cmd[size] = '\0';
	if (scp_cmd_parse(cmd, &up, &path) == 1 && (path == NULL || strlen(path) > size))
		__builtin_trap();
	free(path);
	free(cmd);
	return 0;
}

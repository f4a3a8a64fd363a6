/*
 * orphans: a killed run's session containers, back to their sessions; see
 * orphans.h.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "orphans.h"

int orphans_find(const char *buf, size_t len, const char *container_id, struct orphan_session *out)
{
	size_t idlen = container_id != NULL ? strlen(container_id) : 0;
	int found = 0;

	if (idlen == 0)
		return 0;
	/* The first line may be cut by the tail's start: skip to a newline
	 * unless the buffer starts the file. Callers pass whole files or
	 * tails that begin just after a newline. */
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		if (nl == NULL)
			break; /* a last line still being written */
		size_t n = (size_t)(nl - (buf + i));
		const char *line = buf + i;
		i += n + 1;
		if (memmem(line, n, container_id, idlen) == NULL ||
		    memmem(line, n, "container.allocated", 19) == NULL)
			continue;
		json_t *e = json_loadb(line, n, 0, NULL);
		const char *type = json_string_value(json_object_get(e, "event"));
		const char *cid = json_string_value(json_object_get(e, "container_id"));
		const char *sid = json_string_value(json_object_get(e, "session"));
		const char *ip = json_string_value(json_object_get(e, "src_ip"));
		json_t *port = json_object_get(e, "src_port");
		if (type != NULL && strcmp(type, "container.allocated") == 0 && cid != NULL &&
		    strcmp(cid, container_id) == 0 && util_is_hex(sid, SESSION_ID_LEN)) {
			memcpy(out->session_id, sid, SESSION_ID_LEN + 1);
			snprintf(out->src_ip, sizeof(out->src_ip), "%s", ip != NULL ? ip : "");
			out->src_port = json_is_integer(port) ? (int)json_integer_value(port) : 0;
			found = 1; /* the last one wins */
		}
		json_decref(e);
	}
	return found;
}

int orphans_find_in_log(const char *path, const char *container_id, struct orphan_session *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	int found = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		off_t start = st.st_size > ORPHANS_TAIL ? st.st_size - ORPHANS_TAIL : 0;
		size_t len = (size_t)(st.st_size - start);
		char *buf = malloc(len);
		ssize_t got = buf != NULL ? pread(fd, buf, len, start) : -1;
		if (got > 0) {
			size_t skip = 0;
			if (start > 0) { /* begin after the first newline: a whole line */
				const char *nl = memchr(buf, '\n', (size_t)got);
				skip = nl != NULL ? (size_t)(nl - buf) + 1 : (size_t)got;
			}
			found = orphans_find(buf + skip, (size_t)got - skip, container_id, out);
		}
		free(buf);
	}
	close(fd);
	return found;
}

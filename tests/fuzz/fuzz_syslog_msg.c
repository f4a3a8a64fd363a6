/*
 * libFuzzer harness for syslog_msg.c: the input as logging.syslog's target
 * (a config value), and as an event (a JSON object whose strings carry what
 * an attacker sent). Beyond "no crash": a target that parses has a host
 * that fits and a port of 1-65535; a message is one line of the stated
 * length that starts with a PRI and ends with the event's JSON, and its
 * structured data closes where it should (no value escapes its quotes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "syslog_msg.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct syslog_target t;
	const char *why = NULL;
	if (syslog_target_parse(text, &t, &why) == 0) {
		if (t.kind == SYSLOG_LOCAL) {
			CHECK(t.host[0] == '/' && strlen(t.host) < SYSLOG_PATH_MAX);
		} else {
			CHECK(t.host[0] != '\0' && strlen(t.host) < sizeof(t.host));
			long port = strtol(t.port, NULL, 10);
			CHECK(port >= 1 && port <= 65535);
		}
	} else {
		CHECK(why != NULL);
	}

	json_error_t err;
	json_t *ev = json_loadb((const char *)data, size, 0, &err);
	if (json_is_object(ev)) {
		size_t len = 0;
		char *line = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
		char *m =
		    line != NULL ? syslog_msg(ev, line, strlen(line), 16, "host", 1, &len) : NULL;
		if (m != NULL) {
			CHECK(strlen(m) == len && m[0] == '<');
			/* The header is six fields (PRI and version, time, host,
			 * app, pid, msgid), each without a space; then the SD
			 * element, which ends at the first "] " outside a value:
			 * walk it as a receiver would. */
			const char *p = m;
			for (int f = 0; f < 6; f++) {
				p = strchr(p, ' ');
				CHECK(p != NULL);
				p++;
			}
			CHECK(strncmp(p, "[hermes@32473 ", 14) == 0);
			int quoted = 0;
			for (p++; *p != '\0'; p++) {
				if (quoted && *p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '"')
					quoted = !quoted;
				else if (!quoted && *p == ']')
					break;
			}
			CHECK(*p == ']' && p[1] == ' ');
			CHECK(strcmp(p + 2, line) == 0);
			free(m);
		}
		free(line);
	}
	json_decref(ev);
	free(text);
	return 0;
}

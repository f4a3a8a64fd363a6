/*
 * syslog_msg: events as RFC 5424 messages; see syslog_msg.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "syslog_msg.h"

#define SEVERITY_WARNING 4
#define SEVERITY_INFO    6
#define MSGID_MAX        32  /* RFC 5424 6.2.7 */
#define HOSTNAME_MAX     255 /* 6.2.4 */

static bool port_ok(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *s >= '0' && *s <= '9' && strlen(s) <= 5 && *end == '\0' && v >= 1 && v <= 65535;
}

int syslog_target_parse(const char *s, struct syslog_target *t, const char **why)
{
	memset(t, 0, sizeof(*t));
	if (strcmp(s, "local") == 0 || strncmp(s, "unix:", 5) == 0) {
		const char *path = s[0] == 'l' ? SYSLOG_LOCAL_SOCKET : s + 5;
		if (path[0] != '/' || strlen(path) >= SYSLOG_PATH_MAX) {
			*why = "unix:PATH needs an absolute path of under 108 characters";
			return -1;
		}
		t->kind = SYSLOG_LOCAL;
		snprintf(t->host, sizeof(t->host), "%s", path);
		return 0;
	}
	const char *rest;
	if (strncmp(s, "udp://", 6) == 0)
		t->kind = SYSLOG_UDP;
	else if (strncmp(s, "tcp://", 6) == 0)
		t->kind = SYSLOG_TCP;
	else {
		*why = "must be \"local\", \"unix:PATH\", \"udp://HOST:PORT\" or "
		       "\"tcp://HOST:PORT\"";
		return -1;
	}
	rest = s + 6;
	const char *colon;
	size_t hlen;
	if (*rest == '[') {
		const char *close = strchr(rest, ']');
		if (close == NULL || close[1] != ':') {
			*why = "an IPv6 address must be in brackets, then \":PORT\"";
			return -1;
		}
		rest++;
		hlen = (size_t)(close - rest);
		colon = close + 1;
	} else {
		colon = strrchr(rest, ':');
		if (colon == NULL) {
			*why = "must end in \":PORT\"";
			return -1;
		}
		hlen = (size_t)(colon - rest);
		if (memchr(rest, ':', hlen) != NULL) {
			*why = "an IPv6 address must be in brackets";
			return -1;
		}
	}
	if (hlen == 0 || hlen >= sizeof(t->host) || !port_ok(colon + 1)) {
		*why = "must name a host and a port from 1 to 65535";
		return -1;
	}
	for (size_t i = 0; i < hlen; i++)
		if (rest[i] <= ' ' || rest[i] > '~' || strchr("/[]", rest[i]) != NULL) {
			*why = "the host must be a name or an address";
			return -1;
		}
	memcpy(t->host, rest, hlen);
	snprintf(t->port, sizeof(t->port), "%s", colon + 1);
	return 0;
}

int syslog_facility(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} names[] = {{"user", 1},    {"daemon", 3},  {"auth", 4},    {"authpriv", 10},
	             {"local0", 16}, {"local1", 17}, {"local2", 18}, {"local3", 19},
	             {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i].name) == 0)
			return names[i].code;
	return -1;
}

/* s if it is 1..max printable US-ASCII characters (33-126), else "-". */
static int put_token(struct buf *b, const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;
	bool ok = n >= 1;

	for (size_t i = 0; ok && i < n; i++)
		ok = s[i] >= 33 && s[i] <= 126;
	return ok ? buf_put(b, s, n < max ? n : max) : buf_put(b, "-", 1);
}

/* An SD-PARAM's value, with '"', '\' and ']' escaped (6.3.3). */
static int put_param(struct buf *b, const char *name, const char *value)
{
	int r = buf_putf(b, " %s=\"", name);

	for (const char *p = value; r >= 0 && *p != '\0'; p++) {
		if (*p == '"' || *p == '\\' || *p == ']')
			r = buf_put(b, "\\", 1);
		if (r >= 0)
			r = buf_put(b, p, 1);
	}
	return r < 0 ? r : buf_put(b, "\"", 1);
}

/* The event's own timestamp when it is RFC 3339 as Hermes writes it
 * (what 6.2.3 allows: at most six decimals), else "-". */
static int put_time(struct buf *b, const char *ts)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd";
	size_t n = ts != NULL ? strlen(ts) : 0;
	bool ok = n >= sizeof(shape) && n <= sizeof(shape) - 1 + 7 + 1 && ts[n - 1] == 'Z';

	for (size_t i = 0; ok && i < sizeof(shape) - 1; i++)
		ok = shape[i] == 'd' ? ts[i] >= '0' && ts[i] <= '9' : ts[i] == shape[i];
	size_t i = sizeof(shape) - 1;
	if (ok && ts[i] == '.') {
		size_t digits = 0;
		for (i++; i < n - 1 && ts[i] >= '0' && ts[i] <= '9'; i++)
			digits++;
		ok = digits >= 1 && digits <= 6;
	}
	ok = ok && i == n - 1;
	return ok ? buf_put(b, ts, n) : buf_put(b, "-", 1);
}

char *syslog_msg(const json_t *ev, const char *json, size_t json_len, int facility,
                 const char *host, int pid, size_t *len)
{
	struct buf b;
	const char *type = json_string_value(json_object_get(ev, "event"));
	const char *session = json_string_value(json_object_get(ev, "session"));
	int severity = json_object_get(ev, "alert") != NULL ? SEVERITY_WARNING : SEVERITY_INFO;

	buf_init(&b);
	int r = buf_putf(&b, "<%d>1 ", facility * 8 + severity);
	if (r >= 0)
		r = put_time(&b, json_string_value(json_object_get(ev, "timestamp")));
	if (r >= 0)
		r = buf_put(&b, " ", 1);
	if (r >= 0)
		r = put_token(&b, host, HOSTNAME_MAX);
	if (r >= 0)
		r = buf_putf(&b, " hermes %d ", pid);
	if (r >= 0)
		r = put_token(&b, type, MSGID_MAX);
	if (r >= 0)
		r = buf_putf(&b, " [%s", SYSLOG_SD_ID);
	if (r >= 0)
		r = put_param(&b, "event", type != NULL ? type : "");
	if (r >= 0 && session != NULL)
		r = put_param(&b, "session", session);
	if (r >= 0)
		r = buf_put(&b, "] ", 2);
	if (r >= 0)
		r = buf_put(&b, json, json_len);
	char *out = r >= 0 ? malloc(b.len + 1) : NULL;
	if (out != NULL) {
		memcpy(out, b.data, b.len);
		out[b.len] = '\0';
		*len = b.len;
	}
	buf_free(&b);
	return out;
}

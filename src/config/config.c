/*
 * config: the YAML config file -> a validated struct config.
 *
 * Two passes over the bytes. The first runs libyaml's event parser only to refuse what we never
 * accept (syntax errors, aliases, several documents, absurd nesting) before a tree is built;
 * stopping early at a nesting limit matters because libyaml's scanner gets quadratically slower
 * with the depth of flow collections ("[[[[..." of 40k takes seconds).
 * The second uses yaml_parser_load for a node tree whose nodes carry line numbers, and walks it
 * against tables of known keys. Every problem is collected instead of stopping at the first, so
 * an operator fixes the file in one go.
 *
 * Not here: any meaning of the values beyond their form and range (opening paths, resolving
 * addresses, checking that an image exists).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include "config.h"

#include "log.h"
#include "syslog_msg.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#define CONFIG_MAX_BYTES (1024 * 1024)
#define MAX_DEPTH        32  /* the schema needs 5; anything deeper is not a config of ours */
#define MAX_ERRORS       100 /* a binary file would otherwise give one line per byte */
#define MAX_KEYS         16
#define PAIRS_MAX        64 /* names in a K_PAIRS mapping (egress.hosts) */
#define LIST_MAX_PORTS                                                                             \
	32 /* egress.live_ports */ /* most keys in one section; checked below for every table */
#define SHOW_MAX 60                /* bytes of a value echoed back in a message */
#define SHOW_BUF (SHOW_MAX * 4 + 8)
#define PATH_BUF 512

struct errs {
	char *buf;
	size_t len, cap;
	int n;
	int oom;
};

struct ctx {
	const char *name; /* for messages */
	const unsigned char *data;
	size_t len;
	yaml_document_t *doc;
	struct errs errs;
};

/* ---- error collection ---- */

static void errs_vappend(struct errs *e, const char *fmt, va_list ap)
{
	va_list aq;
	int need;

	if (e->oom)
		return;
	va_copy(aq, ap);
	need = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (need < 0)
		return;
	if (e->len + (size_t)need + 1 > e->cap) {
		size_t cap = e->cap ? e->cap : 256;
		char *p;

		while (cap < e->len + (size_t)need + 1)
			cap *= 2;
		p = realloc(e->buf, cap);
		if (!p) {
			e->oom = 1;
			return;
		}
		e->buf = p;
		e->cap = cap;
	}
	vsnprintf(e->buf + e->len, e->cap - e->len, fmt, ap);
	e->len += (size_t)need;
}

static void errs_append(struct errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errs_append(struct errs *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errs_vappend(e, fmt, ap);
	va_end(ap);
}

/* One problem: "NAME:LINE: PATH: message". LINE 0 means the whole file; an empty PATH means the
 * problem belongs to no key (syntax, the top level). */
static void report(struct ctx *x, size_t line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report(struct ctx *x, size_t line, const char *path, const char *fmt, ...)
{
	va_list ap;

	x->errs.n++;
	if (x->errs.n == MAX_ERRORS + 1)
		errs_append(&x->errs, "%s: too many errors, the rest are not shown\n", x->name);
	if (x->errs.n > MAX_ERRORS)
		return;
	errs_append(&x->errs, "%s:", x->name);
	if (line > 0)
		errs_append(&x->errs, "%zu:", line);
	errs_append(&x->errs, " ");
	if (path && *path)
		errs_append(&x->errs, "%s: ", path);
	va_start(ap, fmt);
	errs_vappend(&x->errs, fmt, ap);
	va_end(ap);
	errs_append(&x->errs, "\n");
}

static void report_oom(struct ctx *x)
{
	if (!x->errs.oom)
		report(x, 0, NULL, "out of memory");
	x->errs.oom = 1;
}

/* ---- scalar text: classification and safe echoing ---- */

static int lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

static int text_ieq(const char *s, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len && word[i]; i++)
		if (lower((unsigned char)s[i]) != word[i])
			return 0;
	return i == len && word[i] == '\0';
}

static int text_eq(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(s, word, len) == 0;
}

static int is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static size_t slen(const yaml_node_t *n)
{
	return n->data.scalar.length;
}

static int is_plain(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML 1.1 null: an empty plain scalar, "~" or null in its three spellings. */
static int is_null(const yaml_node_t *n)
{
	if (!is_plain(n))
		return 0;
	return slen(n) == 0 || text_eq(sval(n), slen(n), "~") ||
	       text_eq(sval(n), slen(n), "null") || text_eq(sval(n), slen(n), "Null") ||
	       text_eq(sval(n), slen(n), "NULL");
}

/* 1 true, 0 false, -1 not a boolean. */
static int bool_value(const char *s, size_t len)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	size_t i;

	for (i = 0; i < 3; i++) {
		if (text_ieq(s, len, yes[i]))
			return 1;
		if (text_ieq(s, len, no[i]))
			return 0;
	}
	return -1;
}

static int is_int_text(const char *s, size_t len)
{
	size_t i = (len > 0 && s[0] == '-') ? 1 : 0;

	if (i == len)
		return 0;
	for (; i < len; i++)
		if (!is_digit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A decimal number strtod takes whole. The character filter keeps out what strtod also takes
 * but nobody means here: "nan", "inf", hex floats, leading blanks. */
static int number_value(const char *s, size_t len, double *out)
{
	int digits = 0;
	char *end;
	size_t i;

	if (len == 0 || memchr(s, '\0', len))
		return 0;
	for (i = 0; i < len; i++) {
		if (is_digit((unsigned char)s[i]))
			digits = 1;
		else if (!strchr(".eE+-", s[i]))
			return 0;
	}
	if (!digits)
		return 0;
	errno = 0;
	*out = strtod(s, &end);
	return end == s + len && errno == 0 && isfinite(*out);
}

/* Bytes from the file echoed into a message: printable ASCII as is, the rest as \xNN, cut after
 * SHOW_MAX bytes, so that a message stays one readable line whatever the file holds. */
static void escape(char *out, size_t outsz, const char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len && i < SHOW_MAX && o + 5 < outsz; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(out + o, outsz - o, "\\%c", ch);
		else if (ch >= 0x20 && ch < 0x7f)
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", ch);
	}
	if (i < len && o + 4 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* What a node is, for "got ...": numbers and booleans as written, strings quoted. */
static const char *show(const yaml_node_t *n, char out[SHOW_BUF])
{
	double d;

	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (is_null(n))
		return "null";
	if (is_plain(n) &&
	    (bool_value(sval(n), slen(n)) >= 0 || number_value(sval(n), slen(n), &d))) {
		escape(out, SHOW_BUF, sval(n), slen(n));
		return out;
	}
	out[0] = '"';
	escape(out + 1, SHOW_BUF - 2, sval(n), slen(n));
	strcat(out, "\"");
	return out;
}

static size_t line_of(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

/* ---- the schema ---- */

enum kind {
	K_SECTION, /* a mapping of further keys */
	K_INT,     /* int, min..max */
	K_CORES,   /* double, an int or a float, 0.1..8.0 */
	K_BOOL,
	K_STRING,   /* char *, any scalar's text; optional check */
	K_NULLSTR,  /* char *, or NULL for a YAML null; optional check */
	K_SIZE,     /* int64_t bytes from <n>[kmg], > 0 and >= min */
	K_LIST,     /* struct strlist of non-empty strings */
	K_CREDS,    /* a list of credential mappings: .off the array, .off_n its length */
	K_LEVEL,    /* int, a log level name */
	K_STARTUPS, /* int[3] from "start:rate:full" (or one number: start = full) */
	K_PAIRS,    /* struct strpairs: a mapping of names to scalar values; optional check */
};

struct key {
	const char *name;
	enum kind kind;
	size_t off; /* of the field, from the struct being filled */
	long long min, max;
	const char *min_text;                /* K_SIZE: the minimum as users write it */
	const char *max_text;                /* K_SIZE: the maximum (max > 0); K_LIST: max is
	                                      * the most items (0: any number) */
	int empty_ok;                        /* K_STRING: "" allowed; K_SIZE: 0 allowed */
	int required;                        /* "missing" when absent */
	size_t off_n;                        /* K_CREDS: of the list's length */
	const char *(*check)(const char *s); /* NULL if fine, else what is wrong */
	const struct key *sub;               /* K_SECTION */
};

static const char *check_banner(const char *s)
{
	size_t len = strlen(s), i;

	if (strncmp(s, "SSH-", 4) == 0)
		return "must not include the \"SSH-2.0-\" prefix";
	if (len > 200)
		return "must be at most 200 characters";
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return "must be printable ASCII";
	if (s[0] == ' ' || s[len - 1] == ' ')
		return "must not begin or end with a space";
	return NULL;
}

/* A runtime name as dockerd takes it in --add-runtime (or auto, default). */
static const char *check_runtime(const char *s)
{
	size_t len = strlen(s), i;

	if (len == 0 || len > 64)
		return "must be auto, default or an engine's runtime name (at most 64 characters)";
	for (i = 0; i < len; i++)
		if (!is_digit((unsigned char)s[i]) && !(lower(s[i]) >= 'a' && lower(s[i]) <= 'z') &&
		    s[i] != '-' && s[i] != '_' && s[i] != '.')
			return "must be auto, default or an engine's runtime name (letters, "
			       "digits, "
			       "'-', '_', '.')";
	return NULL;
}

/* RFC 1123 labels joined by dots; 63 because that is what one label (and `hostname` in a
 * container's prompt) is comfortable with. */
static const char *check_hostname(const char *s)
{
	static const char msg[] =
	    "must be a hostname (letters, digits, '-' and '.', at most 63 characters)";
	size_t len = strlen(s), i, label = 0;

	if (len > 63)
		return msg;
	for (i = 0; i <= len; i++) {
		char ch = s[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0 || s[i - 1] == '-')
				return msg;
			label = 0;
		} else if (is_digit((unsigned char)ch) || (lower(ch) >= 'a' && lower(ch) <= 'z') ||
		           ch == '-') {
			if (label == 0 && ch == '-')
				return msg;
			label++;
		} else {
			return msg;
		}
	}
	return NULL;
}

static const char *check_base_url(const char *s)
{
	if ((strncmp(s, "unix://", 7) == 0 && s[7]) || (strncmp(s, "tcp://", 6) == 0 && s[6]))
		return NULL;
	return "must be null or start with unix:// or tcp://";
}

static const char *check_log_format(const char *s)
{
	return strcmp(s, "json") == 0 || strcmp(s, "text") == 0 ? NULL
	                                                        : "must be \"json\" or \"text\"";
}

/* Bait files are named as the shell sees them: absolute, no "." or ".."
 * components, no doubled or trailing slash. */
static const char *check_abs_path(const char *s)
{
	static const char msg[] = "must be an absolute path without \".\", \"..\" or \"//\"";

	if (s[0] != '/' || s[1] == '\0' || s[strlen(s) - 1] == '/' || strstr(s, "//") ||
	    strstr(s, "/./") || strstr(s, "/../") || !strcmp(s + strlen(s) - 2, "/.") ||
	    (strlen(s) >= 3 && !strcmp(s + strlen(s) - 3, "/..")))
		return msg;
	return NULL;
}

/* The workers' chroot: absolute, and not / itself. */
static const char *check_abs_dir(const char *s)
{
	if (strcmp(s, "/") == 0)
		return "must not be /";
	return check_abs_path(s);
}

static const char *check_network_mode(const char *s)
{
	/* Docker's own modes but sinkhole pass as they are. */
	return *s == '\0' ? "must not be empty" : NULL;
}

/* "auto", a built-in profile's name, or a profile file's absolute path. */
static const char *check_profile(const char *s)
{
	if (s[0] == '/')
		return NULL;
	if (*s == '\0' || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") != strlen(s))
		return "must be auto, a profile's name (letters, digits, '.', '_', '-') or an "
		       "absolute path";
	return NULL;
}

static const char *check_fetch(const char *s)
{
	return strcmp(s, "off") == 0 || strcmp(s, "cache") == 0 || strcmp(s, "live") == 0
	           ? NULL
	           : "must be \"off\", \"cache\" or \"live\"";
}

static const char *check_subnet(const char *s)
{
	uint32_t net;
	int prefix;
	return util_parse_cidr4(s, 8, 28, &net, &prefix) == 0
	           ? NULL
	           : "must be an IPv4 network A.B.C.D/N, N from 8 to 28, no host bits set";
}

/* "A.B.C.D:PORT": where an egress.hosts name's fetches go. */
static const char *check_host_target(const char *s)
{
	const char *colon = strrchr(s, ':');
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;
	char *end;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(addr))
		return "must be \"A.B.C.D:PORT\"";
	memcpy(addr, s, (size_t)(colon - s));
	addr[colon - s] = '\0';
	long port = strtol(colon + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &a) != 1 || colon[1] == '\0' || *end != '\0' || port < 1 ||
	    port > 65535)
		return "must be \"A.B.C.D:PORT\"";
	return NULL;
}

static const char *check_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' && v >= 1 && v <= 65535 ? NULL
	                                                          : "must be a port, 1 to 65535";
}

static const char *check_recording_format(const char *s)
{
	return strcmp(s, "asciinema") == 0 ? NULL : "must be \"asciinema\"";
}

static const char *check_cowrie_json(const char *s)
{
	return *s != '\0' && s[strlen(s) - 1] != '/' ? NULL : "must be a file's path";
}

/* Written into every line of the Cowrie stream: printable ASCII, short. */
static const char *check_sensor(const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return "must be printable ASCII without spaces";
	return n >= 1 && n <= 64 ? NULL : "must be 1 to 64 characters";
}

/* HOST:PORT, HOST an address ([...] for IPv6) or a name. */
static const char *check_listen(const char *s)
{
	char url[300];
	struct syslog_target t;
	const char *why = NULL;

	if (strlen(s) > 270)
		return "too long";
	snprintf(url, sizeof(url), "tcp://%s", s);
	return syslog_target_parse(url, &t, &why) == 0 ? NULL : "must be HOST:PORT";
}

static const char *check_syslog(const char *s)
{
	struct syslog_target t;
	const char *why = NULL;
	return syslog_target_parse(s, &t, &why) == 0 ? NULL : why;
}

static const char *check_facility(const char *s)
{
	return syslog_facility(s) >= 0 ? NULL
	                               : "must be user, daemon, auth, authpriv or local0 to local7";
}

/* The tables read best as one row per key. */
/* clang-format off */
#define C(f) offsetof(struct config, f)
#define INT(n, f, lo, hi) {.name = n, .kind = K_INT, .off = C(f), .min = lo, .max = hi}
#define STR(n, f, chk)    {.name = n, .kind = K_STRING, .off = C(f), .check = chk}
#define LIST(n, f)        {.name = n, .kind = K_LIST, .off = C(f)}
#define SECTION(n, keys)  {.name = n, .kind = K_SECTION, .sub = keys}

static const struct key server_keys[] = {
	STR("host", server.host, NULL),
	INT("port", server.port, 1, 65535),
	STR("host_key_path", server.host_key_path, NULL),
	INT("max_concurrent_sessions", server.max_concurrent_sessions, 1, INT_MAX),
	INT("session_timeout", server.session_timeout, 60, INT_MAX),
	INT("login_grace_time", server.login_grace_time, 1, INT_MAX),
	INT("max_auth_tries", server.max_auth_tries, 1, 1000),
	INT("max_sessions_per_ip", server.max_sessions_per_ip, 1, INT_MAX),
	{.name = "max_startups", .kind = K_STARTUPS, .off = C(server.max_startups)},
	STR("worker_user", server.worker_user, NULL),
	STR("worker_chroot", server.worker_chroot, check_abs_dir),
	INT("worker_template_uses", server.worker_template_uses, 0, 1000000),
	{.name = "banner", .kind = K_NULLSTR, .off = C(server.banner), .check = check_banner},
	{0},
};

static const struct key credential_keys[] = {
	{.name = "username", .kind = K_STRING, .off = offsetof(struct credential, username),
	 .required = 1},
	{.name = "password", .kind = K_STRING, .off = offsetof(struct credential, password),
	 .required = 1, .empty_ok = 1},
	{0},
};

/* A honeytoken login names a password, and a user only when it must match too. */
static const struct key honeytoken_credential_keys[] = {
	{.name = "username", .kind = K_STRING, .off = offsetof(struct credential, username)},
	{.name = "password", .kind = K_STRING, .off = offsetof(struct credential, password),
	 .required = 1},
	{0},
};

#define CREDS(n, f, fn, items) {.name = n, .kind = K_CREDS, .off = C(f), .off_n = C(fn), .sub = items}

static const struct key authentication_keys[] = {
	CREDS("static_credentials", authentication.static_credentials,
	      authentication.n_static_credentials, credential_keys),
	INT("accept_all_after_failures", authentication.accept_all_after_failures, 0, INT_MAX),
	LIST("accepted_key_fingerprints", authentication.accepted_key_fingerprints),
	INT("accept_keys_after", authentication.accept_keys_after, 0, INT_MAX),
	{.name = "keyboard_interactive", .kind = K_BOOL, .off = C(authentication.keyboard_interactive)},
	{0},
};

static const struct key capabilities_keys[] = {
	LIST("drop", container_pool.security.cap_drop),
	LIST("add", container_pool.security.cap_add),
	{0},
};

static const struct key security_keys[] = {
	STR("network_mode", container_pool.security.network_mode, check_network_mode),
	{.name = "memory_limit", .kind = K_SIZE, .off = C(container_pool.security.memory_limit),
	 .min = 6 << 20, .min_text = "6m (Docker's minimum)"},
	{.name = "cpu_quota", .kind = K_CORES, .off = C(container_pool.security.cpu_quota)},
	INT("pids_limit", container_pool.security.pids_limit, 10, INT_MAX),
	{.name = "tmpfs_size", .kind = K_SIZE, .off = C(container_pool.security.tmpfs_size)},
	{.name = "disk_quota", .kind = K_SIZE, .off = C(container_pool.security.disk_quota),
	 .empty_ok = 1},
	SECTION("capabilities", capabilities_keys),
	LIST("security_opt", container_pool.security.security_opt),
	{0},
};

static const struct key pool_keys[] = {
	INT("size", container_pool.size, 1, INT_MAX),
	INT("spawn_timeout", container_pool.spawn_timeout, 5, INT_MAX),
	STR("image", container_pool.image, NULL),
	INT("max_session_duration", container_pool.max_session_duration, 60, INT_MAX),
	INT("cleanup_stopped_after_days", container_pool.cleanup_stopped_after_days, 0, INT_MAX),
	STR("hostname", container_pool.hostname, check_hostname),
	INT("sticky_ttl", container_pool.sticky_ttl, 0, 7 * 86400),
	INT("max_boxes", container_pool.max_boxes, 1, 100000),
	{.name = "agent", .kind = K_BOOL, .off = C(container_pool.agent)},
	STR("runtime", container_pool.runtime, check_runtime),
	SECTION("security", security_keys),
	{0},
};

static const struct key recording_keys[] = {
	{.name = "enabled", .kind = K_BOOL, .off = C(recording.enabled)},
	STR("output_dir", recording.output_dir, NULL),
	STR("format", recording.format, check_recording_format),
	INT("retention_days", recording.retention_days, 0, 36500),
	{.name = "max_session_size", .kind = K_SIZE, .off = C(recording.max_session_size)},
	{0},
};

static const struct key forensics_keys[] = {
	{.name = "enabled", .kind = K_BOOL, .off = C(forensics.enabled)},
	STR("artifacts_dir", forensics.artifacts_dir, NULL),
	STR("database", forensics.database, NULL),
	{.name = "max_file_size", .kind = K_SIZE, .off = C(forensics.max_file_size),
	 .max = 48 << 20, .max_text = "48m"},
	{.name = "max_session_size", .kind = K_SIZE, .off = C(forensics.max_session_size)},
	INT("retention_days", forensics.retention_days, 0, 36500),
	{.name = "disk_budget", .kind = K_SIZE, .off = C(forensics.disk_budget), .empty_ok = 1},
	{0},
};

static const struct key honeytokens_keys[] = {
	CREDS("credentials", honeytokens.credentials, honeytokens.n_credentials,
	      honeytoken_credential_keys),
	{.name = "files", .kind = K_LIST, .off = C(honeytokens.files), .check = check_abs_path},
	{0},
};

static const struct key logging_keys[] = {
	{.name = "level", .kind = K_LEVEL, .off = C(logging.level)},
	STR("format", logging.format, check_log_format),
	STR("output_dir", logging.output_dir, NULL),
	{.name = "max_session_log", .kind = K_SIZE, .off = C(logging.max_session_log),
	 .min = 64 << 10, .min_text = "64k", .empty_ok = 1},
	STR("cowrie_json", logging.cowrie_json, check_cowrie_json),
	STR("sensor", logging.sensor, check_sensor),
	STR("syslog", logging.syslog, check_syslog),
	STR("syslog_facility", logging.syslog_facility, check_facility),
	{0},
};

static const struct key egress_keys[] = {
	STR("fetch", egress.fetch, check_fetch),
	{.name = "hosts", .kind = K_PAIRS, .off = C(egress.hosts), .check = check_host_target},
	{.name = "live_ports", .kind = K_LIST, .off = C(egress.live_ports), .check = check_port,
	 .max = LIST_MAX_PORTS},
	STR("subnet", egress.subnet, check_subnet),
	{.name = "max_fetch_size", .kind = K_SIZE, .off = C(egress.max_fetch_size),
	 .max = 256 << 20, .max_text = "256m"},
	INT("fetch_timeout", egress.fetch_timeout, 1, 3600),
	{.name = "fetch_rate", .kind = K_SIZE, .off = C(egress.fetch_rate), .min = 1024,
	 .min_text = "1k"},
	INT("max_fetches", egress.max_fetches, 1, 64),
	INT("connect_rate", egress.connect_rate, 1, 100000),
	INT("max_connections", egress.max_connections, 1, 100000),
	INT("event_rate", egress.event_rate, 1, 100000),
	{.name = "box_rate", .kind = K_SIZE, .off = C(egress.box_rate), .min = 16 << 10,
	 .min_text = "16k", .max = 1LL << 30, .max_text = "1g", .empty_ok = 1},
	{0},
};

static const struct key stealth_keys[] = {
	STR("profile", stealth.profile, check_profile),
	{.name = "auth_delay", .kind = K_BOOL, .off = C(stealth.auth_delay)},
	{.name = "log_history", .kind = K_BOOL, .off = C(stealth.log_history)},
	{.name = "own_uptime", .kind = K_BOOL, .off = C(stealth.own_uptime)},
	{0},
};

static const struct key docker_keys[] = {
	STR("socket_path", docker.socket_path, NULL),
	{.name = "base_url", .kind = K_NULLSTR, .off = C(docker.base_url), .check = check_base_url},
	{0},
};

static const struct key metrics_keys[] = {
	STR("listen", metrics.listen, check_listen),
	{0},
};

static const struct key root_keys[] = {
	SECTION("server", server_keys),
	SECTION("authentication", authentication_keys),
	SECTION("container_pool", pool_keys),
	SECTION("recording", recording_keys),
	SECTION("forensics", forensics_keys),
	SECTION("honeytokens", honeytokens_keys),
	SECTION("logging", logging_keys),
	SECTION("egress", egress_keys),
	SECTION("stealth", stealth_keys),
	SECTION("metrics", metrics_keys),
	SECTION("docker", docker_keys),
	{0},
};
/* clang-format on */

#define FITS(t) _Static_assert(sizeof(t) / sizeof(t[0]) <= MAX_KEYS + 1, #t " too long")
FITS(server_keys);
FITS(credential_keys);
FITS(authentication_keys);
FITS(capabilities_keys);
FITS(security_keys);
FITS(pool_keys);
FITS(recording_keys);
FITS(forensics_keys);
FITS(honeytoken_credential_keys);
FITS(honeytokens_keys);
FITS(logging_keys);
FITS(docker_keys);
FITS(egress_keys);
FITS(stealth_keys);
FITS(metrics_keys);
FITS(root_keys);

/* ---- defaults and freeing ---- */

static void strlist_clear(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* Items are NULL-terminated too, for callers that want argv-style walking. */
static int strlist_set(struct strlist *l, const char *const *items, size_t n)
{
	size_t i;

	strlist_clear(l);
	l->items = calloc(n + 1, sizeof(*l->items));
	if (!l->items)
		return -ENOMEM;
	l->n = n;
	for (i = 0; i < n; i++)
		if (!(l->items[i] = strdup(items[i])))
			return -ENOMEM;
	return 0;
}

static void strpairs_clear(struct strpairs *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->names[i]);
		free(p->values[i]);
	}
	free(p->names);
	free(p->values);
	memset(p, 0, sizeof(*p));
}

static void credentials_free(struct credential *cr, size_t n)
{
	size_t i;

	for (i = 0; cr && i < n; i++) {
		if (cr[i].username) {
			explicit_bzero(cr[i].username, strlen(cr[i].username));
			free(cr[i].username);
		}
		if (cr[i].password) {
			explicit_bzero(cr[i].password, strlen(cr[i].password));
			free(cr[i].password);
		}
	}
	free(cr);
}

void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->server.host);
	free(c->server.host_key_path);
	free(c->server.banner);
	free(c->stealth.profile);
	free(c->server.worker_user);
	free(c->server.worker_chroot);
	credentials_free(c->authentication.static_credentials,
	                 c->authentication.n_static_credentials);
	strlist_clear(&c->authentication.accepted_key_fingerprints);
	free(c->container_pool.image);
	free(c->container_pool.hostname);
	free(c->container_pool.runtime);
	free(c->container_pool.security.network_mode);
	strlist_clear(&c->container_pool.security.cap_drop);
	strlist_clear(&c->container_pool.security.cap_add);
	strlist_clear(&c->container_pool.security.security_opt);
	free(c->recording.output_dir);
	free(c->forensics.artifacts_dir);
	free(c->forensics.database);
	credentials_free(c->honeytokens.credentials, c->honeytokens.n_credentials);
	strlist_clear(&c->honeytokens.files);
	free(c->recording.format);
	free(c->logging.format);
	free(c->logging.output_dir);
	free(c->logging.cowrie_json);
	free(c->logging.sensor);
	free(c->logging.syslog);
	free(c->metrics.listen);
	free(c->logging.syslog_facility);
	free(c->egress.fetch);
	strpairs_clear(&c->egress.hosts);
	strlist_clear(&c->egress.live_ports);
	free(c->egress.subnet);
	free(c->docker.socket_path);
	free(c->docker.base_url);
	free(c);
}

struct config *config_new_defaults(void)
{
	static const char *const drop[] = {"ALL"};
	/* Docker's default set less NET_RAW: a root with fewer (one that cannot
	 * read another user's 0600 file) is a tell (SECURITY.md says what each
	 * costs). No no-new-privileges: sudo works for a user, as on a server;
	 * the bounding set still limits what a setuid program gains. */
	static const char *const add[] = {
	    "CHOWN",  "DAC_OVERRIDE", "FOWNER",  "FSETID",           "KILL",
	    "SETGID", "SETUID",       "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT",
	    "MKNOD",  "AUDIT_WRITE",  "SETFCAP"};
	static const char *const ports[] = {"80", "443", "21", "8080"};
	struct config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->server.port = 2222;
	c->server.max_concurrent_sessions = 10;
	c->server.session_timeout = 3600;
	c->server.login_grace_time = 120;
	c->server.worker_template_uses = 100;
	c->server.max_auth_tries = 6;
	/* Not OpenSSH's 10:30:100 and no per-address cap of 4: a worker costs
	 * a fraction of an sshd, and a honeypot wants the attackers in (a
	 * 16-task hydra, a thousand scanners at once). */
	c->server.max_sessions_per_ip = 32;
	c->server.max_startups[0] = 2000;
	c->server.max_startups[1] = 30;
	c->server.max_startups[2] = 4000;
	c->authentication.accept_all_after_failures = 3;
	c->container_pool.size = 3;
	c->container_pool.spawn_timeout = 30;
	c->container_pool.max_session_duration = 3600;
	c->container_pool.cleanup_stopped_after_days = 7;
	c->container_pool.security.memory_limit = 256LL << 20;
	c->container_pool.security.cpu_quota = 0.5;
	c->container_pool.security.pids_limit = 100;
	c->container_pool.security.tmpfs_size = 50LL << 20;
	c->container_pool.security.disk_quota = 1LL << 30;
	c->recording.enabled = true;
	c->recording.max_session_size = 256LL << 20;
	c->forensics.enabled = true;
	c->forensics.max_file_size = 10LL << 20;
	c->forensics.max_session_size = 100LL << 20;
	c->stealth.auth_delay = true;
	c->stealth.log_history = true;
	c->stealth.own_uptime = true;
	c->container_pool.agent = true;
	c->container_pool.sticky_ttl = 3600;
	c->container_pool.max_boxes = 64;
	c->logging.level = LOG_INFO;
	c->logging.max_session_log = 4LL << 20;
	c->egress.max_fetch_size = 10LL << 20;
	c->egress.fetch_timeout = 30;
	c->egress.fetch_rate = 1LL << 20;
	c->egress.max_fetches = 4;
	c->egress.connect_rate = 20;
	c->egress.max_connections = 64;
	c->egress.event_rate = 50;
	c->egress.box_rate = 1LL << 20;

	if (!(c->server.host = strdup("0.0.0.0")) ||
	    !(c->server.host_key_path = strdup("/data/keys/ssh_host_rsa_key")) ||
	    !(c->server.worker_user = strdup("nobody")) ||
	    !(c->server.worker_chroot = strdup("/var/empty")) ||
	    !(c->container_pool.image = strdup("hermes-target-ubuntu:latest")) ||
	    !(c->container_pool.hostname = strdup("prod-web-01")) ||
	    !(c->container_pool.runtime = strdup("auto")) ||
	    !(c->container_pool.security.network_mode = strdup("none")) ||
	    strlist_set(&c->container_pool.security.cap_drop, drop, 1) < 0 ||
	    strlist_set(&c->container_pool.security.cap_add, add, sizeof(add) / sizeof(add[0])) <
	        0 ||
	    !(c->recording.output_dir = strdup("/data/recordings")) ||
	    !(c->recording.format = strdup("asciinema")) ||
	    !(c->forensics.artifacts_dir = strdup("/data/artifacts")) ||
	    !(c->forensics.database = strdup("/data/hermes.db")) ||
	    !(c->logging.format = strdup("json")) ||
	    !(c->logging.output_dir = strdup("/data/logs")) ||
	    !(c->logging.syslog_facility = strdup("local0")) ||
	    !(c->egress.fetch = strdup("off")) || !(c->egress.subnet = strdup("10.77.0.0/16")) ||
	    strlist_set(&c->egress.live_ports, ports, 4) < 0 ||
	    !(c->stealth.profile = strdup("auto")) ||
	    !(c->docker.socket_path = strdup("/var/run/docker.sock"))) {
		config_free(c);
		return NULL;
	}
	return c;
}

int64_t config_parse_size(const char *s)
{
	int64_t v = 0, mult = 1;
	const char *p = s;

	if (!s || !is_digit((unsigned char)*s))
		return -1;
	for (; is_digit((unsigned char)*p); p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	switch (lower((unsigned char)*p)) {
	case '\0':
		return v;
	case 'k':
		mult = 1LL << 10;
		break;
	case 'm':
		mult = 1LL << 20;
		break;
	case 'g':
		mult = 1LL << 30;
		break;
	default:
		return -1;
	}
	if (p[1] != '\0' || v > INT64_MAX / mult)
		return -1;
	return v * mult;
}

/* ---- walking the tree ---- */

static void load_map(struct ctx *x, const yaml_node_t *map, const struct key *keys, void *base,
                     const char *path);

static yaml_node_t *node(struct ctx *x, int id)
{
	return yaml_document_get_node(x->doc, id);
}

/* Paths only grow past PATH_BUF through absurdly long unknown keys, which escape() cuts anyway;
 * a path that still does not fit ends in "...". */
static void child_path(char out[PATH_BUF], const char *path, const char *name)
{
	if (snprintf(out, PATH_BUF, "%s%s%s", path, *path ? "." : "", name) >= PATH_BUF)
		strcpy(out + PATH_BUF - 4, "...");
}

static void index_path(char out[PATH_BUF], const char *path, size_t i)
{
	if (snprintf(out, PATH_BUF, "%s[%zu]", path, i) >= PATH_BUF)
		strcpy(out + PATH_BUF - 4, "...");
}

/* The text of a scalar that must be a string, or NULL after reporting why it is not one. */
static const char *string_text(struct ctx *x, const yaml_node_t *v, const char *path)
{
	char got[SHOW_BUF];

	if (v->type != YAML_SCALAR_NODE || is_null(v)) {
		report(x, line_of(v), path, "must be a string, got %s", show(v, got));
		return NULL;
	}
	if (memchr(sval(v), '\0', slen(v))) {
		report(x, line_of(v), path, "must not contain NUL bytes");
		return NULL;
	}
	return sval(v);
}

static void set_string(struct ctx *x, char **dst, const char *s)
{
	char *copy = strdup(s);

	if (!copy) {
		report_oom(x);
		return;
	}
	free(*dst);
	*dst = copy;
}

static void load_int(struct ctx *x, const yaml_node_t *v, const struct key *k, int *dst,
                     const char *path)
{
	char got[SHOW_BUF];
	long long n;

	if (v->type != YAML_SCALAR_NODE || !is_plain(v) || !is_int_text(sval(v), slen(v))) {
		report(x, line_of(v), path, "must be an integer, got %s", show(v, got));
		return;
	}
	errno = 0;
	n = strtoll(sval(v), NULL, 10);
	if (errno == 0 && n >= k->min && n <= k->max) {
		*dst = (int)n;
		return;
	}
	if (k->max != INT_MAX)
		report(x, line_of(v), path, "must be between %lld and %lld, got %s", k->min, k->max,
		       show(v, got));
	else if (errno == 0 && n < k->min)
		report(x, line_of(v), path, "must be at least %lld, got %s", k->min, show(v, got));
	else
		report(x, line_of(v), path, "must be at most %d, got %s", INT_MAX, show(v, got));
}

static void load_cores(struct ctx *x, const yaml_node_t *v, double *dst, const char *path)
{
	char got[SHOW_BUF];
	double d;

	if (v->type != YAML_SCALAR_NODE || !is_plain(v) || !number_value(sval(v), slen(v), &d)) {
		report(x, line_of(v), path, "must be a number, got %s", show(v, got));
		return;
	}
	if (d < 0.1 || d > 8.0) {
		report(x, line_of(v), path, "must be between 0.1 and 8.0, got %s", show(v, got));
		return;
	}
	*dst = d;
}

static void load_bool(struct ctx *x, const yaml_node_t *v, bool *dst, const char *path)
{
	char got[SHOW_BUF];
	int b = is_plain(v) ? bool_value(sval(v), slen(v)) : -1;

	if (b < 0) {
		report(x, line_of(v), path, "must be true or false, got %s", show(v, got));
		return;
	}
	*dst = b;
}

static void load_string(struct ctx *x, const yaml_node_t *v, const struct key *k, char **dst,
                        const char *path)
{
	char got[SHOW_BUF];
	const char *s, *why;

	if (k->kind == K_NULLSTR && is_null(v)) {
		free(*dst);
		*dst = NULL;
		return;
	}
	if (!(s = string_text(x, v, path)))
		return;
	if (!*s && !k->empty_ok) {
		report(x, line_of(v), path, "must not be empty");
		return;
	}
	if (k->check && (why = k->check(s))) {
		report(x, line_of(v), path, "%s, got %s", why, show(v, got));
		return;
	}
	set_string(x, dst, s);
}

static void load_size(struct ctx *x, const yaml_node_t *v, const struct key *k, int64_t *dst,
                      const char *path)
{
	char got[SHOW_BUF];
	const char *s;
	int64_t n;

	if (!(s = string_text(x, v, path)))
		return;
	n = config_parse_size(s);
	if (n < 0)
		report(x, line_of(v), path, "must look like <n>[kmg], got %s", show(v, got));
	else if (n == 0 && !k->empty_ok)
		report(x, line_of(v), path, "must be greater than 0, got %s", show(v, got));
	else if (n < k->min && n != 0)
		report(x, line_of(v), path, "must be at least %s, got %s", k->min_text,
		       show(v, got));
	else if (k->max > 0 && n > k->max)
		report(x, line_of(v), path, "must be at most %s, got %s", k->max_text,
		       show(v, got));
	else
		*dst = n;
}

static void load_level(struct ctx *x, const yaml_node_t *v, int *dst, const char *path)
{
	char got[SHOW_BUF];
	const char *s;
	int level;

	if (!(s = string_text(x, v, path)))
		return;
	level = log_level_parse(s);
	if (level < 0) {
		report(x, line_of(v), path,
		       "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got %s",
		       show(v, got));
		return;
	}
	*dst = level;
}

/* OpenSSH's MaxStartups: "start:rate:full" (1 <= start <= full, rate
 * 1..100 percent), or one number N meaning N:100:N. */
static void load_startups(struct ctx *x, const yaml_node_t *v, int *dst, const char *path)
{
	char got[SHOW_BUF];
	const char *s;
	long n[3];
	int k = 0;

	if (!(s = string_text(x, v, path)))
		return;
	/* k numbers, each digits, separated by single colons, to the end */
	for (const char *p = s;;) {
		char *end;
		if (k == 3 || !is_digit((unsigned char)*p) ||
		    (n[k] = strtol(p, &end, 10)) > 100000) {
			k = -1;
			break;
		}
		k++;
		p = end;
		if (*p == '\0')
			break;
		if (*p++ != ':') {
			k = -1;
			break;
		}
	}
	if (k == 1) {
		n[2] = n[0];
		n[1] = 100;
		k = 3;
	}
	if (k != 3 || n[0] < 1 || n[0] > n[2] || n[1] < 1 || n[1] > 100) {
		report(x, line_of(v), path,
		       "must be start:rate:full (1 <= start <= full, rate 1..100) or one number, "
		       "got %s",
		       show(v, got));
		return;
	}
	for (k = 0; k < 3; k++)
		dst[k] = (int)n[k];
}

static int check_list(struct ctx *x, const yaml_node_t *v, const char *path)
{
	char got[SHOW_BUF];

	if (v->type == YAML_SEQUENCE_NODE)
		return 0;
	report(x, line_of(v), path, "must be a list, got %s", show(v, got));
	return -1;
}

static void load_list(struct ctx *x, const yaml_node_t *v, const struct key *k, struct strlist *dst,
                      const char *path)
{
	const char *bad;
	size_t n, i;
	char ipath[PATH_BUF];
	const yaml_node_item_t *it;

	if (check_list(x, v, path) < 0)
		return;
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (k->max > 0 && n > (size_t)k->max) {
		report(x, line_of(v), path, "at most %lld items", k->max);
		return;
	}
	strlist_clear(dst);
	if (!(dst->items = calloc(n + 1, sizeof(*dst->items)))) {
		report_oom(x);
		return;
	}
	dst->n = n;
	for (i = 0, it = v->data.sequence.items.start; i < n; i++, it++) {
		const yaml_node_t *item = node(x, *it);
		const char *s;

		index_path(ipath, path, i);
		if (!item || !(s = string_text(x, item, ipath)))
			continue;
		if (!*s)
			report(x, line_of(item), ipath, "must not be empty");
		else if (k->check && (bad = k->check(s)))
			report(x, line_of(item), ipath, "%s", bad);
		else if (!(dst->items[i] = strdup(s)))
			report_oom(x);
	}
}

static void load_credentials(struct ctx *x, const yaml_node_t *v, const struct key *k, void *base,
                             const char *path)
{
	struct credential **list = (struct credential **)((char *)base + k->off);
	size_t *count = (size_t *)((char *)base + k->off_n);
	struct credential *cr;
	char ipath[PATH_BUF], got[SHOW_BUF];
	const yaml_node_item_t *it;
	size_t n, i;

	if (check_list(x, v, path) < 0)
		return;
	n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
	if (!(cr = calloc(n + 1, sizeof(*cr)))) {
		report_oom(x);
		return;
	}
	credentials_free(*list, *count);
	*list = cr;
	*count = n;
	for (i = 0, it = v->data.sequence.items.start; i < n; i++, it++) {
		const yaml_node_t *item = node(x, *it);

		index_path(ipath, path, i);
		if (!item)
			continue;
		if (item->type != YAML_MAPPING_NODE)
			report(x, line_of(item), ipath,
			       "must be a mapping with username and password, got %s",
			       show(item, got));
		else
			load_map(x, item, k->sub, &cr[i], ipath);
	}
}

/* A name as a URL's host: letters, digits, '-', '_', '.', at most 253. */
static bool host_name(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

static void load_pairs(struct ctx *x, const yaml_node_t *v, const struct key *k,
                       struct strpairs *dst, const char *path)
{
	char kpath[PATH_BUF], name[SHOW_BUF], got[SHOW_BUF];
	const char *bad;

	if (is_null(v)) {
		strpairs_clear(dst);
		return;
	}
	if (v->type != YAML_MAPPING_NODE) {
		report(x, line_of(v), path, "must be a mapping, got %s", show(v, got));
		return;
	}
	strpairs_clear(dst);
	size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	if (!(dst->names = calloc(n + 1, sizeof(char *))) ||
	    !(dst->values = calloc(n + 1, sizeof(char *)))) {
		report_oom(x);
		return;
	}
	for (const yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = node(x, p->key), *vn = node(x, p->value);
		const char *s;
		if (!kn || !vn)
			continue;
		if (kn->type != YAML_SCALAR_NODE || !host_name(sval(kn), slen(kn))) {
			report(x, line_of(kn), path, "keys must be host names, got %s",
			       show(kn, got));
			continue;
		}
		if (dst->n == PAIRS_MAX) {
			report(x, line_of(kn), path, "at most %d names", PAIRS_MAX);
			break;
		}
		escape(name, sizeof(name), sval(kn), slen(kn));
		child_path(kpath, path, name);
		for (size_t i = 0; i < dst->n; i++)
			if (strlen(dst->names[i]) == slen(kn) &&
			    memcmp(dst->names[i], sval(kn), slen(kn)) == 0)
				report(x, line_of(kn), kpath, "duplicate key");
		if (!(s = string_text(x, vn, kpath)))
			continue;
		if (k->check && (bad = k->check(s))) {
			report(x, line_of(vn), kpath, "%s", bad);
			continue;
		}
		if (!(dst->names[dst->n] = strndup(sval(kn), slen(kn))) ||
		    !(dst->values[dst->n] = strdup(s))) {
			free(dst->names[dst->n]);
			report_oom(x);
			return;
		}
		dst->n++;
	}
}

static void load_value(struct ctx *x, const yaml_node_t *v, const struct key *k, void *base,
                       const char *path)
{
	void *field = (char *)base + k->off;
	char got[SHOW_BUF];

	switch (k->kind) {
	case K_SECTION:
		/* A section whose keys are all commented out is a null: same as absent. */
		if (is_null(v))
			return;
		if (v->type != YAML_MAPPING_NODE)
			report(x, line_of(v), path, "must be a mapping, got %s", show(v, got));
		else
			load_map(x, v, k->sub, base, path);
		return;
	case K_INT:
		load_int(x, v, k, field, path);
		return;
	case K_CORES:
		load_cores(x, v, field, path);
		return;
	case K_BOOL:
		load_bool(x, v, field, path);
		return;
	case K_STRING:
	case K_NULLSTR:
		load_string(x, v, k, field, path);
		return;
	case K_SIZE:
		load_size(x, v, k, field, path);
		return;
	case K_LIST:
		load_list(x, v, k, field, path);
		return;
	case K_CREDS:
		load_credentials(x, v, k, base, path);
		return;
	case K_LEVEL:
		load_level(x, v, field, path);
		return;
	case K_STARTUPS:
		load_startups(x, v, field, path);
		return;
	case K_PAIRS:
		load_pairs(x, v, k, field, path);
		return;
	}
}

static void load_map(struct ctx *x, const yaml_node_t *map, const struct key *keys, void *base,
                     const char *path)
{
	size_t seen[MAX_KEYS] = {0}; /* line where each key was first given */
	char kpath[PATH_BUF], name[SHOW_BUF], got[SHOW_BUF];
	const yaml_node_pair_t *p;
	size_t i;

	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = node(x, p->key), *v = node(x, p->value);

		if (!k || !v)
			continue;
		if (k->type != YAML_SCALAR_NODE) {
			report(x, line_of(k), path, "keys must be names, got %s", show(k, got));
			continue;
		}
		for (i = 0; keys[i].name; i++)
			if (text_eq(sval(k), slen(k), keys[i].name))
				break;
		if (!keys[i].name) {
			escape(name, sizeof(name), sval(k), slen(k));
			child_path(kpath, path, name);
			report(x, line_of(k), kpath, "unknown key");
			continue;
		}
		child_path(kpath, path, keys[i].name);
		if (seen[i]) {
			report(x, line_of(k), kpath, "duplicate key (first given at line %zu)",
			       seen[i]);
			continue;
		}
		seen[i] = line_of(k);
		load_value(x, v, &keys[i], base, kpath);
	}
	for (i = 0; keys[i].name; i++) {
		if (keys[i].required && !seen[i]) {
			child_path(kpath, path, keys[i].name);
			report(x, line_of(map), kpath, "missing");
		}
	}
}

/* ---- the two passes ---- */

static size_t line_of_offset(const struct ctx *x, size_t off)
{
	size_t i, line = 1;

	for (i = 0; i < off && i < x->len; i++)
		if (x->data[i] == '\n')
			line++;
	return line;
}

static void report_yaml_error(struct ctx *x, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		report_oom(x);
		break;
	case YAML_READER_ERROR:
		if (p->problem_value != -1)
			report(x, line_of_offset(x, p->problem_offset), NULL, "%s: #%X", problem,
			       (unsigned)p->problem_value);
		else
			report(x, line_of_offset(x, p->problem_offset), NULL, "%s", problem);
		break;
	default:
		if (p->context)
			report(x, p->problem_mark.line + 1, NULL, "%s (%s at line %zu)", problem,
			       p->context, p->context_mark.line + 1);
		else
			report(x, p->problem_mark.line + 1, NULL, "%s", problem);
		break;
	}
}

static void set_input(struct ctx *x, yaml_parser_t *p)
{
	yaml_parser_set_input_string(p, x->len ? x->data : (const unsigned char *)"", x->len);
}

/* Pass one: events only. Returns 0 if the stream is one document we can go on to load. */
static int prescan(struct ctx *x)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, docs = 0, done = 0, bad = 0;

	if (!yaml_parser_initialize(&p)) {
		report_oom(x);
		return -1;
	}
	set_input(x, &p);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			report_yaml_error(x, &p);
			bad = 1;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				report(x, ev.start_mark.line + 1, NULL,
				       "only one YAML document is allowed");
				bad = done = 1;
			}
			break;
		case YAML_ALIAS_EVENT:
			report(x, ev.start_mark.line + 1, NULL, "aliases are not supported");
			bad = 1;
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > MAX_DEPTH) {
				report(x, ev.start_mark.line + 1, NULL,
				       "nested deeper than %d levels", MAX_DEPTH);
				bad = done = 1;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return bad ? -1 : 0;
}

/* Pass two: the node tree, walked against the schema. */
static void load(struct ctx *x, struct config *c)
{
	yaml_parser_t p;
	yaml_document_t doc;
	const yaml_node_t *root;
	char got[SHOW_BUF];

	if (!yaml_parser_initialize(&p)) {
		report_oom(x);
		return;
	}
	set_input(x, &p);
	if (!yaml_parser_load(&p, &doc)) {
		report_yaml_error(x, &p);
		yaml_parser_delete(&p);
		return;
	}
	x->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	/* An empty file, a file of comments and a bare "---" all mean: every default. */
	if (root && !is_null(root)) {
		if (root->type != YAML_MAPPING_NODE)
			report(x, line_of(root), NULL, "the top level must be a mapping, got %s",
			       show(root, got));
		else
			load_map(x, root, root_keys, c, "");
	}
	x->doc = NULL;
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
}

static char *errs_take(struct errs *e)
{
	char *s = e->buf;

	if (e->oom || !s) {
		free(s);
		return NULL;
	}
	e->buf = NULL;
	return s;
}

int config_parse(const char *name, const void *data, size_t len, struct config **out, char **errors)
{
	struct ctx x = {.name = name ? name : "<config>", .data = data, .len = len};
	struct config *c;

	*out = NULL;
	if (errors)
		*errors = NULL;
	c = config_new_defaults();
	if (!c || (name && !(c->path = strdup(name))))
		report_oom(&x);
	else if (len > CONFIG_MAX_BYTES)
		report(&x, 0, NULL, "larger than 1 MiB (%zu bytes)", len);
	else if (prescan(&x) == 0)
		load(&x, c);

	if (x.errs.n == 0) {
		free(x.errs.buf);
		*out = c;
		return 0;
	}
	config_free(c);
	if (errors)
		*errors = errs_take(&x.errs);
	free(x.errs.buf);
	return -1;
}

static void set_perturb(int byte)
{
#ifdef M_PERTURB
	mallopt(M_PERTURB, byte);
#else
	(void)byte;
#endif
}

/* glibc keeps the last few freed small blocks of each size (its tcache,
 * up to 1032 bytes, 7 a size) as they were, M_PERTURB or not: taking them
 * back, wiping and freeing them again leaves no text of the config there. */
static void wipe_small_free_blocks(void)
{
	enum { SIZES = 1040 / 16, PER_SIZE = 8 };
	void *held[PER_SIZE];

	for (size_t c = 1; c <= SIZES; c++) {
		size_t n = c * 16 - 8; /* the most each size class holds */
		int k;
		for (k = 0; k < PER_SIZE && (held[k] = malloc(n)) != NULL; k++)
			explicit_bzero(held[k], n);
		while (k-- > 0)
			free(held[k]);
	}
}

int config_load(const char *file, struct config **out, char **errors)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *p;
	const char *what = "cannot open";
	ssize_t r;
	int fd, rc, err = 0;

	*out = NULL;
	if (errors)
		*errors = NULL;
	/* Whatever is freed while the file is read and parsed (our buffer as
	 * realloc moves it, libyaml's copies of the text) is overwritten, so
	 * that a forked worker finds no credentials in freed memory either. */
	set_perturb(0x5a);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	what = "cannot read";
	/* Read one byte past the limit so that config_parse sees, and reports, an oversized file.
	 */
	while (len <= CONFIG_MAX_BYTES) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16384;
			if (cap > CONFIG_MAX_BYTES + 1)
				cap = CONFIG_MAX_BYTES + 1;
			if (!(p = realloc(buf, cap))) {
				err = ENOMEM;
				goto fail;
			}
			buf = p;
		}
		r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = errno;
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	rc = config_parse(file, buf, len, out, errors);
	explicit_bzero(buf, len);
	free(buf);
	wipe_small_free_blocks();
	set_perturb(0);
	return rc;

fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	set_perturb(0);
	if (errors && asprintf(errors, "%s: %s: %s\n", file, what, strerror(err)) < 0)
		*errors = NULL;
	return -1;
}

struct config *config_load_or_report(const char *file)
{
	struct config *cfg = NULL;
	char *errors = NULL;

	if (config_load(file, &cfg, &errors) < 0) {
		fputs(errors ? errors : "invalid config\n", stderr);
		if (errors != NULL && errors[0] != '\0' && errors[strlen(errors) - 1] != '\n')
			fputc('\n', stderr);
		free(errors);
		return NULL;
	}
	return cfg;
}

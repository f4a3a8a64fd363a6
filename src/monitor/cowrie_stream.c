/*
 * cowrie_stream: events.jsonl's sessions as Cowrie 2.5.0 logs them; see
 * cowrie_stream.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cowrie_stream.h"
#include "events.h"
#include "log.h"
#include "util.h"

#define KEEP_CLOSED  512 /* closed sessions remembered for their late events */
#define MAX_CHANNELS 16  /* recordings remembered per session */
#define LOG_EVERY    100 /* report one failed write in this many */
#define DATA_MAX     (64 << 10)

struct channel {
	json_int_t id;
	char *recording;
	double start; /* wall clock, seconds */
};

struct sess {
	char id[64];
	char *src_ip, *dst_ip;
	json_int_t src_port, dst_port;
	struct channel ch[MAX_CHANNELS];
	unsigned long closed; /* order of closing; 0 = live */
};

struct cowrie_stream {
	int fd;
	char *sensor, *artifacts_dir;
	struct sess *s;
	size_t n, cap;
	unsigned long closings, failures;
};

static void sess_free(struct sess *s)
{
	free(s->src_ip);
	free(s->dst_ip);
	for (size_t i = 0; i < MAX_CHANNELS; i++)
		free(s->ch[i].recording);
}

struct cowrie_stream *cowrie_stream_open(const char *path, const char *sensor,
                                         const char *artifacts_dir)
{
	struct cowrie_stream *cs = calloc(1, sizeof(*cs));
	if (cs == NULL)
		return NULL;
	cs->fd = -1;
	cs->sensor = strdup(sensor);
	cs->artifacts_dir = strdup(artifacts_dir);
	if (cs->sensor == NULL || cs->artifacts_dir == NULL) {
		cowrie_stream_close(cs);
		errno = ENOMEM;
		return NULL;
	}
	if (path != NULL) {
		char dir[PATH_MAX];
		const char *slash = strrchr(path, '/');
		if (slash != NULL && slash > path && (size_t)(slash - path) < sizeof(dir)) {
			memcpy(dir, path, (size_t)(slash - path));
			dir[slash - path] = '\0';
			if (util_mkdirs(dir, 0750) < 0) {
				int e = errno;
				cowrie_stream_close(cs);
				errno = e;
				return NULL;
			}
		}
		cs->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (cs->fd < 0) {
			int e = errno;
			cowrie_stream_close(cs);
			errno = e;
			return NULL;
		}
	}
	return cs;
}

void cowrie_stream_close(struct cowrie_stream *cs)
{
	if (cs == NULL)
		return;
	if (cs->fd >= 0)
		close(cs->fd);
	for (size_t i = 0; i < cs->n; i++)
		sess_free(&cs->s[i]);
	free(cs->s);
	free(cs->sensor);
	free(cs->artifacts_dir);
	free(cs);
}

static const char *str(const json_t *ev, const char *key)
{
	return json_string_value(json_object_get(ev, key));
}

static const char *str_or(const json_t *ev, const char *key, const char *dflt)
{
	const char *v = str(ev, key);
	return v != NULL ? v : dflt;
}

static json_int_t num(const json_t *ev, const char *key)
{
	return json_integer_value(json_object_get(ev, key));
}

static char *dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

static struct sess *find(struct cowrie_stream *cs, const char *id)
{
	for (size_t i = 0; i < cs->n; i++)
		if (strcmp(cs->s[i].id, id) == 0)
			return &cs->s[i];
	return NULL;
}

/* Forgets the session that closed longest ago, once too many are kept. */
static void forget_old(struct cowrie_stream *cs)
{
	size_t closed = 0, oldest = cs->n;

	for (size_t i = 0; i < cs->n; i++)
		if (cs->s[i].closed != 0) {
			closed++;
			if (oldest == cs->n || cs->s[i].closed < cs->s[oldest].closed)
				oldest = i;
		}
	if (closed <= KEEP_CLOSED)
		return;
	sess_free(&cs->s[oldest]);
	cs->s[oldest] = cs->s[--cs->n];
}

static struct sess *add(struct cowrie_stream *cs, const json_t *ev, const char *id)
{
	if (strlen(id) >= sizeof(cs->s[0].id))
		return NULL;
	if (cs->n == cs->cap) {
		size_t cap = cs->cap != 0 ? cs->cap * 2 : 64;
		struct sess *g = realloc(cs->s, cap * sizeof(*g));
		if (g == NULL)
			return NULL;
		cs->s = g;
		cs->cap = cap;
	}
	struct sess *s = &cs->s[cs->n++];
	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->src_ip = dup_or_null(str(ev, "src_ip"));
	s->dst_ip = dup_or_null(str(ev, "dst_ip"));
	s->src_port = num(ev, "src_port");
	s->dst_port = num(ev, "dst_port");
	return s;
}

static char *fmt_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *fmt_msg(const char *fmt, ...)
{
	va_list ap;
	char *out = NULL;

	va_start(ap, fmt);
	if (vasprintf(&out, fmt, ap) < 0)
		out = NULL;
	va_end(ap);
	return out;
}

/* A Cowrie line: the fields every line has, then `fields` (stolen), then
 * the message (freed). The session's own addresses unless `fields` names
 * others (direct-tcpip's ends, as Cowrie's). */
static int line(struct cowrie_stream *cs, json_t *out, const json_t *ev, const struct sess *s,
                const char *eventid, json_t *fields, char *message)
{
	json_t *l = json_object();
	int r = l != NULL && fields != NULL && message != NULL ? 0 : -ENOMEM;

	if (r == 0) {
		json_object_set_new(l, "eventid", json_string(eventid));
		json_object_set_new(l, "timestamp", json_string(str_or(ev, "timestamp", "")));
		json_object_set_new(l, "session", json_string(s->id));
		json_object_set_new(l, "src_ip",
		                    s->src_ip != NULL ? json_string(s->src_ip) : json_null());
		json_object_set_new(l, "src_port", json_integer(s->src_port));
		json_object_set_new(l, "dst_ip",
		                    s->dst_ip != NULL ? json_string(s->dst_ip) : json_null());
		json_object_set_new(l, "dst_port", json_integer(s->dst_port));
		json_object_set_new(l, "sensor", json_string(cs->sensor));
		json_object_set_new(l, "protocol", json_string("ssh"));
		json_object_update(l, fields);
		json_object_set_new(l, "message", json_string(message));
		r = json_array_append_new(out, l) == 0 ? 1 : -ENOMEM;
		l = NULL;
	}
	json_decref(l);
	json_decref(fields);
	free(message);
	return r;
}

/* A KEXINIT name-list as Cowrie splits it: "" is [""]. */
static json_t *split(const char *list)
{
	json_t *a = json_array();
	const char *p = list != NULL ? list : "";

	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		json_array_append_new(a, json_stringn(p, n));
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return a;
}

/* Bytes as Python's repr() writes them (b'...'), which is what Cowrie
 * logs as a forward's data. */
static char *py_repr(const unsigned char *p, size_t n)
{
	bool single = memchr(p, '\'', n) != NULL, dbl = memchr(p, '"', n) != NULL;
	char q = single && !dbl ? '"' : '\'';
	char *out = malloc(4 * n + 4), *o = out;

	if (out == NULL)
		return NULL;
	*o++ = 'b';
	*o++ = q;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == '\\' || c == (unsigned char)q) {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\t' || c == '\n' || c == '\r') {
			*o++ = '\\';
			*o++ = c == '\t' ? 't' : c == '\n' ? 'n' : 'r';
		} else if (c < ' ' || c >= 0x7f) {
			o += sprintf(o, "\\x%02x", c);
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = q;
	*o = '\0';
	return out;
}

/* data_b64 decoded (at most DATA_MAX bytes) into repr() text. */
static char *forward_data(const char *b64)
{
	size_t len = b64 != NULL ? strlen(b64) : 0;
	if (len % 4 != 0 || len / 4 * 3 > DATA_MAX)
		return py_repr((const unsigned char *)"", 0);
	unsigned char *raw = malloc(len / 4 * 3 + 1);
	if (raw == NULL)
		return NULL;
	int n = len > 0 ? EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len) : 0;
	if (n < 0)
		n = 0;
	for (size_t i = len; n > 0 && i > 0 && b64[i - 1] == '='; i--)
		n--; /* EVP_DecodeBlock counts the padding's bytes */
	char *r = py_repr(raw, (size_t)n);
	free(raw);
	return r;
}

/* Python's %d of a float (Cowrie's durations in messages): truncated;
 * what no clock gives (NaN, out of range) is 0. */
static long long whole(double d)
{
	return d > -1e15 && d < 1e15 ? (long long)d : 0;
}

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash != NULL ? slash + 1 : path;
}

static struct channel *channel_of(struct sess *s, json_int_t id, bool make)
{
	struct channel *free_slot = NULL;

	for (size_t i = 0; i < MAX_CHANNELS; i++) {
		if (s->ch[i].recording != NULL && s->ch[i].id == id)
			return &s->ch[i];
		if (s->ch[i].recording == NULL && free_slot == NULL)
			free_slot = &s->ch[i];
	}
	if (make && free_slot != NULL)
		free_slot->id = id;
	return make ? free_slot : NULL;
}

static int on_login(struct cowrie_stream *cs, json_t *out, const json_t *ev, struct sess *s,
                    bool ok)
{
	const char *user = str_or(ev, "username", ""), *method = str_or(ev, "method", "");
	size_t before = json_array_size(out);
	int r = 0;

	if (strcmp(method, "publickey") == 0) {
		const char *type = str_or(ev, "key_type", ""), *fp = str_or(ev, "fingerprint", "");
		r = line(
		    cs, out, ev, s, "cowrie.client.fingerprint",
		    json_pack("{s:s, s:s, s:s}", "username", user, "fingerprint", fp, "type", type),
		    fmt_msg("public key attempt for user %s of type %s with fingerprint %s", user,
		            type, fp));
		if (!ok) /* a refused key is the fingerprint line alone, as Cowrie's */
			return r;
	}
	const char *pw = str_or(ev, "password", "");
	if (r >= 0)
		r = line(
		    cs, out, ev, s, ok ? "cowrie.login.success" : "cowrie.login.failed",
		    json_pack("{s:s, s:s}", "username", user, "password", pw),
		    fmt_msg("login attempt [%s/%s] %s", user, pw, ok ? "succeeded" : "failed"));
	return r < 0 ? r : (int)(json_array_size(out) - before);
}

static int on_kex(struct cowrie_stream *cs, json_t *out, const json_t *ev, struct sess *s)
{
	const char *hassh = str(ev, "hassh");
	if (hassh == NULL)
		return 0; /* not a KEXINIT: Cowrie would have nothing either */
	return line(cs, out, ev, s, "cowrie.client.kex",
	            json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "hassh", hassh,
	                      "hasshAlgorithms", str_or(ev, "hassh_algorithms", ""), "kexAlgs",
	                      split(str(ev, "kex_algorithms")), "keyAlgs",
	                      split(str(ev, "host_key_algorithms")), "encCS",
	                      split(str(ev, "ciphers_cs")), "macCS", split(str(ev, "macs_cs")),
	                      "compCS", split(str(ev, "compression_cs")), "langCS",
	                      split(str(ev, "languages_cs"))),
	            fmt_msg("SSH client hassh fingerprint: %s", hassh));
}

static int on_forward(struct cowrie_stream *cs, json_t *out, const json_t *ev, struct sess *s,
                      bool data)
{
	const char *host = str_or(ev, "dst_host", "");
	json_int_t port = num(ev, "dst_port");

	if (!data) {
		if (strcmp(str_or(ev, "kind", ""), "direct-tcpip") != 0)
			return 0;
		const char *orig = str_or(ev, "orig_host", "");
		json_int_t oport = num(ev, "orig_port");
		/* Cowrie's src_ip is the session's whatever the request says;
		 * its message keeps the request's. */
		return line(cs, out, ev, s, "cowrie.direct-tcpip.request",
		            json_pack("{s:s, s:I, s:I}", "dst_ip", host, "dst_port", port,
		                      "src_port", oport),
		            fmt_msg("direct-tcp connection request to %s:%lld from %s:%lld", host,
		                    (long long)port, orig, (long long)oport));
	}
	char *repr = forward_data(str(ev, "data_b64"));
	if (repr == NULL)
		return -ENOMEM;
	json_int_t id = num(ev, "forward");
	int r = line(cs, out, ev, s, "cowrie.direct-tcpip.data",
	             json_pack("{s:s, s:I, s:s, s:I}", "dst_ip", host, "dst_port", port, "data",
	                       repr, "id", id),
	             fmt_msg("discarded direct-tcp forward request %lld to %s:%lld with data %s",
	                     (long long)id, host, (long long)port, repr));
	free(repr);
	return r;
}

static int on_channel_closed(struct cowrie_stream *cs, json_t *out, const json_t *ev,
                             struct sess *s, double now)
{
	struct channel *c = channel_of(s, num(ev, "channel"), false);
	if (c == NULL)
		return 0; /* no recording */
	double duration = now > c->start ? now - c->start : 0.0;
	int r =
	    line(cs, out, ev, s, "cowrie.log.closed",
	         json_pack("{s:s, s:I, s:b, s:f}", "ttylog", c->recording, "size",
	                   num(ev, "bytes_out"), "duplicate", 0, "duration", duration),
	         fmt_msg("Closing TTY Log: %s after %lld seconds", c->recording, whole(duration)));
	free(c->recording);
	c->recording = NULL;
	return r;
}

static int on_file(struct cowrie_stream *cs, json_t *out, const json_t *ev, struct sess *s,
                   const char *type)
{
	const char *sha = str(ev, "sha256");
	if (sha == NULL)
		return 0;
	char *outfile = fmt_msg("%s/%s", cs->artifacts_dir, sha);
	if (outfile == NULL)
		return -ENOMEM;
	int r;
	if (strcmp(type, "file.downloaded") == 0) {
		const char *url = str_or(ev, "url", "");
		r = line(cs, out, ev, s, "cowrie.session.file_download",
		         json_pack("{s:s, s:s, s:s, s:s}", "url", url, "outfile", outfile, "shasum",
		                   sha, "destfile", ""),
		         fmt_msg("Downloaded URL (%s) with SHA-256 %s to %s", url, sha, outfile));
	} else if (json_is_true(json_object_get(ev, "transfer"))) {
		const char *name = basename_of(str_or(ev, "path", ""));
		r = line(cs, out, ev, s, "cowrie.session.file_upload",
		         json_pack("{s:s, s:s, s:s}", "filename", name, "outfile", outfile,
		                   "shasum", sha),
		         fmt_msg("SFTP Uploaded file \"%s\" to %s", name, outfile));
	} else {
		r = 0;
	}
	free(outfile);
	return r;
}

/* The wall clock of an event's timestamp; `dflt` if it has none. */
static double event_time(const json_t *ev, double dflt)
{
	const char *t = str(ev, "timestamp");
	struct tm tm = {0};
	double frac = 0.0;
	char *rest;

	if (t == NULL || (rest = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return dflt;
	if (*rest == '.')
		frac = strtod(rest, NULL);
	return (double)timegm(&tm) + frac;
}

int cowrie_translate(struct cowrie_stream *cs, const json_t *ev, json_t *out)
{
	const char *type = str(ev, "event"), *id = str(ev, "session");

	if (type == NULL || id == NULL)
		return 0; /* the daemon's, the pool's: outside any session */
	struct sess *s = find(cs, id);
	if (strcmp(type, "session.connect") == 0) {
		if (s == NULL && (s = add(cs, ev, id)) == NULL)
			return -ENOMEM;
		const char *src = s->src_ip != NULL ? s->src_ip : "";
		const char *dst = s->dst_ip != NULL ? s->dst_ip : "";
		return line(cs, out, ev, s, "cowrie.session.connect", json_object(),
		            fmt_msg("New connection: %s:%lld (%s:%lld) [session: %s]", src,
		                    (long long)s->src_port, dst, (long long)s->dst_port, s->id));
	}
	if (s == NULL) {
		/* A session of before a restart (its collection's events): one
		 * of the closed ones at once, so that it is forgotten in turn. */
		if ((s = add(cs, ev, id)) == NULL)
			return -ENOMEM;
		s->closed = ++cs->closings;
		forget_old(cs);
		if ((s = find(cs, id)) == NULL)
			return 0;
	}

	if (strcmp(type, "client.version") == 0) {
		const char *v = str_or(ev, "version", "");
		return line(cs, out, ev, s, "cowrie.client.version",
		            json_pack("{s:s}", "version", v), fmt_msg("Remote SSH version: %s", v));
	}
	if (strcmp(type, "client.kex") == 0)
		return on_kex(cs, out, ev, s);
	if (strcmp(type, "login.success") == 0 || strcmp(type, "login.failed") == 0)
		return on_login(cs, out, ev, s, type[6] == 's');
	if (strcmp(type, "session.pty") == 0 || strcmp(type, "session.resize") == 0) {
		json_int_t w = num(ev, "width"), h = num(ev, "height");
		return line(cs, out, ev, s, "cowrie.client.size",
		            json_pack("{s:I, s:I}", "width", w, "height", h),
		            fmt_msg("Terminal Size: %lld %lld", (long long)w, (long long)h));
	}
	if (strcmp(type, "session.env") == 0) {
		const char *n = str_or(ev, "name", ""), *v = str_or(ev, "value", "");
		return line(cs, out, ev, s, "cowrie.client.var",
		            json_pack("{s:s, s:s}", "name", n, "value", v),
		            fmt_msg("request_env: %s=%s", n, v));
	}
	if (strcmp(type, "command.input") == 0) {
		const char *c = str_or(ev, "command", "");
		return line(cs, out, ev, s, "cowrie.command.input", json_pack("{s:s}", "input", c),
		            fmt_msg("CMD: %s", c));
	}
	if (strcmp(type, "session.shell") == 0) {
		const char *rec = str(ev, "recording");
		struct channel *c = rec != NULL ? channel_of(s, num(ev, "channel"), true) : NULL;
		if (c != NULL) {
			free(c->recording);
			c->recording = strdup(rec);
			c->start = event_time(ev, util_wall());
		}
		return 0;
	}
	if (strcmp(type, "session.channel_closed") == 0)
		return on_channel_closed(cs, out, ev, s, event_time(ev, util_wall()));
	if (strcmp(type, "forward.request") == 0 || strcmp(type, "forward.data") == 0)
		return on_forward(cs, out, ev, s, type[8] == 'd');
	if (strcmp(type, "file.created") == 0 || strcmp(type, "file.changed") == 0 ||
	    strcmp(type, "file.downloaded") == 0)
		return on_file(cs, out, ev, s, type);
	if (strcmp(type, "session.closed") == 0) {
		json_t *d = json_object_get(ev, "duration");
		double duration = json_is_number(d) ? json_number_value(d) : 0.0;
		s->closed = ++cs->closings;
		int r = line(cs, out, ev, s, "cowrie.session.closed",
		             json_pack("{s:f}", "duration", duration),
		             fmt_msg("Connection lost after %lld seconds", whole(duration)));
		forget_old(cs);
		return r;
	}
	return 0;
}

void cowrie_stream_tee(struct cowrie_stream *cs, const json_t *ev)
{
	json_t *out = json_array();
	int r = out != NULL ? cowrie_translate(cs, ev, out) : -ENOMEM;
	size_t i;
	json_t *l;

	json_array_foreach(out, i, l)
	{
		size_t len = 0;
		char *text = events_line(l, &len);
		int w = text == NULL  ? -ENOMEM
		        : cs->fd >= 0 ? util_append_whole(cs->fd, text, len)
		                      : 0;
		if (w < 0)
			r = w;
		free(text);
	}
	json_decref(out);
	if (r < 0 && cs->failures++ % LOG_EVERY == 0)
		error("logging.cowrie_json: %s (%lu failed so far)", strerror(-r), cs->failures);
}

/*
 * metrics: the monitor's counters and their text; see metrics.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- label values: fixed lists, "other" last ---- */

static const char *const methods[] = {"password", "keyboard-interactive", "publickey", "other"};
static const char *const rejections[] = {"max_concurrent_sessions", "max_sessions_per_ip",
                                         "max_startups", "other"};
static const char *const close_reasons[] = {"client_closed", "idle_timeout",   "max_duration",
                                            "login_timeout", "max_auth_tries", "disk_quota",
                                            "shutdown",      "worker_failed",  "other"};
static const char *const alert_types[] = {"honeytoken_login", "bait_file", "log_altered", "other"};
static const char *const download_sources[] = {"live", "cache", "other"};
static const char *const egress_kinds[] = {"dns", "http", "connect", "smtp"};
/* artifact.skipped's reasons; a reason that begins with one of these is
 * counted under its name (the rest, Docker's own errors, as "other"). */
static const struct {
	const char *prefix, *name;
} skip_reasons[] = {
    {"max_file_size", "max_file_size"},
    {"max_session_size", "max_session_size"},
    {"gone", "gone"},
    {"name not UTF-8", "name_not_utf8"},
    {"unreadable archive", "unreadable_archive"},
    {"cannot store", "cannot_store"},
    {"malformed changes", "malformed_changes"},
    {"too many changes", "too_many_changes"},
    {"", "other"},
};

static const double duration_bounds[] = {1, 5, 10, 30, 60, 300, 900, 1800, 3600};
static const double latency_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

#define DURATION_N ARRAY_LEN(duration_bounds)
#define LATENCY_N  ARRAY_LEN(latency_bounds)
#define BUCKETS    16 /* at least the longest list of bounds */
#define NAMES_MAX  64 /* event types counted by name; the rest are "other" */
#define OPS_MAX    24 /* Docker operations; the rest are "other" */
#define ERRS_MAX   16 /* container.error operations */
#define NAME_LEN   40

struct hist {
	uint64_t bucket[BUCKETS]; /* observations <= bound[i], not cumulative */
	uint64_t count;
	double sum;
};

struct named {
	char name[NAME_LEN + 1];
	uint64_t n;
};

struct op {
	char name[32];
	uint64_t requests, errors;
	struct hist latency;
};

struct metrics {
	double start_wall;
	uint64_t connections;
	uint64_t rejected[ARRAY_LEN(rejections)];
	uint64_t closed[2][ARRAY_LEN(close_reasons)]; /* [logged in][reason] */
	uint64_t auth_ok[ARRAY_LEN(methods)], auth_failed[ARRAY_LEN(methods)];
	struct hist duration;
	uint64_t bytes_in, bytes_out;
	uint64_t alerts[ARRAY_LEN(alert_types)];
	uint64_t dropped_events, dropped_bytes, limit_reached;
	uint64_t egress_refused, egress_dropped;
	uint64_t egress[ARRAY_LEN(egress_kinds)];
	uint64_t downloads[ARRAY_LEN(download_sources)];
	uint64_t stored_files, stored_bytes;
	uint64_t skipped[ARRAY_LEN(skip_reasons)];
	struct named events[NAMES_MAX + 1]; /* the last one is "other" */
	size_t n_events;
	struct named container_errors[ERRS_MAX + 1];
	size_t n_container_errors;
	struct op ops[OPS_MAX + 1];
	size_t n_ops;
};

struct metrics *metrics_new(double start_wall)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m != NULL)
		m->start_wall = start_wall;
	return m;
}

void metrics_free(struct metrics *m)
{
	free(m);
}

/* ---- counting ---- */

/* The index of s in list[0..n), the last ("other") when absent. */
static size_t pick(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i + 1 < n; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return n - 1;
}

/* A JSON number as a count: 0 for anything else or below 0. */
static uint64_t count_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) > 0 && json_real_value(v) < 1.8e19)
		return (uint64_t)json_real_value(v);
	return 0;
}

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void observe(struct hist *h, const double *bounds, size_t n, double v)
{
	size_t i = 0;
	while (i < n && v > bounds[i])
		i++;
	h->bucket[i]++; /* i == n: only +Inf */
	h->count++;
	h->sum += v;
}

/* A name Hermes itself gives (a-z, 0-9, '_', '.', '-'), short. */
static bool plain_name(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

/* The counter of `name` in table[0..max] (table[max] is "other"), added
 * when there is room. */
static struct named *named_slot(struct named *table, size_t *n, size_t max, const char *name)
{
	if (plain_name(name, NAME_LEN))
		for (size_t i = 0; i < *n; i++)
			if (strcmp(table[i].name, name) == 0)
				return &table[i];
	if (!plain_name(name, NAME_LEN) || *n == max) {
		snprintf(table[max].name, sizeof(table[max].name), "other");
		return &table[max];
	}
	snprintf(table[*n].name, sizeof(table[*n].name), "%s", name);
	return &table[(*n)++];
}

static void count_skip(struct metrics *m, const char *reason)
{
	size_t i = 0;
	while (i + 1 < ARRAY_LEN(skip_reasons) &&
	       (reason == NULL ||
	        strncmp(reason, skip_reasons[i].prefix, strlen(skip_reasons[i].prefix)) != 0))
		i++;
	m->skipped[i]++;
}

void metrics_event(struct metrics *m, const json_t *e)
{
	const char *type = str_of(e, "event");

	if (m == NULL || type == NULL)
		return;
	named_slot(m->events, &m->n_events, NAMES_MAX, type)->n++;
	const json_t *alert = json_object_get(e, "alert");
	if (json_is_object(alert))
		m->alerts[pick(alert_types, ARRAY_LEN(alert_types), str_of(alert, "type"))]++;

	if (strcmp(type, "session.connect") == 0) {
		m->connections++;
	} else if (strcmp(type, "session.rejected") == 0) {
		m->rejected[pick(rejections, ARRAY_LEN(rejections), str_of(e, "reason"))]++;
	} else if (strcmp(type, "login.success") == 0 || strcmp(type, "login.failed") == 0) {
		size_t i = pick(methods, ARRAY_LEN(methods), str_of(e, "method"));
		if (type[6] == 's')
			m->auth_ok[i]++;
		else
			m->auth_failed[i]++;
	} else if (strcmp(type, "session.closed") == 0) {
		bool in = json_is_string(json_object_get(e, "username"));
		m->closed[in][pick(close_reasons, ARRAY_LEN(close_reasons), str_of(e, "reason"))]++;
		const json_t *d = json_object_get(e, "duration");
		if (json_is_number(d) && json_number_value(d) >= 0 && json_number_value(d) < 1e12)
			observe(&m->duration, duration_bounds, DURATION_N, json_number_value(d));
		m->bytes_in += count_of(e, "bytes_in");
		m->bytes_out += count_of(e, "bytes_out");
	} else if (strcmp(type, "events.dropped") == 0) {
		m->dropped_events += count_of(e, "events");
		m->dropped_bytes += count_of(e, "bytes");
	} else if (strcmp(type, "events.limit_reached") == 0) {
		m->limit_reached++;
	} else if (strcmp(type, "egress.limited") == 0) {
		m->egress_refused += count_of(e, "connections_refused");
		m->egress_dropped += count_of(e, "events_dropped");
	} else if (strncmp(type, "egress.", 7) == 0) {
		for (size_t i = 0; i < ARRAY_LEN(egress_kinds); i++)
			if (strcmp(type + 7, egress_kinds[i]) == 0)
				m->egress[i]++;
	} else if (strcmp(type, "file.downloaded") == 0) {
		m->downloads[pick(download_sources, ARRAY_LEN(download_sources),
		                  str_of(e, "source"))]++;
	} else if (strcmp(type, "artifacts.collected") == 0) {
		m->stored_files += count_of(e, "files");
		m->stored_bytes += count_of(e, "bytes");
	} else if (strcmp(type, "artifact.skipped") == 0) {
		count_skip(m, str_of(e, "reason"));
	} else if (strcmp(type, "container.error") == 0) {
		named_slot(m->container_errors, &m->n_container_errors, ERRS_MAX,
		           str_of(e, "operation"))
		    ->n++;
	}
}

/* ---- Docker's calls ---- */

static bool plain_verb(const char *s, size_t n)
{
	if (n == 0 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return false;
	return true;
}

void metrics_docker_op(const char *what, char out[32])
{
	static const char *const roots[] = {"containers", "exec",   "images",  "networks",
	                                    "volumes",    "info",   "version", "_ping",
	                                    "events",     "system", "plugins"};
	const char *sp = what != NULL ? strchr(what, ' ') : NULL;
	const char *seg[8];
	size_t len[8], n = 0;

	snprintf(out, 32, "other");
	if (sp == NULL || sp[1] != '/')
		return;
	bool del = (size_t)(sp - what) == 6 && strncmp(what, "DELETE", 6) == 0;
	const char *p = sp + 2, *end = p + strcspn(p, "? ");
	while (p <= end && n < ARRAY_LEN(seg)) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *stop = slash != NULL ? slash : end;
		seg[n] = p;
		len[n++] = (size_t)(stop - p);
		p = stop + 1;
	}
	if (n == 0)
		return;
	size_t root = ARRAY_LEN(roots);
	for (size_t i = 0; i < ARRAY_LEN(roots); i++)
		if (strlen(roots[i]) == len[0] && strncmp(seg[0], roots[i], len[0]) == 0)
			root = i;
	if (root == ARRAY_LEN(roots))
		return;
	const char *name = roots[root][0] == '_' ? roots[root] + 1 : roots[root];
	if (n == 1) {
		snprintf(out, 32, "%s", name);
		return;
	}
	/* The verb: the last part when there are three or more (an id or an
	 * image's name before it); of two, a known word, else the id itself
	 * was the object (DELETE: remove). */
	const char *verb = seg[n - 1];
	size_t vlen = len[n - 1];
	if (n == 2 && !(vlen == 4 && strncmp(verb, "json", 4) == 0) &&
	    !(vlen == 6 && strncmp(verb, "create", 6) == 0) &&
	    !(vlen == 5 && strncmp(verb, "prune", 5) == 0)) {
		if (del)
			snprintf(out, 32, "%s_remove", name);
		return;
	}
	if (!plain_verb(verb, vlen))
		return;
	if (vlen == 4 && strncmp(verb, "json", 4) == 0)
		snprintf(out, 32, "%s_%s", name, n == 2 ? "list" : "inspect");
	else
		snprintf(out, 32, "%s_%.*s", name, (int)vlen, verb);
}

void metrics_docker_call(struct metrics *m, const char *what, bool failed, int64_t usec)
{
	char name[32];
	struct op *o = NULL;

	if (m == NULL)
		return;
	metrics_docker_op(what, name);
	for (size_t i = 0; i < m->n_ops && o == NULL; i++)
		if (strcmp(m->ops[i].name, name) == 0)
			o = &m->ops[i];
	if (o == NULL && m->n_ops < OPS_MAX && strcmp(name, "other") != 0) {
		o = &m->ops[m->n_ops++];
		snprintf(o->name, sizeof(o->name), "%s", name);
	}
	if (o == NULL) {
		o = &m->ops[OPS_MAX];
		snprintf(o->name, sizeof(o->name), "other");
	}
	o->requests++;
	o->errors += failed;
	observe(&o->latency, latency_bounds, LATENCY_N, usec > 0 ? (double)usec / 1e6 : 0);
}

/* ---- the text ---- */

static int head(struct buf *b, const char *name, const char *type, const char *help)
{
	return buf_putf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int value(struct buf *b, const char *name, const char *label, const char *lv, uint64_t v)
{
	if (label == NULL)
		return buf_putf(b, "%s %llu\n", name, (unsigned long long)v);
	return buf_putf(b, "%s{%s=\"%s\"} %llu\n", name, label, lv, (unsigned long long)v);
}

static int counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
	return head(b, name, "counter", help) | value(b, name, NULL, NULL, v);
}

static int gauge(struct buf *b, const char *name, const char *help, uint64_t v)
{
	return head(b, name, "gauge", help) | value(b, name, NULL, NULL, v);
}

/* One series per value of a fixed list. */
static int by_list(struct buf *b, const char *name, const char *type, const char *help,
                   const char *label, const char *const *list, const uint64_t *v, size_t n)
{
	int r = head(b, name, type, help);
	for (size_t i = 0; i < n; i++)
		r |= value(b, name, label, list[i], v[i]);
	return r;
}

static int by_names(struct buf *b, const char *name, const char *help, const char *label,
                    const struct named *t, size_t n, size_t max)
{
	int r = head(b, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		r |= value(b, name, label, t[i].name, t[i].n);
	if (t[max].n > 0)
		r |= value(b, name, label, "other", t[max].n);
	return r;
}

/* A histogram's series; labels: "" or `key="value",`. */
static int hist(struct buf *b, const char *name, const char *labels, const struct hist *h,
                const double *bounds, size_t n)
{
	uint64_t cum = 0;
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		cum += h->bucket[i];
		r |= buf_putf(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, bounds[i],
		              (unsigned long long)cum);
	}
	r |= buf_putf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
	              (unsigned long long)h->count);
	size_t ln = strlen(labels);
	if (ln > 0) /* without the trailing comma */
		r |= buf_putf(b, "%s_sum{%.*s} %.6f\n%s_count{%.*s} %llu\n", name, (int)(ln - 1),
		              labels, h->sum, name, (int)(ln - 1), labels,
		              (unsigned long long)h->count);
	else
		r |= buf_putf(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name,
		              (unsigned long long)h->count);
	return r;
}

static int render_ssh(const struct metrics *m, const struct metrics_live *live, struct buf *b)
{
	int r = counter(b, "hermes_ssh_connections_total",
	                "TCP connections accepted and given a worker.", m->connections);
	r |= gauge(b, "hermes_ssh_current_connections", "Connections open now.", live->connections);
	r |= gauge(b, "hermes_ssh_current_sessions", "Connections past login now.", live->sessions);
	r |= by_list(b, "hermes_ssh_connections_rejected_total", "counter",
	             "Connections closed before SSH, by the limit that refused them.", "reason",
	             rejections, m->rejected, ARRAY_LEN(rejections));
	r |= head(b, "hermes_ssh_connections_closed_total", "counter",
	          "Connections ended, by whether they logged in and why they ended.");
	for (int in = 1; in >= 0; in--)
		for (size_t i = 0; i < ARRAY_LEN(close_reasons); i++)
			r |= buf_putf(
			    b,
			    "hermes_ssh_connections_closed_total{result=\"%s\",reason=\"%s\"} "
			    "%llu\n",
			    in ? "logged_in" : "not_logged_in", close_reasons[i],
			    (unsigned long long)m->closed[in][i]);
	r |= head(b, "hermes_ssh_session_duration_seconds", "histogram",
	          "How long connections lasted, from accept to close.");
	r |= hist(b, "hermes_ssh_session_duration_seconds", "", &m->duration, duration_bounds,
	          DURATION_N);
	uint64_t bytes[2] = {m->bytes_in, m->bytes_out};
	static const char *const dirs[] = {"in", "out"};
	r |= by_list(b, "hermes_ssh_bytes_total", "counter",
	             "Channel bytes of ended connections: from the client (in), to it (out).",
	             "direction", dirs, bytes, 2);
	r |= by_list(b, "hermes_auth_success_total", "counter", "Logins accepted, by method.",
	             "authtype", methods, m->auth_ok, ARRAY_LEN(methods));
	r |= by_list(b, "hermes_auth_failures_total", "counter", "Logins refused, by method.",
	             "authtype", methods, m->auth_failed, ARRAY_LEN(methods));
	return r;
}

static int render_boxes(const struct metrics *m, const struct metrics_live *live, struct buf *b)
{
	static const char *const states[] = {"ready", "warming", "held"};
	uint64_t boxes[3] = {live->boxes_ready, live->boxes_warming, live->boxes_held};
	int r = by_list(b, "hermes_boxes", "gauge",
	                "Containers by state: pre-warmed, being made, given to attackers.", "state",
	                states, boxes, 3);
	r |= gauge(b, "hermes_backend_pending_requests", "Docker calls in flight.",
	           live->docker_pending);
	r |= head(b, "hermes_backend_requests_total", "counter", "Docker calls, by operation.");
	for (size_t i = 0; i <= OPS_MAX; i++)
		if (m->ops[i].requests > 0)
			r |= value(b, "hermes_backend_requests_total", "operation", m->ops[i].name,
			           m->ops[i].requests);
	r |= head(b, "hermes_backend_errors_total", "counter",
	          "Docker calls that failed or got no 2xx answer, by operation.");
	for (size_t i = 0; i <= OPS_MAX; i++)
		if (m->ops[i].requests > 0)
			r |= value(b, "hermes_backend_errors_total", "operation", m->ops[i].name,
			           m->ops[i].errors);
	r |= head(b, "hermes_backend_request_duration_seconds", "histogram",
	          "How long Docker calls took, by operation.");
	for (size_t i = 0; i <= OPS_MAX; i++) {
		char labels[64];
		if (m->ops[i].requests == 0)
			continue;
		snprintf(labels, sizeof(labels), "operation=\"%s\",", m->ops[i].name);
		r |= hist(b, "hermes_backend_request_duration_seconds", labels, &m->ops[i].latency,
		          latency_bounds, LATENCY_N);
	}
	r |= by_names(b, "hermes_container_errors_total",
	              "container.error events, by the operation that failed.", "operation",
	              m->container_errors, m->n_container_errors, ERRS_MAX);
	return r;
}

static int render_rest(const struct metrics *m, struct buf *b)
{
	int r = by_list(b, "hermes_alerts_total", "counter", "Alerts raised, by type.", "type",
	                alert_types, m->alerts, ARRAY_LEN(alert_types));
	r |= by_names(b, "hermes_events_total", "Events written, by type.", "event", m->events,
	              m->n_events, NAMES_MAX);
	r |= counter(b, "hermes_events_dropped_total",
	             "Events not written: a session passed logging.max_session_log.",
	             m->dropped_events);
	r |= counter(b, "hermes_events_dropped_bytes_total", "Bytes of the events not written.",
	             m->dropped_bytes);
	r |= counter(b, "hermes_events_limit_reached_total",
	             "Sessions that passed logging.max_session_log.", m->limit_reached);
	r |= by_list(b, "hermes_egress_events_total", "counter",
	             "What the boxes asked of the sinkhole, by kind.", "kind", egress_kinds,
	             m->egress, ARRAY_LEN(egress_kinds));
	r |= counter(b, "hermes_egress_refused_connections_total",
	             "Box connections reset for going over egress limits.", m->egress_refused);
	r |= counter(b, "hermes_egress_dropped_events_total",
	             "Egress events not written for going over egress.event_rate.",
	             m->egress_dropped);
	r |= by_list(b, "hermes_downloads_total", "counter",
	             "Bodies the sinkhole gave boxes, by where they came from.", "source",
	             download_sources, m->downloads, ARRAY_LEN(download_sources));
	r |= counter(b, "hermes_artifacts_stored_files_total",
	             "Files kept from the sessions' boxes.", m->stored_files);
	r |= counter(b, "hermes_artifacts_stored_bytes_total",
	             "Bytes kept from the sessions' boxes.", m->stored_bytes);
	r |= head(b, "hermes_artifacts_skipped_total", "counter",
	          "Changed paths not copied out, by reason.");
	for (size_t i = 0; i < ARRAY_LEN(skip_reasons); i++)
		r |= value(b, "hermes_artifacts_skipped_total", "reason", skip_reasons[i].name,
		           m->skipped[i]);
	return r;
}

int metrics_render(const struct metrics *m, const struct metrics_live *live, struct buf *out)
{
	int r = head(out, "hermes_build_info", "gauge", "The running Hermes.") |
	        buf_putf(out, "hermes_build_info{version=\"%s\"} 1\n", HERMES_VERSION);
	r |= head(out, "hermes_start_time_seconds", "gauge",
	          "When the daemon started, seconds since the epoch.") |
	     buf_putf(out, "hermes_start_time_seconds %.3f\n", m->start_wall);
	r |= render_ssh(m, live, out);
	r |= render_boxes(m, live, out);
	r |= render_rest(m, out);
	return r != 0 ? -ENOMEM : 0;
}

/*
 * Unit tests for sink_msg, what the monitor takes from the sinkhole: each
 * event kind's fields (the tables as docs/events.md has them) copied when
 * of the right type and length, and dropped when of another type, too
 * long, a negative integer, an array with a non-string, over
 * SINK_ITEMS_MAX items or an item too long; unknown kinds refused; and
 * what is in no table never copied: an event's name, time, session and
 * attacker's address cannot be set by the sinkhole. The box a message
 * names; the URLs that may be fetched (schemes, control characters,
 * spaces); the host of a URL (user, port, IPv6, case, no scheme); fetch
 * requests as the sinkhole's TCP, TLS and TFTP sides send them, and every
 * way one is ignored, refused or trimmed.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "events.h"
#include "sink_msg.h"

/* The tables as they should be (docs/events.md). */
struct want {
	const char *name;
	json_type type;
	size_t max;
};

static const struct want dns_want[] = {{"server", JSON_STRING, 16},
                                       {"query", JSON_STRING, 1024},
                                       {"qtype", JSON_STRING, 16},
                                       {"answer", JSON_STRING, 16},
                                       {"rcode", JSON_INTEGER, 0},
                                       {"bytes", JSON_INTEGER, 0},
                                       {NULL, 0, 0}};
static const struct want connect_want[] = {
    {"sni", JSON_STRING, 253},   {"tls", JSON_TRUE, 0},
    {"proto", JSON_STRING, 8},   {"host", JSON_STRING, 255},
    {"tftp", JSON_STRING, 8},    {"url", JSON_STRING, 700},
    {"dst", JSON_STRING, 16},    {"dport", JSON_INTEGER, 0},
    {"sport", JSON_INTEGER, 0},  {"bytes", JSON_INTEGER, 0},
    {"head", JSON_STRING, 1024}, {"data_b64", JSON_STRING, 1024},
    {"type", JSON_INTEGER, 0},   {NULL, 0, 0}};
static const struct want smtp_want[] = {{"dst", JSON_STRING, 16},
                                        {"dport", JSON_INTEGER, 0},
                                        {"sport", JSON_INTEGER, 0},
                                        {"host", JSON_STRING, 255},
                                        {"helo", JSON_STRING, 256},
                                        {"mail_from", JSON_STRING, 256},
                                        {"rcpt_to", JSON_ARRAY, 256},
                                        {"bytes", JSON_INTEGER, 0},
                                        {"subject", JSON_STRING, 1024},
                                        {"auth_user", JSON_STRING, 256},
                                        {"auth_password", JSON_STRING, 256},
                                        {NULL, 0, 0}};
static const struct want limited_want[] = {
    {"connections_refused", JSON_INTEGER, 0}, {"events_dropped", JSON_INTEGER, 0}, {NULL, 0, 0}};

static const struct {
	const char *kind;
	const struct want *fields;
} kinds[] = {{"egress.dns", dns_want},
             {"egress.connect", connect_want},
             {"egress.smtp", smtp_want},
             {"egress.limited", limited_want}};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/* What the monitor sets on every event and the sinkhole must not. */
static const char *const own[] = {"timestamp",    "event",  "session", "src_ip",  "src_port",
                                  "container_id", "box_ip", "sha256",  "cmdline", "status",
                                  "fetch",        "error",  "address", "method",  "headers",
                                  "user_agent",   "t",      "box",     "id"};
#define N_OWN (sizeof(own) / sizeof(own[0]))

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (j == NULL)
		fail_msg("%s: %s", text, e.text);
	return j;
}

/* A string of n bytes. */
static json_t *string_of(size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + i % 26);
	s[n] = '\0';
	json_t *j = json_string(s);
	free(s);
	assert_non_null(j);
	return j;
}

/* An array of n strings of len bytes. */
static json_t *array_of(size_t n, size_t len)
{
	json_t *a = json_array();

	assert_non_null(a);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, string_of(len));
	return a;
}

/* An event message of kind with field name set to v (taken). */
static json_t *event_with(const char *kind, const char *name, json_t *v)
{
	json_t *m = json_pack("{s:s, s:s, s:s}", "t", "event", "event", kind, "box", "10.77.0.2");

	assert_non_null(m);
	assert_int_equal(json_object_set_new(m, name, v), 0);
	return m;
}

/* The fields taken of an event of kind with name = v: exactly name = v
 * when kept is true, nothing when false. */
static void check_one(const char *kind, const char *name, json_t *v, bool kept)
{
	json_t *m = event_with(kind, name, v);
	const char *k = NULL;
	json_t *got = sink_msg_event_fields(m, &k);

	assert_non_null(got);
	assert_string_equal(k, kind);
	if (kept) {
		if (json_object_size(got) != 1 || !json_equal(json_object_get(got, name), v))
			fail_msg("%s: %s was not kept", kind, name);
	} else if (json_object_size(got) != 0) {
		fail_msg("%s: %s of type %d kept", kind, name, json_typeof(v));
	}
	/* sink_msg_fields of that kind says the same. */
	json_t *again = sink_msg_fields(m, kind);
	assert_non_null(again);
	assert_true(json_equal(got, again));
	json_decref(again);
	json_decref(got);
	json_decref(m);
}

static void test_tables(void **state)
{
	static const struct want fetch[] = {{"sni", JSON_STRING, 253},
	                                    {"tls", JSON_TRUE, 0},
	                                    {"proto", JSON_STRING, 8},
	                                    {"dst", JSON_STRING, 16},
	                                    {"dport", JSON_INTEGER, 0},
	                                    {"sport", JSON_INTEGER, 0},
	                                    {NULL, 0, 0}};
	const struct sink_field *ff = sink_msg_fetch_fields();

	(void)state;
	for (const struct want *w = fetch; w->name != NULL; w++, ff++) {
		assert_non_null(ff->name);
		assert_string_equal(ff->name, w->name);
		assert_int_equal(ff->type, w->type);
		assert_int_equal(ff->max, w->max);
	}
	assert_null(ff->name);
	for (size_t k = 0; k < N_KINDS; k++) {
		const struct sink_field *f = sink_msg_kind(kinds[k].kind);
		const struct want *w = kinds[k].fields;
		assert_non_null(f);
		for (; w->name != NULL; w++, f++) {
			assert_non_null(f->name);
			assert_string_equal(f->name, w->name);
			assert_int_equal(f->type, w->type);
			assert_int_equal(f->max, w->max);
		}
		assert_null(f->name);
	}
}

static void test_fields_kept(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_KINDS; k++)
		for (const struct want *w = kinds[k].fields; w->name != NULL; w++) {
			const char *kind = kinds[k].kind;
			switch (w->type) {
			case JSON_STRING:
				check_one(kind, w->name, string_of(w->max), true);
				check_one(kind, w->name, string_of(0), true);
				break;
			case JSON_INTEGER:
				check_one(kind, w->name, json_integer(0), true);
				check_one(kind, w->name, json_integer(443), true);
				check_one(kind, w->name, json_integer(INT64_MAX), true);
				break;
			case JSON_TRUE:
				check_one(kind, w->name, json_true(), true);
				break;
			case JSON_ARRAY:
				check_one(kind, w->name, array_of(SINK_ITEMS_MAX, w->max), true);
				check_one(kind, w->name, array_of(0, 0), true);
				check_one(kind, w->name, array_of(1, 0), true);
				break;
			default:
				fail();
			}
		}

	/* All of them at once, in the table's order. */
	json_t *m = parse("{\"t\":\"event\",\"event\":\"egress.smtp\",\"box\":\"10.77.0.2\","
	                  "\"auth_password\":\"hunter2\",\"rcpt_to\":[\"a@b\",\"c@d\"],"
	                  "\"dst\":\"198.51.100.7\",\"dport\":587,\"sport\":40123,"
	                  "\"host\":\"mail.example\",\"helo\":\"box\",\"mail_from\":\"x@y\","
	                  "\"bytes\":1234,\"subject\":\"hi\",\"auth_user\":\"u\"}");
	const char *kind;
	json_t *got = sink_msg_event_fields(m, &kind);
	assert_non_null(got);
	assert_int_equal(json_object_size(got), 11);
	const char *key;
	json_t *v;
	const struct want *w = smtp_want;
	json_object_foreach(got, key, v)
	{
		assert_string_equal(key, w->name);
		assert_true(json_equal(v, json_object_get(m, key)));
		w++;
	}
	json_decref(got);
	json_decref(m);
}

static void test_fields_dropped(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_KINDS; k++)
		for (const struct want *w = kinds[k].fields; w->name != NULL; w++) {
			const char *kind = kinds[k].kind, *n = w->name;
			/* Of another type. */
			if (w->type != JSON_STRING) {
				check_one(kind, n, json_string("1"), false);
				check_one(kind, n, json_string(""), false);
			}
			if (w->type != JSON_INTEGER) {
				check_one(kind, n, json_integer(1), false);
				check_one(kind, n, json_integer(0), false);
			}
			if (w->type != JSON_TRUE)
				check_one(kind, n, json_true(), false);
			if (w->type != JSON_ARRAY)
				check_one(kind, n, parse("[\"a\"]"), false);
			check_one(kind, n, json_false(), false);
			check_one(kind, n, json_null(), false);
			check_one(kind, n, json_real(1.0), false);
			check_one(kind, n, parse("{\"a\":\"b\"}"), false);
			/* Too long, negative, a bad array. */
			switch (w->type) {
			case JSON_STRING:
				check_one(kind, n, string_of(w->max + 1), false);
				check_one(kind, n, string_of(w->max + 1000), false);
				break;
			case JSON_INTEGER:
				check_one(kind, n, json_integer(-1), false);
				check_one(kind, n, json_integer(INT64_MIN), false);
				break;
			case JSON_ARRAY:
				check_one(kind, n, array_of(SINK_ITEMS_MAX + 1, 1), false);
				check_one(kind, n, parse("[\"a\", 1]"), false);
				check_one(kind, n, parse("[\"a\", null]"), false);
				check_one(kind, n, parse("[[\"a\"]]"), false);
				check_one(kind, n, parse("[{}]"), false);
				json_t *a = array_of(3, w->max);
				json_array_append_new(a, string_of(w->max + 1));
				check_one(kind, n, a, false);
				break;
			default:
				break;
			}
		}
}

/* Every key the monitor's own event has, and the others it sets. */
static void add_own(json_t *m)
{
	json_t *base = event_new("egress.dns", "S", "192.0.2.1", 2222);
	const char *key;
	json_t *v;

	assert_non_null(base);
	json_object_foreach(base, key, v)
	{
		if (strcmp(key, "event") != 0)
			json_object_set_new(m, key, json_string("forged"));
	}
	json_decref(base);
	for (size_t i = 0; i < N_OWN; i++)
		if (strcmp(own[i], "event") != 0 && strcmp(own[i], "t") != 0)
			json_object_set_new(m, own[i], json_string("forged"));
	json_object_set_new(m, "src_port", json_integer(1));
	json_object_set_new(m, "id", json_integer(1));
}

static void test_not_forgeable(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_KINDS; k++) {
		json_t *m = json_pack("{s:s, s:s}", "t", "event", "event", kinds[k].kind);
		const char *kind;
		add_own(m);
		json_t *got = sink_msg_event_fields(m, &kind);
		assert_non_null(got);
		assert_int_equal(json_object_size(got), 0);

		/* As sinkhole_proc makes the event: the monitor's values stay. */
		json_t *ev = event_new(kind, "S-real", "203.0.113.9", 4242);
		assert_non_null(ev);
		json_t *before = json_deep_copy(ev);
		assert_int_equal(json_object_update(ev, got), 0);
		assert_true(json_equal(ev, before));
		json_decref(before);
		json_decref(ev);
		json_decref(got);
		json_decref(m);
	}
	/* No table has a key the monitor sets. */
	for (size_t k = 0; k <= N_KINDS; k++) {
		const struct sink_field *f =
		    k < N_KINDS ? sink_msg_kind(kinds[k].kind) : sink_msg_fetch_fields();
		for (; f->name; f++)
			for (size_t i = 0; i < N_OWN; i++)
				assert_string_not_equal(f->name, own[i]);
	}

	/* Nor a fetch's fields. */
	json_t *m = parse("{\"t\":\"fetch\",\"id\":3,\"box\":\"10.77.0.2\",\"method\":\"GET\","
	                  "\"url\":\"http://a/\",\"headers\":[],\"dport\":80}");
	add_own(m);
	json_object_set_new(m, "method", json_string("GET"));
	json_object_set_new(m, "headers", json_array());
	json_object_set_new(m, "id", json_integer(3));
	/* egress.connect's, not egress.http's: the host is the URL's, the
	 * bytes those served. */
	json_t *other = parse("{\"head\":\"GET / HTTP/1.1\",\"host\":\"good.example\","
	                      "\"bytes\":7,\"tftp\":\"read\",\"data_b64\":\"AA==\",\"type\":8}");
	assert_int_equal(json_object_update(m, other), 0);
	json_decref(other);
	struct sink_fetch f;
	assert_int_equal(sink_msg_fetch(m, &f), 1);
	json_t *want = parse("{\"dport\":80}");
	assert_true(json_equal(f.fields, want));
	json_decref(want);
	sink_msg_fetch_free(&f);
	json_decref(m);
}

static void test_unknown_kinds(void **state)
{
	static const char *const bad[] = {
	    "{\"t\":\"event\",\"box\":\"10.77.0.2\",\"bytes\":1}",
	    "{\"t\":\"event\",\"event\":null,\"bytes\":1}",
	    "{\"t\":\"event\",\"event\":7,\"bytes\":1}",
	    "{\"t\":\"event\",\"event\":[\"egress.dns\"],\"bytes\":1}",
	    "{\"t\":\"event\",\"event\":\"\",\"bytes\":1}",
	    "{\"t\":\"event\",\"event\":\"egress.http\",\"bytes\":1}",
	    "{\"t\":\"event\",\"event\":\"file.downloaded\",\"url\":\"http://a/\"}",
	    "{\"t\":\"event\",\"event\":\"session.start\"}",
	    "{\"t\":\"event\",\"event\":\"EGRESS.DNS\",\"bytes\":1}",
	    "{\"t\":\"event\",\"event\":\"egress.dns \",\"bytes\":1}",
	    "{\"t\":\"event\",\"event\":\"egress\",\"bytes\":1}",
	    "{\"t\":\"event\",\"event\":\"egress.dnsx\",\"bytes\":1}",
	    "[\"egress.dns\"]",
	    "\"egress.dns\"",
	};
	const char *kind;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *m = parse(bad[i]);
		kind = "untouched";
		assert_null(sink_msg_event_fields(m, &kind));
		json_decref(m);
	}
	assert_null(sink_msg_event_fields(NULL, &kind));
	json_t *m = parse("{\"bytes\":1}");
	assert_null(sink_msg_fields(m, "egress.http"));
	assert_null(sink_msg_fields(m, NULL));
	assert_null(sink_msg_kind("egress.http"));
	assert_null(sink_msg_kind(NULL));
	/* A name with a NUL in it (jmsg refuses them; were one let in): the
	 * kind before the NUL, and the event's name this module's own. */
	json_object_set_new(m, "event", json_stringn("egress.dns\0x", 12));
	json_t *got = sink_msg_event_fields(m, &kind);
	assert_non_null(got);
	assert_string_equal(kind, "egress.dns");
	assert_int_equal(strlen(kind), 10);
	json_decref(got);
	json_decref(m);
}

static void test_box(void **state)
{
	static const char *const bad[] = {
	    "{}",
	    "{\"box\":null}",
	    "{\"box\":167575554}",
	    "{\"box\":\"\"}",
	    "{\"box\":\"10.77.0\"}",
	    "{\"box\":\"10.77.0.2 \"}",
	    "{\"box\":\" 10.77.0.2\"}",
	    "{\"box\":\"10.77.0.256\"}",
	    "{\"box\":\"10.77.0.2/16\"}",
	    "{\"box\":\"::ffff:10.77.0.2\"}",
	    "{\"box\":\"box-1\"}",
	};
	uint32_t addr = 0;

	(void)state;
	json_t *m = parse("{\"box\":\"10.77.0.2\"}");
	assert_true(sink_msg_box(m, &addr));
	assert_int_equal(addr, htonl(0x0a4d0002));
	json_decref(m);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = parse(bad[i]);
		addr = 7;
		if (sink_msg_box(m, &addr))
			fail_msg("%s taken", bad[i]);
		assert_int_equal(addr, 7);
		json_decref(m);
	}
}

static void test_url_ok(void **state)
{
	static const char *const good[] = {
	    "http://evil.example/x.sh",
	    "HTTP://EVIL.EXAMPLE/X.SH",
	    "https://evil.example:8443/a?b=c#d",
	    "ftp://203.0.113.5/pub/x",
	    "tftp://203.0.113.5/boot.img",
	    "http://user:pw@evil.example/%20x",
	    "http://evil.example/\xc3\xa9t\xc3\xa9", /* UTF-8 */
	};
	static const char *const bad[] = {
	    "",
	    "evil.example/x.sh",
	    "//evil.example/x.sh",
	    "http:/evil.example/x.sh",
	    "http:evil.example",
	    "file:///etc/passwd",
	    "gopher://evil.example/",
	    "dict://evil.example:11211/stats",
	    "ldap://evil.example/",
	    "scp://evil.example/x",
	    "ftps://evil.example/x",
	    " http://evil.example/x.sh",
	    "http://evil.example/a b",
	    "http://evil.example/x.sh ",
	    "http://evil.example/\tx",
	    "http://evil.example/x\r\nHost: other",
	    "http://evil.example/x\n",
	    "http://evil.example/\x01",
	    "http://evil.example/\x1f",
	    "http://evil.example/\x7f",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!sink_msg_url_ok(good[i]))
			fail_msg("%s refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sink_msg_url_ok(bad[i]))
			fail_msg("%s taken", bad[i]);
}

static void host_is(const char *url, const char *want)
{
	char out[SINK_HOST_MAX];

	memset(out, 'Z', sizeof(out));
	sink_msg_url_host(url, out, sizeof(out));
	if (strcmp(out, want) != 0)
		fail_msg("%s: \"%s\", not \"%s\"", url, out, want);
}

static void test_url_host(void **state)
{
	char out[8];

	(void)state;
	host_is("http://evil.example/x.sh", "evil.example");
	host_is("HTTP://Evil.EXAMPLE/X.SH", "evil.example");
	host_is("http://evil.example:8080/x", "evil.example");
	host_is("http://evil.example", "evil.example");
	host_is("http://evil.example?q=1", "evil.example");
	host_is("http://evil.example#top", "evil.example");
	host_is("https://user@evil.example/", "evil.example");
	host_is("ftp://user:p%40ss@Evil.Example:2121/pub", "evil.example");
	host_is("http://evil.example/a@b", "evil.example"); /* an @ in the path */
	/* ... or the query or fragment: curl fetches from evil.example. */
	host_is("http://evil.example?@good.example/", "evil.example");
	host_is("http://evil.example#@good.example/", "evil.example");
	host_is("http://evil.example:80?@good.example/", "evil.example");
	/* IPv6 addresses (a Host header may be one), with their brackets. */
	host_is("http://[2001:DB8::1]:8080/x", "[2001:db8::1]");
	host_is("http://[::1]/x", "[::1]");
	host_is("http://user:pw@[::ffff:10.0.0.1]:21/", "[::ffff:10.0.0.1]");
	host_is("[2001:db8::1]:80", "[2001:db8::1]");
	host_is("http://[2001:db8::1/x]", "[2001"); /* no closing bracket in it */
	host_is("tftp://203.0.113.5/boot", "203.0.113.5");
	host_is("evil.example/x.sh", "evil.example"); /* no scheme */
	host_is("Evil.Example:80", "evil.example");
	host_is("user@evil.example", "evil.example");
	host_is("http://", "");
	host_is("", "");
	host_is("http:///x", "");
	host_is("http://\xc3\x89vil.example/", "\xc3\x89vil.example"); /* only ASCII lowered */

	/* Bounded by cap: cut, always terminated; nothing written for 0. */
	sink_msg_url_host("http://abcdefghijkl/", out, sizeof(out));
	assert_string_equal(out, "abcdefg");
	sink_msg_url_host("http://abcdefghijkl/", out, 1);
	assert_string_equal(out, "");
	out[0] = 'Z';
	sink_msg_url_host("http://abcdefghijkl/", out, 0);
	assert_int_equal(out[0], 'Z');
	json_t *long_host = string_of(SINK_HOST_MAX + 100);
	char url[SINK_HOST_MAX + 200], got[SINK_HOST_MAX];
	snprintf(url, sizeof(url), "http://%s/", json_string_value(long_host));
	sink_msg_url_host(url, got, sizeof(got));
	assert_int_equal(strlen(got), SINK_HOST_MAX - 1);
	assert_memory_equal(got, json_string_value(long_host), SINK_HOST_MAX - 1);
	json_decref(long_host);
}

/* The message of the last fetch_of: what f points to is f's own or its. */
static json_t *held;

static int fetch_of(const char *text, struct sink_fetch *f)
{
	json_decref(held);
	held = parse(text);
	return sink_msg_fetch(held, f);
}

static void done(struct sink_fetch *f)
{
	sink_msg_fetch_free(f);
	json_decref(held);
	held = NULL;
}

static void test_fetch_tcp(void **state)
{
	struct sink_fetch f;

	(void)state;
	/* As sink_tcp.c sends a request from wget. */
	assert_int_equal(
	    fetch_of("{\"t\":\"fetch\",\"id\":7,\"box\":\"10.77.0.2\",\"sport\":40000,"
	             "\"dst\":\"203.0.113.5\",\"dport\":80,\"method\":\"GET\","
	             "\"url\":\"http://Evil.Example:80/x.sh\",\"headers\":[[\"User-Agent\","
	             "\"Wget/1.21.2\"],[\"Accept\",\"*/*\"],[\"Host\",\"Evil.Example:80\"]]}",
	             &f),
	    1);
	assert_int_equal(f.id, 7);
	assert_string_equal(f.method, "GET");
	assert_string_equal(f.url, "http://Evil.Example:80/x.sh");
	assert_string_equal(f.host, "evil.example");
	assert_string_equal(f.user_agent, "Wget/1.21.2");
	assert_false(f.tls);
	assert_null(f.sni);
	assert_false(f.udp);
	assert_int_equal(f.sport, 40000);
	json_t *want = parse("[[\"User-Agent\",\"Wget/1.21.2\"],[\"Accept\",\"*/*\"],"
	                     "[\"Host\",\"Evil.Example:80\"]]");
	assert_true(json_equal(f.headers, want));
	json_decref(want);
	want = parse("{\"dst\":\"203.0.113.5\",\"dport\":80,\"sport\":40000}");
	assert_true(json_equal(f.fields, want));
	json_decref(want);
	sink_msg_fetch_free(&f);
	done(&f); /* twice: nothing */
}

static void test_fetch_tls_tftp(void **state)
{
	struct sink_fetch f;
	char text[600];

	(void)state;
	assert_int_equal(fetch_of("{\"t\":\"fetch\",\"id\":8,\"box\":\"10.77.0.2\",\"sport\":40001,"
	                          "\"dst\":\"203.0.113.5\",\"dport\":443,\"method\":\"GET\","
	                          "\"url\":\"https://evil.example/x\",\"headers\":[],\"tls\":true,"
	                          "\"sni\":\"evil.example\"}",
	                          &f),
	                 1);
	assert_true(f.tls);
	assert_string_equal(f.sni, "evil.example");
	assert_true(json_is_true(json_object_get(f.fields, "tls")));
	assert_string_equal(json_string_value(json_object_get(f.fields, "sni")), "evil.example");
	assert_int_equal(json_array_size(f.headers), 0);
	assert_null(f.user_agent);
	done(&f);

	/* An SNI without TLS is no SNI; one too long is dropped. */
	assert_int_equal(fetch_of("{\"id\":9,\"method\":\"GET\",\"url\":\"https://a/\","
	                          "\"headers\":[],\"tls\":false,\"sni\":\"a\"}",
	                          &f),
	                 1);
	assert_false(f.tls);
	assert_null(f.sni);
	done(&f);
	json_t *sni = string_of(SINK_SNI_MAX + 1);
	snprintf(text, sizeof(text),
	         "{\"id\":9,\"method\":\"GET\",\"url\":\"https://a/\",\"headers\":[],"
	         "\"tls\":true,\"sni\":\"%s\"}",
	         json_string_value(sni));
	json_decref(sni);
	assert_int_equal(fetch_of(text, &f), 1);
	assert_true(f.tls);
	assert_null(f.sni);
	assert_null(json_object_get(f.fields, "sni"));
	done(&f);

	/* As sink_tftp.c sends a read. */
	assert_int_equal(
	    fetch_of("{\"t\":\"fetch\",\"id\":10,\"box\":\"10.77.0.2\",\"sport\":33333,"
	             "\"dst\":\"203.0.113.5\",\"dport\":69,\"method\":\"GET\","
	             "\"url\":\"tftp://203.0.113.5/boot\",\"proto\":\"udp\","
	             "\"headers\":[]}",
	             &f),
	    1);
	assert_true(f.udp);
	assert_int_equal(f.sport, 33333);
	assert_string_equal(json_string_value(json_object_get(f.fields, "proto")), "udp");
	assert_string_equal(f.host, "203.0.113.5");
	done(&f);
	assert_int_equal(fetch_of("{\"id\":10,\"method\":\"GET\",\"url\":\"tftp://a/b\","
	                          "\"proto\":\"UDP\",\"headers\":[]}",
	                          &f),
	                 1);
	assert_false(f.udp);
	done(&f);
	assert_int_equal(fetch_of("{\"id\":10,\"method\":\"GET\",\"url\":\"tftp://a/b\","
	                          "\"proto\":17,\"headers\":[]}",
	                          &f),
	                 1);
	assert_false(f.udp);
	done(&f);
}

static void test_fetch_refused(void **state)
{
	static const char *const ignored[] = {
	    "{\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":[]}",
	    "{\"id\":0,\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":[]}",
	    "{\"id\":-5,\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":[]}",
	    "{\"id\":\"5\",\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":[]}",
	    "{\"id\":5.0,\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":[]}",
	    "{\"id\":true,\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":[]}",
	    "[5]",
	};
	static const char *const refused[] = {
	    "{\"id\":5,\"url\":\"http://a/\",\"headers\":[]}",
	    "{\"id\":5,\"method\":null,\"url\":\"http://a/\",\"headers\":[]}",
	    "{\"id\":5,\"method\":1,\"url\":\"http://a/\",\"headers\":[]}",
	    "{\"id\":5,\"method\":\"GETGETGETGETGETGE\",\"url\":\"http://a/\",\"headers\":[]}",
	    "{\"id\":5,\"method\":\"GET\",\"headers\":[]}",
	    "{\"id\":5,\"method\":\"GET\",\"url\":[\"http://a/\"],\"headers\":[]}",
	    "{\"id\":5,\"method\":\"GET\",\"url\":\"http://a/\"}",
	    "{\"id\":5,\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":{}}",
	    "{\"id\":5,\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":\"Host: a\"}",
	};
	struct sink_fetch f;

	(void)state;
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		if (fetch_of(ignored[i], &f) != 0)
			fail_msg("%s not ignored", ignored[i]);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (fetch_of(refused[i], &f) != -1)
			fail_msg("%s not refused", refused[i]);
		assert_int_equal(f.id, 5);
		assert_null(f.fields);
		assert_null(f.headers);
		done(&f);
	}

	/* The bounds: a method of 16 bytes, a URL of SINK_URL_MAX, 64
	 * headers are taken; one more is refused. */
	json_t *m = parse("{\"id\":5,\"method\":\"GETGETGETGETGETG\",\"url\":\"http://a/\"}");
	json_object_set_new(m, "headers", array_of(SINK_HEADERS_MAX, 0));
	assert_int_equal(sink_msg_fetch(m, &f), 1);
	assert_int_equal(json_array_size(f.headers), 0); /* not pairs */
	sink_msg_fetch_free(&f);
	json_object_set_new(m, "headers", array_of(SINK_HEADERS_MAX + 1, 0));
	assert_int_equal(sink_msg_fetch(m, &f), -1);
	json_object_set_new(m, "headers", json_array());
	json_object_set_new(m, "method", json_string("GETGETGETGETGETGE"));
	assert_int_equal(sink_msg_fetch(m, &f), -1);
	json_object_set_new(m, "method", json_string("GET"));
	char *url = malloc(SINK_URL_MAX + 2);
	assert_non_null(url);
	memset(url, 'a', SINK_URL_MAX + 1);
	memcpy(url, "http://", 7);
	url[SINK_URL_MAX + 1] = '\0';
	json_object_set_new(m, "url", json_string(url));
	assert_int_equal(sink_msg_fetch(m, &f), -1);
	url[SINK_URL_MAX] = '\0';
	json_object_set_new(m, "url", json_string(url));
	assert_int_equal(sink_msg_fetch(m, &f), 1);
	assert_int_equal(strlen(f.url), SINK_URL_MAX);
	assert_int_equal(strlen(f.host), SINK_HOST_MAX - 1);
	assert_null(json_object_get(f.fields, "url")); /* over egress.connect's 700 */
	sink_msg_fetch_free(&f);
	free(url);
	json_decref(m);
}

static void test_fetch_headers(void **state)
{
	struct sink_fetch f;

	(void)state;
	json_t *m = parse("{\"id\":5,\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":["
	                  "\"User-Agent: x\", 7, null, [], [\"Accept\"], [\"X\", 1], [1, \"x\"],"
	                  "[\"user-agent\",\"curl/8.5.0\"], [\"X-Three\",\"a\",\"b\"],"
	                  "[\"USER-AGENT\",\"evil\\r\\nX-Injected: 1\"], [\"Empty\",\"\"]]}");
	json_array_append_new(json_object_get(m, "headers"),
	                      json_pack("[os]", string_of(SINK_HEADER_NAME), "at the bound"));
	json_array_append_new(json_object_get(m, "headers"),
	                      json_pack("[os]", string_of(SINK_HEADER_NAME + 1), "over"));
	json_array_append_new(json_object_get(m, "headers"),
	                      json_pack("[so]", "X-Long", string_of(SINK_STR_MAX)));
	json_array_append_new(json_object_get(m, "headers"),
	                      json_pack("[so]", "User-Agent", string_of(SINK_STR_MAX + 1)));
	assert_int_equal(sink_msg_fetch(m, &f), 1);
	assert_int_equal(json_array_size(f.headers), 6);
	assert_string_equal(json_string_value(json_array_get(json_array_get(f.headers, 0), 1)),
	                    "curl/8.5.0");
	json_t *three = json_array_get(f.headers, 1);
	assert_int_equal(json_array_size(three), 2); /* a pair, the rest dropped */
	assert_string_equal(json_string_value(json_array_get(three, 0)), "X-Three");
	assert_string_equal(json_string_value(json_array_get(json_array_get(f.headers, 2), 1)),
	                    "evil\r\nX-Injected: 1"); /* logged as sent */
	assert_string_equal(json_string_value(json_array_get(json_array_get(f.headers, 4), 1)),
	                    "at the bound");
	assert_int_equal(json_string_length(json_array_get(json_array_get(f.headers, 5), 1)),
	                 SINK_STR_MAX);
	/* The user agent: the last one kept without CR or LF. */
	assert_string_equal(f.user_agent, "curl/8.5.0");
	sink_msg_fetch_free(&f);
	json_decref(m);

	m = parse("{\"id\":5,\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":["
	          "[\"User-Agent\",\"first\"],[\"User-Agent\",\"second\"]]}");
	assert_int_equal(sink_msg_fetch(m, &f), 1);
	assert_string_equal(f.user_agent, "second");
	sink_msg_fetch_free(&f);
	json_decref(m);
}

static void test_fetch_sport(void **state)
{
	static const struct {
		const char *sport;
		uint16_t want;
	} cases[] = {{"1", 1},    {"65535", 65535},          {"0", 0},      {"65536", 0},
	             {"-1", 0},   {"4294967297", 0},         {"\"80\"", 0}, {"80.0", 0},
	             {"null", 0}, {"9223372036854775807", 0}};
	struct sink_fetch f;
	char text[200];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
		         "{\"id\":5,\"method\":\"GET\",\"url\":\"http://a/\",\"headers\":[],"
		         "\"sport\":%s}",
		         cases[i].sport);
		assert_int_equal(fetch_of(text, &f), 1);
		if (f.sport != cases[i].want)
			fail_msg("sport %s: %u", cases[i].sport, f.sport);
		done(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables),         cmocka_unit_test(test_fields_kept),
	    cmocka_unit_test(test_fields_dropped), cmocka_unit_test(test_not_forgeable),
	    cmocka_unit_test(test_unknown_kinds),  cmocka_unit_test(test_box),
	    cmocka_unit_test(test_url_ok),         cmocka_unit_test(test_url_host),
	    cmocka_unit_test(test_fetch_tcp),      cmocka_unit_test(test_fetch_tls_tftp),
	    cmocka_unit_test(test_fetch_refused),  cmocka_unit_test(test_fetch_headers),
	    cmocka_unit_test(test_fetch_sport),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

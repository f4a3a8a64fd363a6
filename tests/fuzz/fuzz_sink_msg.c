/*
 * libFuzzer harness for sink_msg.c: any bytes as a message from the
 * sinkhole, parsed as JSON (any value, NULs allowed: more than jmsg lets
 * through) and given to every function of the module. Beyond "no crash,
 * no leak" it checks what sinkhole_proc.c relies on: an event's fields
 * are only its kind's, each of the table's type and length and m's own
 * value, and every field that is so is there; an unknown kind gives none;
 * a fetch taken has a positive id, a method and URL within bounds, the
 * URL's host, the fields of sink_msg_fetch_fields, at most
 * SINK_HEADERS_MAX pairs of strings within bounds, the last clean
 * User-Agent, tls, sni, proto and sport as the message has them; a fetch
 * refused or ignored holds nothing. A URL taken for fetching has a known
 * scheme and no control or space; a URL's host fits, is lower case and
 * is part of the URL, cut short by a smaller store to a prefix of itself;
 * a box taken is the address the message wrote.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sink_msg.h"

#include "fuzz_check.h"

static const char *const kinds[] = {"egress.dns", "egress.connect", "egress.smtp",
                                    "egress.limited"};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/* v is what field f takes (written apart from sink_msg.c's own). */
static bool takes(const struct sink_field *f, const json_t *v)
{
	size_t i;
	const json_t *item;

	if (v == NULL)
		return false;
	switch (f->type) {
	case JSON_STRING:
		return json_is_string(v) && json_string_length(v) <= f->max;
	case JSON_INTEGER:
		return json_is_integer(v) && json_integer_value(v) >= 0;
	case JSON_TRUE:
		return json_is_true(v);
	case JSON_ARRAY:
		if (!json_is_array(v) || json_array_size(v) > SINK_ITEMS_MAX)
			return false;
		json_array_foreach(v, i, item)
		{
			if (!json_is_string(item) || json_string_length(item) > f->max)
				return false;
		}
		return true;
	default:
		CHECK(0);
	}
	return false;
}

static const struct sink_field *field(const struct sink_field *fs, const char *name)
{
	for (; fs->name != NULL; fs++)
		if (strcmp(fs->name, name) == 0)
			return fs;
	return NULL;
}

/* got is what m gives for the fields fs: only they, each as
 * the table says and m's own, and all of m's that are so. */
static void check_fields(const json_t *got, const json_t *m, const struct sink_field *fs)
{
	const char *key;
	json_t *v;

	CHECK(json_is_object(got));
	json_object_foreach((json_t *)got, key, v)
	{
		const struct sink_field *f = field(fs, key);
		CHECK(f != NULL);
		CHECK(v == json_object_get(m, key));
		CHECK(takes(f, v));
	}
	for (const struct sink_field *f = fs; f->name != NULL; f++)
		if (takes(f, json_object_get(m, f->name)))
			CHECK(json_object_get(got, f->name) != NULL);
}

static void check_host(const char *url)
{
	char host[SINK_HOST_MAX], small[8];
	size_t n;

	sink_msg_url_host(url, host, sizeof(host));
	n = strlen(host);
	CHECK(n < sizeof(host));
	CHECK(strpbrk(host, "/?#") == NULL);
	for (size_t i = 0; i < n; i++)
		CHECK(!(host[i] >= 'A' && host[i] <= 'Z'));
	/* Part of the URL, but for case. */
	bool found = false;
	for (const char *p = url; *p && !found; p++)
		found = strncasecmp(p, host, n) == 0;
	CHECK(found || n == 0);
	for (size_t cap = 1; cap <= sizeof(small); cap++) {
		sink_msg_url_host(url, small, cap);
		CHECK(strlen(small) < cap);
		CHECK(strncmp(small, host, strlen(small)) == 0);
		CHECK(strlen(small) == (n < cap - 1 ? n : cap - 1));
	}
}

static void check_url(const char *url)
{
	if (url == NULL)
		return;
	if (sink_msg_url_ok(url)) {
		CHECK(strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0 ||
		      strncasecmp(url, "ftp://", 6) == 0 || strncasecmp(url, "tftp://", 7) == 0);
		for (const char *p = url; *p; p++)
			CHECK((unsigned char)*p > 0x20 && *p != 0x7f);
	}
	check_host(url);
}

static void check_fetch(const json_t *m)
{
	struct sink_fetch f;
	int r = sink_msg_fetch(m, &f);
	json_int_t id = json_integer_value(json_object_get(m, "id"));

	CHECK(r >= -2 && r <= 1);
	if (r == 0) {
		CHECK(id <= 0);
		CHECK(f.fields == NULL && f.headers == NULL);
		return;
	}
	CHECK(id > 0 && f.id == (uint64_t)id);
	if (r < 0) {
		CHECK(f.fields == NULL && f.headers == NULL && f.user_agent == NULL);
		sink_msg_fetch_free(&f);
		return;
	}
	CHECK(f.method == json_string_value(json_object_get(m, "method")));
	CHECK(f.url == json_string_value(json_object_get(m, "url")));
	CHECK(f.method != NULL && strlen(f.method) <= SINK_METHOD_MAX);
	CHECK(f.url != NULL && strlen(f.url) <= SINK_URL_MAX);
	char host[SINK_HOST_MAX];
	sink_msg_url_host(f.url, host, sizeof(host));
	CHECK(strcmp(host, f.host) == 0);
	check_fields(f.fields, m, sink_msg_fetch_fields());

	const json_t *in = json_object_get(m, "headers");
	CHECK(json_is_array(in) && json_array_size(in) <= SINK_HEADERS_MAX);
	CHECK(json_is_array(f.headers) && json_array_size(f.headers) <= json_array_size(in));
	size_t i;
	json_t *h;
	const char *ua = NULL;
	json_array_foreach(f.headers, i, h)
	{
		CHECK(json_array_size(h) == 2);
		const char *n = json_string_value(json_array_get(h, 0));
		const char *v = json_string_value(json_array_get(h, 1));
		CHECK(n != NULL && v != NULL);
		CHECK(strlen(n) <= SINK_HEADER_NAME && strlen(v) <= SINK_STR_MAX);
		if (strcasecmp(n, "user-agent") == 0 && strpbrk(v, "\r\n") == NULL)
			ua = v;
	}
	CHECK(ua == f.user_agent);

	CHECK(f.tls == json_is_true(json_object_get(m, "tls")));
	const char *sni = json_string_value(json_object_get(m, "sni"));
	if (f.sni != NULL)
		CHECK(f.tls && f.sni == sni && strlen(sni) <= SINK_SNI_MAX);
	else
		CHECK(!f.tls || sni == NULL || strlen(sni) > SINK_SNI_MAX);
	const char *proto = json_string_value(json_object_get(m, "proto"));
	CHECK(f.udp == (proto != NULL && strcmp(proto, "udp") == 0));
	const json_t *sport = json_object_get(m, "sport");
	if (f.sport != 0)
		CHECK(json_is_integer(sport) && json_integer_value(sport) == f.sport);
	else
		CHECK(!json_is_integer(sport) || json_integer_value(sport) <= 0 ||
		      json_integer_value(sport) > 65535);
	check_url(f.url);
	sink_msg_fetch_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *m = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

	/* An event. */
	const char *kind = NULL;
	json_t *got = sink_msg_event_fields(m, &kind);
	const char *event = json_string_value(json_object_get(m, "event"));
	bool known = false;
	for (size_t i = 0; i < N_KINDS; i++)
		known = known || (event != NULL && strcmp(event, kinds[i]) == 0);
	CHECK((got != NULL) == known);
	if (got != NULL) {
		CHECK(strcmp(kind, event) == 0);
		check_fields(got, m, sink_msg_kind(kind));
		json_decref(got);
	}
	for (size_t i = 0; i < N_KINDS; i++) {
		CHECK(sink_msg_kind(kinds[i]) != NULL);
		got = sink_msg_fields(m, kinds[i]);
		CHECK(got != NULL);
		check_fields(got, m, sink_msg_kind(kinds[i]));
		json_decref(got);
	}
	CHECK(sink_msg_fields(m, "egress.http") == NULL && sink_msg_kind("egress.http") == NULL);

	/* The box. */
	uint32_t addr;
	if (sink_msg_box(m, &addr)) {
		char ip[INET_ADDRSTRLEN];
		CHECK(inet_ntop(AF_INET, &addr, ip, sizeof(ip)) != NULL);
		CHECK(strcmp(ip, json_string_value(json_object_get(m, "box"))) == 0);
	}

	/* A fetch; URLs: the message's, or the message itself, or the bytes. */
	check_fetch(m);
	check_url(json_string_value(json_object_get(m, "url")));
	check_url(json_string_value(m));
	char *text = malloc(size + 1);
	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	check_url(text);
	free(text);
	json_decref(m);
	return 0;
}

/*
 * sink_msg: what the monitor accepts from the sinkhole; see sink_msg.h.
 */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "sink_msg.h"

static const struct sink_field dns_fields[] = {{"server", JSON_STRING, 16},
                                               {"query", JSON_STRING, SINK_STR_MAX},
                                               {"qtype", JSON_STRING, 16},
                                               {"answer", JSON_STRING, 16},
                                               {"rcode", JSON_INTEGER, 0},
                                               {"bytes", JSON_INTEGER, 0},
                                               {NULL, 0, 0}};
static const struct sink_field connect_fields[] = {{"sni", JSON_STRING, SINK_SNI_MAX},
                                                   {"tls", JSON_TRUE, 0},
                                                   {"proto", JSON_STRING, 8},
                                                   {"host", JSON_STRING, 255},
                                                   {"tftp", JSON_STRING, 8},
                                                   {"url", JSON_STRING, 700},
                                                   {"dst", JSON_STRING, 16},
                                                   {"dport", JSON_INTEGER, 0},
                                                   {"sport", JSON_INTEGER, 0},
                                                   {"bytes", JSON_INTEGER, 0},
                                                   {"head", JSON_STRING, SINK_STR_MAX},
                                                   {"data_b64", JSON_STRING, SINK_STR_MAX},
                                                   {"type", JSON_INTEGER, 0},
                                                   {NULL, 0, 0}};
static const struct sink_field smtp_fields[] = {{"dst", JSON_STRING, 16},
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
static const struct sink_field limited_fields[] = {
    {"connections_refused", JSON_INTEGER, 0}, {"events_dropped", JSON_INTEGER, 0}, {NULL, 0, 0}};

/* What egress.http takes of a fetch message besides what sink_msg_fetch
 * reads: where the request went (docs/sinkhole.md's fetch message). */
static const struct sink_field fetch_fields[] = {{"sni", JSON_STRING, SINK_SNI_MAX},
                                                 {"tls", JSON_TRUE, 0},
                                                 {"proto", JSON_STRING, 8},
                                                 {"dst", JSON_STRING, 16},
                                                 {"dport", JSON_INTEGER, 0},
                                                 {"sport", JSON_INTEGER, 0},
                                                 {NULL, 0, 0}};

static const struct {
	const char *name;
	const struct sink_field *fields;
} kinds[] = {{"egress.dns", dns_fields},
             {"egress.connect", connect_fields},
             {"egress.smtp", smtp_fields},
             {"egress.limited", limited_fields}};

/* The kind named so: its index in kinds, or -1. */
static int kind_index(const char *kind)
{
	for (size_t i = 0; kind != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kind, kinds[i].name) == 0)
			return (int)i;
	return -1;
}

const struct sink_field *sink_msg_kind(const char *kind)
{
	int i = kind_index(kind);
	return i < 0 ? NULL : kinds[i].fields;
}

/* v is what field f takes. */
static bool field_ok(const struct sink_field *f, const json_t *v)
{
	if (v == NULL || json_typeof(v) != f->type)
		return false;
	if (f->type == JSON_STRING && json_string_length(v) > f->max)
		return false;
	if (f->type == JSON_INTEGER && json_integer_value(v) < 0)
		return false;
	if (f->type == JSON_ARRAY) {
		/* Of strings, each at most max, at most SINK_ITEMS_MAX of them. */
		size_t i;
		const json_t *item;
		bool ok = json_array_size(v) <= SINK_ITEMS_MAX;
		json_array_foreach(v, i, item)
		{
			ok = ok && json_is_string(item) && json_string_length(item) <= f->max;
		}
		return ok;
	}
	return true;
}

const struct sink_field *sink_msg_fetch_fields(void)
{
	return fetch_fields;
}

/* The fields fs that m has, as sink_msg_fields. */
static json_t *copy(const json_t *m, const struct sink_field *fs)
{
	json_t *o = fs != NULL ? json_object() : NULL;

	if (o == NULL)
		return NULL;
	for (const struct sink_field *f = fs; f->name != NULL; f++) {
		json_t *v = json_object_get(m, f->name);
		if (field_ok(f, v) && json_object_set(o, f->name, v) < 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *sink_msg_fields(const json_t *m, const char *kind)
{
	return copy(m, sink_msg_kind(kind));
}

json_t *sink_msg_event_fields(const json_t *m, const char **kind)
{
	int i = kind_index(json_string_value(json_object_get(m, "event")));

	if (i < 0)
		return NULL;
	*kind = kinds[i].name;
	return sink_msg_fields(m, kinds[i].name);
}

bool sink_msg_box(const json_t *m, uint32_t *addr)
{
	const char *s = json_string_value(json_object_get(m, "box"));
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*addr = a.s_addr;
	return true;
}

bool sink_msg_url_ok(const char *u)
{
	if (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0 &&
	    strncasecmp(u, "ftp://", 6) != 0 && strncasecmp(u, "tftp://", 7) != 0)
		return false;
	for (; *u; u++)
		if ((unsigned char)*u <= 0x20 || *u == 0x7f)
			return false;
	return true;
}

void sink_msg_url_host(const char *u, char *out, size_t cap)
{
	const char *h = strstr(u, "://");
	size_t n = 0, end;

	if (cap == 0)
		return;
	h = h ? h + 3 : u;
	/* The authority ends at the path, the query or the fragment (as
	 * curl, which fetches it, reads it); a user in it ends at an '@'. */
	const char *at = strpbrk(h, "@/?#");
	if (at != NULL && *at == '@')
		h = at + 1;
	end = strcspn(h, "/?#");
	/* An IPv6 address with its brackets, else up to the port. */
	const char *close = h[0] == '[' ? memchr(h, ']', end) : NULL;
	end = close != NULL ? (size_t)(close - h) + 1 : strcspn(h, ":/?#");
	for (; n < end && n + 1 < cap; n++)
		out[n] = (char)((h[n] >= 'A' && h[n] <= 'Z') ? h[n] - 'A' + 'a' : h[n]);
	out[n] = '\0';
}

int sink_msg_fetch(const json_t *m, struct sink_fetch *f)
{
	json_int_t id = json_integer_value(json_object_get(m, "id"));
	const json_t *headers = json_object_get(m, "headers");
	json_int_t sport = json_integer_value(json_object_get(m, "sport"));
	const char *proto = json_string_value(json_object_get(m, "proto"));
	size_t i;
	json_t *h;

	memset(f, 0, sizeof(*f));
	if (id <= 0)
		return 0;
	f->id = (uint64_t)id;
	f->method = json_string_value(json_object_get(m, "method"));
	f->url = json_string_value(json_object_get(m, "url"));
	if (f->method == NULL || f->url == NULL || strlen(f->method) > SINK_METHOD_MAX ||
	    strlen(f->url) > SINK_URL_MAX || !json_is_array(headers) ||
	    json_array_size(headers) > SINK_HEADERS_MAX)
		return -1;
	sink_msg_url_host(f->url, f->host, sizeof(f->host));
	f->fields = copy(m, fetch_fields);
	f->headers = json_array();
	if (f->fields == NULL || f->headers == NULL) {
		sink_msg_fetch_free(f);
		return -2;
	}
	if (json_is_true(json_object_get(m, "tls"))) {
		const char *sni = json_string_value(json_object_get(m, "sni"));
		f->tls = true;
		if (sni != NULL && strlen(sni) <= SINK_SNI_MAX)
			f->sni = sni;
	}
	json_array_foreach(headers, i, h)
	{
		const char *n = json_string_value(json_array_get(h, 0));
		const char *v = json_string_value(json_array_get(h, 1));
		if (n == NULL || v == NULL || strlen(n) > SINK_HEADER_NAME ||
		    strlen(v) > SINK_STR_MAX)
			continue;
		json_t *pair = json_pack("[ss]", n, v);
		if (json_array_append_new(f->headers, pair) < 0)
			continue;
		if (strcasecmp(n, "user-agent") == 0 && strpbrk(v, "\r\n") == NULL)
			f->user_agent = json_string_value(json_array_get(pair, 1));
	}
	f->udp = proto != NULL && strcmp(proto, "udp") == 0;
	f->sport = sport > 0 && sport < 65536 ? (uint16_t)sport : 0;
	return 1;
}

void sink_msg_fetch_free(struct sink_fetch *f)
{
	json_decref(f->fields);
	json_decref(f->headers);
	f->fields = f->headers = NULL;
	f->user_agent = NULL;
}

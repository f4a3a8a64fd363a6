/*
 * worker_events: what a worker may report; see worker_events.h.
 */
#include <string.h>

#include "worker_events.h"

/* Kinds of field. */
enum wf_kind {
	WF_UINT,    /* integer in 0..max */
	WF_INT_OPT, /* integer in -1..max, or null */
	WF_NUMBER,  /* real or integer, >= 0 */
	WF_BOOL,
	WF_BYTES, /* text as event_set_bytes() writes it: NAME, and NAME_b64 when not UTF-8 */
	WF_TEXT,  /* text of at most max bytes */
	WF_ONE_OF /* one of the strings in `words` */
};

struct wfield {
	const char *name;
	enum wf_kind kind;
	int64_t max;
	const char *const *words; /* WF_ONE_OF, NULL-terminated */
};

#define U32  0xffffffffLL
#define U16  0xffffLL
#define UBIG ((int64_t)1 << 62)
#define END                                                                                        \
	{                                                                                          \
		NULL, 0, 0, NULL                                                                   \
	}
#define MAX_TEXT 256

static const char *const fwd_kinds[] = {"direct-tcpip", "tcpip-forward", "cancel-tcpip-forward",
                                        "x11",          "auth-agent",    NULL};
static const char *const sources[] = {"exec", "interactive", NULL};
static const char *const protocols[] = {"sftp", NULL};
static const char *const directions[] = {"upload", "download", NULL};
static const char *const ops[] = {"remove", "rename", "mkdir", "rmdir", "symlink", "setstat", NULL};

static const struct wfield f_version[] = {{"version", WF_BYTES, 0, NULL}, END};
static const struct wfield f_kex[] = {{"error", WF_TEXT, MAX_TEXT, NULL},
                                      {"hassh", WF_TEXT, 64, NULL},
                                      {"hassh_algorithms", WF_BYTES, 0, NULL},
                                      {"kex_algorithms", WF_BYTES, 0, NULL},
                                      {"host_key_algorithms", WF_BYTES, 0, NULL},
                                      {"ciphers_cs", WF_BYTES, 0, NULL},
                                      {"ciphers_sc", WF_BYTES, 0, NULL},
                                      {"macs_cs", WF_BYTES, 0, NULL},
                                      {"macs_sc", WF_BYTES, 0, NULL},
                                      {"compression_cs", WF_BYTES, 0, NULL},
                                      {"compression_sc", WF_BYTES, 0, NULL},
                                      {"languages_cs", WF_BYTES, 0, NULL},
                                      {"languages_sc", WF_BYTES, 0, NULL},
                                      {"first_kex_follows", WF_BOOL, 0, NULL},
                                      END};
static const struct wfield f_pty[] = {{"channel", WF_UINT, U32, NULL},
                                      {"term", WF_BYTES, 0, NULL},
                                      {"width", WF_UINT, 10000, NULL},
                                      {"height", WF_UINT, 10000, NULL},
                                      END};
static const struct wfield f_env[] = {{"channel", WF_UINT, U32, NULL},
                                      {"name", WF_BYTES, 0, NULL},
                                      {"value", WF_BYTES, 0, NULL},
                                      {"truncated", WF_BOOL, 0, NULL},
                                      END};
static const struct wfield f_fwd_request[] = {{"kind", WF_ONE_OF, 0, fwd_kinds},
                                              {"dst_host", WF_BYTES, 0, NULL},
                                              {"dst_port", WF_UINT, U32, NULL},
                                              {"orig_host", WF_BYTES, 0, NULL},
                                              {"orig_port", WF_UINT, U32, NULL},
                                              {"bind_host", WF_BYTES, 0, NULL},
                                              {"bind_port", WF_UINT, U32, NULL},
                                              {"forward", WF_UINT, U32, NULL},
                                              {"accepted", WF_BOOL, 0, NULL},
                                              {"channel", WF_UINT, U32, NULL},
                                              END};
static const struct wfield f_fwd_data[] = {{"forward", WF_UINT, U32, NULL},
                                           {"dst_host", WF_BYTES, 0, NULL},
                                           {"dst_port", WF_UINT, U32, NULL},
                                           {"bytes", WF_UINT, UBIG, NULL},
                                           {"data_b64", WF_TEXT, 96 * 1024, NULL},
                                           {"truncated", WF_BOOL, 0, NULL},
                                           END};
static const struct wfield f_transfer[] = {{"channel", WF_UINT, U32, NULL},
                                           {"protocol", WF_ONE_OF, 0, protocols},
                                           {"direction", WF_ONE_OF, 0, directions},
                                           {"path", WF_BYTES, 0, NULL},
                                           {"path2", WF_BYTES, 0, NULL},
                                           {"bytes", WF_UINT, UBIG, NULL},
                                           {"pflags", WF_UINT, U32, NULL},
                                           {"status", WF_INT_OPT, U32, NULL},
                                           {"extension", WF_TEXT, 64, NULL},
                                           END};
static const struct wfield f_operation[] = {
    {"channel", WF_UINT, U32, NULL},  {"protocol", WF_ONE_OF, 0, protocols},
    {"op", WF_ONE_OF, 0, ops},        {"path", WF_BYTES, 0, NULL},
    {"path2", WF_BYTES, 0, NULL},     {"status", WF_INT_OPT, U32, NULL},
    {"extension", WF_TEXT, 64, NULL}, END};
static const struct wfield f_command[] = {
    {"channel", WF_UINT, U32, NULL},   {"tty", WF_BOOL, 0, NULL},
    {"source", WF_ONE_OF, 0, sources}, {"command", WF_BYTES, 0, NULL},
    {"at", WF_NUMBER, 0, NULL},        {"recalled", WF_BOOL, 0, NULL},
    {"unresolved", WF_BOOL, 0, NULL},  {"completion", WF_BOOL, 0, NULL},
    {"truncated", WF_BOOL, 0, NULL},   END};
static const struct wfield f_truncated[] = {
    {"channel", WF_UINT, U32, NULL}, {"max_session_size", WF_UINT, UBIG, NULL}, END};

/* Events a worker may report, by phase, and their fields. */
static const struct {
	const char *type;
	bool preauth, authed;
	const struct wfield *fields;
} policy[] = {
    {"client.version", true, false, f_version},
    {"client.kex", true, false, f_kex},
    {"session.pty", false, true, f_pty},
    {"session.env", false, true, f_env},
    {"forward.request", false, true, f_fwd_request},
    {"forward.data", false, true, f_fwd_data},
    {"file.transfer", false, true, f_transfer},
    {"file.operation", false, true, f_operation},
    {"command.input", false, true, f_command},
    {"recording.truncated", false, true, f_truncated},
};

/* The field named key in fields, allowing NAME_b64 for a WF_BYTES NAME. */
static const struct wfield *find_field(const struct wfield *fields, const char *key, bool *b64)
{
	size_t n = strlen(key);

	*b64 = false;
	for (const struct wfield *f = fields; f->name != NULL; f++) {
		if (strcmp(f->name, key) == 0)
			return f;
		if (f->kind == WF_BYTES && n == strlen(f->name) + 4 &&
		    strncmp(key, f->name, n - 4) == 0 && strcmp(key + n - 4, "_b64") == 0) {
			*b64 = true;
			return f;
		}
	}
	return NULL;
}

static bool one_of(const char *s, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcmp(s, *words) == 0)
			return true;
	return false;
}

static bool value_fits(const struct wfield *f, bool b64, json_t *v)
{
	json_int_t i;

	if (b64)
		return json_is_string(v);
	switch (f->kind) {
	case WF_UINT:
		i = json_integer_value(v);
		return json_is_integer(v) && i >= 0 && i <= f->max;
	case WF_INT_OPT:
		i = json_integer_value(v);
		return json_is_null(v) || (json_is_integer(v) && i >= -1 && i <= f->max);
	case WF_NUMBER:
		return json_is_number(v) && json_number_value(v) >= 0;
	case WF_BOOL:
		return json_is_boolean(v);
	case WF_BYTES:
		return json_is_string(v);
	case WF_TEXT:
		return json_is_string(v) && json_string_length(v) <= (size_t)f->max;
	case WF_ONE_OF:
		return json_is_string(v) && one_of(json_string_value(v), f->words);
	}
	return false;
}

json_t *worker_event_check(const uint8_t *type, size_t type_len, bool authed, const uint8_t *fields,
                           size_t fields_len, const char **type_out, const char **why)
{
	size_t i, n = sizeof(policy) / sizeof(policy[0]);
	json_t *in, *out, *v;
	const char *k;

	for (i = 0; i < n; i++)
		if (type_len == strlen(policy[i].type) &&
		    memcmp(type, policy[i].type, type_len) == 0)
			break;
	if (i == n) {
		*why = "unknown event type";
		return NULL;
	}
	if (!(authed ? policy[i].authed : policy[i].preauth)) {
		*why = "event not allowed in this phase";
		return NULL;
	}
	in = json_loadb((const char *)fields, fields_len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(in)) {
		json_decref(in);
		*why = "event fields are not a JSON object";
		return NULL;
	}
	out = json_object();
	json_object_foreach(in, k, v)
	{
		bool b64;
		const struct wfield *f = find_field(policy[i].fields, k, &b64);

		if (f == NULL) {
			*why = "event field not allowed";
			goto refuse;
		}
		if (!value_fits(f, b64, v)) {
			*why = "event field of the wrong type or range";
			goto refuse;
		}
		/* NAME_b64 only goes with NAME: it is the raw form of a sanitized text. */
		if (b64 && !json_is_string(json_object_get(in, f->name))) {
			*why = "event field _b64 without its text";
			goto refuse;
		}
		if (out == NULL || json_object_set(out, k, v) != 0) {
			*why = "out of memory";
			goto refuse;
		}
	}
	json_decref(in);
	*type_out = policy[i].type;
	return out;
refuse:
	json_decref(in);
	json_decref(out);
	return NULL;
}

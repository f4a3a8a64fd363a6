/*
 * worker_init: the worker's first message; see worker_init.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "worker_init.h"

#define BPF_INSN_SIZE 8    /* struct sock_filter: u16 code, u8 jt, u8 jf, u32 k */
#define BPF_MAX_INSNS 4096 /* the kernel's BPF_MAXINSNS */
#define KEY_MAX       16384

int worker_init_encode(const struct worker_init *w, struct buf *out)
{
	json_t *o = json_object(), *keys = json_array(), *patch = json_array();
	char *text = NULL;
	int r = -ENOMEM;

	if (o == NULL || keys == NULL || patch == NULL)
		goto out;
	for (size_t i = 0; i < w->nkeys; i++)
		if (json_array_append_new(keys, json_string(w->keys[i])) < 0)
			goto out;
	for (size_t i = 0; i < w->npatch; i++)
		if (json_array_append_new(patch, json_integer((json_int_t)w->patch[i])) < 0)
			goto out;
	if (json_object_set_new(o, "session_id", json_string(w->session_id)) < 0 ||
	    json_object_set_new(o, "src_ip", json_string(w->src_ip)) < 0 ||
	    json_object_set_new(o, "src_port", json_integer(w->src_port)) < 0 ||
	    json_object_set_new(o, "log_level", json_integer(w->log_level)) < 0 ||
	    json_object_set_new(o, "login_grace_time", json_integer(w->login_grace_time)) < 0 ||
	    json_object_set_new(o, "session_timeout", json_integer(w->session_timeout)) < 0 ||
	    json_object_set_new(o, "max_session_duration", json_integer(w->max_session_duration)) <
	        0 ||
	    json_object_set_new(o, "rec_max_session_size",
	                        json_integer((json_int_t)w->rec_max_session_size)) < 0 ||
	    json_object_set_new(o, "keyboard_interactive", json_boolean(w->keyboard_interactive)) <
	        0 ||
	    json_object_set_new(o, "banner", json_string(w->offer.banner)) < 0 ||
	    json_object_set_new(o, "kex", json_string(w->offer.kex)) < 0 ||
	    json_object_set_new(o, "hostkeys", json_string(w->offer.hostkeys)) < 0 ||
	    json_object_set_new(o, "ciphers", json_string(w->offer.ciphers)) < 0 ||
	    json_object_set_new(o, "macs", json_string(w->offer.macs)) < 0 ||
	    json_object_set_new(o, "sigalgs", json_string(w->offer.sigalgs)) < 0 ||
	    json_object_set(o, "keys", keys) < 0 ||
	    json_object_set_new(o, "drop", json_boolean(w->drop)) < 0 ||
	    json_object_set_new(o, "uid", json_integer((json_int_t)w->uid)) < 0 ||
	    json_object_set_new(o, "gid", json_integer((json_int_t)w->gid)) < 0 ||
	    json_object_set_new(o, "root", json_string(w->root)) < 0 ||
	    json_object_set(o, "patch", patch) < 0)
		goto out;
	text = json_dumps(o, JSON_COMPACT);
	if (text == NULL)
		goto out;
	r = buf_put(out, text, strlen(text));
out:
	if (text != NULL) {
		explicit_bzero(text, strlen(text)); /* the keys */
		free(text);
	}
	json_decref(keys);
	json_decref(patch);
	json_decref(o);
	return r;
}

static bool get_int(json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool get_text(json_t *o, const char *key, char *out, size_t cap, bool empty_ok)
{
	json_t *v = json_object_get(o, key);
	size_t n = json_string_length(v);

	if (!json_is_string(v) || n >= cap || (n == 0 && !empty_ok) ||
	    memchr(json_string_value(v), '\0', n) != NULL)
		return false;
	memcpy(out, json_string_value(v), n + 1);
	return true;
}

int worker_init_decode(const uint8_t *json, size_t json_len, const uint8_t *prog, size_t prog_len,
                       struct worker_init *w, const char **why)
{
	json_t *o = json_loadb((const char *)json, json_len, JSON_REJECT_DUPLICATES, NULL);
	json_t *keys, *patch, *v;
	int64_t n[9];
	size_t i;

	memset(w, 0, sizeof(*w));
	*why = "settings are not a JSON object";
	if (!json_is_object(o))
		goto bad;
	*why = "bad connection fields";
	if (!get_text(o, "session_id", w->session_id, sizeof(w->session_id), false) ||
	    strlen(w->session_id) != SESSION_ID_LEN ||
	    !get_text(o, "src_ip", w->src_ip, sizeof(w->src_ip), false) ||
	    !get_int(o, "src_port", 0, 65535, &n[0]))
		goto bad;
	w->src_port = (int)n[0];
	*why = "bad settings";
	if (!get_int(o, "log_level", 0, 100, &n[1]) ||
	    !get_int(o, "login_grace_time", 1, INT32_MAX, &n[2]) ||
	    !get_int(o, "session_timeout", 1, INT32_MAX, &n[3]) ||
	    !get_int(o, "max_session_duration", 1, INT32_MAX, &n[4]) ||
	    !get_int(o, "rec_max_session_size", 0, INT64_MAX, &n[5]) ||
	    !json_is_boolean(json_object_get(o, "keyboard_interactive")) ||
	    !get_text(o, "banner", w->offer.banner, sizeof(w->offer.banner), false))
		goto bad;
	*why = "bad algorithm lists";
	if (!get_text(o, "kex", w->offer.kex, sizeof(w->offer.kex), false) ||
	    !get_text(o, "hostkeys", w->offer.hostkeys, sizeof(w->offer.hostkeys), false) ||
	    !get_text(o, "ciphers", w->offer.ciphers, sizeof(w->offer.ciphers), false) ||
	    !get_text(o, "macs", w->offer.macs, sizeof(w->offer.macs), false) ||
	    !get_text(o, "sigalgs", w->offer.sigalgs, sizeof(w->offer.sigalgs), false) ||
	    !ssh_offer_list_ok(w->offer.sigalgs) || !ssh_offer_list_ok(w->offer.kex) ||
	    !ssh_offer_list_ok(w->offer.hostkeys) || !ssh_offer_list_ok(w->offer.ciphers) ||
	    !ssh_offer_list_ok(w->offer.macs))
		goto bad;
	w->log_level = (int)n[1];
	w->login_grace_time = (int)n[2];
	w->session_timeout = (int)n[3];
	w->max_session_duration = (int)n[4];
	w->rec_max_session_size = n[5];
	w->keyboard_interactive = json_is_true(json_object_get(o, "keyboard_interactive"));
	*why = "bad host keys";
	keys = json_object_get(o, "keys");
	if (!json_is_array(keys) || json_array_size(keys) == 0 ||
	    json_array_size(keys) > WORKER_INIT_KEYS)
		goto bad;
	json_array_foreach(keys, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > KEY_MAX ||
		    memchr(json_string_value(v), '\0', json_string_length(v)) != NULL)
			goto bad;
		if ((w->keys[i] = strdup(json_string_value(v))) == NULL)
			goto bad;
		w->nkeys++;
	}
	*why = "bad sandbox";
	if (!json_is_boolean(json_object_get(o, "drop")) ||
	    !get_int(o, "uid", 0, UINT32_MAX - 1, &n[6]) ||
	    !get_int(o, "gid", 0, UINT32_MAX - 1, &n[7]) ||
	    !get_text(o, "root", w->root, sizeof(w->root), true))
		goto bad;
	w->drop = json_is_true(json_object_get(o, "drop"));
	w->uid = (uid_t)n[6];
	w->gid = (gid_t)n[7];
	if (w->drop && w->root[0] != '/')
		goto bad;
	patch = json_object_get(o, "patch");
	if (!json_is_array(patch) || json_array_size(patch) > WORKER_INIT_PATCHES ||
	    prog_len % BPF_INSN_SIZE != 0 || prog_len / BPF_INSN_SIZE > BPF_MAX_INSNS ||
	    (prog_len == 0 && json_array_size(patch) > 0))
		goto bad;
	json_array_foreach(patch, i, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    (size_t)json_integer_value(v) >= prog_len / BPF_INSN_SIZE)
			goto bad;
		w->patch[w->npatch++] = (size_t)json_integer_value(v);
	}
	if (prog_len > 0) {
		if ((w->prog = malloc(prog_len)) == NULL)
			goto bad;
		memcpy(w->prog, prog, prog_len);
		w->prog_len = prog_len;
	}
	json_decref(o);
	*why = NULL;
	return 0;
bad:
	json_decref(o);
	worker_init_clear(w);
	return -EINVAL;
}

int worker_init_set_template_filter(struct worker_init *w, const uint8_t *prog, size_t len,
                                    const char **why)
{
	*why = "bad template filter";
	if (len % BPF_INSN_SIZE != 0 || len / BPF_INSN_SIZE > BPF_MAX_INSNS)
		return -EINVAL;
	free(w->tprog);
	w->tprog = NULL;
	w->tprog_len = 0;
	if (len > 0) {
		if ((w->tprog = malloc(len)) == NULL)
			return -EINVAL;
		memcpy(w->tprog, prog, len);
		w->tprog_len = len;
	}
	*why = NULL;
	return 0;
}

static bool is_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

int worker_init_set_connection(struct worker_init *w, const uint8_t *session_id, size_t id_len,
                               const uint8_t *src_ip, size_t ip_len, uint32_t src_port,
                               const char **why)
{
	*why = "bad connection fields";
	if (id_len != SESSION_ID_LEN || !is_hex(session_id, id_len) || ip_len == 0 ||
	    ip_len >= sizeof(w->src_ip) || memchr(src_ip, '\0', ip_len) != NULL || src_port > 65535)
		return -EINVAL;
	memcpy(w->session_id, session_id, id_len);
	w->session_id[id_len] = '\0';
	memcpy(w->src_ip, src_ip, ip_len);
	w->src_ip[ip_len] = '\0';
	w->src_port = (int)src_port;
	*why = NULL;
	return 0;
}

void worker_init_clear_keys(struct worker_init *w)
{
	for (size_t i = 0; i < w->nkeys; i++) {
		explicit_bzero(w->keys[i], strlen(w->keys[i]));
		free(w->keys[i]);
		w->keys[i] = NULL;
	}
	w->nkeys = 0;
}

void worker_init_clear(struct worker_init *w)
{
	worker_init_clear_keys(w);
	free(w->prog);
	w->prog = NULL;
	w->prog_len = 0;
	free(w->tprog);
	w->tprog = NULL;
	w->tprog_len = 0;
}

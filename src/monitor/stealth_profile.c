/*
 * stealth_profile: one distribution's sshd as the network sees it; see
 * stealth_profile.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stealth_profile.h"

/* One "key value" line, the value trimmed. */
struct kv {
	const char *key, *value;
	size_t key_len, value_len;
};

static bool split(const char *p, size_t n, struct kv *kv)
{
	size_t i = 0;

	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == n || p[i] == '#')
		return false;
	kv->key = p + i;
	while (i < n && p[i] != ' ' && p[i] != '\t')
		i++;
	kv->key_len = (size_t)(p + i - kv->key);
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	kv->value = p + i;
	kv->value_len = n - i;
	return true;
}

static bool key_is(const struct kv *kv, const char *k)
{
	return kv->key_len == strlen(k) && memcmp(kv->key, k, kv->key_len) == 0;
}

/* The value as a string of printable ASCII. */
static const char *text(const struct kv *kv, char *out, size_t size)
{
	if (kv->value_len == 0)
		return "has no value";
	if (kv->value_len >= size)
		return "is too long";
	for (size_t i = 0; i < kv->value_len; i++)
		if (kv->value[i] < 0x20 || kv->value[i] > 0x7e)
			return "is not printable ASCII";
	memcpy(out, kv->value, kv->value_len);
	out[kv->value_len] = '\0';
	return NULL;
}

static const char *word(const struct kv *kv, char *out, size_t size)
{
	const char *why = text(kv, out, size);

	if (why == NULL && strpbrk(out, " \t") != NULL)
		return "must be one word";
	return why;
}

static const char *list(const struct kv *kv, char *out, size_t size)
{
	const char *why = text(kv, out, size);

	if (why == NULL && !ssh_offer_list_ok(out))
		return "is not a comma-separated list of names";
	return why;
}

/* One number, lo..hi. */
static const char *number(const struct kv *kv, int lo, int hi, int *out)
{
	char v[32], extra;

	if (text(kv, v, sizeof(v)) != NULL || sscanf(v, "%d %c", out, &extra) != 1)
		return "must be a number";
	if (*out < lo || *out > hi)
		return "is out of range";
	return NULL;
}

/* "LO HI", microseconds. */
static const char *floor_range(const struct kv *kv, struct stealth_profile *p)
{
	char v[64], extra;
	int lo, hi;

	if (text(kv, v, sizeof(v)) != NULL || sscanf(v, "%d %d %c", &lo, &hi, &extra) != 2)
		return "must be \"LO HI\" (microseconds)";
	if (lo < 0 || hi < lo || hi > PROFILE_DELAY_MAX_MS * 1000)
		return "must have 0 <= LO <= HI <= 10000000";
	p->delay.floor_lo_us = lo;
	p->delay.floor_hi_us = hi;
	return NULL;
}

static const char *methods(const struct kv *kv, struct stealth_profile *p)
{
	char v[128];

	if (text(kv, v, sizeof(v)) != NULL)
		return "is not printable ASCII";
	/* The orders libssh can send (it lists what is on, in its own order). */
	if (strcmp(v, "publickey,password") == 0)
		p->keyboard_interactive = false;
	else if (strcmp(v, "publickey,keyboard-interactive,password") == 0)
		p->keyboard_interactive = true;
	else
		return "must be publickey,password or publickey,keyboard-interactive,password";
	return NULL;
}

int stealth_profile_parse(struct stealth_profile *p, const char *src, size_t len, char *err,
                          size_t err_size)
{
	struct {
		const char *key;
		char *dst;
		size_t size;
		const char *(*check)(const struct kv *, char *, size_t);
	} fields[] = {
	    {"name", p->name, sizeof(p->name), word},
	    {"os-id", p->os_id, sizeof(p->os_id), word},
	    {"os-version-id", p->version_id, sizeof(p->version_id), word},
	    {"openssh", p->openssh, sizeof(p->openssh), word},
	    {"banner", p->banner, sizeof(p->banner), text},
	    {"kex", p->offer.kex, sizeof(p->offer.kex), list},
	    {"host-key-algorithms", p->offer.hostkeys, sizeof(p->offer.hostkeys), list},
	    {"ciphers", p->offer.ciphers, sizeof(p->offer.ciphers), list},
	    {"macs", p->offer.macs, sizeof(p->offer.macs), list},
	    {"server-sig-algs", p->offer.sigalgs, sizeof(p->offer.sigalgs), list},
	};
	const size_t nfields = sizeof(fields) / sizeof(fields[0]);
	unsigned seen = 0;
	bool have_methods = false, have_pam = false, have_floor = false;
	size_t off = 0, lineno = 0;

	memset(p, 0, sizeof(*p));
	if (memchr(src, '\0', len) != NULL) {
		snprintf(err, err_size, "has a NUL byte");
		return -1;
	}
	while (off < len) {
		const char *start = src + off, *nl = memchr(start, '\n', len - off);
		size_t n = nl != NULL ? (size_t)(nl - start) : len - off;
		const char *why = NULL;
		struct kv kv;
		size_t i;

		off += n + (nl != NULL);
		lineno++;
		if (!split(start, n, &kv))
			continue;
		for (i = 0; i < nfields && !key_is(&kv, fields[i].key); i++)
			;
		if (i < nfields) {
			why = (seen & 1u << i)
			          ? "is given twice"
			          : fields[i].check(&kv, fields[i].dst, fields[i].size);
			seen |= 1u << i;
		} else if (key_is(&kv, "pam-fail-delay-ms")) {
			why = have_pam ? "is given twice"
			               : number(&kv, 0, PROFILE_DELAY_MAX_MS, &p->delay.pam_ms);
			have_pam = true;
		} else if (key_is(&kv, "fail-floor-us")) {
			why = have_floor ? "is given twice" : floor_range(&kv, p);
			have_floor = true;
		} else if (key_is(&kv, "auth-methods")) {
			why = have_methods ? "is given twice" : methods(&kv, p);
			have_methods = true;
		} else {
			snprintf(err, err_size, "line %zu: unknown key \"%.*s\"", lineno,
			         (int)(kv.key_len > 40 ? 40 : kv.key_len), kv.key);
			return -1;
		}
		if (why != NULL) {
			snprintf(err, err_size, "line %zu: %.*s %s", lineno,
			         (int)(kv.key_len > 40 ? 40 : kv.key_len), kv.key, why);
			return -1;
		}
	}
	for (size_t i = 0; i < nfields; i++)
		if (!(seen & 1u << i)) {
			snprintf(err, err_size, "%s is missing", fields[i].key);
			return -1;
		}
	if (strncmp(p->banner, "SSH-", 4) == 0 || p->banner[0] == ' ' ||
	    p->banner[strlen(p->banner) - 1] == ' ') {
		snprintf(err, err_size,
		         "banner must not begin with \"SSH-\" or a space, nor end with one");
		return -1;
	}
	if (!have_methods || !have_pam || !have_floor) {
		snprintf(err, err_size, "%s is missing",
		         !have_methods ? "auth-methods"
		         : !have_pam   ? "pam-fail-delay-ms"
		                       : "fail-floor-us");
		return -1;
	}
	return 0;
}

bool stealth_profile_fits(const struct stealth_profile *p, const struct image_facts *f)
{
	char up[FACT_MAX], rev[FACT_MAX];

	if (strcmp(p->os_id, f->os_id) != 0 || strcmp(p->version_id, f->version_id) != 0)
		return false;
	if (image_facts_split_version(f->openssh_version, up, sizeof(up), rev, sizeof(rev)) < 0)
		return false;
	return strcmp(p->openssh, up) == 0;
}

int stealth_profile_banner(struct stealth_profile *p, const char *version)
{
	char up[FACT_MAX], rev[FACT_MAX], out[SSH_OFFER_BANNER];
	size_t o = 0;

	if (image_facts_split_version(version, up, sizeof(up), rev, sizeof(rev)) < 0)
		return -1;
	for (const char *s = p->banner; *s != '\0';) {
		const char *part = NULL;
		size_t skip = 1;
		if (strncmp(s, "{upstream}", 10) == 0)
			part = up, skip = 10;
		else if (strncmp(s, "{revision}", 10) == 0)
			part = rev, skip = 10;
		size_t n = part != NULL ? strlen(part) : 1;
		if (o + n >= sizeof(out))
			return -1;
		memcpy(out + o, part != NULL ? part : s, n);
		o += n;
		s += skip;
	}
	out[o] = '\0';
	memcpy(p->offer.banner, out, o + 1);
	return 0;
}

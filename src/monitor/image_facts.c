/*
 * image_facts: a box image's distribution and openssh-server version; see
 * image_facts.h.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "image_facts.h"

/* One line of text: [p, p + n), without its newline. */
struct line {
	const char *p;
	size_t n;
};

/* The next line at *off, or false at the end. */
static bool next_line(const char *text, size_t len, size_t *off, struct line *l)
{
	if (*off >= len)
		return false;
	const char *start = text + *off;
	const char *nl = memchr(start, '\n', len - *off);
	size_t n = nl != NULL ? (size_t)(nl - start) : len - *off;

	l->p = start;
	l->n = n;
	*off += n + (nl != NULL);
	return true;
}

static bool in_set(char ch, const char *set)
{
	return ch != '\0' && strchr(set, ch) != NULL;
}

#define LOWER_ALNUM "abcdefghijklmnopqrstuvwxyz0123456789"
#define ALNUM       LOWER_ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* Copies s[0..n) to out when it fits and every character is in set. */
static bool take(char *out, size_t size, const char *s, size_t n, const char *set)
{
	if (n == 0 || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!in_set(s[i], set))
			return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/* An os-release value: unquoted, or in double quotes (with \" \\ \$ \`
 * escapes) or single quotes. Writes at most size - 1 bytes; false when it
 * does not fit or a quote is not closed. */
static bool unquote(const char *s, size_t n, char *out, size_t size, size_t *out_len)
{
	size_t o = 0, i = 0;
	char q = n > 0 && (s[0] == '"' || s[0] == '\'') ? s[0] : '\0';

	if (q != '\0') {
		if (n < 2 || s[n - 1] != q)
			return false;
		i = 1;
		n--;
	}
	for (; i < n; i++) {
		char ch = s[i];
		if (q == '"' && ch == '\\' && i + 1 < n && in_set(s[i + 1], "\"\\$`"))
			ch = s[++i];
		if (o + 1 >= size)
			return false;
		out[o++] = ch;
	}
	out[o] = '\0';
	*out_len = o;
	return true;
}

int image_facts_os_release(struct image_facts *f, const char *text, size_t len, const char **why)
{
	size_t off = 0;
	struct line l;
	bool have_id = false, have_version = false;

	f->os_id[0] = f->version_id[0] = f->pretty_name[0] = '\0';
	while (next_line(text, len, &off, &l)) {
		const char *eq = memchr(l.p, '=', l.n);
		char value[256];
		size_t vlen;

		if (l.n > 0 && l.p[l.n - 1] == '\r')
			l.n--;
		if (l.n == 0 || l.p[0] == '#' || eq == NULL || eq >= l.p + l.n)
			continue;
		size_t klen = (size_t)(eq - l.p);
		if (!unquote(eq + 1, l.n - klen - 1, value, sizeof(value), &vlen))
			continue;
		if (klen == 2 && memcmp(l.p, "ID", 2) == 0) {
			have_id = take(f->os_id, sizeof(f->os_id), value, vlen, LOWER_ALNUM "._-");
		} else if (klen == 10 && memcmp(l.p, "VERSION_ID", 10) == 0) {
			have_version =
			    take(f->version_id, sizeof(f->version_id), value, vlen, ALNUM "._-~");
		} else if (klen == 11 && memcmp(l.p, "PRETTY_NAME", 11) == 0) {
			size_t o = 0;
			for (size_t i = 0; i < vlen && o + 1 < sizeof(f->pretty_name); i++)
				f->pretty_name[o++] =
				    value[i] >= 0x20 && value[i] < 0x7f ? value[i] : '?';
			f->pretty_name[o] = '\0';
		}
	}
	if (!have_id) {
		f->os_id[0] = '\0';
		*why = "no ID made of lower-case letters, digits, '.', '_' or '-'";
		return -1;
	}
	if (!have_version) {
		f->version_id[0] = '\0';
		*why = "no VERSION_ID made of letters, digits, '.', '_', '-' or '~'";
		return -1;
	}
	return 0;
}

/* "Name: value" with the name matched case-insensitively, as deb822 does;
 * the value's leading and trailing blanks are dropped. */
static bool field(const struct line *l, const char *name, struct line *value)
{
	size_t n = strlen(name);

	if (l->n <= n || strncasecmp(l->p, name, n) != 0 || l->p[n] != ':')
		return false;
	const char *v = l->p + n + 1, *end = l->p + l->n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	value->p = v;
	value->n = (size_t)(end - v);
	return true;
}

static bool line_is(const struct line *l, const char *s)
{
	return l->n == strlen(s) && memcmp(l->p, s, l->n) == 0;
}

int image_facts_dpkg_status(struct image_facts *f, const char *text, size_t len)
{
	size_t off = 0;
	struct line l, v, version = {NULL, 0};
	bool is_ssh = false, installed = false;

	f->openssh_version[0] = '\0';
	if (memchr(text, '\0', len) != NULL)
		return -1;
	for (;;) {
		bool more = next_line(text, len, &off, &l);
		if (!more || l.n == 0 || (l.n == 1 && l.p[0] == '\r')) {
			/* The end of a stanza. */
			if (is_ssh && installed && version.p != NULL) {
				char up[FACT_MAX], rev[FACT_MAX], whole[FACT_MAX];
				if (version.n >= sizeof(whole))
					return 0;
				memcpy(whole, version.p, version.n);
				whole[version.n] = '\0';
				if (image_facts_split_version(whole, up, sizeof(up), rev,
				                              sizeof(rev)) < 0)
					return 0;
				memcpy(f->openssh_version, whole, version.n + 1);
				return 1;
			}
			is_ssh = installed = false;
			version.p = NULL;
			if (!more)
				return 0;
			continue;
		}
		if (field(&l, "Package", &v))
			is_ssh = line_is(&v, "openssh-server");
		else if (field(&l, "Status", &v))
			installed = line_is(&v, "install ok installed");
		else if (field(&l, "Version", &v))
			version = v;
	}
}

/* Field i (from 0) of a passwd line, or false when it has fewer. */
static bool colon_field(const struct line *l, int i, struct line *out)
{
	const char *p = l->p, *end = l->p + l->n;

	for (; i > 0; i--) {
		const char *c = memchr(p, ':', (size_t)(end - p));
		if (c == NULL)
			return false;
		p = c + 1;
	}
	const char *c = memchr(p, ':', (size_t)(end - p));
	out->p = p;
	out->n = (size_t)((c != NULL ? c : end) - p);
	return true;
}

static bool ends_with(const struct line *l, const char *s)
{
	size_t n = strlen(s);
	return l->n >= n && memcmp(l->p + l->n - n, s, n) == 0;
}

int image_facts_passwd(struct image_facts *f, const char *text, size_t len)
{
	size_t off = 0;
	struct line l, name, uid, shell;

	f->login_user[0] = '\0';
	f->login_uid = 0;
	while (next_line(text, len, &off, &l)) {
		unsigned long u = 0;
		bool ok;

		if (!colon_field(&l, 0, &name) || !colon_field(&l, 2, &uid) ||
		    !colon_field(&l, 6, &shell))
			continue;
		ok = name.n > 0 && name.n < sizeof(f->login_user) && uid.n > 0 && uid.n <= 5 &&
		     shell.n > 0 && shell.p[0] == '/' && !ends_with(&shell, "/nologin") &&
		     !ends_with(&shell, "/false") && memchr(shell.p, '\0', shell.n) == NULL;
		for (size_t i = 0; ok && i < uid.n; i++) {
			ok = uid.p[i] >= '0' && uid.p[i] <= '9';
			u = u * 10 + (unsigned long)(uid.p[i] - '0');
		}
		for (size_t i = 0; ok && i < name.n; i++)
			ok = in_set(name.p[i], i == 0 ? "abcdefghijklmnopqrstuvwxyz_"
			                              : "abcdefghijklmnopqrstuvwxyz0123456789_-");
		if (!ok || u < 1000 || u > 59999)
			continue;
		memcpy(f->login_user, name.p, name.n);
		f->login_user[name.n] = '\0';
		f->login_uid = (unsigned)u;
		return 1;
	}
	return 0;
}

/* The id (third field) of the line of name in a passwd or group file,
 * 0-65535; -1 when there is none. */
static long id_named(const char *text, size_t len, const char *name)
{
	size_t off = 0, n = strlen(name);
	struct line l, f, id;

	while (text != NULL && next_line(text, len, &off, &l)) {
		long v = 0;
		bool ok;

		if (!colon_field(&l, 0, &f) || f.n != n || memcmp(f.p, name, n) != 0 ||
		    !colon_field(&l, 2, &id))
			continue;
		ok = id.n > 0 && id.n <= 5;
		for (size_t i = 0; ok && i < id.n; i++) {
			ok = id.p[i] >= '0' && id.p[i] <= '9';
			v = v * 10 + (id.p[i] - '0');
		}
		return ok && v <= 65535 ? v : -1;
	}
	return -1;
}

int image_facts_owners(struct image_facts *f, const char *passwd, size_t plen, const char *group,
                       size_t glen)
{
	long syslog = id_named(passwd, plen, "syslog"), adm = id_named(group, glen, "adm");
	long utmp = id_named(group, glen, "utmp");

	f->log_uid = syslog >= 0 ? (unsigned)syslog : 0;
	f->log_gid = adm >= 0 ? (unsigned)adm : 4;
	f->utmp_gid = utmp >= 0 ? (unsigned)utmp : 43;
	return (syslog >= 0) + (adm >= 0) + (utmp >= 0);
}

int image_facts_stamp(struct image_facts *f, const char *name)
{
	size_t n = strlen(name);

	if (f->n_stamps >= FACT_STAMPS || n >= FACT_MAX || n <= 12 ||
	    strncmp(name, "stamp-", 6) != 0 || strcmp(name + n - 6, ".timer") != 0)
		return 0;
	for (size_t i = 6; i < n - 6; i++)
		if (!in_set(name[i],
		            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@._-"))
			return 0;
	if (strstr(name, "..") != NULL)
		return 0;
	memcpy(f->stamps[f->n_stamps++], name, n + 1);
	return 1;
}

/* n decimal digits at p, within [lo, hi]; -1 otherwise. */
static long digits(const char *p, size_t n, long lo, long hi)
{
	long v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v >= lo && v <= hi ? v : -1;
}

int image_facts_dpkg_log(struct image_facts *f, const char *text, size_t len)
{
	/* "YYYY-MM-DD HH:MM:SS " (dpkg writes local time; images are UTC) */
	static const char shape[] = "dddd-dd-dd dd:dd:dd ";
	const size_t n = sizeof(shape) - 1;
	long y, mo, d, h, mi, s;

	f->installed = 0;
	if (len < n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (shape[i] != 'd' && text[i] != shape[i])
			return 0;
	y = digits(text, 4, 1990, 9999);
	mo = digits(text + 5, 2, 1, 12);
	d = digits(text + 8, 2, 1, 31);
	h = digits(text + 11, 2, 0, 23);
	mi = digits(text + 14, 2, 0, 59);
	s = digits(text + 17, 2, 0, 60);
	if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0)
		return 0;
	/* Days from the civil date (proleptic Gregorian), as timegm would
	 * count them, without the C library's time zone state. */
	long yy = y - (mo <= 2), era = yy / 400, yoe = yy - era * 400;
	long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	long days = era * 146097 + doe - 719468;
	f->installed = (int64_t)days * 86400 + h * 3600 + mi * 60 + s;
	return 1;
}

/* Whether [p, p + n) holds word (case-insensitively, as rsyslog's names). */
static bool holds(const char *p, size_t n, const char *word)
{
	size_t w = strlen(word);

	for (size_t i = 0; i + w <= n; i++)
		if (strncasecmp(p + i, word, w) == 0)
			return true;
	return false;
}

int image_facts_rsyslog_traditional(const char *text, size_t len)
{
	size_t off = 0;
	struct line l;

	while (next_line(text, len, &off, &l)) {
		while (l.n > 0 && (l.p[0] == ' ' || l.p[0] == '\t'))
			l.p++, l.n--;
		if (l.n == 0 || l.p[0] == '#' || !holds(l.p, l.n, "RSYSLOG_TraditionalFileFormat"))
			continue;
		if (holds(l.p, l.n, "$ActionFileDefaultTemplate") ||
		    holds(l.p, l.n, "builtin:omfile"))
			return 1;
	}
	return 0;
}

int image_facts_split_version(const char *version, char *upstream, size_t upstream_size,
                              char *revision, size_t revision_size)
{
	const char *s = version, *colon = strchr(version, ':');

	if (colon != NULL) {
		if (colon == version)
			return -1;
		for (const char *p = version; p < colon; p++)
			if (*p < '0' || *p > '9')
				return -1;
		s = colon + 1;
	}
	const char *dash = strrchr(s, '-');
	if (dash == NULL || dash == s)
		return -1;
	/* A banner carries them: a narrower set than Debian's (no '-' or ':'
	 * in the upstream part), which every openssh-server version fits. */
	if (!take(upstream, upstream_size, s, (size_t)(dash - s), ALNUM ".+~") ||
	    !take(revision, revision_size, dash + 1, strlen(dash + 1), ALNUM ".+~")) {
		upstream[0] = revision[0] = '\0';
		return -1;
	}
	return 0;
}

/* Where lines of the past go in auth.log (see authlog_order.h). */
#include "authlog_order.h"

#include <stdio.h>
#include <string.h>

static int digits(const char *p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" */
static time_t rfc3339(const char *s, size_t len)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, se, oh, om;
	size_t i = 19;
	long off = 0;

	if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 ||
	    digits(s + 8, 2, &d) < 0 || digits(s + 11, 2, &h) < 0 || digits(s + 14, 2, &mi) < 0 ||
	    digits(s + 17, 2, &se) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	if (s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
	if (i < len && s[i] == 'Z') {
		off = 0;
	} else if (i + 6 <= len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':' &&
	           digits(s + i + 1, 2, &oh) == 0 && digits(s + i + 4, 2, &om) == 0) {
		off = (oh * 60L + om) * 60L * (s[i] == '-' ? -1 : 1);
	} else {
		return -1;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	return timegm(&tm) - off;
}

/* "Mmm dd HH:MM:SS", the day space-padded. */
static time_t traditional(const char *s, size_t len, time_t now)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm = {0}, today;
	int d, h, mi, se, mo = -1;
	time_t t;

	if (len < 15 || s[3] != ' ' || s[6] != ' ' || s[9] != ':' || s[12] != ':')
		return -1;
	for (int m = 0; m < 12; m++)
		if (memcmp(s, months + 3 * m, 3) == 0)
			mo = m;
	if (mo < 0 || digits(s + 7, 2, &h) < 0 || digits(s + 10, 2, &mi) < 0 ||
	    digits(s + 13, 2, &se) < 0)
		return -1;
	if (s[4] == ' ' ? digits(s + 5, 1, &d) < 0 : digits(s + 4, 2, &d) < 0)
		return -1;
	if (d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	localtime_r(&now, &today);
	tm.tm_year = today.tm_year;
	tm.tm_mon = mo;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t > now + 86400) { /* December's line read in January */
		tm = (struct tm){.tm_year = today.tm_year - 1,
		                 .tm_mon = mo,
		                 .tm_mday = d,
		                 .tm_hour = h,
		                 .tm_min = mi,
		                 .tm_sec = se,
		                 .tm_isdst = -1};
		t = mktime(&tm);
	}
	return t;
}

time_t authlog_stamp_time(const char *line, size_t len, time_t now)
{
	if (len > 0 && line[0] >= '0' && line[0] <= '9')
		return rfc3339(line, len);
	return traditional(line, len, now);
}

/* The next line of text from at: its length with the '\n'. */
static size_t line_len(const char *text, size_t len, size_t at)
{
	const char *nl = memchr(text + at, '\n', len - at);
	return nl != NULL ? (size_t)(nl - (text + at)) + 1 : len - at;
}

size_t authlog_insert_at(const char *text, size_t len, time_t when, time_t now)
{
	size_t at = 0;

	while (at < len) {
		size_t n = line_len(text, len, at);
		time_t t = authlog_stamp_time(text + at, n, now);
		if (t != (time_t)-1 && t > when)
			return at;
		at += n;
	}
	return len;
}

long authlog_merge(const char *text, size_t len, const struct authlog_new_line *lines, size_t n,
                   time_t now, char *out, size_t cap)
{
	size_t at = 0, o = 0, k = 0;
	time_t t = (time_t)-1;

#define PUT(p, l)                                                                                  \
	do {                                                                                       \
		if ((l) > cap - o)                                                                 \
			return -1;                                                                 \
		memcpy(out + o, (p), (l));                                                         \
		o += (l);                                                                          \
	} while (0)

	while (at < len) {
		size_t ln = line_len(text, len, at);
		time_t s = authlog_stamp_time(text + at, ln, now);
		if (s != (time_t)-1)
			t = s;
		/* The new lines of before this one's time go first. */
		while (k < n && t != (time_t)-1 && lines[k].when < t) {
			PUT(lines[k].text, lines[k].len);
			k++;
		}
		PUT(text + at, ln);
		at += ln;
	}
	for (; k < n; k++)
		PUT(lines[k].text, lines[k].len);
#undef PUT
	return (long)o;
}

/*
 * client_hello: the client's identification line and KEXINIT; see
 * client_hello.h.
 */
#include <stdlib.h>
#include <string.h>

#include "client_hello.h"

#define SSH_MSG_KEXINIT 20
#define COOKIE_LEN      16

const char *const client_hello_list_names[HELLO_LISTS] = {
    [KEX_ALGS] = "kex_algorithms", [HOST_KEY_ALGS] = "host_key_algorithms",
    [CIPHERS_CS] = "ciphers_cs",   [CIPHERS_SC] = "ciphers_sc",
    [MACS_CS] = "macs_cs",         [MACS_SC] = "macs_sc",
    [COMP_CS] = "compression_cs",  [COMP_SC] = "compression_sc",
    [LANG_CS] = "languages_cs",    [LANG_SC] = "languages_sc",
};

void client_hello_init(struct client_hello *h)
{
	memset(h, 0, sizeof(*h));
	h->state = HELLO_LINE;
	h->first_kex_follows = -1;
}

void client_hello_free(struct client_hello *h)
{
	free(h->packet);
	client_hello_init(h);
}

static void fail(struct client_hello *h, const char *why)
{
	h->state = HELLO_FAILED;
	h->why = why;
}

/* The whole packet is in h->packet: find the payload and its lists.
 * Returns NULL, or what is wrong. */
static const char *parse_kexinit(struct client_hello *h)
{
	size_t len = h->packet_len - 4; /* packet_length */
	size_t pad = h->packet[4];

	if (pad + 1 >= len)
		return "bad padding length";
	const uint8_t *p = h->packet + 5;
	size_t n = len - 1 - pad;

	if (p[0] != SSH_MSG_KEXINIT)
		return "first packet is not a KEXINIT";
	if (n < 1 + COOKIE_LEN)
		return "KEXINIT too short";
	p += 1 + COOKIE_LEN;
	n -= 1 + COOKIE_LEN;
	for (int i = 0; i < HELLO_LISTS; i++) {
		if (n < 4)
			return "KEXINIT name-list cut short";
		size_t l = buf_be32(p);
		if (l > n - 4)
			return "KEXINIT name-list longer than the packet";
		for (size_t k = 0; k < l; k++)
			if (p[4 + k] < 0x21 || p[4 + k] > 0x7e)
				return "KEXINIT name-list not printable US-ASCII";
		h->list[i] = p + 4;
		h->list_len[i] = l;
		p += 4 + l;
		n -= 4 + l;
	}
	if (n >= 1)
		h->first_kex_follows = p[0] != 0;
	return NULL;
}

#define INVALID_IDENT "Invalid SSH identification string."

static void bad_line(struct client_hello *h, const char *why, const char *answer)
{
	fail(h, why);
	h->ident_error = answer;
}

/* A whole line (CR dropped): "SSH-major.minor-software", software not
 * empty, as sshd's sscanf("SSH-%d.%d-%[^\n]") takes it; then only 2.x and
 * 1.99 speak SSH 2. */
static void judge_line(struct client_hello *h)
{
	const char *p = (const char *)h->line;
	size_t n = h->line_len < HELLO_LINE_MAX ? h->line_len : HELLO_LINE_MAX;
	long major = -1, minor = -1;
	size_t i = 4;

	if (n <= 4 || memcmp(p, "SSH-", 4) != 0) {
		bad_line(h, "not an SSH identification line", INVALID_IDENT);
		return;
	}
	for (long *v = &major; v != NULL; v = v == &major ? &minor : NULL) {
		size_t start = i;
		*v = 0;
		while (i < n && p[i] >= '0' && p[i] <= '9' && i - start < 9)
			*v = *v * 10 + (p[i++] - '0');
		if (i == start || i >= n || p[i] != (v == &major ? '.' : '-')) {
			bad_line(h, "bad protocol version", INVALID_IDENT);
			return;
		}
		i++;
	}
	if (i >= n) {
		bad_line(h, "no software version", INVALID_IDENT);
		return;
	}
	if (major != 2 && !(major == 1 && minor == 99)) {
		bad_line(h, "protocol major version not 2", "Protocol major versions differ.");
		return;
	}
	h->state = HELLO_PACKET;
	h->packet_want = 4;
}

static size_t line_bytes(struct client_hello *h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '\r') {
			h->expect_nl = true;
			continue;
		}
		if (c == '\n') {
			judge_line(h);
			return i + 1;
		}
		if (c == '\0' || h->expect_nl) {
			bad_line(h, "identification line has invalid characters", INVALID_IDENT);
			return i + 1;
		}
		if (h->line_len >= HELLO_IDENT_MAX) {
			bad_line(h, "identification line too long", INVALID_IDENT);
			return i + 1;
		}
		if (h->line_len < HELLO_LINE_MAX)
			h->line[h->line_len] = c;
		h->line_len++;
	}
	return n;
}

static size_t take_line(struct client_hello *h, const uint8_t *p, size_t n)
{
	size_t t = line_bytes(h, p, n);

	h->line_taken += t;
	return t;
}

static size_t take_packet(struct client_hello *h, const uint8_t *p, size_t n)
{
	size_t t = h->packet_want - h->packet_len;

	if (t > n)
		t = n;
	memcpy((h->packet ? h->packet : h->length_field) + h->packet_len, p, t);
	h->packet_len += t;
	if (h->packet_len < h->packet_want)
		return t;
	if (h->packet == NULL) {
		uint32_t len = buf_be32(h->length_field);
		if (len < 2 || len > HELLO_PACKET_MAX - 4) {
			fail(h, "first packet's length out of range");
		} else if ((h->packet = malloc(4 + (size_t)len)) == NULL) {
			fail(h, "out of memory");
		} else {
			memcpy(h->packet, h->length_field, 4);
			h->packet_want = 4 + (size_t)len;
		}
		return t;
	}
	const char *why = parse_kexinit(h);
	if (why != NULL)
		fail(h, why);
	else
		h->state = HELLO_DONE;
	return t;
}

size_t client_hello_take(struct client_hello *h, const uint8_t *p, size_t n)
{
	size_t taken = 0;

	while (taken < n) {
		size_t t;
		if (h->state == HELLO_LINE)
			t = take_line(h, p + taken, n - taken);
		else if (h->state == HELLO_PACKET)
			t = take_packet(h, p + taken, n - taken);
		else
			break;
		taken += t;
		if (t == 0)
			break;
	}
	return taken;
}

int client_hello_hassh_input(const struct client_hello *h, struct buf *out)
{
	static const enum hello_list parts[] = {KEX_ALGS, CIPHERS_CS, MACS_CS, COMP_CS};

	if (h->state != HELLO_DONE)
		return -1;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (i > 0 && buf_put(out, ";", 1) < 0)
			return -1;
		if (buf_put(out, h->list[parts[i]], h->list_len[parts[i]]) < 0)
			return -1;
	}
	return 0;
}

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

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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
		size_t l = get_u32(p);
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

static size_t take_line(struct client_hello *h, const uint8_t *p, size_t n)
{
	const uint8_t *nl = memchr(p, '\n', n);
	size_t t = nl != NULL ? (size_t)(nl - p) + 1 : n;

	if (h->line_len + t > HELLO_LINE_MAX) {
		fail(h, "identification line too long");
		return t; /* the client's bytes all the same */
	}
	memcpy(h->line + h->line_len, p, t);
	h->line_len += t;
	if (nl == NULL)
		return t;
	if (h->line_len >= 4 && memcmp(h->line, "SSH-", 4) == 0) {
		h->state = HELLO_PACKET;
		h->packet_want = 4;
	} else if (++h->lines >= HELLO_LINES_MAX) {
		fail(h, "no identification line");
	}
	h->line_len = 0;
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
		uint32_t len = get_u32(h->length_field);
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

/*
 * Unit tests for sftp_watch: real SFTP v3 packet sequences, fed whole, byte
 * by byte and in odd chunks, and the hostile cases (huge payloads, floods,
 * broken framing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "sftp_watch.h"

/* Heap in use, to show that a huge payload is not buffered. */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_ASAN 1
#endif
#endif
#ifdef HAVE_ASAN
/* From the sanitizer runtime; gcc ships no header for it. */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
#include <malloc.h>
static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}
#endif

enum {
	T_INIT = 1,
	T_VERSION = 2,
	T_OPEN = 3,
	T_CLOSE = 4,
	T_READ = 5,
	T_WRITE = 6,
	T_SETSTAT = 9,
	T_OPENDIR = 11,
	T_REMOVE = 13,
	T_MKDIR = 14,
	T_RMDIR = 15,
	T_RENAME = 18,
	T_SYMLINK = 20,
	T_STATUS = 101,
	T_HANDLE = 102,
	T_DATA = 103,
	T_NAME = 104,
	T_EXTENDED = 200,
};

#define F_READ  0x01
#define F_WRITE 0x02
#define F_CREAT 0x08
#define F_TRUNC 0x10

/* --- what the callback saw --- */

struct rec {
	enum sftp_op op;
	char path[64];
	char path2[64];
	bool has_path2;
	size_t path_len;
	uint64_t bytes;
	uint32_t pflags;
	int status;
	char ext[32];
};

static struct rec recs[8192];
static size_t nrecs;

static void copy_path(char *dst, size_t cap, const uint8_t *p, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, p, n);
	dst[n] = '\0';
}

static void on_event(void *arg, const struct sftp_event *e)
{
	struct rec *r;

	(*(size_t *)arg)++;
	assert_true(nrecs < sizeof(recs) / sizeof(recs[0]));
	assert_non_null(e->path);
	r = &recs[nrecs++];
	memset(r, 0, sizeof(*r));
	r->op = e->op;
	copy_path(r->path, sizeof(r->path), e->path, e->path_len);
	r->path_len = e->path_len;
	r->has_path2 = e->path2 != NULL;
	if (e->path2 != NULL)
		copy_path(r->path2, sizeof(r->path2), e->path2, e->path2_len);
	else
		assert_int_equal(e->path2_len, 0);
	r->bytes = e->bytes;
	r->pflags = e->pflags;
	r->status = e->status;
	if (e->ext != NULL)
		snprintf(r->ext, sizeof(r->ext), "%s", e->ext);
}

static size_t ncalls;

static struct sftp_watch *watch(void)
{
	struct sftp_watch *w;

	nrecs = 0;
	ncalls = 0;
	w = sftp_watch_new(on_event, &ncalls);
	assert_non_null(w);
	return w;
}

/* --- packet encoding --- */

/* fmt: 'u' uint32_t, 'q' uint64_t, 's' C string, 'd' (const void *, size_t)
 * string. */
static void vpkt(struct buf *out, uint8_t type, const char *fmt, va_list ap)
{
	struct buf body;
	const void *p;
	size_t n;

	buf_init(&body);
	assert_int_equal(buf_put_u8(&body, type), 0);
	for (; *fmt != '\0'; fmt++) {
		switch (*fmt) {
		case 'u':
			assert_int_equal(buf_put_u32(&body, va_arg(ap, uint32_t)), 0);
			break;
		case 'q':
			assert_int_equal(buf_put_u64(&body, va_arg(ap, uint64_t)), 0);
			break;
		case 's':
			assert_int_equal(buf_put_cstr(&body, va_arg(ap, const char *)), 0);
			break;
		case 'd':
			p = va_arg(ap, const void *);
			n = va_arg(ap, size_t);
			assert_int_equal(buf_put_str(&body, p, n), 0);
			break;
		default:
			fail();
		}
	}
	assert_int_equal(buf_put_str(out, body.data, body.len), 0);
	buf_free(&body);
}

static void pkt(struct buf *out, uint8_t type, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpkt(out, type, fmt, ap);
	va_end(ap);
}

/* A conversation: segments of one side's bytes, in the order a relay sees
 * them. */
struct script {
	struct {
		bool client;
		struct buf b;
	} seg[512];
	size_t n;
};

static struct buf *seg_for(struct script *sc, bool client)
{
	if (sc->n == 0 || sc->seg[sc->n - 1].client != client) {
		assert_true(sc->n < sizeof(sc->seg) / sizeof(sc->seg[0]));
		sc->seg[sc->n].client = client;
		buf_init(&sc->seg[sc->n].b);
		sc->n++;
	}
	return &sc->seg[sc->n - 1].b;
}

static void C(struct script *sc, uint8_t type, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpkt(seg_for(sc, true), type, fmt, ap);
	va_end(ap);
}

static void S(struct script *sc, uint8_t type, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vpkt(seg_for(sc, false), type, fmt, ap);
	va_end(ap);
}

static void status(struct script *sc, uint32_t id, uint32_t code)
{
	S(sc, T_STATUS, "uuss", id, code, code == 0 ? "Success" : "Failure", "");
}

static struct script *script_new(void)
{
	struct script *sc = calloc(1, sizeof(*sc));

	assert_non_null(sc);
	C(sc, T_INIT, "u", 3);
	S(sc, T_VERSION, "uss", 3, "posix-rename@openssh.com", "1");
	return sc;
}

static void script_free(struct script *sc)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		buf_free(&sc->seg[i].b);
	free(sc);
}

static uint32_t rng = 12345;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* chunk: 0 whole segments, 1 one byte at a time, else random sizes up to
 * chunk. Leaves the watcher open so a test can feed more. */
static void play(struct sftp_watch *w, const struct script *sc, size_t chunk)
{
	size_t i, off, n;

	for (i = 0; i < sc->n; i++) {
		const struct buf *b = &sc->seg[i].b;

		for (off = 0; off < b->len; off += n) {
			n = b->len - off;
			if (chunk == 1)
				n = 1;
			else if (chunk > 1 && n > 1)
				n = 1 + next_rand() % (n < chunk ? n : chunk);
			if (sc->seg[i].client)
				sftp_watch_client(w, b->data + off, n);
			else
				sftp_watch_server(w, b->data + off, n);
		}
	}
}

static void expect_rec(size_t i, enum sftp_op op, const char *path, const char *path2,
                       uint64_t bytes, uint32_t pflags, int st)
{
	assert_true(i < nrecs);
	assert_int_equal(recs[i].op, op);
	assert_string_equal(recs[i].path, path);
	if (path2 != NULL) {
		assert_true(recs[i].has_path2);
		assert_string_equal(recs[i].path2, path2);
	} else {
		assert_false(recs[i].has_path2);
	}
	assert_int_equal(recs[i].bytes, bytes);
	assert_int_equal(recs[i].pflags, pflags);
	assert_int_equal(recs[i].status, st);
}

static uint8_t payload[4096];

/* --- tests --- */

static void upload_script(struct script *sc)
{
	uint32_t pf = F_WRITE | F_CREAT | F_TRUNC;

	C(sc, T_OPEN, "usuu", 1, "/tmp/up.bin", pf, 0);
	S(sc, T_HANDLE, "us", 1, "h0");
	C(sc, T_WRITE, "usqd", 2, "h0", (uint64_t)0, payload, (size_t)1000);
	C(sc, T_WRITE, "usqd", 3, "h0", (uint64_t)1000, payload, (size_t)500);
	status(sc, 2, 0);
	status(sc, 3, 0);
	C(sc, T_CLOSE, "us", 4, "h0");
}

static void test_upload(void **state)
{
	struct script *sc = script_new();
	struct sftp_watch *w = watch();

	(void)state;
	upload_script(sc);
	play(w, sc, 0);
	assert_int_equal(nrecs, 0); /* reported when the CLOSE is answered */
	script_free(sc);

	sc = calloc(1, sizeof(*sc));
	assert_non_null(sc);
	status(sc, 4, 0);
	play(w, sc, 0);
	assert_int_equal(nrecs, 1);
	expect_rec(0, SFTP_OP_UPLOAD, "/tmp/up.bin", NULL, 1500, F_WRITE | F_CREAT | F_TRUNC, 0);
	sftp_watch_free(w);
	assert_int_equal(nrecs, 1); /* not again at free */
	script_free(sc);
}

static void download_script(struct script *sc)
{
	C(sc, T_OPEN, "usuu", 7, "/etc/passwd", F_READ, 0);
	S(sc, T_HANDLE, "ud", 7, "\0\0\0\1", (size_t)4);
	C(sc, T_READ, "udqu", 8, "\0\0\0\1", (size_t)4, (uint64_t)0, 32768);
	C(sc, T_READ, "udqu", 9, "\0\0\0\1", (size_t)4, (uint64_t)32768, 32768);
	C(sc, T_READ, "udqu", 10, "\0\0\0\1", (size_t)4, (uint64_t)65536, 32768);
	S(sc, T_DATA, "ud", 8, payload, (size_t)700);
	S(sc, T_DATA, "ud", 9, payload, (size_t)300);
	status(sc, 10, 1); /* EOF */
	/* a reply to a request never seen, and a listing: both ignored */
	S(sc, T_DATA, "ud", 99, payload, (size_t)4000);
	C(sc, T_OPENDIR, "us", 11, "/etc");
	S(sc, T_HANDLE, "us", 11, "dir");
	C(sc, T_CLOSE, "ud", 12, "\0\0\0\1", (size_t)4);
	status(sc, 12, 0);
}

static void test_download(void **state)
{
	struct script *sc = script_new();
	struct sftp_watch *w = watch();

	(void)state;
	download_script(sc);
	play(w, sc, 0);
	assert_int_equal(nrecs, 1);
	expect_rec(0, SFTP_OP_DOWNLOAD, "/etc/passwd", NULL, 1000, F_READ, 0);
	sftp_watch_free(w);
	assert_int_equal(nrecs, 1);
	script_free(sc);
}

static void ops_script(struct script *sc)
{
	C(sc, T_REMOVE, "us", 20, "/tmp/a");
	C(sc, T_RENAME, "uss", 21, "/tmp/b", "/tmp/c");
	C(sc, T_MKDIR, "usu", 22, "/tmp/d", 0);
	C(sc, T_REMOVE, "us", 23, "/nonexistent");
	C(sc, T_RMDIR, "us", 24, "/tmp/d");
	C(sc, T_SYMLINK, "uss", 25, "/etc/shadow", "/tmp/s");
	C(sc, T_SETSTAT, "usuu", 26, "/tmp/c", 4, 0755);
	C(sc, T_EXTENDED, "usss", 27, "posix-rename@openssh.com", "/tmp/c", "/tmp/e");
	C(sc, T_EXTENDED, "usss", 28, "hardlink@openssh.com", "/tmp/e", "/tmp/f");
	C(sc, T_EXTENDED, "uss", 29, "statvfs@openssh.com", "/");
	status(sc, 20, 0);
	status(sc, 21, 0);
	status(sc, 22, 0);
	status(sc, 23, 2);
	status(sc, 24, 0);
	status(sc, 25, 3);
	status(sc, 26, 0);
	status(sc, 27, 0);
	status(sc, 28, 4);
	status(sc, 29, 8);
}

static void test_path_ops(void **state)
{
	struct script *sc = script_new();
	struct sftp_watch *w = watch();

	(void)state;
	ops_script(sc);
	play(w, sc, 0);
	assert_int_equal(nrecs, 9);
	expect_rec(0, SFTP_OP_REMOVE, "/tmp/a", NULL, 0, 0, 0);
	expect_rec(1, SFTP_OP_RENAME, "/tmp/b", "/tmp/c", 0, 0, 0);
	expect_rec(2, SFTP_OP_MKDIR, "/tmp/d", NULL, 0, 0, 0);
	expect_rec(3, SFTP_OP_REMOVE, "/nonexistent", NULL, 0, 0, 2);
	expect_rec(4, SFTP_OP_RMDIR, "/tmp/d", NULL, 0, 0, 0);
	expect_rec(5, SFTP_OP_SYMLINK, "/etc/shadow", "/tmp/s", 0, 0, 3);
	expect_rec(6, SFTP_OP_SETSTAT, "/tmp/c", NULL, 0, 0, 0);
	expect_rec(7, SFTP_OP_RENAME, "/tmp/c", "/tmp/e", 0, 0, 0);
	assert_string_equal(recs[7].ext, "posix-rename@openssh.com");
	expect_rec(8, SFTP_OP_SYMLINK, "/tmp/e", "/tmp/f", 0, 0, 4);
	assert_string_equal(recs[8].ext, "hardlink@openssh.com");
	assert_string_equal(recs[0].ext, "");
	sftp_watch_free(w);
	assert_int_equal(nrecs, 9);
	script_free(sc);
}

/* A failed OPEN is reported with its status; a reused handle belongs to the
 * newest OPEN; replies to reused ids go to the oldest request. */
static void edge_script(struct script *sc)
{
	C(sc, T_OPEN, "usuu", 40, "/root/.ssh/authorized_keys", F_WRITE | F_CREAT, 0);
	status(sc, 40, 3);
	C(sc, T_OPEN, "usuu", 41, "/tmp/one", F_WRITE, 0);
	S(sc, T_HANDLE, "us", 41, "H");
	C(sc, T_WRITE, "usqd", 42, "H", (uint64_t)0, payload, (size_t)10);
	C(sc, T_CLOSE, "us", 43, "H");
	/* After CLOSE the handle is no longer the first file's. */
	C(sc, T_WRITE, "usqd", 44, "H", (uint64_t)0, payload, (size_t)99);
	C(sc, T_OPEN, "usuu", 45, "/tmp/two", F_READ, 0);
	status(sc, 42, 0);
	status(sc, 43, 0);
	status(sc, 44, 4);
	S(sc, T_HANDLE, "us", 45, "H");
	C(sc, T_WRITE, "usqd", 46, "H", (uint64_t)0, payload, (size_t)20);
	C(sc, T_REMOVE, "us", 47, "/x");
	C(sc, T_REMOVE, "us", 47, "/y");
	status(sc, 46, 0);
	status(sc, 47, 0);
	status(sc, 47, 2);
	/* A NAME listing bigger than what is buffered, and an OPEN whose
	 * filename runs past the packet: both passed over. */
	S(sc, T_NAME, "ud", 48, payload, sizeof(payload));
	{
		struct buf *b = seg_for(sc, true);
		static const uint8_t bad[] = {0, 0, 0, 13,  T_OPEN, 0,   0,   0,  49,
		                              0, 0, 0, 200, 'a',    'b', 'c', 'd'};

		assert_int_equal(buf_put(b, bad, sizeof(bad)), 0);
	}
	/* A WRITE claiming more data than its packet holds: what it holds
	 * counts. */
	{
		struct buf *b = seg_for(sc, true);
		static const uint8_t shortw[] = {0,   0, 0, 32, T_WRITE, 0, 0, 0, 51, 0, 0, 0, 1,
		                                 'H', 0, 0, 0,  0,       0, 0, 0, 0,  0, 0, 3, 232};

		assert_int_equal(buf_put(b, shortw, sizeof(shortw)), 0);
		assert_int_equal(buf_put(b, payload, 10), 0);
	}
	C(sc, T_CLOSE, "us", 50, "H");
	status(sc, 49, 0);
	status(sc, 50, 0);
}

static void test_edges(void **state)
{
	struct script *sc = script_new();
	struct sftp_watch *w = watch();

	(void)state;
	edge_script(sc);
	play(w, sc, 0);
	assert_int_equal(nrecs, 5);
	expect_rec(0, SFTP_OP_UPLOAD, "/root/.ssh/authorized_keys", NULL, 0, F_WRITE | F_CREAT, 3);
	expect_rec(1, SFTP_OP_UPLOAD, "/tmp/one", NULL, 10, F_WRITE, 0);
	expect_rec(2, SFTP_OP_REMOVE, "/x", NULL, 0, 0, 0);
	expect_rec(3, SFTP_OP_REMOVE, "/y", NULL, 0, 0, 2);
	/* opened for reading, but written to: an upload */
	expect_rec(4, SFTP_OP_UPLOAD, "/tmp/two", NULL, 30, F_READ, 0);
	sftp_watch_free(w);
	assert_int_equal(nrecs, 5);
	script_free(sc);
}

/* Everything above, fed whole, byte by byte and in random chunks, must give
 * the same reports. */
static void test_chunking(void **state)
{
	struct rec first[64];
	size_t nfirst = 0, mode;
	static const size_t modes[] = {0, 1, 2, 3, 7, 64, 1000};

	(void)state;
	for (mode = 0; mode < sizeof(modes) / sizeof(modes[0]); mode++) {
		struct script *sc = script_new();
		struct sftp_watch *w = watch();

		upload_script(sc);
		status(sc, 4, 0);
		download_script(sc);
		ops_script(sc);
		edge_script(sc);
		C(sc, T_OPEN, "usuu", 90, "/tmp/left-open", F_WRITE, 0);
		S(sc, T_HANDLE, "us", 90, "L");
		C(sc, T_WRITE, "usqd", 91, "L", (uint64_t)0, payload, (size_t)3);
		play(w, sc, modes[mode]);
		sftp_watch_free(w);
		assert_int_equal(nrecs, 17);
		assert_int_equal(ncalls, 17);
		if (mode == 0) {
			memcpy(first, recs, nrecs * sizeof(recs[0]));
			nfirst = nrecs;
			expect_rec(16, SFTP_OP_UPLOAD, "/tmp/left-open", NULL, 3, F_WRITE, -1);
		} else {
			assert_int_equal(nrecs, nfirst);
			assert_memory_equal(first, recs, nrecs * sizeof(recs[0]));
		}
		script_free(sc);
	}
}

/* One WRITE and one DATA of 1 MiB each, split arbitrarily: counted, never
 * buffered. */
static void test_large_payload(void **state)
{
	const size_t big = 1 << 20;
	struct sftp_watch *w = watch();
	struct script *sc = script_new();
	uint8_t *data = calloc(1, big);
	struct buf wr, rd;
	size_t base, peak = 0, off, n, now;

	(void)state;
	assert_non_null(data);
	buf_init(&wr);
	buf_init(&rd);
	C(sc, T_OPEN, "usuu", 1, "/tmp/big", F_READ | F_WRITE, 0);
	S(sc, T_HANDLE, "us", 1, "b");
	C(sc, T_READ, "usqu", 3, "b", (uint64_t)0, (uint32_t)big);
	play(w, sc, 0);
	pkt(&wr, T_WRITE, "usqd", 2, "b", (uint64_t)0, data, big);
	pkt(&rd, T_DATA, "ud", 3, data, big);

	base = heap_in_use();
	for (off = 0; off < wr.len; off += n) {
		n = 1 + next_rand() % 70000;
		if (n > wr.len - off)
			n = wr.len - off;
		sftp_watch_client(w, wr.data + off, n);
		now = heap_in_use();
		peak = now > peak ? now : peak;
	}
	for (off = 0; off < rd.len; off += n) {
		n = 1 + next_rand() % 70000;
		if (n > rd.len - off)
			n = rd.len - off;
		sftp_watch_server(w, rd.data + off, n);
		now = heap_in_use();
		peak = now > peak ? now : peak;
	}
	assert_true(peak < base + 16 * 1024);
	sftp_watch_free(w);
	assert_int_equal(nrecs, 1);
	/* written to: an upload, and its count is the WRITE's */
	expect_rec(0, SFTP_OP_UPLOAD, "/tmp/big", NULL, big, F_READ | F_WRITE, -1);
	buf_free(&wr);
	buf_free(&rd);
	free(data);
	script_free(sc);
}

static void test_unclosed_at_free(void **state)
{
	struct script *sc = script_new();
	struct sftp_watch *w = watch();

	(void)state;
	C(sc, T_OPEN, "usuu", 1, "/tmp/r", F_READ, 0);
	S(sc, T_HANDLE, "us", 1, "r");
	C(sc, T_READ, "usqu", 2, "r", (uint64_t)0, 100);
	S(sc, T_DATA, "ud", 2, payload, (size_t)100);
	C(sc, T_REMOVE, "us", 3, "/tmp/gone");
	C(sc, T_OPEN, "usuu", 4, "/tmp/never-answered", F_WRITE, 0);
	C(sc, T_CLOSE, "us", 5, "r"); /* sent, never answered */
	play(w, sc, 0);
	assert_int_equal(nrecs, 0);
	sftp_watch_free(w);
	assert_int_equal(nrecs, 3);
	expect_rec(0, SFTP_OP_DOWNLOAD, "/tmp/r", NULL, 100, F_READ, -1);
	expect_rec(1, SFTP_OP_REMOVE, "/tmp/gone", NULL, 0, 0, -1);
	expect_rec(2, SFTP_OP_UPLOAD, "/tmp/never-answered", NULL, 0, F_WRITE, -1);
	sftp_watch_free(NULL);
	script_free(sc);
}

static void test_zero_length_stops_side(void **state)
{
	static const uint8_t zero[] = {0, 0, 0, 0, 0xff, 0xff};
	struct script *sc = script_new();
	struct sftp_watch *w = watch();

	(void)state;
	/* client side lost: later requests are not seen */
	play(w, sc, 0);
	sftp_watch_client(w, zero, 2);
	sftp_watch_client(w, zero + 2, sizeof(zero) - 2);
	script_free(sc);
	sc = calloc(1, sizeof(*sc));
	assert_non_null(sc);
	C(sc, T_REMOVE, "us", 1, "/tmp/a");
	status(sc, 1, 0);
	play(w, sc, 1);
	sftp_watch_free(w);
	assert_int_equal(nrecs, 0);
	script_free(sc);

	/* server side lost: requests are reported at free without status */
	sc = script_new();
	w = watch();
	C(sc, T_REMOVE, "us", 1, "/tmp/a");
	play(w, sc, 0);
	sftp_watch_server(w, zero, sizeof(zero));
	script_free(sc);
	sc = calloc(1, sizeof(*sc));
	assert_non_null(sc);
	status(sc, 1, 0);
	play(w, sc, 0);
	assert_int_equal(nrecs, 0);
	sftp_watch_free(w);
	assert_int_equal(nrecs, 1);
	expect_rec(0, SFTP_OP_REMOVE, "/tmp/a", NULL, 0, 0, -1);
	script_free(sc);
}

static void test_garbage(void **state)
{
	uint8_t junk[4096];
	size_t round, i, off, n;

	(void)state;
	for (round = 0; round < 200; round++) {
		struct sftp_watch *w = watch();

		for (i = 0; i < sizeof(junk); i++)
			junk[i] = (uint8_t)next_rand();
		/* Mostly small lengths, so packets get parsed, not skipped. */
		if (round % 2 == 0)
			for (i = 0; i + 4 < sizeof(junk); i += 40)
				junk[i] = junk[i + 1] = 0;
		for (off = 0; off < sizeof(junk); off += n) {
			n = 1 + next_rand() % 300;
			if (n > sizeof(junk) - off)
				n = sizeof(junk) - off;
			if (next_rand() & 1)
				sftp_watch_client(w, junk + off, n);
			else
				sftp_watch_server(w, junk + off, n);
		}
		sftp_watch_free(w);
		assert_int_equal(nrecs, ncalls);
	}
}

/* A flood of unanswered requests and open files costs reports, not memory. */
static void test_flood(void **state)
{
	struct sftp_watch *w = watch();
	struct buf b, s;
	char path[64], h[16];
	uint32_t id;
	size_t base;

	(void)state;
	buf_init(&b);
	buf_init(&s);
	base = heap_in_use();
	for (id = 0; id < 3000; id++) {
		snprintf(path, sizeof(path), "/tmp/f%u", id);
		snprintf(h, sizeof(h), "%u", id);
		buf_reset(&b);
		buf_reset(&s);
		pkt(&b, T_OPEN, "usuu", id, path, F_WRITE, 0);
		pkt(&s, T_HANDLE, "us", id, h);
		sftp_watch_client(w, b.data, b.len);
		sftp_watch_server(w, s.data, s.len);
		buf_reset(&b);
		pkt(&b, T_REMOVE, "us", id + 100000, path);
		sftp_watch_client(w, b.data, b.len);
	}
	/* A path bigger than what is kept is cut. */
	{
		static char lng[10000];

		memset(lng, 'x', sizeof(lng) - 1);
		buf_reset(&b);
		pkt(&b, T_MKDIR, "usu", 7, lng, 0);
		sftp_watch_client(w, b.data, b.len);
	}
	assert_true(heap_in_use() < base + 2 * 1024 * 1024);
	/* oldest first, each once */
	assert_true(nrecs > 0);
	assert_int_equal(recs[0].status, -1);
	assert_string_equal(recs[0].path, "/tmp/f0");
	sftp_watch_free(w);
	assert_int_equal(nrecs, 6001);
	assert_int_equal(recs[6000].op, SFTP_OP_MKDIR);
	assert_int_equal(recs[6000].path_len, 4096);
	buf_free(&b);
	buf_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_upload),           cmocka_unit_test(test_download),
	    cmocka_unit_test(test_path_ops),         cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_chunking),         cmocka_unit_test(test_large_payload),
	    cmocka_unit_test(test_unclosed_at_free), cmocka_unit_test(test_zero_length_stops_side),
	    cmocka_unit_test(test_garbage),          cmocka_unit_test(test_flood),
	};

	memset(payload, 'p', sizeof(payload));
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * sftp_watch: follows the requests of an SFTP v3 session and the server's
 * answers to them, and reports file operations once their outcome is known.
 *
 * Each side is framed on its own (uint32 length, type, fields). Only the
 * start of a packet is buffered: the whole of a small request we care about,
 * the fixed fields of a WRITE or DATA (their payload is counted as it passes,
 * never kept), and just the type of anything else. Requests wait in a table
 * keyed by id until the server answers; an open file waits in a table keyed
 * by handle until its CLOSE is answered. Both tables are bounded; when full,
 * the oldest entry is reported with status -1 and dropped, so flooding costs
 * the attacker log lines, not our memory. Not a validator: a packet we cannot
 * make sense of is passed over, and only broken framing ends the watch.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sftp_watch.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* draft-ietf-secsh-filexfer-02 packet types */
#define FXP_OPEN     3
#define FXP_CLOSE    4
#define FXP_READ     5
#define FXP_WRITE    6
#define FXP_SETSTAT  9
#define FXP_REMOVE   13
#define FXP_MKDIR    14
#define FXP_RMDIR    15
#define FXP_RENAME   18
#define FXP_SYMLINK  20
#define FXP_STATUS   101
#define FXP_HANDLE   102
#define FXP_DATA     103
#define FXP_EXTENDED 200

#define FXF_WRITE 0x2

/* OpenSSH's sftp-server refuses bodies above 256 KiB, so a larger request
 * never takes effect: no need to buffer it. */
#define SW_PKT_MAX    (256 * 1024)
#define SW_HANDLE_MAX 256 /* the draft's limit on handle strings */
#define SW_PATH_KEEP  4096
#define SW_REQS_MAX   1024
#define SW_FILES_MAX  1024
#define SW_MEM_MAX    ((size_t)1 << 20) /* all kept paths together */
/* A packet buffer that once held a big request is given back afterwards. */
#define SW_BUF_KEEP (64 * 1024)

/* Bytes of a packet before its fields: length and type. */
#define SW_HDR 5

enum sw_kind { SW_OPEN, SW_READ, SW_CLOSE, SW_OP };

struct sw_req {
	uint64_t seq;  /* when the client asked: orders reports and eviction */
	uint64_t file; /* READ, CLOSE: seq of the file */
	uint32_t id;
	enum sw_kind kind;
	enum sftp_op op; /* SW_OP */
	uint32_t pflags; /* SW_OPEN */
	const char *ext; /* SW_OP */
	uint8_t *path;
	size_t path_len;
	uint8_t *path2;
	size_t path2_len;
};

struct sw_file {
	uint64_t seq; /* its OPEN's seq */
	uint8_t *path;
	size_t path_len;
	uint32_t pflags;
	uint64_t written;
	uint64_t read;
	/* Cleared once CLOSE is sent: OpenSSH hands the same handle to the
	 * next OPEN, and later requests with it are no longer ours. */
	bool bound;
	size_t handle_len;
	uint8_t handle[SW_HANDLE_MAX];
};

struct sw_side {
	struct buf b;        /* the current packet, from its length field up to its head */
	bool in_tail;        /* head parsed; passing over the rest */
	uint64_t tail;       /* bytes of the current packet still to pass over */
	uint64_t count_file; /* seq of the file whose counter the payload feeds, 0: none */
	uint64_t count;      /* bytes added to it when the packet ends */
	bool lost;
};

struct sftp_watch {
	sftp_watch_cb cb;
	void *arg;
	struct sw_side cs;   /* client -> server */
	struct sw_side ss;   /* server -> client */
	struct sw_req *reqs; /* oldest first */
	size_t nreqs;
	size_t creqs;
	struct sw_file *files; /* oldest first */
	size_t nfiles;
	size_t cfiles;
	size_t mem;   /* bytes of kept paths */
	uint64_t seq; /* last seq handed out; 0 means none */
};

static int clamp_status(uint32_t code)
{
	return code > INT_MAX ? INT_MAX : (int)code;
}

static enum sftp_op file_op(uint32_t pflags, uint64_t written)
{
	return (pflags & FXF_WRITE) || written > 0 ? SFTP_OP_UPLOAD : SFTP_OP_DOWNLOAD;
}

static void report_req(struct sftp_watch *w, const struct sw_req *r, int status)
{
	struct sftp_event e;

	if (r->kind != SW_OPEN && r->kind != SW_OP)
		return;
	memset(&e, 0, sizeof(e));
	e.path = r->path;
	e.path_len = r->path_len;
	e.path2 = r->path2;
	e.path2_len = r->path2_len;
	e.status = status;
	e.ext = r->ext;
	if (r->kind == SW_OPEN) {
		e.op = file_op(r->pflags, 0);
		e.pflags = r->pflags;
	} else {
		e.op = r->op;
	}
	w->cb(w->arg, &e);
}

static void report_file(struct sftp_watch *w, const struct sw_file *f, int status)
{
	struct sftp_event e;

	memset(&e, 0, sizeof(e));
	e.op = file_op(f->pflags, f->written);
	e.path = f->path;
	e.path_len = f->path_len;
	e.pflags = f->pflags;
	e.bytes = e.op == SFTP_OP_UPLOAD ? f->written : f->read;
	e.status = status;
	w->cb(w->arg, &e);
}

static void drop_req(struct sftp_watch *w, size_t i)
{
	struct sw_req *r = &w->reqs[i];

	w->mem -= r->path_len + r->path2_len;
	free(r->path);
	free(r->path2);
	memmove(r, r + 1, (w->nreqs - i - 1) * sizeof(*r));
	w->nreqs--;
}

static void drop_file(struct sftp_watch *w, size_t i)
{
	struct sw_file *f = &w->files[i];

	w->mem -= f->path_len;
	free(f->path);
	memmove(f, f + 1, (w->nfiles - i - 1) * sizeof(*f));
	w->nfiles--;
}

static void evict_oldest(struct sftp_watch *w, bool file)
{
	if (file) {
		report_file(w, &w->files[0], -1);
		drop_file(w, 0);
	} else {
		report_req(w, &w->reqs[0], -1);
		drop_req(w, 0);
	}
}

/* Frees a slot in the table that is about to grow and room for bytes more
 * of paths, reporting what has to go. */
static void make_room(struct sftp_watch *w, bool file, size_t bytes)
{
	for (;;) {
		if (file ? w->nfiles >= SW_FILES_MAX : w->nreqs >= SW_REQS_MAX) {
			evict_oldest(w, file);
			continue;
		}
		if (w->mem + bytes <= SW_MEM_MAX || (w->nreqs == 0 && w->nfiles == 0))
			return;
		evict_oldest(w,
		             w->nreqs == 0 || (w->nfiles > 0 && w->files[0].seq < w->reqs[0].seq));
	}
}

/* Room for one more of n entries in arr, doubling up to max; NULL when
 * memory runs out (arr is then left as it was). */
static void *grow(void *arr, size_t *cap, size_t n, size_t size, size_t max)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > max)
		ncap = max;
	if (ncap <= n || (p = reallocarray(arr, ncap, size)) == NULL)
		return NULL;
	*cap = ncap;
	return p;
}

/* A heap copy cut at SW_PATH_KEEP; never NULL on success, even when empty. */
static int keep(const uint8_t *p, size_t n, uint8_t **out, size_t *out_len)
{
	if (n > SW_PATH_KEEP)
		n = SW_PATH_KEEP;
	if ((*out = malloc(n > 0 ? n : 1)) == NULL)
		return -1;
	if (n > 0)
		memcpy(*out, p, n);
	*out_len = n;
	return 0;
}

/* Takes r's paths, kept or freed. */
static void add_req(struct sftp_watch *w, struct sw_req *r)
{
	struct sw_req *a;

	make_room(w, false, r->path_len + r->path2_len);
	if ((a = grow(w->reqs, &w->creqs, w->nreqs, sizeof(*r), SW_REQS_MAX)) == NULL) {
		free(r->path);
		free(r->path2);
		return;
	}
	w->reqs = a;
	w->mem += r->path_len + r->path2_len;
	w->reqs[w->nreqs++] = *r;
}

static void new_req(struct sftp_watch *w, uint32_t id, enum sw_kind kind, uint64_t file)
{
	struct sw_req r;

	memset(&r, 0, sizeof(r));
	r.seq = ++w->seq;
	r.id = id;
	r.kind = kind;
	r.file = file;
	add_req(w, &r);
}

static void new_path_req(struct sftp_watch *w, uint32_t id, enum sw_kind kind, enum sftp_op op,
                         const uint8_t *p1, size_t n1, const uint8_t *p2, size_t n2,
                         uint32_t pflags, const char *ext)
{
	struct sw_req r;

	memset(&r, 0, sizeof(r));
	r.seq = ++w->seq;
	r.id = id;
	r.kind = kind;
	r.op = op;
	r.pflags = pflags;
	r.ext = ext;
	if (keep(p1, n1, &r.path, &r.path_len) != 0)
		return;
	if (p2 != NULL && keep(p2, n2, &r.path2, &r.path2_len) != 0) {
		free(r.path);
		return;
	}
	add_req(w, &r);
}

/* The server answers in order, so among requests that reuse an id the
 * oldest is the one answered. kinds is a bit mask of enum sw_kind. */
static long find_req(const struct sftp_watch *w, uint32_t id, unsigned kinds)
{
	size_t i;

	for (i = 0; i < w->nreqs; i++)
		if (w->reqs[i].id == id && (kinds & 1u << w->reqs[i].kind))
			return (long)i;
	return -1;
}

static long find_file_seq(const struct sftp_watch *w, uint64_t seq)
{
	size_t i;

	for (i = 0; i < w->nfiles; i++)
		if (w->files[i].seq == seq)
			return (long)i;
	return -1;
}

static struct sw_file *find_handle(struct sftp_watch *w, const uint8_t *h, size_t n)
{
	size_t i;

	for (i = 0; i < w->nfiles; i++) {
		struct sw_file *f = &w->files[i];

		if (f->bound && f->handle_len == n && memcmp(f->handle, h, n) == 0)
			return f;
	}
	return NULL;
}

static int get_str(struct buf *b, const uint8_t **p, size_t *n)
{
	return buf_get_str(b, p, n, SW_PKT_MAX);
}

static int get_handle(struct buf *b, struct sftp_watch *w, struct sw_file **f)
{
	const uint8_t *h;
	size_t n;

	if (buf_get_str(b, &h, &n, SW_HANDLE_MAX) != 0)
		return -1;
	*f = find_handle(w, h, n);
	return *f == NULL ? -1 : 0;
}

static const struct {
	uint8_t type;
	enum sftp_op op;
	int nstr;
} path_ops[] = {
    {FXP_REMOVE, SFTP_OP_REMOVE, 1}, {FXP_RMDIR, SFTP_OP_RMDIR, 1},
    {FXP_MKDIR, SFTP_OP_MKDIR, 1},   {FXP_SETSTAT, SFTP_OP_SETSTAT, 1},
    {FXP_RENAME, SFTP_OP_RENAME, 2}, {FXP_SYMLINK, SFTP_OP_SYMLINK, 2},
};

static const struct {
	const char *name;
	enum sftp_op op;
	int nstr;
} ext_ops[] = {
    {"posix-rename@openssh.com", SFTP_OP_RENAME, 2},
    {"hardlink@openssh.com", SFTP_OP_SYMLINK, 2},
    {"lsetstat@openssh.com", SFTP_OP_SETSTAT, 1},
};

/* Path operations: one or two strings after the id (attributes that follow
 * are not needed). */
static void path_op(struct sftp_watch *w, struct buf *b, uint32_t id, enum sftp_op op, int nstr,
                    const char *ext)
{
	const uint8_t *p1, *p2 = NULL;
	size_t n1, n2 = 0;

	if (get_str(b, &p1, &n1) != 0)
		return;
	if (nstr == 2 && get_str(b, &p2, &n2) != 0)
		return;
	new_path_req(w, id, SW_OP, op, p1, n1, p2, n2, 0, ext);
}

static void extended(struct sftp_watch *w, struct buf *b, uint32_t id)
{
	const uint8_t *name;
	size_t n, i;

	if (get_str(b, &name, &n) != 0)
		return;
	for (i = 0; i < sizeof(ext_ops) / sizeof(ext_ops[0]); i++) {
		if (strlen(ext_ops[i].name) == n && memcmp(ext_ops[i].name, name, n) == 0) {
			path_op(w, b, id, ext_ops[i].op, ext_ops[i].nstr, ext_ops[i].name);
			return;
		}
	}
}

/* b holds the packet's head, read position after the type; rest is what
 * follows the head in the stream. */
static void client_packet(struct sftp_watch *w, struct sw_side *s, uint8_t type, uint64_t rest)
{
	struct buf *b = &s->b;
	const uint8_t *p;
	struct sw_file *f;
	uint32_t id, pflags, dlen;
	size_t n, i;

	if (buf_get_u32(b, &id) != 0)
		return;
	switch (type) {
	case FXP_OPEN:
		if (get_str(b, &p, &n) != 0 || buf_get_u32(b, &pflags) != 0)
			return;
		new_path_req(w, id, SW_OPEN, 0, p, n, NULL, 0, pflags, NULL);
		return;
	case FXP_CLOSE:
		if (get_handle(b, w, &f) != 0)
			return;
		f->bound = false;
		new_req(w, id, SW_CLOSE, f->seq);
		return;
	case FXP_READ:
		if (get_handle(b, w, &f) != 0)
			return;
		new_req(w, id, SW_READ, f->seq);
		return;
	case FXP_WRITE:
		if (get_handle(b, w, &f) != 0 || buf_get_u64(b, NULL) != 0 ||
		    buf_get_u32(b, &dlen) != 0)
			return;
		s->count_file = f->seq;
		s->count = dlen < rest ? dlen : rest;
		return;
	case FXP_EXTENDED:
		extended(w, b, id);
		return;
	}
	for (i = 0; i < sizeof(path_ops) / sizeof(path_ops[0]); i++) {
		if (path_ops[i].type == type) {
			path_op(w, b, id, path_ops[i].op, path_ops[i].nstr, NULL);
			return;
		}
	}
}

static void got_handle(struct sftp_watch *w, uint32_t id, const uint8_t *h, size_t n)
{
	struct sw_file f, *old, *a;
	struct sw_req r;
	long i;

	if ((i = find_req(w, id, 1u << SW_OPEN)) < 0)
		return;
	r = w->reqs[i];
	/* The path moves to the file: take the request out without freeing. */
	memmove(&w->reqs[i], &w->reqs[i + 1], (w->nreqs - (size_t)i - 1) * sizeof(r));
	w->nreqs--;
	w->mem -= r.path_len;

	memset(&f, 0, sizeof(f));
	f.seq = r.seq;
	f.path = r.path;
	f.path_len = r.path_len;
	f.pflags = r.pflags;
	f.bound = true;
	f.handle_len = n;
	memcpy(f.handle, h, n);
	/* A server handing out a handle that is still open: the older file
	 * can no longer be told apart, so it gets no more requests. */
	if ((old = find_handle(w, h, n)) != NULL)
		old->bound = false;
	make_room(w, true, f.path_len);
	if ((a = grow(w->files, &w->cfiles, w->nfiles, sizeof(f), SW_FILES_MAX)) == NULL) {
		free(f.path);
		return;
	}
	w->files = a;
	w->mem += f.path_len;
	w->files[w->nfiles++] = f;
}

static void got_status(struct sftp_watch *w, uint32_t id, int status)
{
	struct sw_req *r;
	long i, fi;

	if ((i = find_req(w, id, ~0u)) < 0)
		return;
	r = &w->reqs[i];
	if (r->kind == SW_CLOSE && (fi = find_file_seq(w, r->file)) >= 0) {
		report_file(w, &w->files[fi], status);
		drop_file(w, (size_t)fi);
	} else {
		report_req(w, r, status);
	}
	drop_req(w, (size_t)i);
}

static void server_packet(struct sftp_watch *w, struct sw_side *s, uint8_t type, uint64_t rest)
{
	struct buf *b = &s->b;
	const uint8_t *h;
	uint32_t id, v;
	size_t n;
	long i;

	if (buf_get_u32(b, &id) != 0)
		return;
	switch (type) {
	case FXP_STATUS:
		/* The message and language tag that follow are not needed. */
		if (buf_get_u32(b, &v) == 0)
			got_status(w, id, clamp_status(v));
		return;
	case FXP_HANDLE:
		if (buf_get_str(b, &h, &n, SW_HANDLE_MAX) == 0)
			got_handle(w, id, h, n);
		return;
	case FXP_DATA:
		if (buf_get_u32(b, &v) != 0 || (i = find_req(w, id, 1u << SW_READ)) < 0)
			return;
		s->count_file = w->reqs[i].file;
		s->count = v < rest ? v : rest;
		drop_req(w, (size_t)i);
		return;
	}
}

static bool wanted(bool client, uint8_t type)
{
	size_t i;

	if (!client)
		return type == FXP_STATUS || type == FXP_HANDLE;
	if (type == FXP_OPEN || type == FXP_CLOSE || type == FXP_READ || type == FXP_EXTENDED)
		return true;
	for (i = 0; i < sizeof(path_ops) / sizeof(path_ops[0]); i++)
		if (path_ops[i].type == type)
			return true;
	return false;
}

/* How much of the current packet to buffer before parsing it, from what is
 * buffered so far; *parse false means pass over the packet unparsed.
 * Negative when the framing is broken. */
static int plan(const struct sw_side *s, bool client, size_t *want, bool *parse)
{
	const uint8_t *p = s->b.data;
	size_t have = s->b.len, need;
	uint64_t total;
	uint8_t type;
	bool skip = false;

	*parse = true;
	if (have < 4) {
		*want = 4;
		return 0;
	}
	if (buf_be32(p) == 0)
		return -1;
	if (have < SW_HDR) {
		*want = SW_HDR;
		return 0;
	}
	total = 4 + (uint64_t)buf_be32(p);
	type = p[4];
	if (client && type == FXP_WRITE) {
		/* id, handle, offset, data length; the data is only counted */
		need = SW_HDR + 4 + 4;
		if (have >= need && total >= need) {
			uint32_t hl = buf_be32(p + SW_HDR + 4);

			if (hl > SW_HANDLE_MAX)
				skip = true;
			else
				need += hl + 8 + 4;
		}
	} else if (!client && type == FXP_DATA) {
		need = SW_HDR + 4 + 4; /* id, data length */
	} else if (wanted(client, type) && total - 4 <= SW_PKT_MAX) {
		need = (size_t)total;
	} else {
		skip = true;
	}
	if (skip || need > total) {
		*parse = false;
		need = have;
	}
	*want = need;
	return 0;
}

static void side_lost(struct sw_side *s)
{
	s->lost = true;
	buf_free(&s->b);
}

static void packet_end(struct sftp_watch *w, struct sw_side *s, bool client)
{
	long fi;

	if (s->count_file != 0 && (fi = find_file_seq(w, s->count_file)) >= 0) {
		struct sw_file *f = &w->files[fi];

		if (client)
			f->written += s->count;
		else
			f->read += s->count;
	}
	s->count_file = 0;
	s->count = 0;
	s->in_tail = false;
	if (s->b.cap > SW_BUF_KEEP)
		buf_free(&s->b);
	else
		buf_reset(&s->b);
}

static void feed(struct sftp_watch *w, struct sw_side *s, bool client, const uint8_t *data,
                 size_t len)
{
	size_t want, n;
	bool parse;

	/* A call without bytes has nothing to finish: a packet's end is
	 * handled in the call that delivers its last byte. */
	if (len == 0 || data == NULL)
		return;
	while (!s->lost) {
		if (s->in_tail) {
			n = s->tail < len ? (size_t)s->tail : len;
			s->tail -= n;
			data += n;
			len -= n;
			if (s->tail > 0)
				return;
			packet_end(w, s, client);
			continue;
		}
		if (plan(s, client, &want, &parse) != 0) {
			side_lost(s);
			return;
		}
		if (s->b.len < want) {
			if (len == 0)
				return;
			n = want - s->b.len < len ? want - s->b.len : len;
			if (buf_put(&s->b, data, n) != 0) {
				side_lost(s);
				return;
			}
			data += n;
			len -= n;
			continue;
		}
		s->tail = 4 + (uint64_t)buf_be32(s->b.data) - s->b.len;
		s->in_tail = true;
		if (parse) {
			s->b.off = SW_HDR;
			if (client)
				client_packet(w, s, s->b.data[4], s->tail);
			else
				server_packet(w, s, s->b.data[4], s->tail);
		}
	}
}

struct sftp_watch *sftp_watch_new(sftp_watch_cb cb, void *arg)
{
	struct sftp_watch *w;

	if (cb == NULL || (w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->cb = cb;
	w->arg = arg;
	buf_init(&w->cs.b);
	buf_init(&w->ss.b);
	return w;
}

void sftp_watch_client(struct sftp_watch *w, const uint8_t *data, size_t len)
{
	if (w != NULL)
		feed(w, &w->cs, true, data, len);
}

void sftp_watch_server(struct sftp_watch *w, const uint8_t *data, size_t len)
{
	if (w != NULL)
		feed(w, &w->ss, false, data, len);
}

void sftp_watch_free(struct sftp_watch *w)
{
	size_t i = 0, j = 0;

	if (w == NULL)
		return;
	/* Both tables are in the order the client asked; merge them. */
	while (i < w->nreqs || j < w->nfiles) {
		if (j == w->nfiles || (i < w->nreqs && w->reqs[i].seq < w->files[j].seq))
			report_req(w, &w->reqs[i++], -1);
		else
			report_file(w, &w->files[j++], -1);
	}
	for (i = 0; i < w->nreqs; i++) {
		free(w->reqs[i].path);
		free(w->reqs[i].path2);
	}
	for (j = 0; j < w->nfiles; j++)
		free(w->files[j].path);
	free(w->reqs);
	free(w->files);
	buf_free(&w->cs.b);
	buf_free(&w->ss.b);
	free(w);
}

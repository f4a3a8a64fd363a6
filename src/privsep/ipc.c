/*
 * ipc: framing, layouts and fd passing for monitor <-> worker messages;
 * see ipc.h.
 *
 * Wire form of one datagram: u32 type, then the fields of its struct (ipc.h)
 * in the order of the type's row in the table below: 'u' a u32, 'q' a u64, 's' a string of at most
 * IPC_STR_MAX bytes, 'S' one of at most IPC_LONG_STR_MAX (commands, event
 * fields). Integers are big-endian, strings u32-length-prefixed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"

#define U(f)                                                                                       \
	{                                                                                          \
		'u', offsetof(struct ipc_msg, f)                                                   \
	}
#define Q(f)                                                                                       \
	{                                                                                          \
		'q', offsetof(struct ipc_msg, f)                                                   \
	}
#define S(f)                                                                                       \
	{                                                                                          \
		's', offsetof(struct ipc_msg, f)                                                   \
	}
#define L(f)                                                                                       \
	{                                                                                          \
		'S', offsetof(struct ipc_msg, f)                                                   \
	}
#define MAX_FIELDS 9

static const struct {
	const char *name;
	size_t max_fds;
	struct ipc_field f[MAX_FIELDS]; /* in wire order; kind 0 ends them */
} types[IPC_TYPE_MAX] = {
    [IPC_AUTH_PASSWORD] = {"auth_password",
                           0,
                           {U(auth_password.method), S(auth_password.user),
                            S(auth_password.password)}},
    [IPC_AUTH_PUBKEY] = {"auth_pubkey",
                         0,
                         {U(auth_pubkey.is_signed), S(auth_pubkey.user), S(auth_pubkey.key_type),
                          S(auth_pubkey.fingerprint)}},
    [IPC_EVENT] = {"event", 0, {S(event.type), L(event.fields)}},
    [IPC_CHANNEL_OPEN] = {"channel_open",
                          0,
                          {U(channel_open.channel), U(channel_open.tty), U(channel_open.width),
                           U(channel_open.height), U(channel_open.kind), S(channel_open.term),
                           L(channel_open.command), S(channel_open.env)}},
    [IPC_RESIZE] = {"resize", 0, {U(resize.channel), U(resize.width), U(resize.height)}},
    [IPC_CHANNEL_DONE] = {"channel_done",
                          0,
                          {U(channel_done.channel), U(channel_done.exit_kind),
                           U(channel_done.exit_value), U(channel_done.core),
                           Q(channel_done.bytes_in), Q(channel_done.bytes_out)}},
    [IPC_SESSION_END] = {"session_end", 0, {S(session_end.reason)}},
    [IPC_AUTH_REPLY] = {"auth_reply",
                        0,
                        {U(auth_reply.accepted), U(auth_reply.disconnect), U(auth_reply.pam_ms),
                         U(auth_reply.floor_us)}},
    [IPC_CHANNEL_READY] = {"channel_ready",
                           2,
                           {U(channel_ready.channel), U(channel_ready.ok),
                            U(channel_ready.recording), U(channel_ready.agent),
                            U(channel_ready.agent_first), S(channel_ready.error),
                            S(channel_ready.container)}},
    [IPC_EXIT_STATUS] = {"exit_status",
                         0,
                         {U(exit_status.channel), U(exit_status.kind), U(exit_status.value),
                          U(exit_status.core)}},
    [IPC_WORKER_INIT] = {"worker_init",
                         0,
                         {L(worker_init.settings), L(worker_init.filter),
                          L(worker_init.template_filter)}},
    [IPC_TEMPLATE_SPAWN] = {"template_spawn",
                            3,
                            {U(template_spawn.serial), S(template_spawn.session_id),
                             S(template_spawn.src_ip), U(template_spawn.src_port)}},
    [IPC_TEMPLATE_CHILD] = {"template_child", 0, {U(template_child.serial), U(template_child.pid)}},
};

const struct ipc_field *ipc_layout(uint32_t type)
{
	return type == 0 || type >= IPC_TYPE_MAX ? NULL : types[type].f;
}

const char *ipc_type_name(uint32_t type)
{
	if (type == 0 || type >= IPC_TYPE_MAX)
		return "unknown";
	return types[type].name;
}

static int encode(struct buf *b, const struct ipc_msg *m)
{
	int r = buf_put_u32(b, m->type);

	for (const struct ipc_field *f = types[m->type].f; r == 0 && f->kind != 0; f++) {
		const void *at = (const char *)m + f->off;
		switch (f->kind) {
		case 'u': {
			uint32_t v;
			memcpy(&v, at, sizeof(v));
			r = buf_put_u32(b, v);
			break;
		}
		case 'q': {
			uint64_t v;
			memcpy(&v, at, sizeof(v));
			r = buf_put_u64(b, v);
			break;
		}
		default: {
			size_t max = f->kind == 's' ? IPC_STR_MAX : IPC_LONG_STR_MAX;
			const struct ipc_str *s = at;
			if (s->n > max)
				return -EMSGSIZE;
			r = buf_put_str(b, s->p != NULL ? s->p : (const uint8_t *)"", s->n);
		}
		}
	}
	return r;
}

int ipc_decode(const uint8_t *data, size_t len, struct ipc_msg *m)
{
	struct buf b = {.data = (uint8_t *)data, .len = len, .off = 0, .cap = len};
	size_t nfds = m->nfds;
	int fds[IPC_MAX_FDS];

	memcpy(fds, m->fds, sizeof(fds));
	memset(m, 0, sizeof(*m));
	memcpy(m->fds, fds, sizeof(fds));
	m->nfds = nfds;
	if (buf_get_u32(&b, &m->type) < 0 || m->type == 0 || m->type >= IPC_TYPE_MAX)
		return -EBADMSG;
	if (m->nfds > types[m->type].max_fds)
		return -EBADMSG;
	for (const struct ipc_field *f = types[m->type].f; f->kind != 0; f++) {
		void *at = (char *)m + f->off;
		int r;
		switch (f->kind) {
		case 'u': {
			uint32_t v = 0;
			r = buf_get_u32(&b, &v);
			memcpy(at, &v, sizeof(v));
			break;
		}
		case 'q': {
			uint64_t v = 0;
			r = buf_get_u64(&b, &v);
			memcpy(at, &v, sizeof(v));
			break;
		}
		default: {
			struct ipc_str *s = at;
			r = buf_get_str(&b, &s->p, &s->n,
			                f->kind == 's' ? IPC_STR_MAX : IPC_LONG_STR_MAX);
		}
		}
		if (r < 0)
			return -EBADMSG;
	}
	if (buf_avail(&b) != 0)
		return -EBADMSG;
	return 0;
}

int ipc_send(int sock, const struct ipc_msg *m)
{
	struct buf b;
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	} ctl;
	struct iovec iov;
	struct msghdr mh = {0};
	int r;

	if (m->type == 0 || m->type >= IPC_TYPE_MAX || m->nfds > IPC_MAX_FDS)
		return -EINVAL;
	buf_init(&b);
	if ((r = encode(&b, m)) < 0) {
		buf_free(&b);
		return r;
	}
	if (b.len > IPC_MAX_MSG) {
		buf_free(&b);
		return -EMSGSIZE;
	}
	iov.iov_base = b.data;
	iov.iov_len = b.len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (m->nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.space;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * m->nfds);
		memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->nfds);
	}
	do {
		r = (int)sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (r < 0 && errno == EINTR);
	r = r < 0 ? -errno : 0;
	buf_free(&b);
	return r;
}

static void close_fds(struct ipc_msg *m)
{
	for (size_t i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}

int ipc_recv(int sock, struct ipc_msg *m, struct buf *store)
{
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int) * (IPC_MAX_FDS + 1))];
	} ctl;
	struct iovec iov;
	struct msghdr mh = {0};
	ssize_t n;
	int r;

	buf_reset(store);
	if ((r = buf_reserve(store, IPC_MAX_MSG + 1)) < 0)
		return r;
	iov.iov_base = store->data;
	iov.iov_len = IPC_MAX_MSG + 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.space;
	mh.msg_controllen = sizeof(ctl.space);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EWOULDBLOCK) ? -EAGAIN : -errno;

	m->nfds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *in = (int *)CMSG_DATA(c);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, &in[i], sizeof(fd));
			if (m->nfds < IPC_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else
				close(fd); /* more than any message carries */
		}
	}
	if (n == 0 && m->nfds == 0)
		return 0;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || n > IPC_MAX_MSG) {
		close_fds(m);
		return -EBADMSG;
	}
	store->len = (size_t)n;
	if (ipc_decode(store->data, store->len, m) < 0) {
		close_fds(m);
		return -EBADMSG;
	}
	return 1;
}

char *ipc_strdup(const struct ipc_str *s)
{
	char *r;

	if (s->n > 0 && memchr(s->p, '\0', s->n) != NULL)
		return NULL;
	r = malloc(s->n + 1);
	if (r == NULL)
		return NULL;
	if (s->n > 0)
		memcpy(r, s->p, s->n);
	r[s->n] = '\0';
	return r;
}

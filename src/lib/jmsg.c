/*
 * jmsg: JSON datagrams with a descriptor; see jmsg.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jmsg.h"

int jmsg_send(int sock, const json_t *msg, int fd)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (text == NULL)
		return -ENOMEM;
	iov.iov_base = text;
	iov.iov_len = strlen(text);
	if (iov.iov_len > JMSG_MAX) {
		free(text);
		return -EMSGSIZE;
	}
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.space;
		mh.msg_controllen = sizeof(ctl.space);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	int e = errno;
	explicit_bzero(text, iov.iov_len); /* it may have held a key (the sinkhole's start) */
	free(text);
	if (n < 0)
		return -e;
	return (size_t)n == iov.iov_len ? 0 : -EMSGSIZE;
}

json_t *jmsg_parse(const char *p, size_t n)
{
	json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);

	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int jmsg_recv(int sock, json_t **msg, int *fd)
{
	static char buf[JMSG_MAX + 1];
	union {
		struct cmsghdr h;
		char space[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = ctl.space,
	                    .msg_controllen = sizeof(ctl.space)};
	int fds[4], nfds = 0;
	ssize_t n;

	*msg = NULL;
	*fd = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && nfds < 4; i++)
			memcpy(&fds[nfds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	if (n == 0 && nfds == 0)
		return 0;
	bool bad = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || nfds > 1 ||
	           (size_t)n > JMSG_MAX || (*msg = jmsg_parse(buf, (size_t)n)) == NULL;
	if (bad) {
		json_decref(*msg);
		*msg = NULL;
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return -EBADMSG;
	}
	*fd = nfds == 1 ? fds[0] : -1;
	return 1;
}

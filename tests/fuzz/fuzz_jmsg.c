/*
 * libFuzzer harness for jmsg.c: any bytes as a datagram the sinkhole or
 * the monitor receives. jmsg_parse gives an object or nothing, and an
 * object survives a dump and a parse unchanged. The same bytes sent as
 * one datagram over a SOCK_SEQPACKET pair are accepted by jmsg_recv
 * exactly when jmsg_parse accepts them, with no descriptor.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "jmsg.h"

#include "fuzz_check.h"

static int pair[2] = {-1, -1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size ? size : 1);

	CHECK(p != NULL);
	if (size)
		memcpy(p, data, size);
	json_t *j = jmsg_parse(p, size);
	if (j != NULL) {
		CHECK(json_is_object(j));
		char *text = json_dumps(j, JSON_COMPACT);
		CHECK(text != NULL);
		json_t *k = jmsg_parse(text, strlen(text));
		CHECK(k != NULL && json_equal(j, k));
		json_decref(k);
		free(text);
	}

	if (size > 0 && size <= JMSG_MAX) {
		if (pair[0] < 0)
			CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
			                 pair) == 0);
		CHECK(send(pair[0], p, size, MSG_NOSIGNAL) == (ssize_t)size);
		json_t *m = NULL;
		int fd = 7;
		int r = jmsg_recv(pair[1], &m, &fd);
		CHECK(fd == -1);
		if (j != NULL) {
			CHECK(r == 1 && m != NULL && json_equal(j, m));
		} else {
			CHECK(r == -EBADMSG && m == NULL);
		}
		json_decref(m);
		CHECK(jmsg_recv(pair[1], &m, &fd) == -EAGAIN);
	}
	json_decref(j);
	free(p);
	return 0;
}

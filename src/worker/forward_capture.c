/* forward_capture: see forward_capture.h. */
#include "forward_capture.h"

#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "util.h"

void forward_capture_init(struct forward_capture *c)
{
	buf_init(&c->data);
	c->total = 0;
}

void forward_capture_free(struct forward_capture *c)
{
	buf_free(&c->data);
	c->total = 0;
}

bool forward_capture_take(struct forward_capture *c, const void *data, size_t len)
{
	size_t room = FORWARD_CAPTURE - buf_avail(&c->data);

	c->total += len;
	(void)buf_put(&c->data, data, len < room ? len : room); /* out of memory: less kept */
	return buf_avail(&c->data) >= FORWARD_CAPTURE;
}

/* A host as the client sent it, its first FORWARD_HOST_MAX bytes. */
static void set_host(json_t *ev, const char *key, const char *host)
{
	size_t n = host != NULL ? strnlen(host, FORWARD_HOST_MAX) : 0;

	event_set_bytes(ev, key, host != NULL ? host : "", n);
}

json_t *forward_data_event(const struct forward_capture *c, uint32_t id, const char *dst_host,
                           int dst_port)
{
	json_t *ev = json_pack("{s:I}", "forward", (json_int_t)id);
	char *b64;

	if (ev == NULL)
		return NULL;
	set_host(ev, "dst_host", dst_host);
	json_object_set_new(ev, "dst_port", json_integer(dst_port));
	json_object_set_new(ev, "bytes", json_integer((json_int_t)c->total));
	b64 = util_base64(buf_peek(&c->data), buf_avail(&c->data));
	json_object_set_new(ev, "data_b64", json_string(b64 ? b64 : ""));
	free(b64);
	json_object_set_new(ev, "truncated", json_boolean(c->total > buf_avail(&c->data)));
	return ev;
}

json_t *forward_open_event(uint32_t id, bool accepted, const char *dst_host, int dst_port,
                           const char *orig_host, int orig_port)
{
	json_t *ev = json_pack("{s:s}", "kind", "direct-tcpip");

	if (ev == NULL)
		return NULL;
	set_host(ev, "dst_host", dst_host);
	json_object_set_new(ev, "dst_port", json_integer(dst_port));
	set_host(ev, "orig_host", orig_host);
	json_object_set_new(ev, "orig_port", json_integer(orig_port));
	json_object_set_new(ev, "forward", json_integer((json_int_t)id));
	json_object_set_new(ev, "accepted", json_boolean(accepted));
	return ev;
}

json_t *forward_listen_event(bool cancel, const char *bind_host, int bind_port)
{
	json_t *ev = json_pack("{s:s}", "kind", cancel ? "cancel-tcpip-forward" : "tcpip-forward");

	if (ev == NULL)
		return NULL;
	set_host(ev, "bind_host", bind_host);
	json_object_set_new(ev, "bind_port", json_integer(bind_port));
	return ev;
}

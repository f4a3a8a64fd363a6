/*
 * sinkhole: the program (hermes-sinkhole) that answers whatever the boxes
 * send on their network (docs/sinkhole.md). The monitor starts it in the
 * sinkhole's network namespace with the sockets it made there
 * (sink_net.h) and a SOCK_SEQPACKET socket of jmsg.h messages to itself;
 * it confines itself (chroot, user, no capabilities, no new sockets) before
 * it reads a byte from a box.
 *
 * It never touches the internet, a file or the event log: it tells the
 * monitor what each box did (events) and asks it for what an HTTP request
 * wants (fetch); the monitor answers with a descriptor to send back.
 *
 * This header is the program's own: its modules' shared state.
 */
#ifndef HERMES_SINKHOLE_H
#define HERMES_SINKHOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jmsg.h"
#include "loop.h"

/* The descriptors it is started with. */
#define SINK_FD_CTL  3
#define SINK_FD_TCP  4
#define SINK_FD_UDP  5
#define SINK_FD_DNS  6
#define SINK_FD_TFTP 7
#define SINK_FD_ICMP 8

#define SINK_HOLD_BYTES (64 * 1024) /* kept of a connection nothing answers */

struct sink_settings {
	int connect_rate;    /* new connections per box a second */
	int max_connections; /* open per box */
	int event_rate;      /* events per box a second */
	int fetch_timeout;   /* s the monitor may take to answer a fetch */
};

struct sink {
	struct loop *loop;
	int ctl;
	struct sink_settings set;
	uint64_t next_id;
};

/* ---- sink_box.c: per box (source address) limits, and the monitor ---- */

/* A new connection from box addr may go on (counted), or not (counted as
 * refused, reported later in an egress.limited event). */
bool sink_box_connect(struct sink *s, uint32_t addr);
void sink_box_disconnect(struct sink *s, uint32_t addr);
/* Sends event ev (taken) of box addr, with fd (>= 0: sent, then closed
 * here) unless the box is over its event rate (dropped, counted). */
void sink_box_event(struct sink *s, uint32_t addr, json_t *ev, int fd);
/* A jmsg to the monitor (msg taken); false when it could not be sent. */
bool sink_send(struct sink *s, json_t *msg, int fd);
/* "a.b.c.d" into buf[16]. */
const char *sink_ip(uint32_t addr, char buf[16]);
/* A memfd holding p[0..n), sealed, at offset 0; or -1. */
int sink_memfd(const char *name, const void *p, size_t n);

/* ---- sink_tcp.c: every TCP connection ---- */
void sink_tcp_start(struct sink *s, int listen_fd);
/* The monitor's answer to fetch id: status, content type, and the body's
 * descriptor (taken; -1 for none). */
void sink_tcp_fetched(struct sink *s, uint64_t id, int status, const char *type, int fd);

/* ---- sink_udp.c: DNS, other UDP, ICMP ---- */
void sink_udp_start(struct sink *s, int dns, int udp, int tftp, int icmp);
/* Sends p[0..n) on UDP socket fd to `to`, from the address `from` (a
 * datagram's answer comes from where it was sent). */
struct sockaddr_in;
void sink_udp_send(int fd, const struct sockaddr_in *to, uint32_t from, const void *p, size_t n);
/* The name a box last resolved to addr (our DNS answered it), or NULL. */
const char *sink_dns_name(uint32_t addr);

/* ---- sink_smtp.c: mail, taken and kept ---- */
struct buf;
struct sink_smtp;
struct sink_smtp *sink_smtp_new(struct sink *s, uint32_t src, uint16_t sport, uint32_t dst,
                                uint16_t dport);
void sink_smtp_free(struct sink_smtp *m);
void sink_smtp_banner(struct sink_smtp *m, struct buf *out);
/* false: the dialogue is over (send out, then close). */
bool sink_smtp_input(struct sink_smtp *m, const uint8_t *p, size_t n, struct buf *out);

/* ---- sink_ftp.c: FTP downloads, as fetches ---- */
struct sink_ftp;
/* The control connection's dialogue: replies go to out, and flush(arg)
 * asks for them to be sent (later, from the loop). */
struct sink_ftp *sink_ftp_new(struct sink *s, uint32_t src, uint16_t sport, uint32_t dst,
                              uint16_t dport, struct buf *out, void (*flush)(void *), void *arg);
void sink_ftp_free(struct sink_ftp *f);
/* false: the dialogue is over (send out, then close). */
bool sink_ftp_input(struct sink_ftp *f, const uint8_t *p, size_t n);
/* A connection from src to dst:dport that is some session's passive
 * data connection: taken (true). */
bool sink_ftp_data(struct sink *s, uint32_t src, uint32_t dst, uint16_t dport, int fd);
/* The monitor's answer to fetch id if it is a RETR's: true. */
bool sink_ftp_fetched(struct sink *s, uint64_t id, int status, int fd);

/* ---- sink_tftp.c: TFTP reads, as fetches ---- */
struct sockaddr_in;
/* A datagram on the TFTP socket fd, from `from`, sent to dst. */
void sink_tftp_packet(struct sink *s, int fd, const uint8_t *p, size_t n,
                      const struct sockaddr_in *from, uint32_t dst);
/* The monitor's answer to fetch id if it is a TFTP read's: true. */
bool sink_tftp_fetched(struct sink *s, uint64_t id, int status, int fd);

#endif

/*
 * sk_steer: every TCP connection and UDP datagram that enters the
 * sinkhole's network namespace, whatever its address and port, goes to
 * one socket of the sinkhole's: a BPF socket-lookup program (the kernel's
 * "sk_lookup", 5.9 and later) attached to that namespace picks the TCP
 * listener for TCP and the UDP catch-all for UDP, except the UDP ports
 * with a socket of their own (DNS, TFTP), which the ordinary lookup finds.
 * The accepted socket's local address (getsockname) and a datagram's
 * IP_ORIGDSTADDR are then the address and port the box aimed at.
 *
 * No netfilter, no conntrack, no external tool: the program is ten
 * instructions written here, checked by the kernel's verifier.
 *
 * Not for: making the addresses local (sink_net.c's routes do that).
 */
#ifndef HERMES_SK_STEER_H
#define HERMES_SK_STEER_H

/* netns: an fd of the namespace; tcp: a listening socket; udp: a bound,
 * unconnected UDP socket; pass1, pass2: UDP ports left to the ordinary
 * lookup. Returns the BPF link's fd, which must stay open (closing it ends
 * the steering), or a negative errno with err saying which step failed. */
int sk_steer_attach(int netns, int tcp, int udp, int pass1, int pass2, char *err, size_t len);

#endif

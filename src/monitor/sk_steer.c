/*
 * sk_steer: the sinkhole's catch-all socket lookup; see sk_steer.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <netinet/in.h>

#include "sk_steer.h"

/* The two map slots. */
#define SLOT_TCP 0
#define SLOT_UDP 1

static int sys_bpf(int cmd, union bpf_attr *a)
{
	return (int)syscall(SYS_bpf, cmd, a, sizeof(*a));
}

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i = {.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
	return i;
}

#define MOV_REG(d, s)    insn(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, v)    insn(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, v)
#define ADD_IMM(d, v)    insn(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, v)
#define LDX_W(d, s, o)   insn(BPF_LDX | BPF_MEM | BPF_W, d, s, o, 0)
#define STX_W(d, s, o)   insn(BPF_STX | BPF_MEM | BPF_W, d, s, o, 0)
#define JEQ_IMM(d, v, o) insn(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, v)
#define CALL(f)          insn(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()           insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* r1 = ctx. Picks the slot by protocol, leaves two UDP ports alone, and
 * assigns the slot's socket:
 *
 *	r6 = ctx; r3 = SLOT_TCP
 *	if ctx->protocol == TCP goto lookup
 *	r3 = SLOT_UDP
 *	if ctx->local_port == pass1 goto pass; if == pass2 goto pass
 *  lookup:
 *	key = r3; r0 = map_lookup_elem(map, &key); if !r0 goto pass
 *	r7 = r0; sk_assign(ctx, r7, 0); sk_release(r7)
 *  pass:
 *	return SK_PASS
 */
static size_t program(struct bpf_insn *p, int map, int pass1, int pass2)
{
	size_t n = 0;

	p[n++] = MOV_REG(BPF_REG_6, BPF_REG_1);
	p[n++] = MOV_IMM(BPF_REG_3, SLOT_TCP);
	p[n++] = LDX_W(BPF_REG_2, BPF_REG_6, offsetof(struct bpf_sk_lookup, protocol));
	p[n++] = JEQ_IMM(BPF_REG_2, IPPROTO_TCP, 4); /* to lookup */
	p[n++] = MOV_IMM(BPF_REG_3, SLOT_UDP);
	p[n++] = LDX_W(BPF_REG_2, BPF_REG_6, offsetof(struct bpf_sk_lookup, local_port));
	p[n++] = JEQ_IMM(BPF_REG_2, pass1, 15); /* to pass */
	p[n++] = JEQ_IMM(BPF_REG_2, pass2, 14);
	/* lookup: */
	p[n++] = STX_W(BPF_REG_10, BPF_REG_3, -4);
	p[n++] = MOV_REG(BPF_REG_2, BPF_REG_10);
	p[n++] = ADD_IMM(BPF_REG_2, -4);
	p[n++] = insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map);
	p[n++] = insn(0, 0, 0, 0, 0);
	p[n++] = CALL(BPF_FUNC_map_lookup_elem);
	p[n++] = JEQ_IMM(BPF_REG_0, 0, 7); /* to pass */
	p[n++] = MOV_REG(BPF_REG_7, BPF_REG_0);
	p[n++] = MOV_REG(BPF_REG_1, BPF_REG_6);
	p[n++] = MOV_REG(BPF_REG_2, BPF_REG_7);
	p[n++] = MOV_IMM(BPF_REG_3, 0);
	p[n++] = CALL(BPF_FUNC_sk_assign);
	p[n++] = MOV_REG(BPF_REG_1, BPF_REG_7);
	p[n++] = CALL(BPF_FUNC_sk_release);
	/* pass: */
	p[n++] = MOV_IMM(BPF_REG_0, SK_PASS);
	p[n++] = EXIT();
	return n;
}

static int fail(char *err, size_t len, const char *what, int e)
{
	snprintf(err, len, "%s: %s", what, strerror(e));
	return -e;
}

int sk_steer_attach(int netns, int tcp, int udp, int pass1, int pass2, char *err, size_t len)
{
	union bpf_attr a;
	char log[4096] = "";
	int map, prog, link, e;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_SOCKMAP;
	a.key_size = sizeof(uint32_t);
	a.value_size = sizeof(uint64_t);
	a.max_entries = 2;
	map = sys_bpf(BPF_MAP_CREATE, &a);
	if (map < 0)
		return fail(err, len, "BPF socket map", errno);

	const uint32_t keys[2] = {SLOT_TCP, SLOT_UDP};
	const uint64_t socks[2] = {(uint64_t)tcp, (uint64_t)udp};
	for (int i = 0; i < 2; i++) {
		memset(&a, 0, sizeof(a));
		a.map_fd = (uint32_t)map;
		a.key = (uint64_t)(uintptr_t)&keys[i];
		a.value = (uint64_t)(uintptr_t)&socks[i];
		a.flags = BPF_ANY;
		if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a) < 0) {
			e = errno;
			close(map);
			return fail(err, len,
			            i == 0 ? "BPF socket map, TCP" : "BPF socket map, UDP", e);
		}
	}

	struct bpf_insn code[32];
	size_t n = program(code, map, pass1, pass2);
	static const char license[] = "GPL"; /* sk_assign is a GPL-only helper */
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SK_LOOKUP;
	a.expected_attach_type = BPF_SK_LOOKUP;
	a.insns = (uint64_t)(uintptr_t)code;
	a.insn_cnt = (uint32_t)n;
	a.license = (uint64_t)(uintptr_t)license;
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	prog = sys_bpf(BPF_PROG_LOAD, &a);
	e = errno;
	close(map); /* the program holds it */
	if (prog < 0) {
		char *last = strrchr(log, '\n');
		while (last != NULL && last > log && last[1] == '\0') {
			*last = '\0';
			last = strrchr(log, '\n');
		}
		snprintf(err, len, "BPF socket lookup program: %s%s%s", strerror(e),
		         log[0] ? ": " : "", last ? last + 1 : log);
		return -e;
	}

	memset(&a, 0, sizeof(a));
	a.link_create.prog_fd = (uint32_t)prog;
	a.link_create.target_fd = (uint32_t)netns;
	a.link_create.attach_type = BPF_SK_LOOKUP;
	link = sys_bpf(BPF_LINK_CREATE, &a);
	e = errno;
	close(prog); /* the link holds it */
	if (link < 0)
		return fail(err, len, "attaching the BPF socket lookup", e);
	return link;
}

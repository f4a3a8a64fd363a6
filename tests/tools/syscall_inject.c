/*
 * syscall_inject: makes a live process make one system call of our
 * choosing, so that the integration tests (tests/integration/
 * test_privsep.py) can prove from inside a sandboxed worker or helper what
 * it cannot do. A test helper, built by meson and not installed; x86-64
 * only.
 *
 *   syscall_inject PID CALL [ARG...]
 *
 * CALL is a name from the table below or a number. Each ARG (at most six)
 * is a number (decimal, 0x hex, 0 octal, or negative), str:TEXT (TEXT and
 * a NUL, written into the process, their address passed), hex:DIGITS
 * (those bytes, written the same way: a buffer or a sockaddr) or out:N (N
 * zero bytes, written the same way and read back after the call: what
 * pipe2() or fstat() fill in).
 *
 * It seizes the process (it must run as root or hold CAP_SYS_PTRACE: the
 * sandboxed processes are not dumpable), interrupts it, saves its general
 * registers, writes the arguments' bytes below the red zone under its
 * stack pointer (memory the program does not use, left as it is) and a
 * `syscall` instruction over the two bytes at its instruction pointer,
 * single-steps it, reads the result, puts those two bytes and the
 * registers back and lets it go. Only the thread PID is stopped (the
 * processes it is for have one). It never reads or writes the FP or
 * extended register state: gdb's inferior calls fail on CPUs with AMX
 * state ("Couldn't write extended state status"), and a system call needs
 * none of it. A process stopped inside a blocking call goes back into it
 * afterwards (see inject()).
 *
 * Output on stdout, first one line:
 *   returned N          the call returned N >= 0
 *   returned -E NAME    it failed with errno E (NAME: EACCES...)
 *   killed by SIGNAME   the call killed the process (a seccomp filter's
 *                       SECCOMP_RET_KILL_PROCESS: killed by SIGSYS)
 *   exited N            it exited with status N instead of returning
 * and, after "returned", one line per out:N argument: "out K HEX", K its
 * place among the arguments (1 to 6), HEX the N bytes the call left there.
 * Exit status 0 when one of these was printed, 1 when the tool itself
 * failed (a message on stderr; the process is let go untouched if it
 * can be), 2 for a bad command line. A call that blocks blocks the tool.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "syscall_inject knows the x86-64 system call convention only"
#endif

#define MAX_ARGS 6
#define MAX_DATA 4096 /* bytes of str: and hex: arguments, all together */
#define RED_ZONE 128  /* the x86-64 ABI's, below the stack pointer */

/* The calls the tests make, by name; any other by number. */
static const struct {
	const char *name;
	long nr;
} calls[] = {
    {"read", SYS_read},       {"write", SYS_write},           {"open", SYS_open},
    {"openat", SYS_openat},   {"close", SYS_close},           {"stat", SYS_stat},
    {"fstat", SYS_fstat},     {"newfstatat", SYS_newfstatat}, {"statx", SYS_statx},
    {"ioctl", SYS_ioctl},     {"fcntl", SYS_fcntl},           {"socket", SYS_socket},
    {"connect", SYS_connect}, {"execve", SYS_execve},         {"ptrace", SYS_ptrace},
    {"kill", SYS_kill},       {"tgkill", SYS_tgkill},         {"getpid", SYS_getpid},
    {"pipe2", SYS_pipe2},
};

struct arg {
	uint64_t value;            /* the number, or the address of the bytes */
	const unsigned char *data; /* str:, hex: and out: only */
	size_t len;
	unsigned char *owned;
	bool out; /* read back after the call */
};

static int usage(void)
{
	fprintf(stderr, "usage: syscall_inject PID CALL [ARG...]\n"
	                "  CALL: a system call's name or number\n"
	                "  ARG:  a number, str:TEXT, hex:DIGITS or out:N (at most 6)\n");
	return 2;
}

static int parse_number(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	if (s[0] == '-')
		*out = (uint64_t)strtoll(s, &end, 0);
	else
		*out = (uint64_t)strtoull(s, &end, 0);
	return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

static int parse_call(const char *s, long *nr)
{
	uint64_t v;

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (strcmp(s, calls[i].name) == 0) {
			*nr = calls[i].nr;
			return 0;
		}
	if (parse_number(s, &v) < 0 || v > 1023)
		return -1;
	*nr = (long)v;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_arg(const char *s, struct arg *a)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(s, "str:", 4) == 0) {
		a->data = (const unsigned char *)s + 4;
		a->len = strlen(s + 4) + 1; /* with its NUL */
		return 0;
	}
	if (strncmp(s, "hex:", 4) == 0) {
		size_t n = strlen(s + 4);
		if (n % 2 != 0 || n == 0 || (a->owned = malloc(n / 2)) == NULL)
			return -1;
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hex_digit(s[4 + 2 * i]), lo = hex_digit(s[5 + 2 * i]);
			if (hi < 0 || lo < 0)
				return -1;
			a->owned[i] = (unsigned char)(hi << 4 | lo);
		}
		a->data = a->owned;
		a->len = n / 2;
		return 0;
	}
	if (strncmp(s, "out:", 4) == 0) {
		uint64_t n;
		if (parse_number(s + 4, &n) < 0 || n == 0 || n > MAX_DATA ||
		    (a->owned = calloc(1, (size_t)n)) == NULL)
			return -1;
		a->data = a->owned;
		a->len = (size_t)n;
		a->out = true;
		return 0;
	}
	return parse_number(s, &a->value);
}

/* Memory of the tracee, a word at a time (PTRACE_POKEDATA writes even to
 * its read-only text, as a debugger's breakpoints do). */
static int peek(pid_t pid, uint64_t addr, void *dst, size_t len)
{
	unsigned char *out = dst;

	for (size_t off = 0; off < len; off += sizeof(long)) {
		errno = 0;
		long w = ptrace(PTRACE_PEEKDATA, pid, (void *)(uintptr_t)(addr + off), NULL);
		if (w == -1 && errno != 0)
			return -errno;
		size_t n = len - off < sizeof(w) ? len - off : sizeof(w);
		memcpy(out + off, &w, n);
	}
	return 0;
}

static int poke(pid_t pid, uint64_t addr, const void *src, size_t len)
{
	const unsigned char *in = src;

	for (size_t off = 0; off < len; off += sizeof(long)) {
		long w;
		size_t n = len - off < sizeof(w) ? len - off : sizeof(w);
		if (n < sizeof(w)) { /* the tail: keep the bytes after it */
			int r = peek(pid, addr + off, &w, sizeof(w));
			if (r < 0)
				return r;
		}
		memcpy(&w, in + off, n);
		if (ptrace(PTRACE_POKEDATA, pid, (void *)(uintptr_t)(addr + off), (void *)w) < 0)
			return -errno;
	}
	return 0;
}

/* Waits for the next stop of the tracee. 1: stopped (*status); 0: it died
 * (*status says how); -errno: waitpid failed. */
static int wait_stop(pid_t pid, int *status)
{
	pid_t r;

	while ((r = waitpid(pid, status, __WALL)) < 0 && errno == EINTR)
		;
	if (r < 0)
		return -errno;
	return WIFSTOPPED(*status) ? 1 : 0;
}

static void report_death(int status)
{
	if (WIFSIGNALED(status)) {
		const char *name = sigabbrev_np(WTERMSIG(status));
		if (name != NULL)
			printf("killed by SIG%s\n", name);
		else
			printf("killed by signal %d\n", WTERMSIG(status));
	} else {
		printf("exited %d\n", WEXITSTATUS(status));
	}
}

static void report_result(uint64_t rax)
{
	long v = (long)rax;

	if (v < 0 && v >= -4095) {
		const char *name = strerrorname_np((int)-v);
		printf("returned %ld %s\n", v, name != NULL ? name : "?");
	} else {
		printf("returned %ld\n", v);
	}
}

/*
 * Runs system call nr with args in the stopped tracee whose registers are
 * `saved`. 1 and *rax when it returned; 0 and *status when the call ended
 * the process; -errno when the tool failed (then the tracee's memory and
 * registers are put back if possible). *sig: a signal that stopped it on
 * the way, to be delivered when it is let go.
 *
 * The process may be stopped inside a blocking call (poll): then rax holds
 * -ERESTART... and orig_rax that call's number, and the kernel, once the
 * tracee is resumed, would back its rip up to restart the call. The
 * injected registers carry orig_rax = -1 so that it does not; the saved
 * ones, put back at the end, let it restart the interrupted call as if
 * nothing had happened.
 */
static int inject(pid_t pid, const struct user_regs_struct *saved, long nr, struct arg *args,
                  int nargs, uint64_t *rax, int *status, int *sig)
{
	static const unsigned char syscall_insn[2] = {0x0f, 0x05};
	struct user_regs_struct regs = *saved;
	uint64_t code = saved->rip, word;
	size_t total = 0;
	int r;

	for (int i = 0; i < nargs; i++)
		if (args[i].data != NULL)
			total += (args[i].len + 15) & ~(size_t)15;
	if (total > MAX_DATA)
		return -E2BIG;
	/* The arguments' bytes below the red zone, 16-aligned. */
	uint64_t at = (saved->rsp - RED_ZONE - total) & ~(uint64_t)15;
	regs.rsp = at - RED_ZONE; /* anything pushed meanwhile goes below them */
	for (int i = 0; i < nargs; i++) {
		if (args[i].data == NULL)
			continue;
		if ((r = poke(pid, at, args[i].data, args[i].len)) < 0)
			return r;
		args[i].value = at;
		at += (args[i].len + 15) & ~(size_t)15;
	}
	unsigned long long *const reg[MAX_ARGS] = {&regs.rdi, &regs.rsi, &regs.rdx,
	                                           &regs.r10, &regs.r8,  &regs.r9};
	for (int i = 0; i < nargs; i++)
		*reg[i] = args[i].value;
	regs.rax = (uint64_t)nr;
	regs.orig_rax = (uint64_t)-1;
	regs.rip = code;

	if ((r = peek(pid, code, &word, sizeof(word))) < 0 ||
	    (r = poke(pid, code, syscall_insn, sizeof(syscall_insn))) < 0)
		return r;
	if (ptrace(PTRACE_SETREGS, pid, NULL, &regs) < 0) {
		r = -errno;
		poke(pid, code, &word, sizeof(word));
		return r;
	}
	/* Step until the instruction has run: a signal arriving first stops
	 * the tracee before it (rip unchanged); it is held back and
	 * delivered when the tracee is let go. */
	for (;;) {
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL) < 0) {
			r = -errno;
			break;
		}
		if ((r = wait_stop(pid, status)) <= 0)
			return r;
		if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) < 0) {
			r = -errno;
			break;
		}
		int s = WSTOPSIG(*status);
		if (*status >> 16 == 0 && s != SIGTRAP)
			*sig = s;
		if (regs.rip == code + sizeof(syscall_insn)) {
			*rax = regs.rax;
			r = 1;
			for (int i = 0; i < nargs && r == 1; i++)
				if (args[i].out &&
				    (r = peek(pid, args[i].value, args[i].owned, args[i].len)) == 0)
					r = 1;
			break;
		}
		if (regs.rip != code) {
			r = -EFAULT; /* not the instruction we wrote: give up */
			break;
		}
	}
	int back = poke(pid, code, &word, sizeof(word));
	if (ptrace(PTRACE_SETREGS, pid, NULL, saved) < 0 && back == 0)
		back = -errno;
	return r == 1 && back < 0 ? back : r;
}

/* Seizes pid, makes it run the call and lets it go; prints the outcome. */
static int run(pid_t pid, long nr, struct arg *args, int nargs)
{
	struct user_regs_struct saved;
	uint64_t rax = 0;
	int status = 0, sig = 0, r;

	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) {
		fprintf(stderr, "syscall_inject: seize %d: %s\n", (int)pid, strerror(errno));
		return 1;
	}
	if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0)
		r = -errno;
	else
		r = wait_stop(pid, &status);
	if (r == 1) {
		/* A signal-delivery stop rather than the interrupt's: that
		 * signal is delivered when the tracee is let go. */
		if (status >> 16 == 0)
			sig = WSTOPSIG(status);
		if (ptrace(PTRACE_GETREGS, pid, NULL, &saved) < 0)
			r = -errno;
		else
			r = inject(pid, &saved, nr, args, nargs, &rax, &status, &sig);
	}
	if (r == 0) { /* it died: nothing to put back or let go */
		report_death(status);
		return 0;
	}
	if (ptrace(PTRACE_DETACH, pid, NULL, (void *)(long)sig) < 0 && r == 1)
		r = -errno;
	if (r < 0) {
		fprintf(stderr, "syscall_inject: %d: %s\n", (int)pid, strerror(-r));
		return 1;
	}
	report_result(rax);
	for (int i = 0; i < nargs; i++) {
		if (!args[i].out)
			continue;
		printf("out %d ", i + 1);
		for (size_t j = 0; j < args[i].len; j++)
			printf("%02x", args[i].owned[j]);
		printf("\n");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct arg args[MAX_ARGS];
	uint64_t pid;
	long nr;
	int nargs = argc - 3, rc = 0;

	if (argc < 3 || nargs > MAX_ARGS || parse_number(argv[1], &pid) < 0 || pid == 0 ||
	    pid > INT32_MAX || parse_call(argv[2], &nr) < 0)
		return usage();
	memset(args, 0, sizeof(args));
	for (int i = 0; i < nargs && rc == 0; i++)
		if (parse_arg(argv[3 + i], &args[i]) < 0) {
			fprintf(stderr, "syscall_inject: bad argument %s\n", argv[3 + i]);
			rc = 2;
		}
	if (rc == 0)
		rc = run((pid_t)pid, nr, args, nargs);
	for (int i = 0; i < nargs; i++)
		free(args[i].owned);
	return rc;
}

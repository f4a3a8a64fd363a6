/*
 * fuzz_check: the harnesses' assertion. A failed CHECK traps, which
 * libFuzzer reports as a crash and keeps the input for.
 */
#ifndef HERMES_FUZZ_CHECK_H
#define HERMES_FUZZ_CHECK_H

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

#endif

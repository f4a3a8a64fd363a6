/*
 * line_input: turns what a client types into a shell into the command lines
 * the shell received, for command.input events.
 *
 * With a terminal, it follows the editing keys of bash's readline in its
 * default (emacs) mode: backspace, Ctrl-U, Ctrl-W, Ctrl-K, Ctrl-Y, cursor
 * motion (arrows, Home/End, Ctrl-A/E/B/F, Alt-B/F), deletion, Ctrl-C, and
 * history recall (Up/Down, Ctrl-P/N, Ctrl-R search, Alt-.), which it
 * resolves against the lines it saw before in the same channel, kept as
 * bash keeps them with HISTCONTROL=ignoreboth. What it cannot know - a
 * history entry older than the channel, what Tab completed, keys it does
 * not model - is flagged on the line, never guessed. Without a terminal,
 * the shell reads plain lines and so does this.
 *
 * Not a terminal emulator: input to a program other than the shell (an
 * editor, a password prompt) is cut into lines all the same. The recording
 * is the ground truth; these lines are an index into it. Pure and fuzzed:
 * every byte is the attacker's.
 */
#ifndef HERMES_LINE_INPUT_H
#define HERMES_LINE_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LINE_INPUT_MAX 16384 /* longest line kept (its event fits one IPC message) */

enum line_flag {
	LINE_RECALLED = 1 << 0,   /* history recall supplied some of the line */
	LINE_UNRESOLVED = 1 << 1, /* part of it could not be known (see above) */
	LINE_COMPLETION = 1 << 2, /* Tab was pressed: the shell may have added text */
	LINE_TRUNCATED = 1 << 3,  /* longer than LINE_INPUT_MAX */
};

/* One line the shell received: text (not NUL-terminated) and flags. */
typedef void (*line_input_cb)(void *arg, const char *text, size_t len, unsigned flags);

struct line_input;

/* editing: a terminal's input (readline rules) rather than plain lines.
 * Returns NULL when out of memory. */
struct line_input *line_input_new(bool editing, line_input_cb cb, void *arg);
/* Feeds client bytes; calls cb for each line completed. */
void line_input_feed(struct line_input *li, const uint8_t *data, size_t len);
/* The input ended: without a terminal the shell still runs an unterminated
 * last line, so it is reported; with one it was never entered. */
void line_input_finish(struct line_input *li);
void line_input_free(struct line_input *li);

#endif

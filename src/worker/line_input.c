/*
 * line_input: the shell's command lines from the keys a client typed; see
 * line_input.h. Key meanings are readline's defaults (emacs mode) as bash
 * 5 ships them, bracketed paste included.
 */
#include <stdlib.h>
#include <string.h>

#include "line_input.h"

#define HIST_MAX      64          /* entries remembered for recall */
#define HIST_BYTES    (64 * 1024) /* and their bytes in all */
#define PATTERN_MAX   256         /* a Ctrl-R search string */
#define CSI_MAX       16          /* parameter bytes of an escape sequence kept */
#define CSI_PARAM_MAX 99999       /* larger parameters count as this (no key has one) */
/* Work budget: every byte fed earns CREDIT_PER_BYTE bytes of copying or
 * scanning, so no key sequence costs more than a fixed multiple of its
 * length (long lines edited in the middle, history recall, searches). Past
 * it, edits are skipped and the line flagged. */
#define CREDIT_PER_BYTE 256
#define CREDIT_START    (1u << 20)
#define CREDIT_MAX      (8u << 20)

enum state {
	ST_TEXT,   /* ordinary keys */
	ST_ESC,    /* after ESC */
	ST_CSI,    /* inside ESC [ ... */
	ST_SS3,    /* after ESC O */
	ST_QUOTED, /* after Ctrl-V: the next byte is text */
	ST_PREFIX, /* after Ctrl-X or Ctrl-]: the next byte is an argument we do not model */
};

struct text {
	char *p;
	size_t len, cap;
};

struct entry {
	char *p;
	size_t len;
	unsigned flags;
};

struct line_input {
	bool editing;
	line_input_cb cb;
	void *arg;

	struct text line;
	size_t cur;
	unsigned flags;

	struct text kill;
	bool killed; /* the previous key killed text: the next kill adds to it */

	/* History: hist[0] is the oldest known entry. view is the entry shown,
	 * hist_n for the new line, negative above the oldest we know. */
	struct entry hist[HIST_MAX];
	size_t hist_n, hist_bytes;
	long view;
	struct text saved; /* the new line, while an entry is shown */
	size_t saved_cur;
	unsigned saved_flags;

	/* Ctrl-R: the pattern, the entry matched (hist_n: none yet), and the
	 * line as it was when the search began. */
	bool searching;
	struct text pattern;
	size_t match;
	struct text before;
	size_t before_cur;
	unsigned before_flags;

	enum state st;
	char csi[CSI_MAX];
	size_t csi_len;
	bool csi_long;
	bool paste; /* inside a bracketed paste */
	size_t credit;
};

/* ---- growable text, bounded by LINE_INPUT_MAX ---- */

/* Makes room for n more bytes; returns how many fit. */
static size_t text_room(struct text *t, size_t n)
{
	if (n > LINE_INPUT_MAX - t->len)
		n = LINE_INPUT_MAX - t->len;
	if (t->len + n > t->cap) {
		size_t cap = t->cap ? t->cap : 64;
		while (cap < t->len + n)
			cap *= 2;
		if (cap > LINE_INPUT_MAX)
			cap = LINE_INPUT_MAX;
		char *p = realloc(t->p, cap);
		if (p == NULL)
			return t->cap - t->len;
		t->p = p;
		t->cap = cap;
	}
	return n;
}

/* Inserts at `at`; returns how many bytes went in. */
static size_t text_insert(struct text *t, size_t at, const char *s, size_t n)
{
	size_t fit = text_room(t, n);

	if (fit == 0)
		return 0;
	memmove(t->p + at + fit, t->p + at, t->len - at);
	memcpy(t->p + at, s, fit);
	t->len += fit;
	return fit;
}

static void text_erase(struct text *t, size_t from, size_t to)
{
	if (from >= to)
		return;
	memmove(t->p + from, t->p + to, t->len - to);
	t->len -= to - from;
}

static void text_set(struct text *t, const char *s, size_t n)
{
	t->len = 0;
	text_insert(t, 0, s, n);
}

static void text_free(struct text *t)
{
	free(t->p);
	memset(t, 0, sizeof(*t));
}

/* Pays for cost bytes of work on the line, or flags it when the budget is
 * spent (see CREDIT_PER_BYTE). */
static bool afford(struct line_input *li, size_t cost)
{
	if (cost > li->credit) {
		li->flags |= LINE_UNRESOLVED;
		return false;
	}
	li->credit -= cost;
	return true;
}

/* ---- positions: code points and words ---- */

static bool is_cont(char c)
{
	return ((unsigned char)c & 0xc0) == 0x80;
}

static size_t prev_char(const struct text *t, size_t at)
{
	if (at == 0)
		return 0;
	at--;
	while (at > 0 && is_cont(t->p[at]))
		at--;
	return at;
}

static size_t next_char(const struct text *t, size_t at)
{
	if (at >= t->len)
		return t->len;
	at++;
	while (at < t->len && is_cont(t->p[at]))
		at++;
	return at;
}

/* readline's words: letters and digits (any non-ASCII byte counts as one). */
static bool is_word(char c)
{
	unsigned char u = (unsigned char)c;
	return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
	       u >= 0x80;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

static size_t word_back(const struct text *t, size_t at)
{
	while (at > 0 && !is_word(t->p[at - 1]))
		at--;
	while (at > 0 && is_word(t->p[at - 1]))
		at--;
	return at;
}

static size_t word_forward(const struct text *t, size_t at)
{
	while (at < t->len && !is_word(t->p[at]))
		at++;
	while (at < t->len && is_word(t->p[at]))
		at++;
	return at;
}

/* Ctrl-W's words end at white space. */
static size_t space_word_back(const struct text *t, size_t at)
{
	while (at > 0 && is_space(t->p[at - 1]))
		at--;
	while (at > 0 && !is_space(t->p[at - 1]))
		at--;
	return at;
}

/* ---- editing ---- */

static void insert(struct line_input *li, const char *s, size_t n)
{
	if (n == 0 || !afford(li, li->line.len - li->cur + n))
		return;
	size_t in = text_insert(&li->line, li->cur, s, n);

	li->cur += in;
	if (in < n)
		li->flags |= LINE_TRUNCATED;
}

/* Deletes [from, to) from the line; kill: into the kill buffer, after or
 * before what the previous kill put there. */
static void cut(struct line_input *li, size_t from, size_t to, bool kill)
{
	if (from >= to || !afford(li, li->line.len - from + (kill ? li->kill.len : 0)))
		return;
	if (kill) {
		if (!li->killed)
			li->kill.len = 0;
		if (to <= li->cur) /* a backward kill goes in front */
			text_insert(&li->kill, 0, li->line.p + from, to - from);
		else
			text_insert(&li->kill, li->kill.len, li->line.p + from, to - from);
	}
	text_erase(&li->line, from, to);
	if (li->cur >= to)
		li->cur -= to - from;
	else if (li->cur > from)
		li->cur = from;
}

/* Replaces the line, cursor at its end; false (nothing changed) when the
 * work budget is spent. */
static bool set_line(struct line_input *li, const char *s, size_t n, unsigned flags)
{
	if (!afford(li, n))
		return false;
	text_set(&li->line, s, n);
	li->cur = li->line.len;
	li->flags = flags;
	if (li->line.len < n)
		li->flags |= LINE_TRUNCATED;
	return true;
}

static void transpose(struct line_input *li)
{
	struct text *t = &li->line;
	size_t at = li->cur;

	if (t->len < 2 || at == 0)
		return;
	if (at == t->len)
		at--;
	if (is_cont(t->p[at]) || (unsigned char)t->p[at] >= 0x80 ||
	    (unsigned char)t->p[at - 1] >= 0x80) {
		li->flags |= LINE_UNRESOLVED; /* multi-byte characters: not modelled */
		return;
	}
	char c = t->p[at - 1];
	t->p[at - 1] = t->p[at];
	t->p[at] = c;
	li->cur = at + 1;
}

/* ---- history ---- */

static void hist_drop_oldest(struct line_input *li)
{
	li->hist_bytes -= li->hist[0].len;
	free(li->hist[0].p);
	memmove(&li->hist[0], &li->hist[1], (li->hist_n - 1) * sizeof(li->hist[0]));
	li->hist_n--;
}

/* As bash with HISTCONTROL=ignoreboth (Debian's and Ubuntu's default
 * .bashrc): not lines starting with a space, nor a repeat of the last. */
static void hist_add(struct line_input *li, const char *s, size_t n, unsigned flags)
{
	struct entry e = {NULL, 0, flags & (LINE_UNRESOLVED | LINE_COMPLETION | LINE_TRUNCATED)};

	if (n > 0 && s[0] == ' ')
		return;
	if (n > 0 && li->hist_n > 0) {
		const struct entry *last = &li->hist[li->hist_n - 1];
		if (last->len == n && memcmp(last->p, s, n) == 0 && last->flags == e.flags)
			return;
	}
	if (n == 0) {
		/* An entry we could not see (flagged so): recalling it is as blind. */
	} else if (n <= HIST_BYTES && afford(li, n) && (e.p = malloc(n)) != NULL) {
		memcpy(e.p, s, n);
		e.len = n;
	} else {
		e.flags |= LINE_UNRESOLVED; /* kept as a placeholder, so recall counts right */
	}
	while (li->hist_n > 0 && (li->hist_n == HIST_MAX || li->hist_bytes + e.len > HIST_BYTES))
		hist_drop_oldest(li);
	li->hist[li->hist_n++] = e;
	li->hist_bytes += e.len;
}

/* Shows history position v (see struct line_input). */
static void show(struct line_input *li, long v)
{
	if (li->view == (long)li->hist_n) { /* leaving the new line: keep it */
		if (!afford(li, li->line.len))
			return;
		text_set(&li->saved, li->line.p, li->line.len);
		li->saved_cur = li->cur;
		li->saved_flags = li->flags;
	}
	li->view = v;
	if (v == (long)li->hist_n) {
		if (!afford(li, li->saved.len))
			return;
		text_set(&li->line, li->saved.p, li->saved.len);
		li->cur = li->saved_cur;
		li->flags = li->saved_flags;
	} else if (v >= 0) {
		const struct entry *e = &li->hist[v];
		set_line(li, e->p, e->len, e->flags | LINE_RECALLED);
	} else {
		/* An entry older than this channel, or none at all and bash kept
		 * the line: either way the text shown may not be what we have. */
		li->flags |= LINE_RECALLED | LINE_UNRESOLVED;
	}
}

static void history_prev(struct line_input *li)
{
	if (li->view > -1000000)
		show(li, li->view - 1);
}

static void history_next(struct line_input *li)
{
	if (li->view < (long)li->hist_n)
		show(li, li->view + 1);
}

/* Alt-.: the last word of the previous line. */
static void yank_last_arg(struct line_input *li)
{
	if (li->hist_n == 0) {
		li->flags |= LINE_RECALLED | LINE_UNRESOLVED;
		return;
	}
	const struct entry *e = &li->hist[li->hist_n - 1];
	size_t end = e->len, start;
	if (e->p == NULL) { /* a placeholder: its words are unknown */
		li->flags |= LINE_RECALLED | LINE_UNRESOLVED;
		return;
	}
	if (!afford(li, e->len))
		return;
	while (end > 0 && is_space(e->p[end - 1]))
		end--;
	start = end;
	while (start > 0 && !is_space(e->p[start - 1]))
		start--;
	insert(li, e->p + start, end - start);
	li->flags |= LINE_RECALLED | (e->flags & LINE_UNRESOLVED);
}

/* ---- Ctrl-R ---- */

static bool contains(const struct entry *e, const struct text *pat)
{
	if (pat->len == 0)
		return true;
	return e->p != NULL && memmem(e->p, e->len, pat->p, pat->len) != NULL;
}

/* Looks for the pattern from entry `from` down; shows what it finds, or
 * flags the line: bash may find it in history older than ours. */
static void search_from(struct line_input *li, size_t from)
{
	for (size_t i = from; i-- > 0;) {
		if (!afford(li, li->hist[i].len + li->pattern.len)) {
			li->flags |= LINE_RECALLED;
			return;
		}
		if (contains(&li->hist[i], &li->pattern)) {
			li->match = i;
			set_line(li, li->hist[i].p, li->hist[i].len,
			         li->hist[i].flags | LINE_RECALLED);
			return;
		}
	}
	if (li->pattern.len > 0)
		li->flags |= LINE_RECALLED | LINE_UNRESOLVED;
}

static void search_start(struct line_input *li)
{
	if (!afford(li, li->line.len))
		return;
	li->searching = true;
	li->pattern.len = 0;
	li->match = li->hist_n;
	text_set(&li->before, li->line.p, li->line.len);
	li->before_cur = li->cur;
	li->before_flags = li->flags;
}

static void search_end(struct line_input *li, bool restore)
{
	li->searching = false;
	if (restore && afford(li, li->before.len)) {
		text_set(&li->line, li->before.p, li->before.len);
		li->cur = li->before_cur;
		li->flags = li->before_flags;
	}
	li->view =
	    (long)li->hist_n; /* bash leaves the history position at the match; rarely matters */
}

/* A byte while searching; returns true when it was taken, false when it
 * ended the search and must be handled as an ordinary key. */
static bool search_key(struct line_input *li, unsigned char c)
{
	if (c == 0x12) { /* Ctrl-R again: an older match */
		search_from(li, li->match < li->hist_n ? li->match : li->hist_n);
		return true;
	}
	if (c == 0x07) { /* Ctrl-G: abort */
		search_end(li, true);
		return true;
	}
	if (c == 0x7f || c == 0x08) {
		if (li->pattern.len > 0) {
			li->pattern.len = prev_char(&li->pattern, li->pattern.len);
			if (set_line(li, li->before.p, li->before.len, li->before_flags))
				li->cur = li->before_cur;
			li->match = li->hist_n;
			search_from(li, li->hist_n);
		}
		return true;
	}
	if (c >= 0x20 || c == '\t') {
		char ch = (char)c;
		if (li->pattern.len < PATTERN_MAX)
			text_insert(&li->pattern, li->pattern.len, &ch, 1);
		search_from(li, li->match < li->hist_n ? li->match + 1 : li->hist_n);
		return true;
	}
	/* Any other key ends the search and then acts on the line found (an
	 * arrow key's ESC starts its sequence as usual). */
	search_end(li, false);
	return false;
}

/* ---- lines ---- */

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_space(s[i]) && s[i] != '\r')
			return false;
	return true;
}

static void reset_line(struct line_input *li)
{
	li->line.len = 0;
	li->cur = 0;
	li->flags = 0;
	li->view = (long)li->hist_n;
	li->saved.len = 0;
	li->saved_flags = 0;
	li->saved_cur = 0;
}

static void accept(struct line_input *li)
{
	/* A blank line runs nothing, unless it stands for a history entry we
	 * could not see: then the shell ran something, and the event says so. */
	bool unknown =
	    (li->flags & (LINE_RECALLED | LINE_UNRESOLVED)) == (LINE_RECALLED | LINE_UNRESOLVED);
	if (!blank(li->line.p, li->line.len) || (li->editing && unknown)) {
		li->cb(li->arg, li->line.len > 0 ? li->line.p : "", li->line.len, li->flags);
		if (li->editing)
			hist_add(li, li->line.p, li->line.len, li->flags);
	}
	reset_line(li);
}

/* ---- keys ---- */

/* The decimal parameter at *i, saturated at CSI_PARAM_MAX: the attacker's
 * sixteen digits must neither overflow nor wrap round to a number that means
 * something (200, the start of a paste, say). */
static int csi_param(const struct line_input *li, size_t *i)
{
	int v = 0;

	for (; *i < li->csi_len && li->csi[*i] >= '0' && li->csi[*i] <= '9'; (*i)++) {
		if (v < CSI_PARAM_MAX)
			v = v * 10 + (li->csi[*i] - '0');
		if (v > CSI_PARAM_MAX)
			v = CSI_PARAM_MAX;
	}
	return v;
}

static void csi_key(struct line_input *li, char final)
{
	int p1, p2 = 0;
	size_t i = 0;

	if (li->csi_long)
		return;
	p1 = csi_param(li, &i);
	if (i < li->csi_len && li->csi[i] == ';') {
		i++;
		p2 = csi_param(li, &i);
	}
	if (li->paste && !(final == '~' && p1 == 201))
		return; /* inside a paste, key sequences are bash's text; dropped here */
	bool word = p2 == 3 || p2 == 5; /* Alt or Ctrl with the arrow */
	switch (final) {
	case 'A':
		history_prev(li);
		break;
	case 'B':
		history_next(li);
		break;
	case 'C':
		li->cur = word ? word_forward(&li->line, li->cur) : next_char(&li->line, li->cur);
		break;
	case 'D':
		li->cur = word ? word_back(&li->line, li->cur) : prev_char(&li->line, li->cur);
		break;
	case 'H':
		li->cur = 0;
		break;
	case 'F':
		li->cur = li->line.len;
		break;
	case '~':
		if (p1 == 1 || p1 == 7)
			li->cur = 0;
		else if (p1 == 4 || p1 == 8)
			li->cur = li->line.len;
		else if (p1 == 3)
			cut(li, li->cur, next_char(&li->line, li->cur), false);
		else if (p1 == 200)
			li->paste = true;
		else if (p1 == 201)
			li->paste = false;
		break;
	default:
		break; /* function keys, focus and cursor reports: no editing */
	}
}

static void esc_key(struct line_input *li, unsigned char c)
{
	switch (c) {
	case 'b':
	case 'B':
		li->cur = word_back(&li->line, li->cur);
		break;
	case 'f':
	case 'F':
		li->cur = word_forward(&li->line, li->cur);
		break;
	case 'd':
	case 'D':
		cut(li, li->cur, word_forward(&li->line, li->cur), true);
		break;
	case 0x7f:
	case 0x08:
		cut(li, word_back(&li->line, li->cur), li->cur, true);
		break;
	case '.':
	case '_':
		yank_last_arg(li);
		break;
	case '>':
		show(li, (long)li->hist_n);
		break;
	case '<':
		show(li, li->hist_n > 0 ? 0 : -1);
		li->flags |= LINE_UNRESOLVED; /* the oldest entry bash has may be older */
		break;
	case 0x1b:
	case '\t':
		li->flags |= LINE_COMPLETION;
		break;
	case '#': /* insert-comment: the line is entered as a comment */
		li->cur = 0;
		insert(li, "#", 1);
		accept(li);
		break;
	default:
		/* Case changes, word transposition, numeric arguments, yank-pop...:
		 * not modelled, so the line may differ from what we hold. */
		li->flags |= LINE_UNRESOLVED;
		break;
	}
}

static void control_key(struct line_input *li, unsigned char c)
{
	bool kill = false;

	switch (c) {
	case '\r':
	case '\n':
		accept(li);
		break;
	case 0x01: /* Ctrl-A */
		li->cur = 0;
		break;
	case 0x02: /* Ctrl-B */
		li->cur = prev_char(&li->line, li->cur);
		break;
	case 0x03: /* Ctrl-C: the line is abandoned */
		reset_line(li);
		break;
	case 0x04: /* Ctrl-D: end of input on an empty line, else delete */
		if (li->line.len == 0)
			reset_line(li);
		else
			cut(li, li->cur, next_char(&li->line, li->cur), false);
		break;
	case 0x05: /* Ctrl-E */
		li->cur = li->line.len;
		break;
	case 0x06: /* Ctrl-F */
		li->cur = next_char(&li->line, li->cur);
		break;
	case 0x08: /* Ctrl-H */
	case 0x7f: /* DEL: the backspace key */
		cut(li, prev_char(&li->line, li->cur), li->cur, false);
		break;
	case '\t':
		li->flags |= LINE_COMPLETION;
		break;
	case 0x0b: /* Ctrl-K */
		cut(li, li->cur, li->line.len, true);
		kill = true;
		break;
	case 0x0e: /* Ctrl-N */
		history_next(li);
		break;
	case 0x0f: /* Ctrl-O: operate-and-get-next */
		accept(li);
		break;
	case 0x10: /* Ctrl-P */
		history_prev(li);
		break;
	case 0x12: /* Ctrl-R */
		search_start(li);
		break;
	case 0x14: /* Ctrl-T */
		transpose(li);
		break;
	case 0x15: /* Ctrl-U */
		cut(li, 0, li->cur, true);
		kill = true;
		break;
	case 0x16: /* Ctrl-V */
		li->st = ST_QUOTED;
		break;
	case 0x17: /* Ctrl-W */
		cut(li, space_word_back(&li->line, li->cur), li->cur, true);
		kill = true;
		break;
	case 0x18: /* Ctrl-X prefix */
	case 0x1d: /* Ctrl-]: character search */
		li->st = ST_PREFIX;
		li->flags |= LINE_UNRESOLVED;
		break;
	case 0x19: /* Ctrl-Y */
		insert(li, li->kill.p, li->kill.len);
		break;
	case 0x1b:
		li->st = ST_ESC;
		break;
	case 0x1f: /* Ctrl-_: undo */
		li->flags |= LINE_UNRESOLVED;
		break;
	default:
		break; /* Ctrl-L, Ctrl-G, flow control, signals: the line stays */
	}
	li->killed = kill;
}

static void edit_byte(struct line_input *li, unsigned char c)
{
	switch (li->st) {
	case ST_ESC:
		li->st = ST_TEXT;
		if (c == '[') {
			li->st = ST_CSI;
			li->csi_len = 0;
			li->csi_long = false;
		} else if (c == 'O') {
			li->st = ST_SS3;
		} else if (!li->paste) {
			bool kill = c == 'd' || c == 'D' || c == 0x7f || c == 0x08;
			esc_key(li, c);
			li->killed = kill;
			return;
		}
		li->killed = false;
		return;
	case ST_CSI:
		if (c >= 0x40 && c <= 0x7e) {
			li->st = ST_TEXT;
			li->killed = false;
			csi_key(li, (char)c);
		} else if (c < 0x20 || c > 0x7e) {
			li->st = ST_TEXT; /* not a sequence after all */
		} else if (li->csi_len < CSI_MAX) {
			li->csi[li->csi_len++] = (char)c;
		} else {
			li->csi_long = true;
		}
		return;
	case ST_SS3:
		li->st = ST_TEXT;
		li->csi_len = 0;
		li->csi_long = false;
		if (!li->paste)
			csi_key(li, (char)c);
		return;
	case ST_QUOTED: {
		char ch = (char)c;
		li->st = ST_TEXT;
		li->killed = false;
		insert(li, &ch, 1);
		return;
	}
	case ST_PREFIX:
		li->st = ST_TEXT;
		return;
	case ST_TEXT:
		break;
	}
	if (li->searching && search_key(li, c))
		return;
	if (li->paste && c != 0x1b) {
		/* Pasted text goes in as it is, line breaks too (as \n). */
		char ch = c == '\r' ? '\n' : (char)c;
		insert(li, &ch, 1);
		return;
	}
	if (c < 0x20 || c == 0x7f) {
		control_key(li, c);
		return;
	}
	char ch = (char)c;
	insert(li, &ch, 1);
	li->killed = false;
}

/* ---- interface ---- */

struct line_input *line_input_new(bool editing, line_input_cb cb, void *arg)
{
	struct line_input *li = calloc(1, sizeof(*li));

	if (li == NULL)
		return NULL;
	li->editing = editing;
	li->cb = cb;
	li->arg = arg;
	li->credit = CREDIT_START;
	return li;
}

void line_input_feed(struct line_input *li, const uint8_t *data, size_t len)
{
	if (li == NULL)
		return;
	li->credit += len < (CREDIT_MAX - li->credit) / CREDIT_PER_BYTE ? len * CREDIT_PER_BYTE
	                                                                : CREDIT_MAX - li->credit;
	if (li->editing) {
		for (size_t i = 0; i < len; i++)
			edit_byte(li, data[i]);
		return;
	}
	/* Plain lines: the shell reads bytes as they are. */
	while (len > 0) {
		const uint8_t *nl = memchr(data, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - data) : len;
		insert(li, (const char *)data, n);
		if (nl == NULL)
			break;
		accept(li);
		data += n + 1;
		len -= n + 1;
	}
}

void line_input_finish(struct line_input *li)
{
	if (li == NULL)
		return;
	if (!li->editing)
		accept(li);
	reset_line(li);
}

void line_input_free(struct line_input *li)
{
	if (li == NULL)
		return;
	for (size_t i = 0; i < li->hist_n; i++)
		free(li->hist[i].p);
	text_free(&li->line);
	text_free(&li->kill);
	text_free(&li->saved);
	text_free(&li->pattern);
	text_free(&li->before);
	free(li);
}

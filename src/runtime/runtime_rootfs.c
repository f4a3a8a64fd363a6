/* The box's overlay root mounted again under short names (see
 * runtime_rootfs.h). */
#include "runtime_rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define MOUNTINFO_MAX ((size_t)4 << 20)

static char *absolute(const char *path, size_t len, const char *home)
{
	char *p;

	if (len == 0 || memchr(path, '\\', len) != NULL)
		return NULL;
	if (path[0] == '/')
		return strndup(path, len);
	if (home == NULL || home[0] != '/')
		return NULL;
	if (asprintf(&p, "%s/%.*s", home, (int)len, path) < 0)
		return NULL;
	return p;
}

static int parse_lower(const char *v, size_t len, const char *home, struct runtime_overlay *o)
{
	const char *end = v + len;

	while (v <= end) {
		const char *colon = memchr(v, ':', (size_t)(end - v));
		size_t n = colon != NULL ? (size_t)(colon - v) : (size_t)(end - v);

		if (o->nlower == RUNTIME_OVERLAY_LAYERS_MAX)
			return -1;
		/* "::" (data-only layers) gives an empty name: not Docker's. */
		if ((o->lower[o->nlower] = absolute(v, n, home)) == NULL)
			return -1;
		o->nlower++;
		if (colon == NULL)
			break;
		v = colon + 1;
	}
	return 0;
}

static int add_other(struct runtime_overlay *o, const char *opt, size_t len)
{
	size_t have = strlen(o->other);
	char *p = realloc(o->other, have + len + 2);

	if (p == NULL)
		return -1;
	if (have > 0)
		p[have++] = ',';
	memcpy(p + have, opt, len);
	p[have + len] = '\0';
	o->other = p;
	return 0;
}

static int is_opt(const char *opt, size_t len, const char *name)
{
	size_t n = strlen(name);
	return len > n && memcmp(opt, name, n) == 0 && opt[n] == '=';
}

int runtime_overlay_parse(const char *opts, const char *home, struct runtime_overlay *o)
{
	const char *p = opts;

	memset(o, 0, sizeof(*o));
	if (strlen(opts) > RUNTIME_OVERLAY_OPTS_MAX || (o->other = strdup("")) == NULL)
		goto bad;
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		char **one = NULL;
		size_t skip = 0;

		if (is_opt(p, len, "lowerdir")) {
			if (o->nlower > 0 || parse_lower(p + 9, len - 9, home, o) < 0)
				goto bad;
		} else if (is_opt(p, len, "upperdir")) {
			one = &o->upper;
			skip = 9;
		} else if (is_opt(p, len, "workdir")) {
			one = &o->work;
			skip = 8;
		} else if (len == 2 && (memcmp(p, "ro", 2) == 0 || memcmp(p, "rw", 2) == 0)) {
			o->read_only = p[1] == 'o';
		} else if (len > 0) {
			if (memchr(p, '\\', len) != NULL || add_other(o, p, len) < 0)
				goto bad;
		}
		if (one != NULL &&
		    (*one != NULL || (*one = absolute(p + skip, len - skip, home)) == NULL))
			goto bad;
		p += len;
		if (*p == ',')
			p++;
	}
	if (o->nlower == 0 || o->upper == NULL || o->work == NULL)
		goto bad;
	return 0;
bad:
	runtime_overlay_free(o);
	return -1;
}

void runtime_overlay_free(struct runtime_overlay *o)
{
	for (size_t i = 0; i < o->nlower; i++)
		free(o->lower[i]);
	free(o->upper);
	free(o->work);
	free(o->other);
	memset(o, 0, sizeof(*o));
}

void runtime_overlay_link_name(size_t i, char *out, size_t cap)
{
	if (i == 0)
		snprintf(out, cap, "lower");
	else
		snprintf(out, cap, "lower%zu", i);
}

int runtime_overlay_options(const struct runtime_overlay *o, char *out, size_t cap)
{
	size_t at = 0;
	int n;

#define PUT(...)                                                                                   \
	do {                                                                                       \
		n = snprintf(out + at, cap - at, __VA_ARGS__);                                     \
		if (n < 0 || (size_t)n >= cap - at)                                                \
			return -1;                                                                 \
		at += (size_t)n;                                                                   \
	} while (0)

	if (cap == 0 || o->nlower == 0)
		return -1;
	out[0] = '\0';
	PUT("lowerdir=");
	for (size_t i = 0; i < o->nlower; i++) {
		char name[32];
		runtime_overlay_link_name(i, name, sizeof(name));
		PUT("%s%s", i > 0 ? ":" : "", name);
	}
	PUT(",upperdir=upper,workdir=work");
	if (o->other != NULL && o->other[0] != '\0')
		PUT(",%s", o->other);
#undef PUT
	return (int)at;
}

/* The n-th space-separated field of line (0-based), its length in *len. */
static const char *field(const char *line, const char *end, int n, size_t *len)
{
	const char *p = line;

	for (;;) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *stop = sp != NULL ? sp : end;
		if (n-- == 0) {
			*len = (size_t)(stop - p);
			return p;
		}
		if (sp == NULL)
			return NULL;
		p = sp + 1;
	}
}

/* mountinfo's mount point, unescaped (\ooo), equals path. */
static int same_path(const char *f, size_t len, const char *path)
{
	size_t i = 0;

	while (i < len) {
		char c = f[i];
		if (c == '\\' && i + 3 < len && f[i + 1] >= '0' && f[i + 1] <= '3' &&
		    f[i + 2] >= '0' && f[i + 2] <= '7' && f[i + 3] >= '0' && f[i + 3] <= '7') {
			c = (char)((f[i + 1] - '0') * 64 + (f[i + 2] - '0') * 8 + (f[i + 3] - '0'));
			i += 4;
		} else {
			i++;
		}
		if (*path++ != c)
			return 0;
	}
	return *path == '\0';
}

static int copy_out(const char *f, size_t len, char *out, size_t cap)
{
	if (len >= cap)
		return -1;
	memcpy(out, f, len);
	out[len] = '\0';
	return 0;
}

int runtime_mountinfo_find(const char *mountinfo, const char *path, char *fstype, size_t fstype_cap,
                           char *opts, size_t opts_cap)
{
	const char *line = mountinfo, *found = NULL, *found_end = NULL;

	while (*line != '\0') {
		const char *end = strchr(line, '\n');
		const char *f;
		size_t len;

		if (end == NULL)
			end = line + strlen(line);
		if ((f = field(line, end, 4, &len)) != NULL && same_path(f, len, path)) {
			found = line;
			found_end = end;
		}
		line = *end == '\n' ? end + 1 : end;
	}
	if (found == NULL)
		return -1;
	/* After the optional fields, " - " then type, source, super options. */
	for (const char *p = found; p + 3 <= found_end; p++) {
		if (memcmp(p, " - ", 3) != 0)
			continue;
		const char *rest = p + 3, *t, *o;
		size_t tlen, olen;
		if ((t = field(rest, found_end, 0, &tlen)) == NULL ||
		    (o = field(rest, found_end, 2, &olen)) == NULL)
			return -1;
		if (memchr(o, ' ', olen) != NULL)
			return -1;
		if (copy_out(t, tlen, fstype, fstype_cap) < 0 ||
		    copy_out(o, olen, opts, opts_cap) < 0)
			return -1;
		return 0;
	}
	return -1;
}

static char *read_mountinfo(void)
{
	int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	size_t cap = 65536, len = 0;
	char *buf = NULL;

	if (fd < 0)
		return NULL;
	for (;;) {
		char *p;
		ssize_t n;

		if (len + 1 >= cap && (cap *= 2) > MOUNTINFO_MAX)
			break;
		if ((p = realloc(buf, cap)) == NULL)
			break;
		buf = p;
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0) {
				buf[len] = '\0';
				close(fd);
				return buf;
			}
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	free(buf);
	return NULL;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void remove_links(const char *dir)
{
	char link[4200 + 40];
	static const char *const fixed[] = {"upper", "work"};

	for (size_t i = 0; i < RUNTIME_OVERLAY_LAYERS_MAX; i++) {
		char name[32];
		runtime_overlay_link_name(i, name, sizeof(name));
		snprintf(link, sizeof(link), "%s/%s", dir, name);
		if (unlink(link) < 0 && errno == ENOENT)
			break;
	}
	for (size_t i = 0; i < 2; i++) {
		snprintf(link, sizeof(link), "%s/%s", dir, fixed[i]);
		unlink(link);
	}
	rmdir(dir);
}

/* The directory of links, made in workdir: its path in dir. Nothing of it
 * is left when it cannot be made whole. */
static int make_links(const struct runtime_overlay *o, const char *workdir, char *dir, size_t cap)
{
	char link[4200 + 40];

	if ((size_t)snprintf(dir, cap, "%s/.hermes-rootfs.XXXXXX", workdir) >= cap ||
	    mkdtemp(dir) == NULL)
		return -errno;
	for (size_t i = 0; i < o->nlower + 2; i++) {
		char name[32];
		const char *to = i < o->nlower ? o->lower[i] : i == o->nlower ? o->upper : o->work;
		if (i < o->nlower)
			runtime_overlay_link_name(i, name, sizeof(name));
		else
			snprintf(name, sizeof(name), "%s", i == o->nlower ? "upper" : "work");
		snprintf(link, sizeof(link), "%s/%s", dir, name);
		if (symlink(to, link) < 0) {
			int e = errno;
			remove_links(dir);
			return -e;
		}
	}
	return 0;
}

/* mount(2) from directory `from` (relative names resolve there). */
static int mount_from(const char *from, const char *root, unsigned long flags, const char *opts)
{
	int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (cwd < 0)
		return -errno;
	if (chdir(from) < 0 || mount("overlay", root, "overlay", flags, opts) < 0)
		r = -errno;
	if (fchdir(cwd) < 0 && r == 0)
		r = -errno;
	close(cwd);
	return r;
}

int runtime_rootfs_rename(const char *root, const char *workdir)
{
	char fstype[64], dir[4200], *opts = NULL, *mi = NULL, *home = NULL, *slash, *fresh = NULL;
	struct runtime_overlay o;
	unsigned long flags;
	int r = 0, parsed = 0;

	if (root == NULL || root[0] != '/' || (mi = read_mountinfo()) == NULL)
		return root == NULL || root[0] != '/' ? 0 : -EIO;
	if ((opts = malloc(RUNTIME_OVERLAY_OPTS_MAX + 1)) == NULL ||
	    (fresh = malloc(RUNTIME_OVERLAY_OPTS_MAX + 1)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (runtime_mountinfo_find(mi, root, fstype, sizeof(fstype), opts,
	                           RUNTIME_OVERLAY_OPTS_MAX + 1) < 0 ||
	    strcmp(fstype, "overlay") != 0)
		goto out; /* not mounted here, or not an overlay: nothing to rename */
	/* Docker's store: ROOT is STORE/ID/merged, its relative names are STORE's. */
	if ((home = strdup(root)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (int up = 0; up < 2; up++)
		if ((slash = strrchr(home, '/')) != NULL && slash != home)
			*slash = '\0';
	if (runtime_overlay_parse(opts, home, &o) < 0)
		goto out; /* names Hermes cannot read back: left as they are */
	parsed = 1;
	for (size_t i = 0; i < o.nlower; i++)
		if (!is_dir(o.lower[i]))
			goto out;
	if (!is_dir(o.upper) || !is_dir(o.work) ||
	    runtime_overlay_options(&o, fresh, RUNTIME_OVERLAY_OPTS_MAX + 1) < 0)
		goto out;
	flags = o.read_only ? MS_RDONLY : 0;
	if ((r = make_links(&o, workdir, dir, sizeof(dir))) < 0)
		goto out;
	if (umount2(root, UMOUNT_NOFOLLOW) < 0) {
		r = -errno; /* in use: Docker's mount stays */
	} else if ((r = mount_from(dir, root, flags, fresh)) < 0) {
		/* As Docker had it: its absolute names (or its relative
		 * ones, from its store). */
		int again = mount_from(home, root, flags, opts);
		if (again < 0)
			fprintf(stderr,
			        "hermes-runtime: %s: could not be mounted again as it was: %s\n",
			        root, strerror(-again));
	} else {
		r = 1;
	}
	remove_links(dir);
out:
	if (parsed)
		runtime_overlay_free(&o);
	free(home);
	free(fresh);
	free(opts);
	free(mi);
	return r;
}

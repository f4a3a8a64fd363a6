/* Unit tests for runtime_rootfs: Docker's overlay options read back, the
 * short names they are mounted with again, and the mount found in a
 * mountinfo text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime_rootfs.h"

#define STORE "/var/lib/docker/overlay2"
#define ID    "979cded5b831b03e5b2fa0eed31d556497d9cae6e0312ada4475475a8bb9b1ff"

/* As dockerd 20.10 mounted a box on these hosts. */
static const char docker_opts[] =
    "rw,lowerdir=" STORE "/l/KTHF2TZWFUXCFNSZQIUHVIB3FY:" STORE
    "/l/HWZEPHWXY3UQWTB527LF5VS4PN,upperdir=" STORE "/" ID "/diff,workdir=" STORE "/" ID "/work";

static void test_docker_absolute(void **state)
{
	struct runtime_overlay o;
	char out[512];

	(void)state;
	assert_int_equal(runtime_overlay_parse(docker_opts, STORE, &o), 0);
	assert_int_equal(o.nlower, 2);
	assert_string_equal(o.lower[0], STORE "/l/KTHF2TZWFUXCFNSZQIUHVIB3FY");
	assert_string_equal(o.lower[1], STORE "/l/HWZEPHWXY3UQWTB527LF5VS4PN");
	assert_string_equal(o.upper, STORE "/" ID "/diff");
	assert_string_equal(o.work, STORE "/" ID "/work");
	assert_string_equal(o.other, "");
	assert_int_equal(o.read_only, 0);
	assert_int_equal(runtime_overlay_options(&o, out, sizeof(out)),
	                 (int)strlen("lowerdir=lower:lower1,upperdir=upper,workdir=work"));
	assert_string_equal(out, "lowerdir=lower:lower1,upperdir=upper,workdir=work");
	/* Nothing of the store is left in what the box will read. */
	assert_null(strstr(out, "docker"));
	assert_null(strstr(out, ID));
	runtime_overlay_free(&o);
}

static void test_docker_relative_and_other_options(void **state)
{
	struct runtime_overlay o;
	char out[512];

	(void)state;
	/* Docker's form for a list too long for a page: names relative to
	 * its store, which the mount was made from. Options Hermes does not
	 * know go through as they are; "ro" stays a flag. */
	assert_int_equal(runtime_overlay_parse("ro,lowerdir=l/A:l/B:l/C,upperdir=" ID
	                                       "/diff,workdir=" ID "/work,index=off,uuid=on",
	                                       STORE, &o),
	                 0);
	assert_int_equal(o.nlower, 3);
	assert_string_equal(o.lower[2], STORE "/l/C");
	assert_string_equal(o.upper, STORE "/" ID "/diff");
	assert_int_equal(o.read_only, 1);
	assert_string_equal(o.other, "index=off,uuid=on");
	assert_true(runtime_overlay_options(&o, out, sizeof(out)) > 0);
	assert_string_equal(
	    out, "lowerdir=lower:lower1:lower2,upperdir=upper,workdir=work,index=off,uuid=on");
	runtime_overlay_free(&o);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
	    "rw,upperdir=/u,workdir=/w",                      /* no lower */
	    "rw,lowerdir=/a,workdir=/w",                      /* no upper */
	    "rw,lowerdir=/a,upperdir=/u",                     /* no work */
	    "lowerdir=/a::/d,upperdir=/u,workdir=/w",         /* data-only layers */
	    "lowerdir=/a:,upperdir=/u,workdir=/w",            /* an empty name */
	    "lowerdir=/a\\054b,upperdir=/u,workdir=/w",       /* the kernel's escape */
	    "lowerdir=/a,upperdir=/u,workdir=/w,x=\\040",     /* in another option too */
	    "lowerdir=/a,lowerdir=/b,upperdir=/u,workdir=/w", /* twice */
	    "lowerdir=/a,upperdir=/u,upperdir=/v,workdir=/w", /* twice */
	    "lowerdir=/a,upperdir=,workdir=/w",               /* empty */
	    "",
	};
	struct runtime_overlay o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(runtime_overlay_parse(bad[i], STORE, &o), -1);
	/* A relative name with no store to take it from. */
	assert_int_equal(runtime_overlay_parse("lowerdir=l/A,upperdir=/u,workdir=/w", NULL, &o),
	                 -1);
	assert_int_equal(runtime_overlay_parse("lowerdir=l/A,upperdir=/u,workdir=/w", "rel", &o),
	                 -1);
}

static void test_too_many_layers(void **state)
{
	struct runtime_overlay o;
	size_t cap = 64 + (RUNTIME_OVERLAY_LAYERS_MAX + 1) * 4;
	char *opts = malloc(cap), *p = opts;

	(void)state;
	assert_non_null(opts);
	p += sprintf(p, "lowerdir=");
	for (size_t i = 0; i < RUNTIME_OVERLAY_LAYERS_MAX; i++)
		p += sprintf(p, "%s/%c", i > 0 ? ":" : "", 'a' + (int)(i % 26));
	sprintf(p, ",upperdir=/u,workdir=/w");
	assert_int_equal(runtime_overlay_parse(opts, NULL, &o), 0);
	assert_int_equal(o.nlower, RUNTIME_OVERLAY_LAYERS_MAX);
	runtime_overlay_free(&o);
	/* One more is refused. */
	p = opts + strlen("lowerdir=");
	memmove(p + 3, p, strlen(p) + 1);
	memcpy(p, "/z:", 3);
	assert_int_equal(runtime_overlay_parse(opts, NULL, &o), -1);
	free(opts);
}

static void test_options_do_not_fit(void **state)
{
	struct runtime_overlay o;
	char out[64];
	int n;

	(void)state;
	assert_int_equal(runtime_overlay_parse(docker_opts, STORE, &o), 0);
	n = runtime_overlay_options(&o, out, sizeof(out));
	assert_true(n > 0);
	assert_int_equal(runtime_overlay_options(&o, out, (size_t)n), -1);
	assert_int_equal(runtime_overlay_options(&o, out, (size_t)n + 1), n);
	runtime_overlay_free(&o);
}

static void test_mountinfo_find(void **state)
{
	static const char mi[] =
	    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
	    "49 45 0:40 / " STORE "/" ID "/merged rw,relatime shared:2 - overlay overlay "
	    "rw,lowerdir=/a,upperdir=/u,workdir=/w\n"
	    "50 22 0:41 / /with\\040space rw - tmpfs tmpfs rw,size=64k\n"
	    "51 49 0:42 / " STORE "/" ID
	    "/merged rw - overlay overlay rw,lowerdir=/top,upperdir=/u2,"
	    "workdir=/w2";
	char type[16], opts[256];

	(void)state;
	/* The topmost mount at the path: the last line naming it. */
	assert_int_equal(runtime_mountinfo_find(mi, STORE "/" ID "/merged", type, sizeof(type),
	                                        opts, sizeof(opts)),
	                 0);
	assert_string_equal(type, "overlay");
	assert_string_equal(opts, "rw,lowerdir=/top,upperdir=/u2,workdir=/w2");
	/* Mount points are compared unescaped. */
	assert_int_equal(
	    runtime_mountinfo_find(mi, "/with space", type, sizeof(type), opts, sizeof(opts)), 0);
	assert_string_equal(type, "tmpfs");
	assert_string_equal(opts, "rw,size=64k");
	assert_int_equal(runtime_mountinfo_find(mi, "/", type, sizeof(type), opts, sizeof(opts)),
	                 0);
	assert_string_equal(type, "ext4");
	/* Not mounted, a prefix of a mount point, a field that does not fit. */
	assert_int_equal(runtime_mountinfo_find(mi, "/var", type, sizeof(type), opts, sizeof(opts)),
	                 -1);
	assert_int_equal(
	    runtime_mountinfo_find(mi, "/with", type, sizeof(type), opts, sizeof(opts)), -1);
	assert_int_equal(
	    runtime_mountinfo_find(mi, STORE "/" ID "/merged", type, sizeof(type), opts, 8), -1);
	/* A line without the separator. */
	assert_int_equal(runtime_mountinfo_find("1 2 0:1 / /x rw shared:1 overlay\n", "/x", type,
	                                        sizeof(type), opts, sizeof(opts)),
	                 -1);
	assert_int_equal(runtime_mountinfo_find("", "/x", type, sizeof(type), opts, sizeof(opts)),
	                 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_docker_absolute),
	    cmocka_unit_test(test_docker_relative_and_other_options),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_too_many_layers),
	    cmocka_unit_test(test_options_do_not_fit),
	    cmocka_unit_test(test_mountinfo_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for runtime_devices: which host nodes go into a box's /dev,
 * against the device cgroup rules Docker writes into a bundle (its
 * defaults: deny all, mknod any, then the usual pseudo-devices). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime_devices.h"

static const char docker_rules[] =
    "{\"linux\":{\"resources\":{\"devices\":["
    "{\"allow\":false,\"access\":\"rwm\"},"
    "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"rwm\"},"
    "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},"
    "{\"allow\":true,\"type\":\"c\",\"major\":136,\"access\":\"rwm\"},"
    "{\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":229,\"access\":\"rwm\"},"
    "{\"allow\":true,\"type\":\"c\",\"access\":\"m\"},"
    "{\"allow\":true,\"type\":\"b\",\"access\":\"m\"}]},"
    "\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229}]}}";

static json_t *load(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static struct runtime_dev dev(const char *name, char type, long ma, long mi)
{
	struct runtime_dev d = {.type = type, .major = ma, .minor = mi, .mode = 0600, .gid = 6};

	strncpy(d.name, name, sizeof(d.name) - 1);
	return d;
}

static void test_allowed(void **state)
{
	json_t *c = load(docker_rules);

	(void)state;
	assert_false(runtime_dev_allowed(c, 'b', 254, 0)); /* a disk: mknod only */
	assert_false(runtime_dev_allowed(c, 'c', 4, 1));   /* tty1 */
	assert_true(runtime_dev_allowed(c, 'c', 1, 3));    /* null, by the config */
	assert_true(runtime_dev_allowed(c, 'c', 136, 7));  /* a pts, any minor */
	assert_true(runtime_dev_allowed(c, 'c', 10, 229)); /* fuse: the config allows it */
	assert_true(runtime_dev_allowed(c, 'c', 10, 200)); /* tun: runc allows it itself */
	assert_true(runtime_dev_allowed(c, 'c', 5, 1));    /* console */
	json_decref(c);
	/* no rules: a cgroup allows everything */
	c = load("{\"linux\":{}}");
	assert_true(runtime_dev_allowed(c, 'b', 8, 0));
	json_decref(c);
	/* the last matching rule decides; read and write apart */
	c = load("{\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
	         "{\"allow\":true,\"type\":\"b\",\"major\":8,\"access\":\"r\"},"
	         "{\"allow\":false,\"type\":\"b\",\"major\":8,\"minor\":1,\"access\":\"r\"},"
	         "{\"allow\":true,\"type\":\"a\",\"major\":9,\"minor\":0}]}}}");
	assert_true(runtime_dev_allowed(c, 'b', 8, 0));
	assert_false(runtime_dev_allowed(c, 'b', 8, 1));
	assert_true(runtime_dev_allowed(c, 'c', 9, 0)); /* "a", no access: rwm */
	json_decref(c);
	/* a rule that cannot be read: taken as allowing */
	c = load("{\"linux\":{\"resources\":{\"devices\":[{\"allow\":\"no\"}]}}}");
	assert_true(runtime_dev_allowed(c, 'b', 254, 0));
	json_decref(c);
}

static void test_add(void **state)
{
	json_t *c = load(docker_rules), *list;
	struct runtime_dev devs[] = {
	    dev("vda", 'b', 254, 0),   dev("tty1", 'c', 4, 1),   dev("null", 'c', 1, 3),
	    dev("fuse", 'c', 10, 229), dev("ttyS0", 'c', 4, 64), dev("console", 'c', 5, 1),
	    dev("../x", 'b', 8, 0),    dev("ptmx", 'c', 5, 2),   dev("stdin", 'c', 4, 9),
	    dev("odd", 'p', 4, 9),     dev("neg", 'b', -1, 0),   dev("vda", 'b', 254, 0)};

	(void)state;
	assert_int_equal(runtime_add_devices(c, devs, sizeof(devs) / sizeof(devs[0])), 3);
	list = json_object_get(json_object_get(c, "linux"), "devices");
	assert_int_equal(json_array_size(list), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "path")),
	                    "/dev/vda");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "type")),
	                    "b");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "major")),
	                 254);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "fileMode")),
	                 0600);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 1), "gid")), 6);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "path")),
	                    "/dev/tty1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 3), "path")),
	                    "/dev/ttyS0");
	json_decref(c);
	c = load("{}");
	assert_int_equal(runtime_add_devices(c, devs, 1), -1);
	json_decref(c);
	c = load("{\"linux\":{\"resources\":{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]},"
	         "\"devices\":7}}");
	assert_int_equal(runtime_add_devices(c, devs, 2), 2);
	json_decref(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allowed),
	    cmocka_unit_test(test_add),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for cowrie_stream: Hermes's events of a session as the lines
 * Cowrie 2.5.0 writes for it, field by field and typed as it types them
 * (its src/cowrie/ssh/transport.py, core/checkers.py, shell/session.py,
 * ssh/session.py, shell/honeypot.py, ssh/forwarding.py, insults/insults.py,
 * shell/fs.py, commands/tftp.py and core/output.py at tag v2.5.0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "cowrie_stream.h"

#define SID "0123456789abcdef0123456789abcdef"

static json_t *ev(const char *type, const char *fields)
{
	json_error_t err;
	json_t *e =
	    json_pack("{s:s, s:s, s:s, s:s, s:i}", "timestamp", "2026-12-06T10:00:00.250000Z",
	              "event", type, "session", SID, "src_ip", "198.51.100.7", "src_port", 40022);
	json_t *f = json_loads(fields, 0, &err);
	assert_non_null(f);
	json_object_update(e, f);
	json_decref(f);
	return e;
}

/* The one line an event gives (and that it gives exactly one). */
static json_t *one(struct cowrie_stream *cs, json_t *e)
{
	json_t *out = json_array();
	assert_int_equal(cowrie_translate(cs, e, out), 1);
	assert_int_equal(json_array_size(out), 1);
	json_t *l = json_incref(json_array_get(out, 0));
	json_decref(out);
	json_decref(e);
	return l;
}

static void none(struct cowrie_stream *cs, json_t *e)
{
	json_t *out = json_array();
	assert_int_equal(cowrie_translate(cs, e, out), 0);
	assert_int_equal(json_array_size(out), 0);
	json_decref(out);
	json_decref(e);
}

static void assert_str(const json_t *l, const char *key, const char *want)
{
	const json_t *v = json_object_get(l, key);
	if (!json_is_string(v))
		fail_msg("%s: not a string", key);
	assert_string_equal(json_string_value(v), want);
}

static void assert_int(const json_t *l, const char *key, long long want)
{
	const json_t *v = json_object_get(l, key);
	if (!json_is_integer(v))
		fail_msg("%s: not an integer", key);
	assert_int_equal(json_integer_value(v), want);
}

/* What every line has (core/output.py, and the addresses of
 * cowrie.session.connect on every line). */
static void assert_common(const json_t *l, const char *eventid)
{
	assert_str(l, "eventid", eventid);
	assert_str(l, "timestamp", "2026-12-06T10:00:00.250000Z");
	assert_str(l, "session", SID);
	assert_str(l, "src_ip", "198.51.100.7");
	assert_int(l, "src_port", 40022);
	assert_str(l, "dst_ip", "192.0.2.10");
	assert_int(l, "dst_port", 22);
	assert_str(l, "sensor", "sensor-1");
	assert_str(l, "protocol", "ssh");
	assert_true(json_is_string(json_object_get(l, "message")));
}

static struct cowrie_stream *connected(void)
{
	struct cowrie_stream *cs = cowrie_stream_open(NULL, "sensor-1", "/data/artifacts");
	assert_non_null(cs);
	json_t *l =
	    one(cs, ev("session.connect", "{\"dst_ip\": \"192.0.2.10\", \"dst_port\": 22}"));
	assert_common(l, "cowrie.session.connect");
	assert_str(l, "message",
	           "New connection: 198.51.100.7:40022 (192.0.2.10:22) [session: " SID "]");
	assert_int_equal(json_object_size(l), 10);
	json_decref(l);
	return cs;
}

static void test_connect_version_kex(void **state)
{
	(void)state;
	struct cowrie_stream *cs = connected();

	json_t *l = one(cs, ev("client.version", "{\"version\": \"SSH-2.0-Go\"}"));
	assert_common(l, "cowrie.client.version");
	assert_str(l, "version", "SSH-2.0-Go");
	assert_str(l, "message", "Remote SSH version: SSH-2.0-Go");
	json_decref(l);

	l = one(cs, ev("client.kex",
	               "{\"hassh\": \"ec7378c1a92f5a8dde7e8b7a1ddf33d1\","
	               " \"hassh_algorithms\": \"curve25519-sha256,ext-info-c;aes128-ctr;"
	               "hmac-sha2-256;none\", \"kex_algorithms\": \"curve25519-sha256,ext-info-c\","
	               " \"host_key_algorithms\": \"ssh-ed25519,rsa-sha2-512\", \"ciphers_cs\": "
	               "\"aes128-ctr\", \"ciphers_sc\": \"aes256-ctr\", \"macs_cs\": "
	               "\"hmac-sha2-256\", \"macs_sc\": \"hmac-sha2-256\", \"compression_cs\": "
	               "\"none\", \"compression_sc\": \"none\", \"languages_cs\": \"\","
	               " \"languages_sc\": \"\", \"first_kex_follows\": false}"));
	assert_common(l, "cowrie.client.kex");
	assert_str(l, "hassh", "ec7378c1a92f5a8dde7e8b7a1ddf33d1");
	assert_str(l, "hasshAlgorithms",
	           "curve25519-sha256,ext-info-c;aes128-ctr;hmac-sha2-256;none");
	json_t *kex = json_object_get(l, "kexAlgs");
	assert_int_equal(json_array_size(kex), 2);
	assert_string_equal(json_string_value(json_array_get(kex, 1)), "ext-info-c");
	assert_int_equal(json_array_size(json_object_get(l, "keyAlgs")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(l, "encCS"), 0)),
	                    "aes128-ctr");
	assert_int_equal(json_array_size(json_object_get(l, "macCS")), 1);
	assert_int_equal(json_array_size(json_object_get(l, "compCS")), 1);
	/* An empty list is [""], as Python's split gives. */
	json_t *lang = json_object_get(l, "langCS");
	assert_int_equal(json_array_size(lang), 1);
	assert_string_equal(json_string_value(json_array_get(lang, 0)), "");
	assert_str(l, "message", "SSH client hassh fingerprint: ec7378c1a92f5a8dde7e8b7a1ddf33d1");
	assert_int_equal(json_object_size(l), 18);
	json_decref(l);

	/* Not a KEXINIT: nothing, as Cowrie logs nothing. */
	none(cs, ev("client.kex", "{\"error\": \"not SSH\"}"));
	cowrie_stream_close(cs);
}

static void test_logins(void **state)
{
	(void)state;
	struct cowrie_stream *cs = connected();

	json_t *l = one(cs, ev("login.failed", "{\"method\": \"password\", \"username\": \"root\","
	                                       " \"password\": \"123456\", \"attempt\": 1}"));
	assert_common(l, "cowrie.login.failed");
	assert_str(l, "username", "root");
	assert_str(l, "password", "123456");
	assert_str(l, "message", "login attempt [root/123456] failed");
	assert_int_equal(json_object_size(l), 12);
	json_decref(l);

	l = one(cs, ev("login.success", "{\"method\": \"keyboard-interactive\", \"username\": "
	                                "\"admin\", \"password\": \"x\", \"reason\": \"static\"}"));
	assert_common(l, "cowrie.login.success");
	assert_str(l, "message", "login attempt [admin/x] succeeded");
	json_decref(l);

	/* A key: the fingerprint line only, as Cowrie (which refuses every key). */
	l = one(cs, ev("login.failed", "{\"method\": \"publickey\", \"username\": \"git\","
	                               " \"key_type\": \"ssh-ed25519\", \"fingerprint\": "
	                               "\"SHA256:abc\", \"attempt\": 2}"));
	assert_common(l, "cowrie.client.fingerprint");
	assert_str(l, "username", "git");
	assert_str(l, "fingerprint", "SHA256:abc");
	assert_str(l, "type", "ssh-ed25519");
	assert_str(
	    l, "message",
	    "public key attempt for user git of type ssh-ed25519 with fingerprint SHA256:abc");
	json_decref(l);

	/* A key Hermes accepted: the fingerprint, then the login. */
	json_t *out = json_array();
	json_t *e =
	    ev("login.success", "{\"method\": \"publickey\", \"username\": \"git\","
	                        " \"key_type\": \"ssh-rsa\", \"fingerprint\": \"SHA256:d\"}");
	assert_int_equal(cowrie_translate(cs, e, out), 2);
	assert_int_equal(json_array_size(out), 2);
	assert_str(json_array_get(out, 0), "eventid", "cowrie.client.fingerprint");
	assert_str(json_array_get(out, 1), "eventid", "cowrie.login.success");
	assert_str(json_array_get(out, 1), "password", "");
	json_decref(e);
	json_decref(out);
	cowrie_stream_close(cs);
}

static void test_terminal_env_commands(void **state)
{
	(void)state;
	struct cowrie_stream *cs = connected();

	json_t *l = one(cs, ev("session.pty", "{\"channel\": 0, \"term\": \"xterm\", \"width\": "
	                                      "120, \"height\": 40}"));
	assert_common(l, "cowrie.client.size");
	assert_int(l, "width", 120);
	assert_int(l, "height", 40);
	assert_str(l, "message", "Terminal Size: 120 40");
	json_decref(l);
	l = one(cs, ev("session.resize", "{\"channel\": 0, \"width\": 80, \"height\": 24}"));
	assert_str(l, "eventid", "cowrie.client.size");
	json_decref(l);

	l = one(cs, ev("session.env", "{\"channel\": 0, \"name\": \"LANG\", \"value\": \"C\"}"));
	assert_common(l, "cowrie.client.var");
	assert_str(l, "name", "LANG");
	assert_str(l, "value", "C");
	assert_str(l, "message", "request_env: LANG=C");
	json_decref(l);

	l = one(cs, ev("command.input", "{\"channel\": 0, \"tty\": true, \"source\": "
	                                "\"interactive\", \"command\": \"uname -a\"}"));
	assert_common(l, "cowrie.command.input");
	assert_str(l, "input", "uname -a");
	assert_str(l, "message", "CMD: uname -a");
	assert_int_equal(json_object_size(l), 11);
	json_decref(l);
	cowrie_stream_close(cs);
}

static void test_recording_and_close(void **state)
{
	(void)state;
	struct cowrie_stream *cs = connected();

	none(cs, ev("session.shell", "{\"channel\": 0, \"kind\": \"shell\", \"recording\": "
	                             "\"/data/recordings/s.0.cast\"}"));
	json_t *e = ev("session.channel_closed", "{\"channel\": 0, \"exit_status\": 0, "
	                                         "\"bytes_in\": 10, \"bytes_out\": 2345}");
	json_object_set_new(e, "timestamp", json_string("2026-12-06T10:00:12.750000Z"));
	json_t *l = one(cs, e);
	assert_str(l, "eventid", "cowrie.log.closed");
	assert_str(l, "ttylog", "/data/recordings/s.0.cast");
	assert_int(l, "size", 2345);
	assert_true(json_is_false(json_object_get(l, "duplicate")));
	assert_true(json_is_real(json_object_get(l, "duration")));
	assert_float_equal(json_real_value(json_object_get(l, "duration")), 12.5, 1e-6);
	assert_str(l, "message", "Closing TTY Log: /data/recordings/s.0.cast after 12 seconds");
	json_decref(l);
	/* A channel without a recording closes without a line. */
	none(cs, ev("session.channel_closed", "{\"channel\": 1, \"bytes_out\": 1}"));

	l = one(cs, ev("session.closed", "{\"duration\": 61.9, \"reason\": \"client_closed\"}"));
	assert_common(l, "cowrie.session.closed");
	assert_true(json_is_real(json_object_get(l, "duration")));
	assert_str(l, "message", "Connection lost after 61 seconds");
	json_decref(l);

	/* The collection's events come after the close, under the same
	 * session and addresses. An upload is Cowrie's file_upload. */
	l = one(cs, ev("file.created", "{\"path\": \"/root/x.sh\", \"type\": \"file\", \"sha256\":"
	                               " \"ab12\", \"size\": 5, \"transfer\": true}"));
	assert_common(l, "cowrie.session.file_upload");
	assert_str(l, "filename", "x.sh");
	assert_str(l, "outfile", "/data/artifacts/ab12");
	assert_str(l, "shasum", "ab12");
	assert_str(l, "message", "SFTP Uploaded file \"x.sh\" to /data/artifacts/ab12");
	json_decref(l);
	/* A file the session made in the box is not an upload. */
	none(cs, ev("file.created", "{\"path\": \"/tmp/y\", \"sha256\": \"cd\", \"size\": 1}"));
	cowrie_stream_close(cs);
}

static void test_download_and_forwards(void **state)
{
	(void)state;
	struct cowrie_stream *cs = connected();

	json_t *l = one(cs, ev("file.downloaded", "{\"url\": \"http://203.0.113.5/x\", \"sha256\": "
	                                          "\"ef\", \"size\": 9, \"source\": \"live\"}"));
	assert_common(l, "cowrie.session.file_download");
	assert_str(l, "url", "http://203.0.113.5/x");
	assert_str(l, "outfile", "/data/artifacts/ef");
	assert_str(l, "shasum", "ef");
	assert_str(l, "destfile", "");
	assert_str(l, "message",
	           "Downloaded URL (http://203.0.113.5/x) with SHA-256 ef to /data/artifacts/ef");
	json_decref(l);

	l = one(cs, ev("forward.request", "{\"kind\": \"direct-tcpip\", \"dst_host\": "
	                                  "\"mail.example\", \"dst_port\": 25, \"orig_host\": "
	                                  "\"10.1.1.1\", \"orig_port\": 5555, \"forward\": 3}"));
	assert_str(l, "eventid", "cowrie.direct-tcpip.request");
	/* The tunnel's ends, as Cowrie's; src_ip stays the session's. */
	assert_str(l, "dst_ip", "mail.example");
	assert_int(l, "dst_port", 25);
	assert_int(l, "src_port", 5555);
	assert_str(l, "src_ip", "198.51.100.7");
	assert_str(l, "message",
	           "direct-tcp connection request to mail.example:25 from 10.1.1.1:5555");
	json_decref(l);
	none(cs, ev("forward.request", "{\"kind\": \"tcpip-forward\", \"bind_port\": 80}"));

	/* "EHLO x\r\n'\x00" as Python's repr writes it. */
	l = one(cs, ev("forward.data", "{\"forward\": 3, \"dst_host\": \"mail.example\", "
	                               "\"dst_port\": 25, \"bytes\": 10, \"data_b64\": "
	                               "\"RUhMTyB4DQonAA==\"}"));
	assert_str(l, "eventid", "cowrie.direct-tcpip.data");
	assert_str(l, "data", "b\"EHLO x\\r\\n'\\x00\"");
	assert_int(l, "id", 3);
	assert_str(l, "message",
	           "discarded direct-tcp forward request 3 to mail.example:25 with "
	           "data b\"EHLO x\\r\\n'\\x00\"");
	json_decref(l);
	cowrie_stream_close(cs);
}

static void test_nothing_outside_a_session(void **state)
{
	(void)state;
	struct cowrie_stream *cs = connected();
	json_t *e = json_pack("{s:s, s:s, s:n}", "timestamp", "2026-12-06T10:00:00.000000Z",
	                      "event", "hermes.started", "session");
	none(cs, e);
	none(cs, json_pack("{s:s}", "event", "container.created"));
	none(cs, ev("session.channel_closed", "{\"channel\": \"zero\"}"));
	/* An event of a session it never saw connect (a restart between):
	 * its own address, no destination. */
	json_t *o = ev("client.version", "{\"version\": \"v\"}");
	json_object_set_new(o, "session", json_string("ffffffffffffffffffffffffffffffff"));
	json_t *l = one(cs, o);
	assert_str(l, "src_ip", "198.51.100.7");
	assert_true(json_is_null(json_object_get(l, "dst_ip")));
	json_decref(l);
	cowrie_stream_close(cs);
}

/* A closed session's addresses are kept for its collection's events, for
 * the last 512 closed; an older one's late event has only its own. */
static void test_old_sessions_are_forgotten(void **state)
{
	(void)state;
	struct cowrie_stream *cs = cowrie_stream_open(NULL, "s", "/a");
	assert_non_null(cs);
	char id[40];
	for (int i = 0; i < 600; i++) {
		snprintf(id, sizeof(id), "%032x", i);
		json_t *e = ev("session.connect", "{\"dst_ip\": \"192.0.2.10\", \"dst_port\": 22}");
		json_object_set_new(e, "session", json_string(id));
		json_decref(one(cs, e));
		e = ev("session.closed", "{\"duration\": 1}");
		json_object_set_new(e, "session", json_string(id));
		json_decref(one(cs, e));
	}
	static const struct {
		int n;
		bool known;
	} late[] = {{599, true}, {88, true}, {87, false}, {0, false}};
	for (size_t i = 0; i < sizeof(late) / sizeof(late[0]); i++) {
		snprintf(id, sizeof(id), "%032x", late[i].n);
		json_t *e = ev("file.created", "{\"path\": \"/root/u\", \"sha256\": \"aa\", "
		                               "\"transfer\": true}");
		json_object_set_new(e, "session", json_string(id));
		json_t *l = one(cs, e);
		assert_int_equal(json_is_string(json_object_get(l, "dst_ip")), late[i].known);
		json_decref(l);
	}
	cowrie_stream_close(cs);
}

/* The tee writes one line per Cowrie event to the file. */
static void test_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/cowrie-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof(path), "%s/sub/cowrie.json", dir);
	struct cowrie_stream *cs = cowrie_stream_open(path, "s", "/a");
	assert_non_null(cs);
	json_t *e = ev("session.connect", "{\"dst_ip\": \"192.0.2.10\", \"dst_port\": 22}");
	cowrie_stream_tee(cs, e);
	json_decref(e);
	e = ev("session.closed", "{\"duration\": 1.5}");
	cowrie_stream_tee(cs, e);
	json_decref(e);
	cowrie_stream_close(cs);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char buf[1024];
	int lines = 0;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		json_error_t err;
		json_t *l = json_loads(buf, 0, &err);
		assert_non_null(l);
		assert_str(l, "session", SID);
		json_decref(l);
		lines++;
	}
	fclose(f);
	assert_int_equal(lines, 2);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_version_kex),
	    cmocka_unit_test(test_logins),
	    cmocka_unit_test(test_terminal_env_commands),
	    cmocka_unit_test(test_recording_and_close),
	    cmocka_unit_test(test_download_and_forwards),
	    cmocka_unit_test(test_nothing_outside_a_session),
	    cmocka_unit_test(test_old_sessions_are_forgotten),
	    cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

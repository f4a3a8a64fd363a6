/* libFuzzer harness: any bytes as lines of events.jsonl, fed to the index
 * one by one against an in-memory database. No line may fail the database
 * (-1 is for a disk or I/O failure, which memory does not have), and the
 * index must stay usable: a good line after them is indexed. Each input
 * runs in a transaction that is rolled back, so the database stays empty. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "index.h"

static const char good[] = "{\"event\": \"login.failed\", \"session\": \"0123456789abcdef\","
                           " \"timestamp\": \"2026-11-20T10:00:01Z\", \"username\": \"probe\","
                           " \"alert\": {\"type\": \"credential\", \"paths\": [\"/a\"]}}";

static long logins(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	long n = -1;

	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM logins", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct index *ix;
	char err[256];

	if (ix == NULL && (ix = index_open(":memory:", err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_index: %s\n", err);
		__builtin_trap();
	}
	sqlite3 *db = index_db(ix);
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		__builtin_trap();
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (index_add_line(ix, p, len) < 0)
			__builtin_trap();
		p += len + 1;
	}
	long before = logins(db);
	if (before < 0 || index_add_line(ix, good, sizeof(good) - 1) != 0 ||
	    logins(db) != before + 1)
		__builtin_trap();
	if (sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		__builtin_trap();
	return 0;
}

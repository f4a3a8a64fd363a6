/*
 * fetch_cache: what the sinkhole fetched before, by URL: egress.fetch
 * `cache` serves it again, and `live` serves it without fetching twice.
 *
 * A URL maps to the SHA-256 (its name in forensics.artifacts_dir) and the
 * content type of the last body fetched for it. Kept in the file
 * fetched.tsv of that directory, a line per fetch appended ("SHA256 TAB
 * TYPE TAB URL"), read at start; the newest line for a URL wins. URLs
 * with control characters are never kept. At most FETCH_CACHE_MAX URLs
 * are held; the oldest make room.
 */
#ifndef HERMES_FETCH_CACHE_H
#define HERMES_FETCH_CACHE_H

#define FETCH_CACHE_MAX 20000

struct fetch_cache;

/* NULL only when out of memory; a missing or unreadable file is an empty
 * cache (a warning when unreadable). */
struct fetch_cache *fetch_cache_open(const char *dir);
void fetch_cache_free(struct fetch_cache *c);

/* The SHA-256 of url's body, and *type (may be ""), or NULL. */
const char *fetch_cache_get(const struct fetch_cache *c, const char *url, const char **type);
void fetch_cache_put(struct fetch_cache *c, const char *url, const char *sha256, const char *type);

#endif

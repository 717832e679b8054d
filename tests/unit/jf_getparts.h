/*
 * tests/unit/jf_getparts.h - a C model of Jellyfin's Authorization parser.
 *
 * Owns: parsing an Authorization header value exactly the way the server's
 * AuthorizationContext.GetAuthorization/GetParts do (jellyfin-api.md §2),
 * so tests and the fuzzer can check that what we send is what the server
 * reads. Works on bytes: values are returned URL-decoded, not re-encoded.
 */
#ifndef JF_GETPARTS_H
#define JF_GETPARTS_H

#include <stddef.h>

#define JF_PARTS_MAX 64

struct jf_parts {
    char *keys[JF_PARTS_MAX];
    char *vals[JF_PARTS_MAX];
    size_t n;
};

/*
 * Parse a header value ("MediaBrowser k=v, ..."). The scheme must be
 * MediaBrowser (any case). Returns 0, or -1 when the scheme is missing or
 * another one (the server then reads no fields), or on out of memory.
 */
int jf_getparts(const char *header, struct jf_parts *out);
/* The value of a key (case-sensitive; the last duplicate wins), or NULL. */
const char *jf_parts_get(const struct jf_parts *p, const char *key);
void jf_parts_free(struct jf_parts *p);

#endif

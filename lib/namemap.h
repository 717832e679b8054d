/*
 * namemap.h - Jellyfin user name -> POSIX login name.
 *
 * Owns: the mapping rules (UTF-8 decode, ASCII lower-casing, the
 * punctuation map, the Latin-1/Latin Extended-A diacritics table), the
 * validity rules of a mapped name (^[a-z0-9_][a-z0-9_.-]*$, at most 32
 * bytes, not all digits), the list of reserved names, and the gecos
 * sanitiser. Pure functions: no I/O, no state. doc/design.md and
 * jellyfin-auth(8) describe the rules; keep them in step.
 */
#ifndef JFA_NAMEMAP_H
#define JFA_NAMEMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h" /* JFA_NAME_MAX, jfa_name_valid */

/* The login name of a Jellyfin user whose name maps to the reserved
 * "admin" (Jellyfin's usual first account, "Admin" or "admin"): sync gives
 * it this name without a manual step (unless an override says otherwise).
 * Not "jellyfin-admin": one letter from the admin_group "jellyfin-admins"
 * that sudoers rules name. */
#define JFA_ADMIN_LOGIN "jf-admin"

enum jfa_name_status {
    JFA_NAME_OK = 0,
    JFA_NAME_EMPTY,      /* empty Jellyfin name */
    JFA_NAME_BAD_UTF8,   /* not valid UTF-8 */
    JFA_NAME_BAD_CHAR,   /* a character with no mapping */
    JFA_NAME_TOO_LONG,   /* mapped name longer than 32 bytes */
    JFA_NAME_BAD_FORM,   /* starts with '.' or '-' */
    JFA_NAME_ALL_DIGITS, /* mapped name is all digits */
    JFA_NAME_RESERVED,   /* a system or configured group name */
};

/*
 * Map a Jellyfin name to a login name in out (JFA_NAME_MAX + 1 bytes).
 * users_group and admin_group (may be NULL) are reserved as well. On any
 * status but JFA_NAME_OK, out holds what could be mapped (possibly "")
 * and why (if not NULL) gets a one-line reason for `sync` and `users`.
 */
enum jfa_name_status jfa_name_map(const char *jf_name, const char *users_group,
                                  const char *admin_group, char out[JFA_NAME_MAX + 1], char *why,
                                  size_t whylen);

/* Is this (already mapped) name reserved? */
bool jfa_name_reserved(const char *name, const char *users_group, const char *admin_group);

/* The same, with the rule: NULL if not reserved, else buf filled with
 * e.g. "a system group packages may create (docker)". */
const char *jfa_name_reserved_why(const char *name, const char *users_group,
                                  const char *admin_group, char *buf, size_t buflen);

/* The built-in reserved list (prefix rules aside), for tests and docs. */
size_t jfa_name_reserved_count(void);
const char *jfa_name_reserved_at(size_t i);

/* A login name to suggest for a Jellyfin user left out (for the
 * `jellyfin-auth names set ID NAME` hint): "jf-" + the mapped name when
 * the name maps (reserved or taken), else "jf-" + the first 8 hex digits
 * of id. Always valid (jfa_name_valid) and not built-in reserved; the
 * caller still checks that nobody holds it. Returns out. */
char *jfa_name_suggest(const char *jf_name, const char *id, char out[JFA_NAME_MAX + 1]);

/* Copy src into dst (dstlen > 0) replacing ':' ',', every character
 * jfa_cp_display_unsafe names (controls, bidi) and each byte not part of a
 * well-formed UTF-8 sequence by one '_' (the result is never longer than
 * src); truncated on a character boundary. Returns dst. */
char *jfa_gecos_sanitize(char *dst, size_t dstlen, const char *src);

#endif

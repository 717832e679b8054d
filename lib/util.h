/*
 * util.h - the small conventions every file shares, libc only.
 *
 * Owns: reporting an error into a caller's err/errlen buffer, hex digits
 * (decode one, encode bytes), the UTF-8 decoder, the login-name grammar, and wiping and
 * freeing a secret string. In
 * libjfacore, so the NSS module's code can use them too.
 */
#ifndef JFA_UTIL_H
#define JFA_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JFA_NAME_MAX 32 /* bytes of a mapped login name, without the NUL */

/*
 * "File absent", the one convention: a function that reads (or checks) one
 * file, record or directory returns 0 when it did, JFA_ABSENT when it does
 * not exist (err names the path), and -1 with err on anything else. The
 * open itself tells absence (ENOENT from open(O_NOFOLLOW)): no access,
 * faccessat or lstat probe before it. A function with more outcomes gives
 * them names of their own, never the value of JFA_ABSENT.
 */
#define JFA_ABSENT 1

/* Format an error message into a caller's buffer (err NULL or errlen 0:
 * nothing). Every lib/ function reports failures this way. */
void jfa_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void jfa_set_errv(char *err, size_t errlen, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* The value of one hex digit (0-9, a-f, A-F), or -1. */
int jfa_hexval(int c);

/* The hex digit of the low 4 bits of v: 0-9a-f, or 0-9A-F when upper (the
 * percent-encoding of the Authorization header). */
char jfa_hex_digit(unsigned v, bool upper);

/* n bytes as 2n lowercase hex digits and a NUL into out (2n + 1 bytes): the
 * one encoder (ids, digests, verifiers, the device id, Samba's records). */
void jfa_hex_encode(char *out, const unsigned char *in, size_t n);

/* Decode the UTF-8 sequence at s (n bytes available): its length (1..4),
 * and its code point in *cp (cp may be NULL); 0 if the bytes there are not
 * one well-formed sequence: a continuation or C0/C1/F5..FF lead byte, a
 * truncated sequence, an overlong form, a surrogate (U+D800..U+DFFF) or a
 * code point above U+10FFFF. n == 0: 0. The one strict decoder. */
size_t jfa_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Does code point cp change what a terminal or log viewer shows of the rest
 * of a line? C0 and C1 controls, DEL, the bidirectional controls (U+061C,
 * U+200E-F, U+202A-E, U+2066-9) and the line and paragraph separators
 * (U+2028-9). The one list: log escaping, gecos, the tool's JSON. */
bool jfa_cp_display_unsafe(uint32_t cp);

/* The one grammar of a login name sync gives (a mapped name, `names set`,
 * reserved_names): ^[a-z0-9_][a-z0-9_.-]*$, at most JFA_NAME_MAX bytes, not
 * all digits. _n: the len bytes at s. */
bool jfa_name_valid(const char *name);
bool jfa_name_valid_n(const char *s, size_t len);

/* explicit_bzero a NUL-terminated secret (a token, a password) and free
 * it; NULL is fine. */
void jfa_free_secret(char *s);

/* Is this a set-id program started by someone else (su, sudo, passwd run by
 * a user)? The kernel marked the exec secure (AT_SECURE: set-id or file
 * capabilities) or the real and effective ids differ. Its caller owns the
 * process' limits and may stop it at will, so a failure there may be the
 * caller's doing and must never lead to a more lenient path. */
bool jfa_caller_steers_process(void);

/* In a child between fork and execve (async-signal-safe calls only): undo
 * what the caller of a set-id program left in the process, so that a
 * helper we start as root (smbpasswd, mkhomedir_helper, the sync) runs as
 * a daemon would: umask 022, cwd /, no core dumps, no file-size, CPU,
 * memory or data limit, at least 1024 descriptors and an 8 MiB stack,
 * nice 0 and the normal scheduler (when root), every signal at its default
 * and none blocked. Best effort: what cannot be undone (not root) stays. */
void jfa_child_reset(void);

/* In a child before execve: close every descriptor from 3 up (close_range,
 * else one close per descriptor below 65536), so that a helper we start
 * never holds the host's sockets, files or pipes. Async-signal-safe. */
void jfa_child_close_fds(void);

#endif

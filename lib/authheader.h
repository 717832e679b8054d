/*
 * authheader.h - the Jellyfin Authorization header.
 *
 * Owns: building `MediaBrowser Client="..", Device="..", DeviceId="..",
 * Version="..", Token=".."` with every value percent-encoded (everything but
 * ASCII letters and digits) and quoted, as the server's GetParts parser and
 * the official SDK expect; and the per-host, per-user DeviceId.
 */
#ifndef JFA_AUTHHEADER_H
#define JFA_AUTHHEADER_H

#include <stddef.h>

/* Percent-encode src (all bytes but [A-Za-z0-9]) into dst. Returns the
 * length written, or (size_t)-1 if dstlen is too small (dst untouched). */
size_t jfa_percent_encode(char *dst, size_t dstlen, const char *src);

/* Build the header value; token may be NULL (omitted). malloc'd or NULL. */
char *jfa_auth_header(const char *client, const char *device, const char *device_id,
                      const char *version, const char *token);

/*
 * DeviceId stable per host and user: hex SHA-256 over the machine id
 * (/etc/machine-id, else the host name), a separator, the client name and
 * the user key (the Jellyfin user Id), truncated to 32 hex digits.
 * out must hold 33 bytes. Returns 0 or -1.
 */
int jfa_device_id(const char *client, const char *user_key, char out[33]);

/* The host name for Device= (gethostname, never empty). */
void jfa_device_name(char *out, size_t outlen);

#endif

/*
 * lib/authheader.c - the Jellyfin Authorization header and the DeviceId.
 *
 * Owns: percent-encoding of header values (every byte but ASCII letters and
 * digits becomes %XX, uppercase hex), the `MediaBrowser Client="..",
 * Device="..", DeviceId="..", Version="..", Token=".."` header in the
 * canonical form the server's GetParts parser and the official SDK use, the
 * per-host, per-user DeviceId (SHA-256 over machine id, client and user
 * key) and the Device= host name. The header may hold a token: callers wipe
 * and free it; intermediate copies are never made here.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "authheader.h"
#include "util.h"

#define JFA_MACHINE_ID_PATH "/etc/machine-id"

static bool is_unreserved(unsigned char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* Length of the encoded form of src, without the NUL. */
static size_t encoded_len(const char *src)
{
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)src; *p; p++)
        n += is_unreserved(*p) ? 1 : 3;
    return n;
}

/* Encode src into dst, which must hold encoded_len(src) + 1 bytes. */
static size_t encode_into(char *dst, const char *src)
{
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        if (is_unreserved(*p)) {
            dst[o++] = (char)*p;
        } else {
            dst[o++] = '%';
            dst[o++] = jfa_hex_digit(*p >> 4, true);
            dst[o++] = jfa_hex_digit(*p, true);
        }
    }
    dst[o] = '\0';
    return o;
}

size_t jfa_percent_encode(char *dst, size_t dstlen, const char *src)
{
    size_t need;

    if (dst == NULL || src == NULL)
        return (size_t)-1;
    need = encoded_len(src);
    if (need >= dstlen)
        return (size_t)-1;
    return encode_into(dst, src);
}

/* Append `, Key="encoded"` (or `Key="encoded"` when first) at *pos. */
static void append_field(char *buf, size_t *pos, const char *key, const char *value, bool first)
{
    size_t o = *pos;
    size_t klen = strlen(key);

    if (!first) {
        buf[o++] = ',';
        buf[o++] = ' ';
    }
    memcpy(buf + o, key, klen);
    o += klen;
    buf[o++] = '=';
    buf[o++] = '"';
    o += encode_into(buf + o, value);
    buf[o++] = '"';
    buf[o] = '\0';
    *pos = o;
}

char *jfa_auth_header(const char *client, const char *device, const char *device_id,
                      const char *version, const char *token)
{
    static const char scheme[] = "MediaBrowser ";
    const char *keys[5] = {"Client", "Device", "DeviceId", "Version", "Token"};
    const char *vals[5] = {client, device, device_id, version, token};
    size_t nfields = 4;
    size_t total = sizeof(scheme); /* includes the NUL */
    size_t pos;
    char *buf = NULL;

    if (client == NULL || device == NULL || device_id == NULL || version == NULL)
        goto out;
    if (token != NULL && token[0] != '\0')
        nfields = 5;

    for (size_t i = 0; i < nfields; i++) {
        /* ", " + key + '=' + two quotes + encoded value; each bounded by 3x strlen */
        size_t vlen = encoded_len(vals[i]);

        if (vlen > ((size_t)-1) / 4 - total)
            goto out;
        total += 2 + strlen(keys[i]) + 3 + vlen;
    }

    buf = malloc(total);
    if (buf == NULL)
        goto out;
    memcpy(buf, scheme, sizeof(scheme));
    pos = sizeof(scheme) - 1;
    for (size_t i = 0; i < nfields; i++)
        append_field(buf, &pos, keys[i], vals[i], i == 0);
out:
    return buf;
}

/*
 * The machine identity: the first 32 hex digits of /etc/machine-id, else
 * the host name. Returns the length written into out (never 0 on success),
 * or 0 if neither is available.
 */
static size_t machine_identity(char *out, size_t outlen)
{
    char buf[128];
    size_t n = 0;
    ssize_t r;
    int fd;

    fd = open(JFA_MACHINE_ID_PATH, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
        do {
            r = read(fd, buf, sizeof(buf) - 1);
        } while (r < 0 && errno == EINTR);
        close(fd);
        if (r > 0) {
            for (ssize_t i = 0; i < r && n < 32 && n + 1 < outlen; i++) {
                if (isxdigit((unsigned char)buf[i]))
                    out[n++] = (char)tolower((unsigned char)buf[i]);
                else
                    break;
            }
            if (n == 32) {
                out[n] = '\0';
                return n;
            }
        }
    }
    n = 0;
    if (gethostname(buf, sizeof(buf)) == 0) {
        buf[sizeof(buf) - 1] = '\0';
        n = strlen(buf);
        if (n >= outlen)
            n = outlen - 1;
        memcpy(out, buf, n);
        out[n] = '\0';
    }
    return n;
}

int jfa_device_id(const char *client, const char *user_key, char out[33])
{
    static const unsigned char sep = 0;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char mid[256];
    size_t midlen;
    EVP_MD_CTX *ctx = NULL;
    int rc = -1;

    out[0] = '\0';
    if (client == NULL)
        goto out;
    if (user_key == NULL)
        user_key = "";
    midlen = machine_identity(mid, sizeof(mid));
    if (midlen == 0)
        goto out;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL)
        goto out;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, mid, midlen) != 1 || EVP_DigestUpdate(ctx, &sep, 1) != 1 ||
        EVP_DigestUpdate(ctx, client, strlen(client)) != 1 || EVP_DigestUpdate(ctx, &sep, 1) != 1 ||
        EVP_DigestUpdate(ctx, user_key, strlen(user_key)) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen < 16)
        goto out;
    jfa_hex_encode(out, md, 16);
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

void jfa_device_name(char *out, size_t outlen)
{
    char buf[256];

    if (out == NULL || outlen == 0)
        return;
    if (gethostname(buf, sizeof(buf)) != 0)
        buf[0] = '\0';
    buf[sizeof(buf) - 1] = '\0';
    if (buf[0] == '\0')
        snprintf(buf, sizeof(buf), "localhost");
    snprintf(out, outlen, "%s", buf);
}

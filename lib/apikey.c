/*
 * apikey.c - the Jellyfin API key file.
 *
 * Owns: reading api_key_file (root-only, no symlink, 32 hex digits) for the
 * tool's sync and status and for the PAM module's lockout guard.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "apikey.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileutil.h"
#include "log.h"

bool jfa_hex32(const char *s)
{
    size_t i;

    for (i = 0; i < 32; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
            return false;
    }
    return s[32] == '\0';
}

/* After a failed read: would the checks accept the file? Then the failure
 * was the process's trouble (descriptors or memory exhausted, e.g. by
 * limits the caller of su set), not the file's. lstat needs no descriptor;
 * it also tells absence when the open could not (EMFILE comes first). */
static int read_failure(const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) {
            jfa_set_err(err, errlen, "%s: no API key file", path);
            return JFA_ABSENT;
        }
        return -1;
    }
    return S_ISREG(st.st_mode) && (st.st_uid == 0 || st.st_uid == geteuid()) &&
                   (st.st_mode & 077) == 0
               ? JFA_APIKEY_NOT_NOW
               : -1;
}

int jfa_api_key_read(const struct jfa_config *cfg, char key[33], char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0, a = 0, b;
    int ret = -1;

    memset(key, 0, 33);
    ret = jfa_read_trusted(cfg->api_key_file, 077, 4096, &buf, &len, err, errlen);
    if (ret == JFA_ABSENT) {
        jfa_set_err(err, errlen, "%s: no API key file", cfg->api_key_file);
        return JFA_ABSENT;
    }
    if (ret != 0)
        return read_failure(cfg->api_key_file, err, errlen);
    ret = -1;
    b = len;
    while (a < b && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\n' || buf[a] == '\r'))
        a++;
    while (b > a &&
           (buf[b - 1] == ' ' || buf[b - 1] == '\t' || buf[b - 1] == '\n' || buf[b - 1] == '\r'))
        b--;
    if (b - a != 32) {
        jfa_set_err(err, errlen, "%s: the API key must be 32 hex digits (found %zu characters)",
                    cfg->api_key_file, b - a);
        goto out;
    }
    memcpy(key, buf + a, 32);
    key[32] = '\0';
    if (!jfa_hex32(key)) {
        explicit_bzero(key, 33);
        jfa_set_err(err, errlen, "%s: the API key must be 32 hex digits", cfg->api_key_file);
        goto out;
    }
    ret = 0;
out:
    explicit_bzero(buf, len);
    free(buf);
    return ret;
}

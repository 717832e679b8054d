/*
 * tests/fuzz/fuzz_authheader.c - libFuzzer target for lib/authheader.c.
 *
 * Owns: the round trip of the Authorization header. The input is split at
 * NUL bytes into Client, Device, DeviceId, Version and Token (a missing
 * Token means NULL); the header built from them is parsed back with the C
 * model of Jellyfin's GetParts (tests/unit/jf_getparts.c) and every field
 * must come back byte for byte, Token absent when NULL or empty. Also checks
 * that the header holds nothing but the scheme, keys, quotes, ", " and
 * [A-Za-z0-9%], and that jfa_percent_encode honours its bound.
 *
 * Build: clang -g -fsanitize=fuzzer,address,undefined -Ilib -Itests/unit \
 *        tests/fuzz/fuzz_authheader.c tests/unit/jf_getparts.c lib/authheader.c \
 *        -lcrypto -o fuzz_authheader
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authheader.h"
#include "jf_getparts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct jf_parts *p, const char *key, const char *want)
{
    const char *got = jf_parts_get(p, key);

    if (got == NULL || strcmp(got, want) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy, *f[5] = {NULL, NULL, NULL, NULL, NULL};
    size_t nf = 0, start = 0;
    struct jf_parts parts;
    char small[16];
    char *h;

    copy = malloc(size + 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (size_t i = 0; i <= size && nf < 5; i++) {
        if (i == size || copy[i] == '\0') {
            copy[i] = '\0';
            f[nf++] = copy + start;
            start = i + 1;
        }
    }
    for (size_t i = nf; i < 4; i++)
        f[i] = copy + size; /* "" */

    h = jfa_auth_header(f[0], f[1], f[2], f[3], f[4]);
    if (h == NULL)
        abort();
    if (strncmp(h, "MediaBrowser ", 13) != 0)
        abort();
    for (const char *p = h + 13; *p; p++) {
        char c = *p;

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '%' || c == '"' || c == '=' || c == ',' || c == ' '))
            abort();
    }
    if (jf_getparts(h, &parts) != 0)
        abort();
    same(&parts, "Client", f[0]);
    same(&parts, "Device", f[1]);
    same(&parts, "DeviceId", f[2]);
    same(&parts, "Version", f[3]);
    if (f[4] != NULL && f[4][0] != '\0') {
        same(&parts, "Token", f[4]);
        if (parts.n != 5)
            abort();
    } else if (jf_parts_get(&parts, "Token") != NULL || parts.n != 4) {
        abort();
    }
    jf_parts_free(&parts);
    free(h);

    /* the encoder's bound: never writes past dstlen */
    memset(small, 'Q', sizeof(small));
    if (jfa_percent_encode(small, 8, f[0]) == (size_t)-1) {
        for (size_t i = 0; i < sizeof(small); i++) {
            if (small[i] != 'Q')
                abort();
        }
    } else if (strlen(small) >= 8 || small[8] != 'Q') {
        abort();
    }
    free(copy);
    return 0;
}

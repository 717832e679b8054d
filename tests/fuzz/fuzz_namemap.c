/*
 * tests/fuzz/fuzz_namemap.c - libFuzzer target for the name mapping.
 *
 * Owns: feeding arbitrary bytes (as a NUL-terminated Jellyfin name) to
 * jfa_name_map and jfa_gecos_sanitize, and checking the invariants: an
 * accepted name is valid (^[a-z0-9_][a-z0-9_.-]*$, <= 32 bytes, not all
 * digits, not reserved), and a gecos is well-formed UTF-8 with no ':' ','
 * or control character (C0, DEL, C1, bidi) and is no longer than the input. Build:
 *   clang -g -fsanitize=fuzzer,address,undefined -Ilib \
 *     tests/fuzz/fuzz_namemap.c lib/namemap.c -o fuzz_namemap
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/namemap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), out[JFA_NAME_MAX + 1], why[256], gecos[64];
    size_t i;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (jfa_name_map(s, "jellyfin-users", "jellyfin-admins", out, why, sizeof(why)) ==
        JFA_NAME_OK) {
        if (!jfa_name_valid(out) || jfa_name_reserved(out, "jellyfin-users", "jellyfin-admins"))
            abort();
    } else if (strlen(out) > JFA_NAME_MAX || why[0] == '\0') {
        abort();
    }
    jfa_gecos_sanitize(gecos, sizeof(gecos), s);
    for (i = 0; gecos[i] != '\0';) {
        uint32_t cp;
        size_t used = jfa_utf8_decode((const unsigned char *)gecos + i, strlen(gecos + i), &cp);
        /* well-formed UTF-8, no control (C0, DEL, C1, bidi), no ':' or ',' */
        if (used == 0 || jfa_cp_display_unsafe(cp) || cp == ':' || cp == ',')
            abort();
        i += used;
    }
    if (strlen(gecos) > size)
        abort();
    free(s);
    return 0;
}

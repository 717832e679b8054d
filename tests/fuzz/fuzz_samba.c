/*
 * tests/fuzz/fuzz_samba.c - libFuzzer target for the pdbedit output parser.
 *
 * Owns: feeding arbitrary bytes as `pdbedit -L -w` output to
 * jfa_samba_parse_list and checking the invariants: on success every
 * entry has a non-empty NUL-terminated name without ':' or control bytes,
 * and jfa_samba_find finds it; on failure nothing is left allocated and
 * the error is set. Build:
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *     tests/fuzz/fuzz_samba.c lib/samba.c lib/fileutil.c lib/log.c lib/jfjson.c \
 *     -lcrypto -ljson-c -o fuzz_samba
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "samba.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jfa_samba_list l;
    char err[256];

    err[0] = '\0';
    if (jfa_samba_parse_list((const char *)data, size, &l, err, sizeof(err)) != 0) {
        if (l.items != NULL || l.n != 0 || err[0] == '\0')
            abort();
        return 0;
    }
    for (size_t i = 0; i < l.n; i++) {
        const char *n = l.items[i].name;
        size_t len = strnlen(n, sizeof(l.items[i].name));

        if (len == 0 || len >= sizeof(l.items[i].name) || strchr(n, ':') != NULL)
            abort();
        for (size_t k = 0; k < len; k++)
            if ((unsigned char)n[k] < 0x20 || n[k] == 0x7f)
                abort();
        if (jfa_samba_find(&l, n) == NULL)
            abort();
    }
    jfa_samba_list_free(&l);
    return 0;
}

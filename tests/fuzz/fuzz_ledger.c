/*
 * tests/fuzz/fuzz_ledger.c - libFuzzer target for the ledger parser.
 *
 * Owns: feeding arbitrary bytes to jfa_ledger_parse (versions 1 and 2);
 * when they parse, serialising (always version 2), re-parsing and checking
 * the text is a fixed point, checking the claim invariants (every claim's
 * Id has a user entry; an active user's name is claimed by it or not at
 * all), releasing a claim and re-reading, and running one allocation
 * against the result. Build:
 *   clang -g -fsanitize=fuzzer,address,undefined -Ilib -DSYSCONFDIR='"/etc"' \
 *     -DLOCALSTATEDIR='"/var"' tests/fuzz/fuzz_ledger.c lib/ledger.c \
 *     lib/namemap.c lib/fileutil.c -lcrypto -o fuzz_ledger
 */
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jfa_ledger l, m;
    char err[512], *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    uint32_t out;

    jfa_ledger_init(&l);
    jfa_ledger_init(&m);
    if (jfa_ledger_parse(&l, (const char *)data, size, "fuzz", err, sizeof(err)) != 0)
        goto out;
    a = jfa_ledger_format(&l, &alen);
    if (a == NULL)
        goto out;
    if (jfa_ledger_parse(&m, a, alen, "fuzz2", err, sizeof(err)) != 0)
        abort(); /* what we write must read back */
    b = jfa_ledger_format(&m, &blen);
    if (b == NULL || alen != blen || memcmp(a, b, alen) != 0)
        abort();
    for (size_t i = 0; i < l.n_claims; i++)
        if (jfa_ledger_find_user(&l, l.claims[i].id) < 0 ||
            jfa_ledger_find_claim(&l, l.claims[i].name) != (ssize_t)i)
            abort();
    for (size_t i = 0; i < l.n_users; i++) {
        ssize_t ci;
        if (l.users[i].deleted || l.users[i].name[0] == '\0')
            continue;
        ci = jfa_ledger_find_claim(&l, l.users[i].name);
        if (ci >= 0 && strcmp(l.claims[ci].id, l.users[i].id) != 0)
            abort();
    }
    if (l.n_claims > 0) {
        char name[sizeof(l.claims[0].name)];
        memcpy(name, l.claims[0].name, sizeof(name));
        if (jfa_ledger_release_name(&l, name, err, sizeof(err)) != 0 ||
            jfa_ledger_find_claim(&l, name) >= 0)
            abort();
        free(b);
        b = jfa_ledger_format(&l, &blen);
        jfa_ledger_free(&m);
        jfa_ledger_init(&m);
        if (b == NULL || jfa_ledger_parse(&m, b, blen, "fuzz3", err, sizeof(err)) != 0 ||
            m.n_claims != l.n_claims)
            abort();
    }
    if (jfa_ledger_alloc(&l, "00000000000000000000000000000001", 100000, 100999, NULL, NULL, &out,
                         err, sizeof(err)) == 0 &&
        (jfa_ledger_id_used(&l, out) || out < 100000 || out > 100999))
        abort();
out:
    free(a);
    free(b);
    jfa_ledger_free(&l);
    jfa_ledger_free(&m);
    return 0;
}

/*
 * tests/fuzz/fuzz_ledger.c - libFuzzer target for the ledger parser.
 *
 * Owns: feeding arbitrary bytes to jfa_ledger_parse; when they parse,
 * serialising, re-parsing and checking the text is a fixed point, and
 * running one allocation against the result. Build:
 *   clang -g -fsanitize=fuzzer,address,undefined -Ilib -DSYSCONFDIR='"/etc"' \
 *     -DLOCALSTATEDIR='"/var"' tests/fuzz/fuzz_ledger.c lib/ledger.c \
 *     lib/namemap.c lib/fileutil.c -lcrypto -o fuzz_ledger
 */
#include <stddef.h>
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
    if (jfa_ledger_alloc(&l, "00000000000000000000000000000001", 100000, 100999, NULL, NULL, &out,
                         err, sizeof(err)) == 0 &&
        (jfa_ledger_id_used(&l, out) || jfa_id_reserved(out)))
        abort();
out:
    free(a);
    free(b);
    jfa_ledger_free(&l);
    jfa_ledger_free(&m);
    return 0;
}

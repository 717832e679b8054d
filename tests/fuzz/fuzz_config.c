/*
 * tests/fuzz/fuzz_config.c - libFuzzer target for the config parser.
 *
 * Owns: feeding arbitrary bytes to jfa_config_parse (from defaults), then
 * exercising what a caller does with a parsed config (home expansion,
 * derived paths, CIDR matching) and freeing it. Build:
 *   clang -g -fsanitize=fuzzer,address,undefined -Ilib -DSYSCONFDIR='"/etc"' \
 *     -DLOCALSTATEDIR='"/var"' tests/fuzz/fuzz_config.c lib/jfaconf.c lib/log.c \
 *     lib/fileutil.c -o fuzz_config
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* by path, so no other directory on the include path can shadow it */
#include "../../lib/jfaconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jfa_config cfg;
    char err[JFA_ERRLEN];
    char *s;

    jfa_config_defaults(&cfg);
    if (jfa_config_parse(&cfg, (const char *)data, size, "fuzz.conf", err, sizeof(err)) == 0) {
        size_t i;

        s = jfa_config_home(&cfg, "alice");
        free(s);
        s = jfa_config_db_path(&cfg);
        free(s);
        s = jfa_config_private_dir(&cfg);
        free(s);
        for (i = 0; i < cfg.n_urls; i++)
            if (cfg.urls[i] == NULL || strlen(cfg.urls[i]) == 0)
                abort();
        (void)jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "192.168.1.10");
        (void)jfa_cidr_list_match(cfg.local_networks, cfg.n_local_networks, "2001:db8::1");
    } else if (memchr(err, '\0', sizeof(err)) == NULL) {
        abort(); /* the message must always be terminated */
    }
    jfa_config_free(&cfg);
    return 0;
}

/*
 * tools/cmd_key.c - `jellyfin-auth key rotate|revoke`, and the API key
 * helpers `setup` shares.
 *
 * Owns: the key's name on the server ("jellyfin-auth HOST", see
 * jellyfin-auth(8)), creating a key and finding it (the server does not
 * return it: list, POST, list, take the new token of our name), proving a
 * key works (GET /Users), writing the key file (0600, atomic), deleting a
 * key on the server, rotation (new key proven before the switch, old key
 * deleted after it) and revocation (server first, then the local file).
 * A key is never printed or logged.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apikey.h"
#include "authheader.h"
#include "cmd.h"
#include "fileutil.h"
#include "jellyfin.h"

void tool_key_name(char *buf, size_t len)
{
    char host[128];

    jfa_device_name(host, sizeof(host));
    snprintf(buf, len, "%s %s", TOOL_KEY_PREFIX, host);
}

enum jfa_status tool_key_check(struct tool *t, const char *key, size_t *n, char *why, size_t whylen)
{
    struct jfa_client c;
    struct jfa_user_list list = {0};
    enum jfa_status st;

    *n = 0;
    snprintf(why, whylen, "cannot set up the Jellyfin client");
    if (jfa_client_init(&c, &t->cfg, &t->log, "jellyfin-auth", NULL) != 0)
        return JFA_ERR_INTERNAL;
    st = jfa_list_users(&c, key, &list);
    *n = list.n;
    jfa_user_list_free(&list);
    snprintf(why, whylen, "%s%s%s", jfa_status_str(st), c.err[0] ? ": " : "", c.err);
    return st;
}

bool tool_key_works(struct tool *t, const char *key, size_t *n)
{
    char why[JFA_ERRLEN];
    enum jfa_status st = tool_key_check(t, key, n, why, sizeof(why));

    if (st != JFA_OK)
        jfa_logf(&t->log, LOG_INFO, "GET /Users with the API key: %s", why);
    return st == JFA_OK;
}

static void key_list_wipe(struct jfa_api_key_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (l->keys[i].access_token != NULL)
            explicit_bzero(l->keys[i].access_token, strlen(l->keys[i].access_token));
    jfa_api_key_list_free(l);
}

static bool key_listed(const struct jfa_api_key_list *l, const char *token)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (l->keys[i].access_token != NULL && strcmp(l->keys[i].access_token, token) == 0)
            return true;
    return false;
}

int tool_key_create(struct tool *t, const char *token, char key[33])
{
    struct jfa_client c;
    struct jfa_api_key_list before = {0}, after = {0};
    const struct jfa_api_key *best = NULL;
    char name[256];
    enum jfa_status st;
    size_t i;
    int ret = -1;

    tool_key_name(name, sizeof(name));
    if (jfa_client_init(&c, &t->cfg, &t->log, "jellyfin-auth", NULL) != 0) {
        tool_error(t, "cannot set up the Jellyfin client");
        return -1;
    }
    st = jfa_list_api_keys(&c, token, &before);
    if (st == JFA_OK)
        st = jfa_create_api_key(&c, token, name);
    if (st == JFA_OK)
        st = jfa_list_api_keys(&c, token, &after);
    if (st != JFA_OK) {
        tool_error(t, "creating the API key (GET/POST /Auth/Keys) failed: %s%s%s",
                   jfa_status_str(st), c.err[0] ? ": " : "", c.err);
        goto out;
    }
    /* The server does not return the new key: it is the token of our name
     * that was not there before (the newest, if a concurrent run added one). */
    for (i = 0; i < after.n; i++) {
        const struct jfa_api_key *k = &after.keys[i];
        if (k->app_name == NULL || k->access_token == NULL || strcmp(k->app_name, name) != 0 ||
            !jfa_hex32(k->access_token) || key_listed(&before, k->access_token))
            continue;
        if (best == NULL ||
            (k->date_created != NULL &&
             (best->date_created == NULL || strcmp(k->date_created, best->date_created) >= 0)))
            best = k;
    }
    if (best == NULL) {
        tool_error(t, "the server did not list the new API key \"%s\" (GET /Auth/Keys)", name);
        goto out;
    }
    memcpy(key, best->access_token, 33);
    printf("API key \"%s\" created\n", name);
    ret = 0;
out:
    key_list_wipe(&before);
    key_list_wipe(&after);
    return ret;
}

int tool_key_delete(struct tool *t, const char *token, const char *key)
{
    struct jfa_client c;
    enum jfa_status st;

    if (jfa_client_init(&c, &t->cfg, &t->log, "jellyfin-auth", NULL) != 0) {
        tool_error(t, "cannot set up the Jellyfin client");
        return -1;
    }
    st = jfa_delete_api_key(&c, token, key);
    if (st != JFA_OK) {
        tool_error(t, "deleting the API key on the server failed: %s", c.err);
        return -1;
    }
    return 0;
}

int tool_key_write(struct tool *t, const char *key)
{
    char line[34], err[JFA_ERRLEN];
    int ret = 0;

    snprintf(line, sizeof(line), "%s\n", key);
    if (jfa_write_atomic(t->cfg.api_key_file, line, 33, 0600, err, sizeof(err)) != 0) {
        tool_error(t, "writing the API key: %s", err);
        ret = -1;
    }
    explicit_bzero(line, sizeof(line));
    return ret;
}

static void help(void)
{
    printf("Usage: jellyfin-auth key rotate | revoke [--force] [--config PATH] [--debug]\n"
           "Manage the API key in api_key_file (see jellyfin-auth(8)).\n\n"
           "  rotate    create a new key with the current one, prove it works (GET /Users),\n"
           "            switch the key file atomically, then delete the old key on the server\n"
           "  revoke    delete the key on the server, then the key file; 'sync' stops working\n"
           "            until 'jellyfin-auth setup' creates a new key\n"
           "  --force   (revoke) remove the key file even if the server cannot be reached\n");
}

static int key_rotate(struct tool *t)
{
    char old[33], neu[33], err[JFA_ERRLEN];
    enum jfa_status st;
    size_t n = 0;
    int r, ret = EXIT_FAIL;

    memset(old, 0, sizeof(old));
    memset(neu, 0, sizeof(neu));
    r = jfa_api_key_read(&t->cfg, old, err, sizeof(err));
    if (r != 0) {
        tool_error(t, "%s", r == JFA_ABSENT ? "no API key file: run 'jellyfin-auth setup'" : err);
        goto out;
    }
    st = tool_key_check(t, old, &n, err, sizeof(err));
    if (st == JFA_ERR_AUTH || st == JFA_ERR_FORBIDDEN) {
        tool_error(t,
                   "the server refuses the current API key (%s): run 'jellyfin-auth setup' "
                   "to create one with an administrator's login",
                   t->cfg.api_key_file);
        goto out;
    }
    if (st != JFA_OK) {
        tool_error(t, "GET /Users with the current API key: %s; nothing changed", err);
        goto out;
    }
    if (tool_key_create(t, old, neu) != 0)
        goto out;
    if (!tool_key_works(t, neu, &n)) {
        tool_error(t, "the new API key does not work for GET /Users; %s is unchanged",
                   t->cfg.api_key_file);
        (void)tool_key_delete(t, old, neu);
        goto out;
    }
    if (tool_key_write(t, neu) != 0) {
        (void)tool_key_delete(t, old, neu);
        goto out;
    }
    printf("API key file %s: switched to the new key (GET /Users lists %zu users)\n",
           t->cfg.api_key_file, n);
    if (tool_key_delete(t, neu, old) != 0) {
        tool_error(t, "the old key is still on the server: delete it under Dashboard > API Keys");
        goto out;
    }
    printf("old API key deleted on the server\n");
    ret = EXIT_OK;
out:
    explicit_bzero(old, sizeof(old));
    explicit_bzero(neu, sizeof(neu));
    return ret;
}

static int key_revoke(struct tool *t, bool force)
{
    char key[33], err[JFA_ERRLEN];
    int r, ret = EXIT_FAIL;

    memset(key, 0, sizeof(key));
    r = jfa_api_key_read(&t->cfg, key, err, sizeof(err));
    if (r == JFA_ABSENT) {
        printf("no API key file %s: nothing to revoke\n", t->cfg.api_key_file);
        ret = EXIT_OK;
        goto out;
    }
    if (r < 0) {
        tool_error(t, "%s", err);
        goto out;
    }
    /* An API key may delete itself: DELETE needs the Administrator role,
     * which every API key has. */
    if (tool_key_delete(t, key, key) == 0) {
        printf("API key deleted on the server\n");
    } else if (!force) {
        tool_error(t, "%s is kept: retry, or add --force to remove it anyway", t->cfg.api_key_file);
        goto out;
    } else {
        printf("the server was not reached (--force): delete the key under Dashboard > API "
               "Keys\n");
    }
    if (unlink(t->cfg.api_key_file) != 0 && errno != ENOENT) {
        tool_error(t, "%s: %s", t->cfg.api_key_file, strerror(errno));
        goto out;
    }
    printf("API key file %s removed; 'jellyfin-auth setup' creates a new key\n",
           t->cfg.api_key_file);
    ret = EXIT_OK;
out:
    explicit_bzero(key, sizeof(key));
    return ret;
}

int cmd_key(struct tool *t, int argc, char **argv)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'},
        TOOL_COMMON_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    const char *action = NULL;
    bool force = false;
    int opt;

    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (tool_common_opt(t, opt, optarg))
            continue;
        switch (opt) {
        case 'f':
            force = true;
            break;
        case 'h':
            help();
            return EXIT_OK;
        default:
            return tool_usage_error(t, "key", "invalid option");
        }
    }
    if (optind + 1 != argc)
        return tool_usage_error(t, "key", "expected one action: rotate or revoke");
    action = argv[optind];
    if (strcmp(action, "rotate") != 0 && strcmp(action, "revoke") != 0)
        return tool_usage_error(t, "key", "unknown action '%s' (rotate or revoke)", action);
    if (force && strcmp(action, "revoke") != 0)
        return tool_usage_error(t, "key", "--force applies to revoke only");
    if (tool_load_config(t) != 0)
        return EXIT_FAIL;
    return strcmp(action, "rotate") == 0 ? key_rotate(t) : key_revoke(t, force);
}

/*
 * samba_sync.c - the Samba step of `jellyfin-auth sync` (see samba.h).
 *
 * Owns: deciding, for each entry of Samba's passdb, whether it belongs to
 * a Jellyfin user (a login name of the users database, or a name the
 * ledger says a Jellyfin Id held: the last name of a deleted user, a name
 * claimed by an Id that no longer holds it, that no NSS source knows any
 * more) and whether it must be disabled (user disabled or deleted in
 * Jellyfin, renamed away, left out of the database) or enabled again (user
 * enabled, entry disabled). Entries of local accounts
 * and of unknown names are never touched. The "already current" records of
 * users whose entry is gone or disabled are dropped, so the next login
 * writes the password again. Also the step the package's prerm runs when
 * jellyfin-auth is removed (jfa_samba_disable_all): disable every entry
 * that is a Jellyfin user's, and list them for the purge.
 */
#include "jfaconf.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "fileutil.h"
#include "hostaccts.h"
#include "ledger.h"
#include "samba.h"
#include "sync.h"

/* Is name known to an NSS source (then it is not a deleted user of ours:
 * the database no longer holds it, so the answer comes from elsewhere)? */
/* Does some NSS source know the name? A failed lookup counts as known:
 * an entry is never disabled on a doubt. */
static bool nss_knows(const char *name)
{
    struct jfa_nssbuf b = {0};
    struct passwd pw, *res = NULL;
    int r = jfa_nss_getpwnam(&b, name, &pw, &res);

    jfa_nssbuf_free(&b);
    return r != 0;
}

static int change(const struct jfa_config *cfg, const struct jfa_log *log, FILE *out, bool dry_run,
                  const char *name, bool enable, const char *why)
{
    char err[JFA_ERRLEN];

    if (!dry_run && jfa_samba_set_enabled(cfg, name, enable, err, sizeof(err)) != 0) {
        jfa_logf(log, LOG_WARNING, "warning: samba: cannot %s %s: %s",
                 enable ? "enable" : "disable", name, err);
        return 1;
    }
    if (out != NULL)
        fprintf(out, "samba: %s %s (%s)%s\n", enable ? "enabled " : "disabled", name, why,
                dry_run ? " [dry run]" : "");
    return 0;
}

/* What both steps read: the users database (optional for the removal: a
 * setup that never synced), the ledger and the passdb list. */
struct view {
    struct jfa_samba_list list;
    struct jfa_ledger ledger;
    struct jfa_db db;
    char *db_path, *priv, *ledger_path;
    bool have_db;
};

static void view_close(struct view *v)
{
    jfa_samba_list_free(&v->list);
    if (v->have_db)
        jfa_db_close(&v->db);
    jfa_ledger_free(&v->ledger);
    free(v->db_path);
    free(v->priv);
    free(v->ledger_path);
}

/* 0, or -1 with err (v must be closed either way). */
static int view_open(const struct jfa_config *cfg, bool db_optional, struct view *v, char *err,
                     size_t errlen)
{
    char sub[JFA_ERRLEN];
    int r;

    memset(v, 0, sizeof(*v));
    jfa_ledger_init(&v->ledger);
    v->db_path = jfa_config_db_path(cfg);
    v->priv = jfa_config_private_dir(cfg);
    v->ledger_path = jfa_sync_ledger_path(cfg);
    if (v->db_path == NULL || v->priv == NULL || v->ledger_path == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        return -1;
    }
    r = jfa_db_open(&v->db, v->db_path, geteuid() == 0);
    if (r != 0 && !(db_optional && r == -ENOENT)) {
        jfa_set_err(err, errlen, "%s: %s", v->db_path, strerror(-r));
        return -1;
    }
    v->have_db = r == 0;
    if (jfa_ledger_load(&v->ledger, v->ledger_path, sub, sizeof(sub)) < 0) {
        jfa_set_err(err, errlen, "%s", sub);
        return -1;
    }
    if (jfa_samba_list_passdb(cfg, &v->list, sub, sizeof(sub)) != 0) {
        jfa_set_err(err, errlen, "cannot list the Samba passdb: %s", sub);
        return -1;
    }
    return 0;
}

int jfa_samba_sync(const struct jfa_config *cfg, const struct jfa_log *log, FILE *out, bool dry_run,
                   char *err, size_t errlen)
{
    struct view v;
    struct jfa_samba_list *list = &v.list;
    struct jfa_ledger *ledger = &v.ledger;
    struct jfa_db *db = &v.db;
    const char *priv;
    int failures = 0, ret = -1;

    if (view_open(cfg, false, &v, err, errlen) != 0)
        goto out;
    priv = v.priv;
    /* entries of current users: follow the Jellyfin account state */
    for (size_t i = 0; i < list->n; i++) {
        const struct jfa_samba_entry *e = &list->items[i];
        struct jfa_db_user u;
        bool off;

        if (!e->normal || jfa_db_user_by_name(db, e->name, &u) != 0)
            continue;
        off = (u.flags & JFA_DBU_DISABLED) != 0;
        if (off && !e->disabled)
            failures += change(cfg, log, out, dry_run, e->name, false, "disabled in Jellyfin");
        else if (!off && e->disabled)
            failures += change(cfg, log, out, dry_run, e->name, true, "enabled in Jellyfin");
        /* a disabled entry is rewritten (and enabled) by the next login */
        if (off && !dry_run)
            (void)jfa_samba_record_drop(priv, u.jf_id);
    }
    /* entries of deleted users: the last name the ledger knows for them */
    for (size_t k = 0; k < ledger->n_users; k++) {
        const struct jfa_ledger_user *lu = &ledger->users[k];
        struct jfa_samba_entry *e;
        struct jfa_db_user u;

        if (!lu->deleted)
            continue;
        if (!dry_run)
            (void)jfa_samba_record_drop(priv, lu->id);
        if (lu->name[0] == '\0' || jfa_db_user_by_name(db, lu->name, &u) == 0)
            continue; /* no name, or someone else holds it now */
        e = (struct jfa_samba_entry *)jfa_samba_find(list, lu->name);
        if (e == NULL || !e->normal || e->disabled || nss_knows(e->name))
            continue; /* no entry, already off, or a local account took the name */
        failures += change(cfg, log, out, dry_run, e->name, false, "deleted in Jellyfin");
        e->disabled = true; /* an earlier deleted holder of the name: once is enough */
    }
    /* entries of names a Jellyfin Id claims but no longer holds (renamed,
     * or left out of the database): the entry keeps that Id's password
     * until `names release`, and opens a local account created under the
     * name later, or the name's next holder */
    for (size_t ci = 0; ci < ledger->n_claims; ci++) {
        const struct jfa_ledger_claim *c = &ledger->claims[ci];
        enum jfa_claim_state st;
        struct jfa_samba_entry *e;
        struct jfa_db_user u;

        if (jfa_db_user_by_name(db, c->name, &u) == 0)
            continue; /* held: the first loop follows its holder */
        e = (struct jfa_samba_entry *)jfa_samba_find(list, c->name);
        if (e == NULL || !e->normal || e->disabled || nss_knows(e->name))
            continue; /* no entry, already off, or a local account took the name */
        st = jfa_ledger_claim_state(ledger, ci);
        failures += change(cfg, log, out, dry_run, e->name, false,
                           st == JFA_CLAIM_DELETED   ? "deleted in Jellyfin"
                           : st == JFA_CLAIM_RENAMED ? "its Jellyfin user has another name now"
                                                     : "left out of the users database");
        e->disabled = true;
        if (!dry_run)
            (void)jfa_samba_record_drop(priv, c->id);
    }
    /* users without an entry: forget the record, so a login re-creates it */
    for (uint32_t i = 0; !dry_run && i < db->n_users; i++) {
        struct jfa_db_user u;

        if (jfa_db_user_at(db, i, &u) == 0 && jfa_samba_find(list, u.name) == NULL)
            (void)jfa_samba_record_drop(priv, u.jf_id);
    }
    ret = failures;
out:
    view_close(&v);
    return ret;
}

/* Is name a Jellyfin user's passdb entry: a login name of the database,
 * or a name the ledger says a Jellyfin Id held (a claim, a deleted user's
 * last name) that no other NSS source knows now (else a local account took
 * it, and its entry is the administrator's)? */
static bool entry_is_ours(const struct jfa_db *db, const struct jfa_ledger *ledger,
                          const char *name)
{
    struct jfa_db_user u;
    bool held = false;

    if (db != NULL && jfa_db_user_by_name(db, name, &u) == 0)
        return true;
    if (jfa_ledger_find_claim(ledger, name) >= 0)
        held = true;
    for (size_t k = 0; !held && k < ledger->n_users; k++)
        held = ledger->users[k].deleted && strcmp(ledger->users[k].name, name) == 0;
    return held && !nss_knows(name);
}

int jfa_samba_disable_all(const struct jfa_config *cfg, const struct jfa_log *log, FILE *out,
                          size_t *n_listed, char *err, size_t errlen)
{
    struct view v;
    char *names = NULL, path[PATH_MAX], sub[JFA_ERRLEN];
    size_t len = 0;
    int failures = 0, ret = -1, r;

    *n_listed = 0;
    /* no database yet (setup never synced) is no reason to leave entries */
    if (view_open(cfg, true, &v, err, errlen) != 0)
        goto out;
    r = snprintf(path, sizeof(path), "%s/%s", v.priv, JFA_SAMBA_ENTRIES_FILE);
    if (r < 0 || (size_t)r >= sizeof(path)) {
        jfa_set_err(err, errlen, "%s: path too long", v.priv);
        goto out;
    }
    names = calloc(v.list.n + 1, sizeof(v.list.items[0].name) + 1);
    if (names == NULL) {
        jfa_set_err(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < v.list.n; i++) {
        const struct jfa_samba_entry *e = &v.list.items[i];

        if (!e->normal || !entry_is_ours(v.have_db ? &v.db : NULL, &v.ledger, e->name))
            continue;
        if (!e->disabled) {
            if (change(cfg, log, out, false, e->name, false, "jellyfin-auth is removed") != 0) {
                failures++;
                continue; /* still enabled: the purge leaves it to the administrator */
            }
        }
        len += (size_t)sprintf(names + len, "%s\n", e->name);
        (*n_listed)++;
    }
    /* the "already current" records go: after a reinstall, the next login
     * writes (and enables) the entry again */
    for (uint32_t i = 0; v.have_db && i < v.db.n_users; i++) {
        struct jfa_db_user u;

        if (jfa_db_user_at(&v.db, i, &u) == 0)
            (void)jfa_samba_record_drop(v.priv, u.jf_id);
    }
    for (size_t k = 0; k < v.ledger.n_users; k++)
        (void)jfa_samba_record_drop(v.priv, v.ledger.users[k].id);
    if (jfa_ensure_dir(v.priv, 0700, sub, sizeof(sub)) != 0 ||
        jfa_write_atomic(path, names, len, 0600, sub, sizeof(sub)) != 0) {
        jfa_set_err(err, errlen, "cannot write the list of entries for the purge: %s", sub);
        goto out;
    }
    ret = failures;
out:
    view_close(&v);
    free(names);
    return ret;
}

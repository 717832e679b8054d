/*
 * tools/cmd_names.c - `jellyfin-auth names`: the login-name claims.
 *
 * Owns: `names list` (every claimed name, the Jellyfin Id it belongs to
 * and what became of that Id: active, deleted, renamed-away; then the
 * overrides), `names release NAME` (the administrator's explicit decision
 * that a name may go to another Jellyfin Id at the next sync), and
 * `names set ID|JELLYFIN-NAME LOGIN` / `names unset ID|JELLYFIN-NAME` (an
 * override: the login name a Jellyfin Id gets whatever its Jellyfin name,
 * kept across renames, in the ledger). A name, and the local grants
 * attached to it (sudoers, /etc/group, AllowUsers), never passes to
 * another Id otherwise; see lib/ledger.h: `set` refuses a name another Id
 * claims or overrides, a reserved name and a local account. Each action
 * changes the ledger under the sync lock, atomically, and nothing else.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apikey.h"
#include "cmd.h"
#include "db.h"
#include "homecheck.h"
#include "ledger.h"
#include "namemap.h"
#include "samba.h"
#include "sync.h"

static void help(void)
{
    printf("Usage: jellyfin-auth names list [--config PATH] [--debug]\n"
           "       jellyfin-auth names release NAME [--config PATH] [--debug]\n"
           "       jellyfin-auth names set ID|JELLYFIN-NAME LOGIN [--config PATH] [--debug]\n"
           "       jellyfin-auth names unset ID|JELLYFIN-NAME [--config PATH] [--debug]\n"
           "A login name (and the private group of the same name), once given to a\n"
           "Jellyfin user Id, stays claimed by that Id when the user is deleted or\n"
           "renamed: local grants (sudoers rules, /etc/group memberships, AllowUsers)\n"
           "attach to names, so a name never passes to another Jellyfin user by itself.\n\n"
           "  list          print every claimed name, its Jellyfin Id and the Id's state:\n"
           "                active, deleted or renamed-away\n"
           "  release NAME  remove the claim on NAME: the next sync gives it to the\n"
           "                Jellyfin user whose name maps to it. Check first what the\n"
           "                machine grants to NAME. With samba_sync, NAME's Samba entry\n"
           "                (the old holder's password) is removed first. Refused while\n"
           "                NAME is its holder's login as of the last sync. Names the\n"
           "                owner of NAME's home when it exists: the next holder is refused\n"
           "                logins until it is moved away or chowned to them; and what\n"
           "                else is kept under the name (mail spool, crontab, lingering,\n"
           "                subordinate ids), which passes to the next holder. Root only.\n"
           "  set ID|JELLYFIN-NAME LOGIN\n"
           "                give that Jellyfin user (by Id, or by its Jellyfin name as the\n"
           "                last sync saw it) the login name LOGIN from the next sync on,\n"
           "                whatever its Jellyfin name, across renames. LOGIN must be a valid,\n"
           "                unreserved name, no local account, and not claimed by another\n"
           "                Jellyfin Id (release it first). Root only.\n"
           "  unset ID|JELLYFIN-NAME\n"
           "                remove the override: the next sync maps the Jellyfin name again.\n"
           "                The override's name stays claimed by that Id. Root only.\n");
}

/* Load the ledger (0, or EXIT_FAIL with the message printed). *absent
 * tells that there is none yet. */
static int load(struct tool *t, const char *path, struct jfa_ledger *l, bool *absent)
{
    char err[JFA_ERRLEN];
    int r;

    *absent = false;
    r = jfa_ledger_load(l, path, err, sizeof(err));
    if (r < 0) {
        tool_error(t, "ledger: %s", err);
        return EXIT_FAIL;
    }
    *absent = r == 1;
    return 0;
}

/* Is there no ledger because no sync has run (state_dir/private absent)?
 * 1 yes, 0 no, -1 out of memory (printed). */
static int no_sync_yet(struct tool *t)
{
    char *priv = jfa_config_private_dir(&t->cfg);
    struct stat sb;
    int r;

    if (priv == NULL) {
        tool_error(t, "out of memory");
        return -1;
    }
    r = lstat(priv, &sb) != 0 && errno == ENOENT;
    free(priv);
    return r;
}

/* Take the sync lock, then load the ledger (0, or EXIT_FAIL with the
 * message printed; *lock_fd is closed by the caller). */
static int lock_and_load(struct tool *t, const char *path, struct jfa_ledger *l, bool *absent,
                         int *lock_fd)
{
    char err[JFA_ERRLEN];

    if (jfa_sync_lock(&t->cfg, &t->log, lock_fd, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        return EXIT_FAIL;
    }
    return load(t, path, l, absent);
}

/* Write the ledger back (0, or EXIT_FAIL with the message printed). */
static int save(struct tool *t, const struct jfa_ledger *l, const char *path)
{
    char err[JFA_ERRLEN];

    if (jfa_ledger_save(l, path, err, sizeof(err)) != 0) {
        tool_error(t, "writing the ledger: %s", err);
        return EXIT_FAIL;
    }
    return 0;
}

static int cmp_claim_name(const void *a, const void *b)
{
    const struct jfa_ledger_claim *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int do_list(struct tool *t, const char *path)
{
    struct jfa_ledger l;
    bool absent;
    size_t i;
    int ret = EXIT_FAIL;
    const struct jfa_ledger_claim **v = NULL;

    jfa_ledger_init(&l);
    if (load(t, path, &l, &absent) != 0)
        goto out;
    v = calloc(l.n_claims + 1, sizeof(*v));
    if (v == NULL) {
        tool_error(t, "out of memory");
        goto out;
    }
    for (i = 0; i < l.n_claims; i++)
        v[i] = &l.claims[i];
    qsort(v, l.n_claims, sizeof(*v), cmp_claim_name);
    printf("%-32s %-32s %s\n", "NAME", "JELLYFIN ID", "STATE");
    for (i = 0; i < l.n_claims; i++) {
        ssize_t ci = v[i] - l.claims;
        printf("%-32s %-32s %s\n", v[i]->name, v[i]->id,
               jfa_claim_state_str(jfa_ledger_claim_state(&l, (size_t)ci)));
    }
    printf("%zu names claimed%s\n", l.n_claims, absent ? " (no ledger yet: no sync has run)" : "");
    if (l.n_overrides > 0) {
        printf("\n%-32s %-32s %s\n", "OVERRIDE (names set)", "JELLYFIN ID", "SET AT");
        for (i = 0; i < l.n_overrides; i++) {
            char when[32] = "?";
            time_t tt = (time_t)l.overrides[i].set_time;
            struct tm tm;
            if (gmtime_r(&tt, &tm) != NULL)
                strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
            printf("%-32s %-32s %s\n", l.overrides[i].name, l.overrides[i].id, when);
        }
    }
    ret = EXIT_OK;
out:
    free(v);
    jfa_ledger_free(&l);
    return ret;
}

/*
 * Is name the login name of Jellyfin Id id as of the last sync (the users
 * database)? Without a readable database the ledger's "active" decides.
 * Such a name must not be released: a rename in Jellyfin since that sync
 * is not in the ledger yet, and the next sync would hand the name to
 * another Id together with what is attached to it, the old holder's Samba
 * entry included.
 */
static bool holds_login(struct tool *t, const char *name, const char *id, enum jfa_claim_state st)
{
    struct jfa_db db;
    struct jfa_db_user u;
    char *db_path = jfa_config_db_path(&t->cfg);
    bool holds = st == JFA_CLAIM_ACTIVE;

    memset(&db, 0, sizeof(db));
    if (db_path != NULL && jfa_db_open(&db, db_path, false) == 0) {
        holds = jfa_db_user_by_name(&db, name, &u) == 0 && strcmp(u.jf_id, id) == 0;
        jfa_db_close(&db);
    }
    free(db_path);
    return holds;
}

/*
 * The home the name's next holder gets (the home template) keeps the old
 * holder's files, startup files included: the PAM module refuses the new
 * holder's logins while it is not theirs. Say so, and what to do. Not a
 * refusal of the release: the login refusal is the safeguard, and the
 * administrator may move the home at any time.
 */
static void tell_home(struct tool *t, const char *name)
{
    char *home = jfa_config_home(&t->cfg, name);
    struct passwd *pw;
    struct stat st;

    if (home == NULL || home[0] != '/' || stat(home, &st) != 0)
        goto out;
    pw = getpwuid(st.st_uid);
    printf("The home %s exists, owned by uid %u%s%s%s. Its next holder is refused logins and\n"
           "sessions until it is theirs: move it away (mv %s %s.old; the first session\n"
           "creates a fresh one), or check everything in it (.profile, .bashrc, .ssh) and\n"
           "chown -R it to them.\n",
           home, (unsigned)st.st_uid, pw != NULL ? " (" : "", pw != NULL ? pw->pw_name : "",
           pw != NULL ? ")" : "", home, home);
out:
    free(home);
}

/* One file another program keeps under the released name (a mail spool,
 * a crontab, lingering, subordinate ids): it goes to the next holder with
 * the name, not with the old holder's uid. */
static void tell_name_file(void *ctx, const struct jfa_name_file *nf)
{
    struct passwd *pw = nf->owned ? getpwuid(nf->owner) : NULL;

    if (nf->owned)
        printf("%s (%s) exists, owned by uid %u%s%s%s: %s.\n", nf->path, nf->what,
               (unsigned)nf->owner, pw != NULL ? " (" : "", pw != NULL ? pw->pw_name : "",
               pw != NULL ? ")" : "", nf->effect);
    else
        printf("%s (%s) is kept under the name %s: %s.\n", nf->path, nf->what, (const char *)ctx,
               nf->effect);
}

static int do_release(struct tool *t, const char *path, const char *name)
{
    struct jfa_ledger l;
    bool absent;
    char err[JFA_ERRLEN], id[33];
    int r, ret = EXIT_FAIL, lock_fd = -1;
    enum jfa_claim_state st;
    ssize_t ci;

    jfa_ledger_init(&l);
    r = no_sync_yet(t);
    if (r == 1)
        tool_error(t, "name %s is not claimed: there is no ledger (%s); no sync has run", name,
                   path);
    if (r != 0 || lock_and_load(t, path, &l, &absent, &lock_fd) != 0)
        goto out;
    ci = jfa_ledger_find_claim(&l, name);
    if (ci < 0) {
        tool_error(t,
                   "name %s is not claimed by any Jellyfin user Id; 'jellyfin-auth names list' "
                   "shows the claimed names",
                   name);
        goto out;
    }
    st = jfa_ledger_claim_state(&l, (size_t)ci);
    memcpy(id, l.claims[ci].id, sizeof(id));
    if (holds_login(t, name, id, st)) {
        tool_error(t,
                   "name %s not released: it is the login name of Jellyfin user Id %s as of the "
                   "last sync. Renamed in Jellyfin since then, that user would hand it on at the "
                   "next sync with what this machine grants to it%s. Run 'jellyfin-auth sync' "
                   "first: 'jellyfin-auth names list' then shows the claim renamed-away or deleted",
                   name, id, t->cfg.samba_sync ? " and its Samba entry" : "");
        goto out;
    }
    /* The name's Samba entry holds the password of the Id that held the
     * name: the next holder must not inherit it (the sync would keep an
     * enabled entry of a current user as it is). Gone before the release. */
    if (t->cfg.samba_sync) {
        bool removed = false;

        if (jfa_samba_remove(&t->cfg, name, &removed, err, sizeof(err)) != 0) {
            tool_error(t,
                       "name %s not released: its Samba entry, which holds the password of "
                       "Jellyfin user Id %s, cannot be removed: %s",
                       name, id, err);
            goto out;
        }
        if (removed)
            printf("removed the Samba entry of %s (it held the password of Jellyfin user Id "
                   "%s).\n",
                   name, id);
    }
    if (jfa_ledger_release_name(&l, name, err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        goto out;
    }
    if (save(t, &l, path) != 0)
        goto out;
    printf("released %s (claimed by Jellyfin user Id %s, %s).\n", name, id,
           jfa_claim_state_str(st));
    printf("The next sync gives %s to the Jellyfin user whose name maps to it, with every local\n"
           "grant on the name; run 'jellyfin-auth sync' to apply it now.\n",
           name);
    tell_home(t, name);
    jfa_name_files("", name, false, tell_name_file, (void *)name);
    ret = EXIT_OK;
out:
    if (lock_fd >= 0)
        close(lock_fd);
    jfa_ledger_free(&l);
    return ret;
}

/*
 * Who is "who"? 32 hex digits: that Id (lower-cased). Otherwise a Jellyfin
 * name as the last sync saw it (users database, then the users it left
 * out), compared case-insensitively as Jellyfin does (ASCII). 0 with id
 * filled (and *shown, the name, if found), or EXIT_FAIL with the message.
 */
static int resolve_who(struct tool *t, const char *who, char id[33], char *shown, size_t shownlen)
{
    struct jfa_db db;
    struct jfa_sync_report rep;
    char *db_path = NULL, *rep_path = NULL, err[JFA_ERRLEN], esc[256], other[33];
    size_t found = 0, i;
    int ret = EXIT_FAIL;
    bool have_db = false;

    memset(&db, 0, sizeof(db));
    memset(&rep, 0, sizeof(rep));
    shown[0] = '\0';
    if (strlen(who) == 32) {
        for (i = 0; i < 32; i++)
            id[i] = (char)tolower((unsigned char)who[i]);
        id[32] = '\0';
        if (jfa_hex32(id))
            found = 1;
    }
    db_path = jfa_config_db_path(&t->cfg);
    rep_path = jfa_sync_report_path(&t->cfg);
    if (db_path == NULL || rep_path == NULL) {
        tool_error(t, "out of memory");
        goto out;
    }
    have_db = jfa_db_open(&db, db_path, false) == 0;
    for (uint32_t k = 0; have_db && k < db.n_users; k++) {
        struct jfa_db_user u;
        if (jfa_db_user_at(&db, k, &u) != 0)
            continue;
        if (found == 1 && strcmp(u.jf_id, id) == 0) {
            snprintf(shown, shownlen, "%s", u.jf_name);
            goto done;
        }
        if (found != 1 && strcasecmp(u.jf_name, who) == 0) {
            if (found++ > 0 && strcmp(id, u.jf_id) != 0) {
                memcpy(other, u.jf_id, 33);
                goto ambiguous;
            }
            memcpy(id, u.jf_id, 33);
            snprintf(shown, shownlen, "%s", u.jf_name);
        }
    }
    if (jfa_report_read(rep_path, &rep, err, sizeof(err)) == 0) {
        for (i = 0; i < rep.n; i++) {
            if (!jfa_hex32(rep.items[i].id))
                continue;
            if (found == 1 && strcmp(rep.items[i].id, id) == 0) {
                snprintf(shown, shownlen, "%s", rep.items[i].jf_name);
                goto done;
            }
            if (found != 1 && strcasecmp(rep.items[i].jf_name, who) == 0) {
                if (found++ > 0 && strcmp(id, rep.items[i].id) != 0) {
                    memcpy(other, rep.items[i].id, 33);
                    goto ambiguous;
                }
                memcpy(id, rep.items[i].id, 33);
                snprintf(shown, shownlen, "%s", rep.items[i].jf_name);
            }
        }
    }
    if (found == 0) {
        tool_error(t,
                   "no Jellyfin user named \"%s\" in the last sync (%s, %s); give the user's Id "
                   "(32 hex digits, 'jellyfin-auth users' lists them) or run 'jellyfin-auth sync'",
                   jfa_log_escape(esc, sizeof(esc), who), db_path, rep_path);
        goto out;
    }
done:
    ret = 0;
    goto out;
ambiguous:
    tool_error(t, "several Jellyfin users are named \"%s\" (Ids %s and %s): give the Id",
               jfa_log_escape(esc, sizeof(esc), who), id, other);
out:
    if (have_db)
        jfa_db_close(&db);
    jfa_report_free(&rep);
    free(db_path);
    free(rep_path);
    return ret;
}

/*
 * Is login a local account or group, i.e. answered by NSS with an entry
 * that is not ours (not in our users database with the same id)? The sync
 * checks again at every run; this refuses early with a clear message.
 */
static const char *local_conflict(struct tool *t, const char *login)
{
    struct jfa_db db;
    struct jfa_db_user u;
    struct jfa_db_group g;
    struct passwd *pw;
    struct group *gr;
    const char *what = NULL;
    char *db_path = jfa_config_db_path(&t->cfg);
    bool have_db;

    memset(&db, 0, sizeof(db));
    have_db = db_path != NULL && jfa_db_open(&db, db_path, false) == 0;
    pw = getpwnam(login);
    if (pw != NULL && !(have_db && jfa_db_user_by_name(&db, login, &u) == 0 && u.uid == pw->pw_uid))
        what = "a local account";
    gr = what == NULL ? getgrnam(login) : NULL;
    if (gr != NULL &&
        !(have_db && jfa_db_group_by_name(&db, login, &g) == 0 && g.gid == gr->gr_gid))
        what = "a local group";
    if (have_db)
        jfa_db_close(&db);
    free(db_path);
    return what;
}

static int do_set(struct tool *t, const char *path, const char *who, const char *login)
{
    struct jfa_ledger l;
    bool absent;
    char err[JFA_ERRLEN], id[33], shown[256], esc[256], why[256];
    int r, ret = EXIT_FAIL, lock_fd = -1;
    ssize_t ci, oi, ui;
    const char *what;
    const char *admin_group = t->cfg.admin_group;

    jfa_ledger_init(&l);
    r = no_sync_yet(t);
    if (r == 1)
        tool_error(t, "there is no ledger (%s): run 'jellyfin-auth sync' first", path);
    if (r != 0 || resolve_who(t, who, id, shown, sizeof(shown)) != 0)
        goto out;
    if (login != NULL) {
        if (admin_group != NULL && t->cfg.users_group != NULL &&
            strcmp(admin_group, t->cfg.users_group) == 0)
            admin_group = NULL;
        if (jfa_name_reserved_why(login, t->cfg.users_group, admin_group, why, sizeof(why)) !=
            NULL) {
            tool_error(t, "login name %s is reserved: %s", login, why);
            goto out;
        }
        if (jfa_config_name_reserved(&t->cfg, login)) {
            tool_error(t, "login name %s is reserved by reserved_names in %s", login,
                       tool_config_path(t));
            goto out;
        }
        what = local_conflict(t, login);
        if (what != NULL) {
            tool_error(t,
                       "login name %s is %s: local accounts and groups are never given to a "
                       "Jellyfin user",
                       login, what);
            goto out;
        }
    }
    if (lock_and_load(t, path, &l, &absent, &lock_fd) != 0)
        goto out;
    if (login == NULL) {
        oi = jfa_ledger_find_override(&l, id);
        if (oi < 0) {
            tool_error(t,
                       "Jellyfin user Id %s has no override ('jellyfin-auth names list' "
                       "shows them)",
                       id);
            goto out;
        }
        snprintf(why, sizeof(why), "%s", l.overrides[oi].name);
        jfa_ledger_unset_override(&l, id);
        if (save(t, &l, path) != 0)
            goto out;
        printf("unset: Jellyfin user Id %s no longer has the login name %s by override.\n"
               "The next sync maps its Jellyfin name again; %s stays claimed by this Id\n"
               "('jellyfin-auth names release %s' frees it). Run 'jellyfin-auth sync' to apply "
               "it now.\n",
               id, why, why, why);
        ret = EXIT_OK;
        goto out;
    }
    if (jfa_ledger_find_group(&l, login) >= 0) {
        tool_error(t,
                   "login name %s is reserved: a group jellyfin-auth defined (users_group or "
                   "admin_group, now or before)",
                   login);
        goto out;
    }
    ci = jfa_ledger_find_claim(&l, login);
    if (ci >= 0 && strcmp(l.claims[ci].id, id) != 0) {
        tool_error(t,
                   "login name %s is claimed by Jellyfin user Id %s (%s): a name and the local "
                   "grants on it never pass to another user; check what the machine grants to "
                   "%s, then 'jellyfin-auth names release %s', then set it again",
                   login, l.claims[ci].id,
                   jfa_claim_state_str(jfa_ledger_claim_state(&l, (size_t)ci)), login, login);
        goto out;
    }
    oi = jfa_ledger_find_override_name(&l, login);
    if (oi >= 0 && strcmp(l.overrides[oi].id, id) != 0) {
        tool_error(t,
                   "login name %s is already the override of Jellyfin user Id %s; "
                   "'jellyfin-auth names unset %s' first",
                   login, l.overrides[oi].id, l.overrides[oi].id);
        goto out;
    }
    if (jfa_ledger_set_override(&l, id, login, (int64_t)time(NULL), err, sizeof(err)) != 0) {
        tool_error(t, "%s", err);
        goto out;
    }
    if (save(t, &l, path) != 0)
        goto out;
    ui = jfa_ledger_find_user(&l, id);
    printf("set: Jellyfin user Id %s%s%s%s gets the login name %s from the next sync on,\n"
           "whatever its Jellyfin name.",
           id, shown[0] ? " (\"" : "", shown[0] ? jfa_log_escape(esc, sizeof(esc), shown) : "",
           shown[0] ? "\")" : "", login);
    if (ui >= 0 && l.users[ui].name[0] != '\0' && strcmp(l.users[ui].name, login) != 0)
        printf(" Its current login name %s stays claimed by it (the UID does not change).",
               l.users[ui].name);
    printf("\nRun 'jellyfin-auth sync' to apply it now.\n");
    ret = EXIT_OK;
out:
    if (lock_fd >= 0)
        close(lock_fd);
    jfa_ledger_free(&l);
    return ret;
}

/* The next operand of action sub, or NULL after a usage error; a login
 * name (login true) must be a valid one. */
static const char *operand(struct tool *t, const char *sub, const char *question, bool login,
                           int argc, char **argv)
{
    const char *arg;

    if (optind >= argc) {
        tool_usage_error(t, "names", "%s: %s", sub, question);
        return NULL;
    }
    arg = argv[optind++];
    if (login && !jfa_name_valid(arg)) {
        tool_usage_error(t, "names",
                         "%s: \"%s\" is not a login name ([a-z0-9_] then [a-z0-9_.-], at most "
                         "32 characters, not all digits)",
                         sub, arg);
        return NULL;
    }
    return arg;
}

int cmd_names(struct tool *t, int argc, char **argv)
{
    const char *sub, *who = NULL, *login = NULL, *name = NULL;
    bool list, release, set, unset;
    char *path;
    int ret;

    /* options may come before or after the action (GNU getopt permutes) */
    ret = tool_parse_opts(t, "names", help, NULL, NULL, argc, argv);
    if (ret >= 0)
        return ret;
    if (optind >= argc)
        return tool_usage_error(t, "names",
                                "expected 'list', 'release NAME', 'set ID|NAME LOGIN' or "
                                "'unset ID|NAME'");
    sub = argv[optind++];
    list = strcmp(sub, "list") == 0;
    release = strcmp(sub, "release") == 0;
    set = strcmp(sub, "set") == 0;
    unset = strcmp(sub, "unset") == 0;
    if (!list && !release && !set && !unset)
        return tool_usage_error(t, "names",
                                "unknown action '%s' (list, release NAME, set ID|NAME LOGIN, "
                                "unset ID|NAME)",
                                sub);
    if (set || unset) {
        who = operand(t, sub, "which Jellyfin user (Id or name)?", false, argc, argv);
        if (who == NULL)
            return EXIT_USAGE;
    }
    if (set && (login = operand(t, sub, "which login name?", true, argc, argv)) == NULL)
        return EXIT_USAGE;
    if (release && (name = operand(t, sub, "which name?", true, argc, argv)) == NULL)
        return EXIT_USAGE;
    path = tool_ledger_path(t, "names", argc, argv, !list, &ret);
    if (path == NULL)
        return ret;
    ret = list      ? do_list(t, path)
          : release ? do_release(t, path, name)
                    : do_set(t, path, who, login);
    free(path);
    return ret;
}

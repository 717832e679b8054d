/*
 * nss_watch.c - a long-running process for tests/integration/nss-watch.sh:
 * keeps libnss_jellyfin.so.2 loaded (dlopen) and its mapping open, the way
 * sshd does, and answers lookups read from stdin.
 *
 * Owns: nothing in the product. Usage: nss_watch SO  (JELLYFIN_AUTH_DB set)
 * Commands, one per line; one answer line each on stdout (flushed):
 *   pw NAME          -> "found NAME UID" | "notfound" | "unavail ERRNO"
 *   wait NAME 0|1    -> look NAME up every 5 ms until it is absent (0) or
 *                       present (1): "seen after N polls" (bounded: 2000
 *                       polls, then "never")
 *   loop NAME N      -> N lookups of NAME, then "done" (for counting system
 *                       calls under strace)
 * Exit 0 at end of input.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);

static pwnam_fn getpwnam_r_;

/* 1 found, 0 not found, -errno unavailable */
static int lookup(const char *name, unsigned long *uid)
{
    char buf[4096];
    struct passwd pw;
    int e = 0;
    enum nss_status st = getpwnam_r_(name, &pw, buf, sizeof(buf), &e);

    if (st == NSS_STATUS_SUCCESS) {
        *uid = pw.pw_uid;
        return 1;
    }
    if (st == NSS_STATUS_NOTFOUND)
        return 0;
    return -(e ? e : EIO);
}

int main(int argc, char **argv)
{
    char line[256], cmd[16], name[64];
    void *h;

    if (argc != 2) {
        fprintf(stderr, "usage: nss_watch SO\n");
        return 2;
    }
    h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
    getpwnam_r_ = (pwnam_fn)dlsym(h, "_nss_jellyfin_getpwnam_r");
    if (!getpwnam_r_) {
        fprintf(stderr, "missing _nss_jellyfin_getpwnam_r\n");
        return 2;
    }
    while (fgets(line, sizeof(line), stdin)) {
        long arg = 0;
        unsigned long uid = 0;
        int n = sscanf(line, "%15s %63s %ld", cmd, name, &arg), rc;

        if (n >= 2 && strcmp(cmd, "pw") == 0) {
            rc = lookup(name, &uid);
            if (rc == 1)
                printf("found %s %lu\n", name, uid);
            else if (rc == 0)
                printf("notfound\n");
            else
                printf("unavail %d\n", -rc);
        } else if (n == 3 && strcmp(cmd, "wait") == 0) {
            int polls = 0;
            struct timespec ts = {0, 5000000L};
            while (polls < 2000 && lookup(name, &uid) != (int)arg) {
                nanosleep(&ts, NULL);
                polls++;
            }
            if (polls < 2000)
                printf("seen after %d polls\n", polls);
            else
                printf("never\n");
        } else if (n == 3 && strcmp(cmd, "loop") == 0) {
            for (long i = 0; i < arg; i++)
                (void)lookup(name, &uid);
            printf("done\n");
        } else {
            printf("bad command\n");
        }
        fflush(stdout);
    }
    return 0;
}

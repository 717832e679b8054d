/*
 * edit_race.c - LD_PRELOAD shim for tests/integration/setup-race.sh.
 *
 * Owns: playing "another program edits the file" deterministically between
 * the moment jellyfin-auth has read a file and the moment it replaces it.
 * When the temporary file of EDIT_RACE_PATH's atomic replacement is created
 * (mkostemp of "EDIT_RACE_PATH.tmp.XXXXXX", after the read and the edit,
 * before the rename), the shim appends the line EDIT_RACE_LINE to
 * EDIT_RACE_PATH in place, the first EDIT_RACE_TIMES times (default 1).
 * Test code only: never installed, never linked into what ships.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int done;

static void maybe_edit(const char *tmpl)
{
    const char *path = getenv("EDIT_RACE_PATH"), *line = getenv("EDIT_RACE_LINE");
    const char *times = getenv("EDIT_RACE_TIMES");
    size_t plen;
    int fd;

    if (path == NULL || line == NULL || done >= (times != NULL ? atoi(times) : 1))
        return;
    plen = strlen(path);
    if (strncmp(tmpl, path, plen) != 0 || strncmp(tmpl + plen, ".tmp.", 5) != 0)
        return;
    done++;
    fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        abort(); /* the test must not pass by accident */
    if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || write(fd, "\n", 1) != 1)
        abort();
    close(fd);
}

typedef int (*mkostemp_fn)(char *, int);

int mkostemp(char *tmpl, int flags)
{
    mkostemp_fn real = (mkostemp_fn)dlsym(RTLD_NEXT, "mkostemp");

    maybe_edit(tmpl);
    return real(tmpl, flags);
}

int mkostemp64(char *tmpl, int flags)
{
    mkostemp_fn real = (mkostemp_fn)dlsym(RTLD_NEXT, "mkostemp64");

    maybe_edit(tmpl);
    return real(tmpl, flags);
}

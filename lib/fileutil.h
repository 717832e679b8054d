/*
 * fileutil.h - trusted file access.
 *
 * Owns: opening files we trust (O_NOFOLLOW, regular file, owner and mode
 * checks), bounded whole-file reads, private directory creation, and atomic
 * replacement (temp file in the same directory, fsync, rename, fsync dir).
 */
#ifndef JFA_FILEUTIL_H
#define JFA_FILEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util.h" /* JFA_ABSENT */

/*
 * Open path read-only with O_NOFOLLOW|O_CLOEXEC and check, on the open fd,
 * that it is a regular file owned by root or by geteuid(), and that
 * (st_mode & forbidden_mode) == 0 (e.g. 022 "not group/other writable",
 * 077 "private"). Returns the fd, or -1 with a message naming path in err.
 */
int jfa_open_trusted(const char *path, mode_t forbidden_mode, char *err, size_t errlen);
/* The same, opened for reading and writing (a lock file's holder record). */
int jfa_open_trusted_rw(const char *path, mode_t forbidden_mode, char *err, size_t errlen);

/* Same checks, then read at most max bytes (more is an error). *out is
 * NUL-terminated and malloc'd; the caller frees (explicit_bzero if secret).
 * 0, JFA_ABSENT (the convention for "file absent" of every reader here; err
 * names the path), -1 with err. */
int jfa_read_trusted(const char *path, mode_t forbidden_mode, size_t max, char **out, size_t *len,
                     char *err, size_t errlen);

/* Largest CA file read (Debian's whole bundle is about 200 KB). */
#define JFA_CA_FILE_MAX (8u * 1024u * 1024u)

/* jfa_read_trusted on the file a path names once its symlinks are resolved
 * (realpath): for files like /etc/ssl/certs/x.pem, which are links. The
 * target gets every check; err names path and the target. */
int jfa_read_trusted_resolved(const char *path, mode_t forbidden_mode, size_t max, char **out,
                              size_t *len, char *err, size_t errlen);

/* Check a directory: not a symlink, owned by root or geteuid(), and
 * (mode & forbidden_mode) == 0. Returns 0, JFA_ABSENT, or -1 with err. */
int jfa_check_dir(const char *path, mode_t forbidden_mode, char *err, size_t errlen);

/* mkdir -p of one level with `mode` if absent, then jfa_check_dir with
 * forbidden = ~mode & 0777. 0 or -1 with err (gone again: -1). */
int jfa_ensure_dir(const char *path, mode_t mode, char *err, size_t errlen);

/* In a setuid-root program (su, passwd: euid 0, egid the caller's group) a
 * file or directory we create gets the caller's group: give it to root:root.
 * No-op unless euid is 0. fd may be an O_PATH descriptor. 0 or -1 with err. */
int jfa_root_owned_fd(int fd, const char *path, char *err, size_t errlen);

/* Replace path atomically with data, mode `mode`; never leaves a torn file. */
int jfa_write_atomic(const char *path, const void *data, size_t len, mode_t mode, char *err,
                     size_t errlen);
/* The same, calling before_rename(path, arg) (if not NULL) once the new
 * content is written and fsynced, just before the rename replaces path. */
int jfa_write_atomic_hook(const char *path, const void *data, size_t len, mode_t mode,
                          void (*before_rename)(const char *path, void *arg), void *arg, char *err,
                          size_t errlen);

/*
 * Compare before replace, for files other programs edit too
 * (/etc/nsswitch.conf): jfa_write_atomic, but only if path still is the
 * file *was_st describes (device, inode, size, mtime) and still holds
 * exactly the was_len bytes at was, checked once the new content is
 * durable, just before the rename. 0; JFA_WRITE_RACED (another program
 * changed it since it was read: nothing written, err says so; read it
 * again and redo the edit); -1 with err. The window left is the one from
 * that check to the rename: no lock keeps out editors that take none.
 */
#define JFA_WRITE_RACED 2
struct stat;
int jfa_write_atomic_unchanged(const char *path, const void *data, size_t len, mode_t mode,
                               const char *was, size_t was_len, const struct stat *was_st,
                               char *err, size_t errlen);

#endif

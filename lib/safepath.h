/*
 * safepath.h - may root trust what a path leads to? libc only.
 *
 * Owns: the check of every directory on the way to a trusted directory
 * (state_dir, the users database's directory), as OpenSSH's safe_path
 * checks the way to authorized_keys: a file's own owner and mode mean
 * nothing if someone else can rename a directory above it.
 */
#ifndef JFA_SAFEPATH_H
#define JFA_SAFEPATH_H

#include <stddef.h>

/*
 * Check every directory from / down to dir (an absolute path), itself
 * included: each must be owned by root or by geteuid() (the owner of
 * state_dir in test setups, where nothing runs as root), and must not be
 * writable by group or others, except a root-owned sticky directory above
 * dir (/tmp: nobody else may rename or remove what is ours there). A
 * symbolic link on the way is followed, and the directories its target
 * runs through are checked the same way (at most 8 links). Returns 0,
 * JFA_ABSENT (a component does not exist; err names it), or -1 with err
 * naming the first unsafe directory and why. One lstat per component: for
 * opens, never per lookup.
 */
int jfa_safe_path(const char *dir, char *err, size_t errlen);

#endif

/*
 * apikey.h - the Jellyfin API key file (see apikey.c).
 */
#ifndef JFA_APIKEY_H
#define JFA_APIKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "jfaconf.h"

/* s is exactly 32 hex digits (either case). */
bool jfa_hex32(const char *s);

/*
 * Read the API key file (jfa_read_trusted, 077, root or euid, no symlink),
 * trim whitespace, require 32 hex digits. 0 ok, JFA_ABSENT, -1 error (unsafe
 * file, wrong content), JFA_APIKEY_NOT_NOW a sound file that could not be
 * read now (out of descriptors or memory). key is wiped on error; the
 * caller wipes it after use.
 */
#define JFA_APIKEY_NOT_NOW (-2)
int jfa_api_key_read(const struct jfa_config *cfg, char key[33], char *err, size_t errlen);

#endif

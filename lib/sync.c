/* lib/sync.c: placeholder, to be written */

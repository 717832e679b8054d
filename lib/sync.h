/* lib/sync.h: placeholder, to be written */

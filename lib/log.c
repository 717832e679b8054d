/* lib/log.c: placeholder, to be written */

/* lib/config.c: placeholder, to be written */

/* lib/namemap.c: placeholder, to be written */

/* lib/fileutil.c: placeholder, to be written */

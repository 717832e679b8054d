/* lib/dbwrite.c: placeholder, to be written */

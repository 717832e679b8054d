/* lib/db.c: placeholder, to be written */

/* lib/db_format.h: placeholder, to be written */

/* lib/jfjson.c: placeholder, to be written */

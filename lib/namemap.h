/* lib/namemap.h: placeholder, to be written */

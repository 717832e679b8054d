/* lib/authheader.c: placeholder, to be written */

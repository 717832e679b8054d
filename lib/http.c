/* lib/http.c: placeholder, to be written */

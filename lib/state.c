/* lib/state.c: placeholder, to be written */

/* lib/state.h: placeholder, to be written */

/* tools/cmd.h: placeholder, to be written */

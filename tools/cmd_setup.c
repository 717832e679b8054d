/* tools/cmd_setup.c: placeholder, to be written */

/* tools/cmd_status.c: placeholder, to be written */

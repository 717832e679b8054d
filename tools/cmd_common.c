/* tools/cmd_common.c: placeholder, to be written */

/* tools/cmd_sync.c: placeholder, to be written */

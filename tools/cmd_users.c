/* tools/cmd_users.c: placeholder, to be written */

/* tools/cmd_login.c: placeholder, to be written */

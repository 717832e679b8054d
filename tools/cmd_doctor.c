/* tools/cmd_doctor.c: placeholder, to be written */

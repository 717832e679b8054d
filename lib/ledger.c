/* lib/ledger.c: placeholder, to be written */

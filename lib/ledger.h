/* lib/ledger.h: placeholder, to be written */

# doc/: man pages

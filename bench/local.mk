# bench/: benchmarks (make bench); not part of make check.
# `make bench` builds the benchmark, the module and the mkdb helper, then
# runs bench/run.sh (root: private mount namespace against nss_files;
# otherwise nss_wrapper, labelled as such). See bench/README.md.
EXTRA_PROGRAMS = bench/nss_bench bench/nss_ab
bench_nss_bench_SOURCES = bench/nss_bench.c bench/bench_time.h
bench_nss_bench_CFLAGS = $(AM_CFLAGS)
CLEANFILES += bench/nss_bench$(EXEEXT)
# nss_ab: two builds of the module called directly, side by side
# (`make bench/nss_ab`; usage in bench/README.md)
bench_nss_ab_SOURCES = bench/nss_ab.c bench/bench_time.h
bench_nss_ab_CFLAGS = $(AM_CFLAGS)
CLEANFILES += bench/nss_ab$(EXEEXT)
EXTRA_DIST += bench/run.sh bench/README.md

# libnss_floor.so.2: answers from the key alone (no data, no system call),
# the floor the table compares with. Built for `make bench` only.
EXTRA_LTLIBRARIES = bench/libnss_floor.la
bench_libnss_floor_la_SOURCES = bench/nss_floor.c
bench_libnss_floor_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
bench_libnss_floor_la_LDFLAGS = -module -shared -no-undefined -version-info 2:0:0 \
	-rpath $(abs_builddir)/bench
CLEANFILES += bench/libnss_floor.la

bench: bench/nss_bench$(EXEEXT) tests/unit/mkdb$(EXEEXT) nss_jellyfin/libnss_jellyfin.la \
	bench/libnss_floor.la
	$(SHELL) $(srcdir)/bench/run.sh $(abs_top_builddir) $(BENCH_SIZES)
.PHONY: bench

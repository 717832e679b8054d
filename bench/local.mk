# bench/: benchmarks (make bench); not part of make check

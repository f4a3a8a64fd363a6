# The README's two commands, and a few conveniences. The real work is in scripts/.
.PHONY: run test build bench clean format format-check deb

run:
	scripts/run.sh

test:
	scripts/test.sh

build:
	scripts/build.sh build gcc

# The Debian package, lintian-clean, in build-deb/ (docs/deploy.md).
deb:
	scripts/build-deb.sh

# Hermes next to a stock OpenSSH sshd in one run, as ratios (docs/performance.md).
bench:
	bench/bench.sh

format:
	clang-format -i src/*/*.c src/*/*.h tests/unit/*.c tests/fuzz/*.c tests/fuzz/*.h tests/tools/*.c

format-check:
	clang-format --dry-run -Werror src/*/*.c src/*/*.h tests/unit/*.c tests/fuzz/*.c tests/fuzz/*.h tests/tools/*.c

clean:
	rm -rf build build-clang build-asan build-fuzz build-deb

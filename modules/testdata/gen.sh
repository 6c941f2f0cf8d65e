#!/bin/sh
# Regenerates the committed test fixtures: every testdata/*.wat with
# wat2wasm (Debian package wabt), and the C example with clang-14 and
# wasm-ld (packages clang-14, lld-14). Run by `go generate ./modules`.
set -e
cd "$(dirname "$0")"
for f in *.wat; do wat2wasm "$f" -o "${f%.wat}.wasm"; done
clang-14 --target=wasm32 -mbulk-memory -O2 -nostdlib -fuse-ld=lld -Wl,--no-entry \
	-I ../sdk/c -o c_incr.wasm ../examples/c/incr.c

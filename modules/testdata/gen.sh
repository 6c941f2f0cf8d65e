#!/bin/sh
# Regenerates the test fixtures from their WAT sources (needs wat2wasm,
# Debian package wabt). Run by `go generate ./modules`.
set -e
cd "$(dirname "$0")"
for f in *.wat; do wat2wasm "$f" -o "${f%.wat}.wasm"; done

#!/usr/bin/env bash
# Regenerates the FFM bindings of native/include/mae.h with jextract (taken from PATH), in place.
# Only mae.h's own declarations are bound: jextract's include filters list exactly those.
# The committed bindings come from openjdk/jextract at 0b89a46, the last commit whose output compiles for Java 22
# (maven.compiler.release); later ones call JDK 23+ API (SymbolLookup.findOrThrow).
# Running it on an unchanged header changes nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
header="$here/../native/include/mae.h"
out="$here/src/main/java"
package=dev.mae4j.bindings

command -v jextract >/dev/null || { echo "regenerate.sh: jextract is not on PATH" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
jextract --dump-includes "$tmp/all.txt" "$header" >/dev/null
# Keep the declarations whose origin is mae.h itself, not stdint.h and friends.
grep -E '#.*[/ ]mae\.h$' "$tmp/all.txt" | sed -E 's/[[:space:]]+#.*$//' | sort > "$tmp/filters.txt"

rm -rf "${out:?}/${package//.//}"
jextract --output "$out" --target-package "$package" --header-class-name Mae @"$tmp/filters.txt" "$header"
echo "regenerated $(find "$out/${package//.//}" -name '*.java' | wc -l) files in $out/${package//.//}"

#!/usr/bin/env bash
# Installs the built xgrad into a scratch prefix, then builds and runs this consumer twice: with
# find_package(xgrad) and with pkg-config. Checks that no machine-specific flag reaches consumers.
set -euo pipefail
build=$1; src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > /dev/null
cmake -S "$src" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$work/build" > /dev/null
"$work/build/consumer"
pc=$(find "$work/prefix" -name xgrad.pc)
export PKG_CONFIG_PATH=$(dirname "$pc")
# shellcheck disable=SC2046
c++ -std=c++20 -O1 "$src/main.cpp" -o "$work/pc_consumer" $(pkg-config --cflags --libs xgrad)
"$work/pc_consumer"
if grep -rn -e "-march" -e "xtensor::optimize" "$work/prefix" --include=*.cmake --include=*.pc; then
  echo "a machine-specific flag is exported to consumers" >&2; exit 1
fi
echo "pkg-config and find_package consumers ok; no -march exported"

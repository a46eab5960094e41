#!/usr/bin/env bash
# The .deb from `make package`, unpacked into a scratch root (as dpkg would install it under /),
# then consumed from there by a CMake project (find_package) and by a pkg-config build.
set -euo pipefail
build=$1; src=$(cd "$(dirname "$0")" && pwd)
deb=$(ls "$build"/libxgrad-dev_*.deb | head -1)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
dpkg-deb -f "$deb" Package Version Depends
dpkg-deb -x "$deb" "$work/root"
libdir=$(dirname "$(find "$work/root" -name 'libxgrad_autograd.so*' | head -1)")
export LD_LIBRARY_PATH=$libdir
cmake -S "$src" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/root/usr" -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build "$work/build" > /dev/null
"$work/build/consumer"
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046
c++ -std=c++20 -O1 "$src/main.cpp" -o "$work/pc_consumer" $(pkg-config --cflags --libs xgrad)
"$work/pc_consumer"
if grep -rn -e "-march" "$work/root" --include=*.cmake --include=*.pc; then
  echo "a machine-specific flag is exported to consumers" >&2; exit 1
fi
echo "the .deb's find_package and pkg-config consumers ok"

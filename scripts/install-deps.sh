#!/usr/bin/env bash
# The one place that apt-installs what xgrad needs. Idempotent: installs only what is missing.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --torch  also python3-torch (reference fixtures, side-by-side benchmarks)
set -euo pipefail

pkgs=(build-essential cmake pkg-config
      libxtensor-dev libxtensor-blas-dev libxsimd-dev libopenblas-dev
      catch2 libzip-dev zlib1g-dev libcli11-dev libstb-dev libbenchmark-dev
      clang python3-numpy openmpi-bin libopenmpi-dev)  # openmpi: xgrad::distributed (mpirun); clang: the second compiler (make test-clang); numpy: a test reads an xgrad checkpoint back with numpy.load
[[ "${1:-}" == "--torch" ]] && pkgs+=(python3-torch python3-numpy)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

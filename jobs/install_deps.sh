#!/usr/bin/env bash
# Install the Debian packages gan_train needs, if any are missing.
#   jobs/install_deps.sh          build and run: MPI, HDF5, OpenBLAS, oneDNN, zlib, CMake
#   jobs/install_deps.sh --test   also what the tests use: h5py, NumPy, clang for libFuzzer
# (the Slurm test installs Slurm and munge itself, keeping their services from starting)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libhdf5-dev libopenblas-dev zlib1g-dev libpng-dev
      libdnnl-dev) # oneDNN: --precision bf16 (optional to the build, but CI and users get it)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(python3-h5py python3-numpy python3-matplotlib clang libclang-rt-14-dev iproute2)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install_deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends "${missing[@]}"

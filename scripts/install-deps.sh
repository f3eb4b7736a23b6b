#!/usr/bin/env bash
# Installs what building and testing fusevm needs on Debian 12 (run as root
# or through sudo). The library itself needs only a C compiler, libc and libm;
# the rest serves the command-line tool (json-c, capstone), the tests
# (Criterion, clang's libFuzzer runtime, the aarch64 cross compiler of
# make check-neutral) and the benchmarks (Lua, LuaJIT).
set -euo pipefail
packages=(
  build-essential       # gcc, make
  clang libclang-rt-14-dev  # libFuzzer and the sanitizer runtimes
  libcriterion-dev      # unit-test framework
  libjson-c-dev         # JSON import/export in the fusevm tool
  libcapstone-dev       # disassembler for --dump=asm and encoder tests
  python3               # benchmark runner
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross  # make check-neutral: the JIT's neutral files for aarch64
  lua5.4 luajit         # benchmark peers
)
if [ "${1:-}" = "--list" ]; then # the package names, for scripts that install them
  printf '%s\n' "${packages[@]}"
  exit 0
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: everything is already installed"
  exit 0
fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

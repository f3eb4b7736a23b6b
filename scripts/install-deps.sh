#!/usr/bin/env bash
# Installs what building and testing fusevm needs on Debian 12 (run as root
# or through sudo). The library itself needs only a C compiler, libc and libm;
# the command-line tool adds json-c. The rest serves the tests (Criterion,
# capstone for the encoder tests, clang's libFuzzer runtime, the aarch64
# cross compiler of make check-neutral, groff for the manual page check)
# and the benchmarks (Python, Lua, LuaJIT).
#
#   install-deps.sh [--minimal] [--list]
#     --minimal  only what `make` needs: the compiler and the command's
#                libraries (enough to build and run programs)
#     --list     print the package names instead of installing them
set -euo pipefail
minimal=(
  build-essential       # gcc, make
  libjson-c-dev         # JSON import/export in the fusevm tool
  libcapstone-dev       # the fusevm tool's --dump=asm (its header is needed to build it)
)
testing=(
  clang libclang-rt-14-dev  # libFuzzer and the sanitizer runtimes
  libcriterion-dev      # unit-test framework
  groff-base            # make install-test renders the manual page
  python3               # benchmark runner
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross  # make check-neutral: the JIT's neutral files for aarch64
  lua5.4 luajit         # benchmark peers
)
packages=("${minimal[@]}" "${testing[@]}")
list=false
for arg in "$@"; do
  case $arg in
  --minimal) packages=("${minimal[@]}") ;;
  --list) list=true ;;
  *) echo "install-deps: unknown option '$arg' (expected --minimal or --list)" >&2; exit 2 ;;
  esac
done
if $list; then # the package names, for scripts that install them
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

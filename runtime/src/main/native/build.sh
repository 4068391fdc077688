#!/usr/bin/env bash
# Builds the native libraries into TARGET/classes/native/linux-x86_64/:
#   libcatonnx_ops_cpu.so   g++ only (always built on Linux x86-64)
#   libcatonnx_ops_cuda.so  nvcc (built when nvcc is found; CATONNX_NATIVE_CUDA=0 skips it)
# Each holds the CatAttention, CatDecodeAttention and SwiGlu custom ops (issue 8) and the JNI layer of bound sessions
# (bound_session.cc, org.catonnx.runtime.bound): host buffers in both, device buffers in the CUDA one.
# ONNX Runtime's C headers come from Debian's libonnxruntime-dev (suite trixie, 1.21.x), fetched
# once with apt-get through a temporary sources list and cached under TARGET/ort-headers/.
#
# usage: build.sh [TARGET]          (TARGET defaults to runtime/target)
# environment:
#   CATONNX_ORT_INCLUDE=DIR   use these headers (a dir holding onnxruntime_c_api.h), no download
#   CATONNX_JAVA_HOME=DIR     the JDK whose include/jni.h is used (Maven passes java.home;
#                             else JAVA_HOME, else the JDK of javac on PATH)
#   CATONNX_NATIVE_SKIP=1     build nothing
#   CATONNX_NATIVE_CUDA=0|1   0: never build the CUDA library; 1: fail if it cannot be built
#   NVCC=path                 the CUDA compiler (default: nvcc on PATH, then /usr/local/cuda/bin/nvcc)
#   CATONNX_CUDA_ARCHS="90 80"  GPU architectures (SASS for each, PTX of the first); 90 also builds
#                             sm_90a SASS, the only image holding the wgmma CatAttention kernel
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNTIME=$(cd "$HERE/../../.." && pwd)
TARGET=${1:-$RUNTIME/target}
mkdir -p "$TARGET"
TARGET=$(cd "$TARGET" && pwd)
OUT=$TARGET/classes/native/linux-x86_64
say() { echo "[catonnx-native] $*"; }

if [ "${CATONNX_NATIVE_SKIP:-0}" = 1 ]; then say "skipped: CATONNX_NATIVE_SKIP=1"; exit 0; fi
if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
  say "skipped: native custom ops are built on Linux x86-64 only (this is $(uname -s) $(uname -m))"
  exit 0
fi
if ! command -v g++ >/dev/null 2>&1; then
  say "ERROR: g++ not found. The CatAttention CPU library needs a C++17 compiler (Debian: apt-get install g++)," >&2
  say "ERROR: or set CATONNX_NATIVE_SKIP=1 to build without the native custom operator." >&2
  exit 1
fi

# ---------------------------------------------------------------- ONNX Runtime C headers
ORT_DEB_SUITE=trixie
ORT_DEB_PKG=libonnxruntime-dev
HDR_ROOT=$TARGET/ort-headers

debian_mirror() {
  # The machine's own configured Debian archive (not the security one), from deb822 or one-line lists.
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    for uri in $(awk '/^[[:space:]]*URIs:/ { for (i = 2; i <= NF; i++) print $i }' "$f"); do
      case "$uri" in */debian|*/debian/) echo "${uri%/}"; return 0 ;; esac
    done
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /=/) { print $i; break } }' "$f" \
          | grep -E '/debian/?$' | head -n1 || true)
    if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
  done
  return 1
}

fetch_headers() {
  local work=$TARGET/ort-apt mirror keyring
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1 || {
    say "ERROR: no apt-get/dpkg-deb to fetch ONNX Runtime's C headers; set CATONNX_ORT_INCLUDE to a directory" >&2
    say "ERROR: holding onnxruntime_c_api.h (ORT 1.21 or newer) or CATONNX_NATIVE_SKIP=1." >&2
    return 1
  }
  mirror=$(debian_mirror) || { say "ERROR: no Debian mirror configured in /etc/apt; set CATONNX_ORT_INCLUDE" >&2; return 1; }
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  [ -f "$keyring" ] || { say "ERROR: $keyring missing (package debian-archive-keyring)" >&2; return 1; }
  say "fetching $ORT_DEB_PKG ($ORT_DEB_SUITE) from $mirror"
  rm -rf "$work"; mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/deb"
  echo "deb [signed-by=$keyring] $mirror $ORT_DEB_SUITE main" > "$work/sources.list"
  local -a aopt=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=-"
                 -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache"
                 -o "APT::Get::List-Cleanup=0" -o "Acquire::Languages=none"
                 -o "APT::Sandbox::User=root" -o "Debug::NoLocking=1")
  apt-get -q "${aopt[@]}" update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; return 1; }
  (cd "$work/deb" && apt-get -q "${aopt[@]}" download "$ORT_DEB_PKG") >"$work/download.log" 2>&1 \
    || { cat "$work/download.log" >&2; return 1; }
  local deb; deb=$(ls "$work"/deb/${ORT_DEB_PKG}_*.deb | head -n1)
  local ver; ver=$(dpkg-deb -f "$deb" Version)
  case "$ver" in 1.21.*) ;; *) say "WARNING: $ORT_DEB_PKG version $ver (expected 1.21.x)";; esac
  rm -rf "$HDR_ROOT.tmp"; mkdir -p "$HDR_ROOT.tmp"
  dpkg-deb -x "$deb" "$HDR_ROOT.tmp"
  cp "$deb" "$HDR_ROOT.tmp/"
  echo "$ver" > "$HDR_ROOT.tmp/VERSION"
  rm -rf "$HDR_ROOT"; mv "$HDR_ROOT.tmp" "$HDR_ROOT"
  rm -rf "$work"
  say "ONNX Runtime headers $ver in $HDR_ROOT"
}

if [ -n "${CATONNX_ORT_INCLUDE:-}" ]; then
  ORT_INC=$CATONNX_ORT_INCLUDE
else
  # the registry is the network's only dependency here: retry a transient failure before giving up
  if [ ! -f "$HDR_ROOT/VERSION" ]; then fetch_headers || { sleep 5; fetch_headers; } || { sleep 20; fetch_headers; }; fi
  ORT_INC=$(dirname "$(find "$HDR_ROOT" -name onnxruntime_c_api.h | head -n1)")
fi
[ -f "$ORT_INC/onnxruntime_c_api.h" ] || { say "ERROR: onnxruntime_c_api.h not found in $ORT_INC" >&2; exit 1; }

# ---------------------------------------------------------------- JNI headers (bound sessions)
# the first JDK with the headers of: CATONNX_JAVA_HOME (Maven's java.home), JAVA_HOME, javac's on PATH
JAVAC=$(command -v javac || true)
JDK=; LOOKED=
for c in "${CATONNX_JAVA_HOME:-}" "${JAVA_HOME:-}" ${JAVAC:+"$(dirname "$(dirname "$(readlink -f "$JAVAC")")")"}; do
  [ -n "$c" ] || continue
  if [ -f "$c/include/jni.h" ] && [ -f "$c/include/linux/jni_md.h" ]; then JDK=$c; break; fi
  LOOKED="$LOOKED $c/include"
done
if [ -z "$JDK" ]; then
  say "ERROR: jni.h not found (looked in:${LOOKED:- nothing, as CATONNX_JAVA_HOME and JAVA_HOME are unset and javac is not on PATH})." >&2
  say "ERROR: The bound-session JNI layer needs a full JDK; set CATONNX_JAVA_HOME or JAVA_HOME to one," >&2
  say "ERROR: or set CATONNX_NATIVE_SKIP=1 to build without the native libraries." >&2
  exit 1
fi
JNI_INC=(-I"$JDK/include" -I"$JDK/include/linux")

# ---------------------------------------------------------------- libraries (rebuilt when sources change)
mkdir -p "$OUT"
newer() { # newer OUT SRC...: true if OUT is missing or older than a source
  local o=$1; shift; [ -f "$o" ] || return 0
  local s; for s in "$@"; do [ "$s" -nt "$o" ] && return 0; done; return 1
}
COMMON=("$HERE/cat_attention_common.h" "$HERE/cat_decode_common.h" "$HERE/cat_swiglu_common.h" "$HERE/build.sh")

CPU_LIB=$OUT/libcatonnx_ops_cpu.so
CPU_SRC=("$HERE/cat_attention_cpu.cc" "$HERE/cat_decode_cpu.cc" "$HERE/cat_swiglu_cpu.cc" "$HERE/bound_session.cc")
if newer "$CPU_LIB" "${CPU_SRC[@]}" "${COMMON[@]}"; then
  say "g++ -> $CPU_LIB"
  # -ffp-contract=off: no fused multiply-adds, so the rotary products round as the CUDA kernel's do
  g++ -O3 -std=c++17 -shared -fPIC -fvisibility=hidden -ffp-contract=off -Wall -Wextra -static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL \
      -I"$ORT_INC" "${JNI_INC[@]}" -o "$CPU_LIB.tmp" "${CPU_SRC[@]}" -lpthread
  mv "$CPU_LIB.tmp" "$CPU_LIB"
else
  say "up to date: $CPU_LIB"
fi

CUDA_LIB=$OUT/libcatonnx_ops_cuda.so
want_cuda=${CATONNX_NATIVE_CUDA:-auto}
if [ "$want_cuda" = 0 ]; then say "CUDA library skipped: CATONNX_NATIVE_CUDA=0"; exit 0; fi
NVCC=${NVCC:-$(command -v nvcc || true)}
[ -z "$NVCC" ] && [ -x /usr/local/cuda/bin/nvcc ] && NVCC=/usr/local/cuda/bin/nvcc
if [ -z "$NVCC" ]; then
  if [ "$want_cuda" = 1 ]; then say "ERROR: nvcc not found (CATONNX_NATIVE_CUDA=1)" >&2; exit 1; fi
  say "CUDA library skipped: nvcc not found (the CPU library is built)"; exit 0
fi
CUDA_SRC=("$HERE/cat_attention_cuda.cu" "$HERE/cat_decode_cuda.cu" "$HERE/cat_swiglu_cuda.cu" "${CPU_SRC[@]}")
if newer "$CUDA_LIB" "${CUDA_SRC[@]}" "$HERE/cat_attention_kernels.cuh" "$HERE/cat_attention_wgmma.cuh" \
         "$HERE/cat_cuda_elem.cuh" "$HERE/device_pool.h" "${COMMON[@]}"; then
  GENCODE=()
  for a in ${CATONNX_CUDA_ARCHS:-90 80}; do
    GENCODE+=(-gencode "arch=compute_$a,code=sm_$a")
    # sm_90a: arch-specific (wgmma), runs on compute capability 9.0 only; sm_90 stays for the rest
    if [ "$a" = 90 ]; then GENCODE+=(-gencode "arch=compute_90a,code=sm_90a"); fi
  done
  first=${CATONNX_CUDA_ARCHS:-90}; first=${first%% *}
  GENCODE+=(-gencode "arch=compute_$first,code=compute_$first")
  say "nvcc -> $CUDA_LIB"
  "$NVCC" -O3 -std=c++17 -shared -Xcompiler -fPIC,-fvisibility=hidden,-ffp-contract=off -cudart static "${GENCODE[@]}" \
      -DCATONNX_WITH_CUDA -Xlinker --exclude-libs,ALL -I"$ORT_INC" "${JNI_INC[@]}" -o "$CUDA_LIB.tmp" \
      "${CUDA_SRC[@]}"
  mv "$CUDA_LIB.tmp" "$CUDA_LIB"
else
  say "up to date: $CUDA_LIB"
fi

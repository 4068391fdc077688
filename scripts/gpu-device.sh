#!/usr/bin/env bash
# Runs ON the GPU machine (repository root of the copied tree, bundle unpacked in /tmp/b, .gpu/app carried):
#   scripts/gpu-device.sh tests [junit selectors...]   GPU-tagged tests (default: every test tagged gpu)
#   scripts/gpu-device.sh verify [cat-export verify options]   every golden case on CUDA, TF32 off
#   scripts/gpu-device.sh cli ARGS...                  any cat-export command (e.g. bench --device cuda ...)
# RUNNER="compute-sanitizer --tool memcheck" wraps java (custom-op kernel checks).
set -euo pipefail
A=$(pwd)/.gpu/app
NT=/tmp/catonnx-native
if [ ! -f $NT/classes/native/linux-x86_64/libcatonnx_ops_cuda.so ]; then
  CATONNX_ORT_INCLUDE=$A/ort-include CATONNX_JAVA_HOME=$A/jni CATONNX_NATIVE_CUDA=1 CATONNX_CUDA_ARCHS=${CATONNX_CUDA_ARCHS:-90} \
    NVCC=${NVCC:-/usr/local/cuda-13.0/bin/nvcc} bash runtime/src/main/native/build.sh "$NT" >&2
fi
export LD_LIBRARY_PATH=/tmp/b/ort:/usr/local/cuda-13.0/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
CP=$(ls "$A"/lib/*.jar | tr '\n' :)/tmp/b/ort-classes.jar
JAVA="${RUNNER:-} /tmp/b/jre/bin/java -Xmx24g -Donnxruntime.native.path=/tmp/b/ort -Dcatonnx.native.dir=$NT/classes/native/linux-x86_64 -Dcatonnx.shared=$A/shared"
mode=${1:-tests}; shift || true
case "$mode" in
  tests)
    [ $# -gt 0 ] || set -- --scan-class-path "$A/test-classes" --include-tag gpu
    exec $JAVA -jar "$A/junit.jar" execute --class-path "$CP:$A/test-classes" --disable-banner --details=tree "$@" ;;
  verify)
    rc=0
    for d in "$A"/shared/golden/*/; do
      $JAVA -cp "$CP" org.catonnx.cli.CatExport verify --reference "$d" --device cuda "$@" || rc=1
    done
    exit $rc ;;
  cli)
    exec $JAVA -cp "$CP" org.catonnx.cli.CatExport "$@" ;;
  *) echo "unknown mode $mode (tests, verify, cli)" >&2; exit 2 ;;
esac

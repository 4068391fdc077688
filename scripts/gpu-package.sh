#!/usr/bin/env bash
# Prepares a run on the lent H200 (docs/GPU.md): everything the device needs that Maven would
# otherwise fetch, in .gpu/ (ignored by git; pass it as `carry`):
#   .gpu/bundle.tar.xz   JRE + ONNX Runtime 1.29 CUDA provider (sm_90) + cuBLAS shims  (built once, ~60 MiB)
#   .gpu/app/lib/*.jar   our module jars + their dependencies, without the ONNX Runtime CPU jar
#   .gpu/app/test-classes  runtime test classes (the GPU-tagged tests), junit.jar (console launcher)
#   .gpu/app/ort-include ONNX Runtime C headers, to build the CUDA custom op with the device's nvcc
#   .gpu/app/jni/include  this JDK's jni.h + jni_md.h (the bound sessions' JNI; the device has no JDK)
#   .gpu/app/shared/golden  the golden cases
# usage (repository root): scripts/gpu-package.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/.gpu/app
JUNIT_VERSION=1.14.1
cd "$ROOT"
[ -f .gpu/bundle.tar.xz ] || scripts/gpu-runtime-bundle.sh .gpu
rm -rf cli/target/gpu-deps
./mvnw -q -B -pl cli -am package -DskipTests dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$ROOT/cli/target/gpu-deps" \
  -DexcludeGroupIds=com.microsoft.onnxruntime,org.catonnx
JUNIT=~/.m2/repository/org/junit/platform/junit-platform-console-standalone/$JUNIT_VERSION/junit-platform-console-standalone-$JUNIT_VERSION.jar
[ -f "$JUNIT" ] || ./mvnw -q -B dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:$JUNIT_VERSION -Dtransitive=false
rm -rf "$OUT"; mkdir -p "$OUT/lib" "$OUT/shared"
cp cli/target/gpu-deps/*.jar "$OUT/lib/"
for m in graph-builder exporter runtime cli; do cp "$m/target/$m-0.1.0-SNAPSHOT.jar" "$OUT/lib/"; done
cp -r runtime/target/test-classes "$OUT/test-classes"   # a directory: the small JRE has no zip filesystem to scan jars
cp "$JUNIT" "$OUT/junit.jar"
cp -r "$(dirname "$(find runtime/target/ort-headers -name onnxruntime_c_api.h | head -n1)")" "$OUT/ort-include"
JDK=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
mkdir -p "$OUT/jni/include/linux"
cp "$JDK/include/jni.h" "$OUT/jni/include/" && cp "$JDK/include/linux/jni_md.h" "$OUT/jni/include/linux/"
cp -r "$ROOT/../shared/golden" "$OUT/shared/"
du -sh "$OUT" .gpu/bundle.tar.xz

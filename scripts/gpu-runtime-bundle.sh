#!/bin/bash
# The project copy of ../shared/gpu/build_bundle.sh: same recipe, with the JRE modules our jars need
# (protobuf: jdk.unsupported; jackson/JUnit: java.sql, java.xml, java.management; no java.desktop: charts are drawn here from bench --json).
# Build a one-call bundle that runs ORT 1.29 CUDA EP (CUDA-12 build) from Java on a CUDA-13 GPU machine.
# usage: scripts/gpu-runtime-bundle.sh OUTDIR   (needs: JDK 17 with jlink, maven, gcc, python3, xz, binutils, ../shared/gpu)
# result: OUTDIR/bundle.tar.xz (~59 MiB) ; unpack on the GPU machine into /tmp/b and run /tmp/b/go.sh MainClass
set -euo pipefail
OUT=$(realpath -m "$1"); PROBE=${2:-}
HERE=${CATONNX_SHARED_GPU:-$(cd "$(dirname "$0")/../.." && pwd)/shared/gpu}
ORTJAR=~/.m2/repository/com/microsoft/onnxruntime/onnxruntime_gpu/1.29.0/onnxruntime_gpu-1.29.0.jar
CUDART=org.bytedeco:cuda-redist:12.9-9.10-1.5.12:jar:linux-x86_64   # 362 MB jar, only libcudart.so.12 (741 KB) is used
W=$OUT/work; B=$OUT/bundle; rm -rf "$W" "$B"; mkdir -p "$W" "$B/ort"
[ -f "$ORTJAR" ] || mvn -B -q dependency:get -Dartifact=com.microsoft.onnxruntime:onnxruntime_gpu:1.29.0 -Dtransitive=false

# 1. ORT natives + classes-only jar (the 642 MB jar itself is not carried)
unzip -q -o "$ORTJAR" 'ai/onnxruntime/native/linux-x64/*' 'ai/onnxruntime/*.class' 'ai/onnxruntime/providers/*' \
  'ai/onnxruntime/platform/*' META-INF/MANIFEST.MF -d "$W/jar"
N=$W/jar/ai/onnxruntime/native/linux-x64
cp "$N"/libonnxruntime.so "$N"/libonnxruntime4j_jni.so "$N"/libonnxruntime_providers_shared.so "$B/ort/"
(cd "$W/jar" && jar cfm "$B/ort-classes.jar" META-INF/MANIFEST.MF ai/onnxruntime/*.class ai/onnxruntime/providers ai/onnxruntime/platform)

# 2. CUDA provider with every non-sm_90 (H100/H200) SASS payload zeroed: same file, compresses 583 MB -> ~43 MB
python3 "$HERE/fatbin_prune.py" "$N/libonnxruntime_providers_cuda.so" "$B/ort/libonnxruntime_providers_cuda.so" 90

# 3. real libcudart.so.12 (cuBLAS-13 has no ABI-stable cudart-12 replacement; cudaDeviceProp changed in 13)
mvn -B -q dependency:get -Dartifact=$CUDART -Dtransitive=false
RJ=~/.m2/repository/org/bytedeco/cuda-redist/12.9-9.10-1.5.12/cuda-redist-12.9-9.10-1.5.12-linux-x86_64.jar
unzip -q -o -j "$RJ" org/bytedeco/cuda/linux-x86_64/libcudart.so.12 -d "$B/ort"

# 4. libcublas.so.12 / libcublasLt.so.12 shims forwarding to the machine's CUDA-13 cuBLAS
python3 "$HERE/gen_shim.py" "$N/libonnxruntime_providers_cuda.so" "$W/shim"
cp "$W/shim/libcublas.so.12" "$W/shim/libcublasLt.so.12" "$B/ort/"

# 5. small JRE (jlink --compress=0: xz compresses the raw modules file better than jlink's zip)
jlink --add-modules java.base,java.logging,java.management,java.xml,java.sql,jdk.unsupported --strip-debug --no-header-files --no-man-pages --compress=0 --output "$B/jre"
strip --strip-unneeded "$B"/jre/lib/server/libjvm.so "$B"/jre/lib/*.so "$B"/jre/bin/java; rm -f "$B/jre/bin/keytool"

# 6. launcher + optional application jar
cat > "$B/go.sh" <<'EOF'
#!/bin/bash
# usage on the GPU machine: /tmp/b/go.sh [JVM options] MainClass [args]   (extra jars: CP=/x.jar:/y.jar)
B=${B:-/tmp/b}
export LD_LIBRARY_PATH=$B/ort:/usr/local/cuda-13.0/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
exec "$B/jre/bin/java" -Donnxruntime.native.path="$B/ort" -cp "$B/probe.jar:$B/ort-classes.jar${CP:+:$CP}" "$@"
EOF
chmod +x "$B/go.sh"
[ -n "$PROBE" ] && cp "$PROBE" "$B/probe.jar"

# 7. one xz stream (xz -9e beats zstd -19 --long by ~6% here: 61.5 MB vs ~65.6 MB)
tar -C "$B" --sort=name --owner=0 --group=0 -cf - . | xz -9e -T2 -c > "$OUT/bundle.tar.xz"
ls -l "$OUT/bundle.tar.xz"

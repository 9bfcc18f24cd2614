#!/usr/bin/env bash
# Packs what a GPU machine without Maven or network needs into target/mae4j-bundle.tar.gz (< 64 MiB):
# a jlink'd Java runtime, the jars, libmae's sources and CMake files, the benchmark drivers, the GPU tests,
# and run.sh, which builds libmae against the LibTorch found there and runs the tests or the benchmarks.
#   dist/make-bundle.sh        (after ./run-tests, or mvn install -DskipTests; run.sh builds the drivers itself)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/setup.sh"
mae_find_jdk
out="$root/target/bundle/mae4j"
rm -rf "$root/target/bundle" && mkdir -p "$out"/{lib,tests}
for f in "$root/cli/target/mae-cli.jar" "$root/java-api/target/test-classes"; do
  [ -e "$f" ] || { echo "make-bundle.sh: build first (./run-tests): $f is missing" >&2; exit 1; }
done
# The runtime: what the CLI, XChart/ImageIO, the HTTP example and the tests touch.
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.management,jdk.unsupported,java.xml,java.desktop,jdk.httpserver,java.net.http,jdk.zipfs \
    --strip-debug --no-header-files --no-man-pages --compress zip-9 --output "$out/runtime"
cp "$root/cli/target/mae-cli.jar" "$out/lib/"
# not mae4j-native (libmae and the CPU LibTorch, 100 MB): run.sh builds libmae against the machine's own LibTorch
# mae serve's gRPC and Prometheus stack (~20 MiB) stays out: the GPU run does not serve, and the bundle must fit 64 MiB
find "$root/cli/target/lib" -name '*.jar' ! -name 'mae4j-native-*' ! -name 'grpc-*' ! -name 'guava-*' \
    ! -name 'proto-google-*' ! -name 'protobuf-*' ! -name 'prometheus-metrics-*' -exec cp {} "$out/lib/" \;
# The GPU tests: the API's test classes and a JUnit console launcher.
(cd "$root/java-api/target/test-classes" && "$JAVA_HOME/bin/jar" cf "$out/tests/mae4j-api-tests.jar" .)
console=$(find "$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone" -name '*.jar' 2>/dev/null | sort | tail -1 || true)
if [ -z "$console" ]; then
  mvn -B -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.13.4 >/dev/null
  console=$(find "$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone" -name '*.jar' | sort | tail -1)
fi
cp "$console" "$out/tests/junit-console.jar"
# libmae's sources, built on the target against its own LibTorch.
mkdir -p "$out/src/benchmarks"
cp "$root/CMakeLists.txt" "$out/src/" && cp -r "$root/cmake" "$out/src/cmake"
cp -r "$root/native" "$out/src/native" && rm -rf "$out/src/native/target" "$out/src/native/pom.xml"
cp -r "$root/benchmarks/native" "$root/benchmarks/python" "$out/src/benchmarks/"
cp "$root/dist/run.sh" "$root/dist/configure.sh" "$out/"
tar -C "$root/target/bundle" -czf "$root/target/mae4j-bundle.tar.gz" mae4j
size=$(stat -c %s "$root/target/mae4j-bundle.tar.gz")
echo "wrote target/mae4j-bundle.tar.gz: $((size / 1024 / 1024)) MiB"
[ "$size" -lt $((64 * 1024 * 1024)) ] || { echo "make-bundle.sh: the bundle exceeds 64 MiB" >&2; exit 1; }

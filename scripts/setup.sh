# Shared set-up for ./mae and ./run-tests (sourced, not run): installs missing Debian packages, makes the project's
# Python venv with the one LibTorch mae4j builds on (./run-tests adds the test-only packages), finds a JDK >= 22
# and builds what is stale. Idempotent: a second run finds everything in place and does nothing.

MAE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Gloo's headers only (the wheel compiles Gloo in but ships none); libjpeg for PIL-exact JPEG decoding;
# clang-format for the build's format check (spotless); curl, the HTTP client the mae serve tests drive it with.
MAE_PACKAGES=(libgloo-dev libjpeg-dev cmake g++ make maven dataset-fashion-mnist python3-venv clang-format curl)
MAE_MIN_JDK=22
# The one LibTorch: PyTorch's CPU wheel, pinned here and nowhere else. Its headers, CMake files and libraries are
# what libmae builds on and what the mae4j-native jar bundles; the Python tests and benchmarks use the same torch.
MAE_TORCH_REQUIREMENT="torch==2.13.0+cpu"
MAE_VENV="$MAE_ROOT/.venv"
# What only the tests add to the venv: numpy for the Python references, the real transformers (the version
# TransformersInteropTest asserts) and safetensors the interop tests check against, and the clients that drive
# `mae serve` in its tests: grpcio with grpcio-tools (stubs made from the .proto) and prometheus_client's parser.
MAE_TEST_REQUIREMENTS=(numpy transformers==5.18.0 safetensors grpcio==1.84.0 grpcio-tools==1.84.0 prometheus_client==0.26.0)
# Where pip finds that wheel when its configured indexes do not hold it (PyTorch's own index for CPU wheels).
MAE_TORCH_PIP_OPTION="--extra-index-url https://download.pytorch.org/whl/cpu"

# The CUDA build check (scripts/cuda-build.sh): PyTorch's CUDA 13 wheel and the nvidia wheels whose headers and
# libraries compiling and linking against it needs, all --no-deps (no GPU is needed to build). The venv lives
# outside the clone, so that runs on one machine share it.
MAE_CUDA_REQUIREMENTS=(torch==2.14.1 nvidia-cuda-nvrtc==13.0.88 nvidia-nccl-cu13==2.30.7 nvidia-cublas==13.1.1.3
                       nvidia-cusparse==12.6.3.3 nvidia-cusolver==12.0.4.66)
MAE_CUDA_VENV="${MAE_CUDA_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/mae4j/venv-cu13-torch2.14.1}"
MAE_CUDA_TORCH_PIP_OPTION="--extra-index-url https://download.pytorch.org/whl/cu130"

mae_log() { echo "[mae4j] $*" >&2; }

# Installs the Debian packages that are not installed yet (as root, or through sudo).
mae_ensure_packages() {
    local missing=() p
    for p in "${MAE_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    mae_log "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
        || { mae_log "could not install ${missing[*]}; install them and retry"; return 1; }
}

# pip, quick to give up on an index it cannot reach: when the configured index (pip's default, the public one)
# does not answer within 3 s, pip gets no retries and a 3 s timeout, so each package costs no minutes of retrying
# an address that will not answer; the other configured indexes and find-links still serve. A reachable index,
# or PIP_RETRIES/PIP_TIMEOUT set by the caller, leaves pip as configured. Runs pip of the Python at $1.
mae_pip_install() {
    local py=$1; shift
    if [ -z "${MAE_PIP_INDEX_CHECKED:-}" ]; then
        MAE_PIP_INDEX_CHECKED=1
        local index
        index=${PIP_INDEX_URL:-$("$py" -m pip config get global.index-url 2>/dev/null || echo https://pypi.org/simple/)}
        if [ -z "${PIP_RETRIES:-}${PIP_TIMEOUT:-}" ] && ! "$py" - "$index" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=3)
PY
        then
            mae_log "pip index $index does not answer: pip will not retry it"
            export PIP_RETRIES=0 PIP_TIMEOUT=3
        fi
    fi
    # shellcheck disable=SC2086
    "$py" -m pip install -q --disable-pip-version-check ${MAE_PIP_OPTIONS:-} "$@"
}

# Makes $MAE_VENV with $MAE_TORCH_REQUIREMENT alone (all the main job needs: LibTorch's headers, CMake files and
# libraries), and the link .venv/libtorch -> its torch package, the prefix CMake builds against. Extra pip
# options: $MAE_PIP_OPTIONS.
mae_ensure_venv() {
    local want=${MAE_TORCH_REQUIREMENT#torch==} have=""
    [ -x "$MAE_VENV/bin/python" ] && have=$("$MAE_VENV/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null)
    if [ "$have" != "$want" ]; then
        mae_log "installing $MAE_TORCH_REQUIREMENT into $MAE_VENV"
        [ -x "$MAE_VENV/bin/python" ] || python3 -m venv "$MAE_VENV" \
            || { mae_log "python3 -m venv failed (Debian: apt-get install python3-venv)"; return 1; }
        mae_pip_install "$MAE_VENV/bin/python" "$MAE_TORCH_REQUIREMENT" \
            || { mae_log "pip could not install $MAE_TORCH_REQUIREMENT; where your pip indexes lack it, run again with"
                 mae_log "  MAE_PIP_OPTIONS='$MAE_TORCH_PIP_OPTION'"; return 1; }
    fi
    local torch_dir
    torch_dir=$("$MAE_VENV/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null) || return 1
    [ "$(readlink "$MAE_VENV/libtorch" 2>/dev/null)" = "$torch_dir" ] || ln -sfn "$torch_dir" "$MAE_VENV/libtorch"
}

# Adds to $MAE_VENV what only the tests use: numpy and the real transformers and safetensors the interop tests
# check mae4j against (the suite fails without them). Called by ./run-tests after mae_ensure_venv.
mae_ensure_test_packages() {
    "$MAE_VENV/bin/python" - "${MAE_TEST_REQUIREMENTS[@]}" <<'PY' 2>/dev/null && return 0
import sys
from importlib.metadata import version
for req in sys.argv[1:]:
    name, _, want = req.partition("==")
    if want and version(name) != want or not want and not version(name):
        sys.exit(1)
PY
    mae_log "installing ${MAE_TEST_REQUIREMENTS[*]} into $MAE_VENV (for the tests)"
    mae_pip_install "$MAE_VENV/bin/python" "${MAE_TEST_REQUIREMENTS[@]}" "$MAE_TORCH_REQUIREMENT" \
        || { mae_log "pip could not install ${MAE_TEST_REQUIREMENTS[*]}: the interop tests need them"; return 1; }
}

# Adds to $MAE_VENV what benchmarks/encoder_vs_ort.sh needs to export an encoder to ONNX: onnx and onnxscript
# (torch.onnx's exporter). ONNX Runtime itself is a Maven dependency of the benchmarks module.
mae_ensure_onnx() {
    "$MAE_VENV/bin/python" -c 'import onnx, onnxscript' 2>/dev/null && return 0
    mae_log "installing onnx and onnxscript into $MAE_VENV (for the ONNX Runtime comparison)"
    mae_pip_install "$MAE_VENV/bin/python" onnx onnxscript "$MAE_TORCH_REQUIREMENT"
}

# Makes $MAE_CUDA_VENV hold $MAE_CUDA_REQUIREMENTS (checked by a stamp of the list, written once pip succeeded).
mae_ensure_cuda_venv() {
    local stamp="$MAE_CUDA_VENV/mae4j-requirements.txt"
    if [ "$(cat "$stamp" 2>/dev/null)" != "${MAE_CUDA_REQUIREMENTS[*]}" ]; then
        mae_log "installing ${MAE_CUDA_REQUIREMENTS[*]} into $MAE_CUDA_VENV (--no-deps)"
        mkdir -p "$(dirname "$MAE_CUDA_VENV")"
        [ -x "$MAE_CUDA_VENV/bin/python" ] || python3 -m venv "$MAE_CUDA_VENV" \
            || { mae_log "python3 -m venv failed (Debian: apt-get install python3-venv)"; return 1; }
        mae_pip_install "$MAE_CUDA_VENV/bin/python" --no-deps "${MAE_CUDA_REQUIREMENTS[@]}" \
            || { mae_log "pip could not install the CUDA wheels; where your pip indexes lack them, run again with"
                 mae_log "  MAE_PIP_OPTIONS='$MAE_CUDA_TORCH_PIP_OPTION'"; return 1; }
        echo "${MAE_CUDA_REQUIREMENTS[*]}" > "$stamp"
    fi
}

# Prints the feature version of the JDK at $1 (e.g. 25), or nothing when it is not a JDK.
mae_jdk_version() {
    [ -x "$1/bin/javac" ] && [ -f "$1/release" ] || return 0
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release"
}

# Exports JAVA_HOME as a JDK >= 22: $JAVA_HOME when it qualifies, else the newest under /usr/lib/jvm.
mae_find_jdk() {
    local v best="" best_v=0 d
    if [ -n "${JAVA_HOME:-}" ]; then
        v=$(mae_jdk_version "$JAVA_HOME")
        if [ -n "$v" ] && [ "$v" -ge "$MAE_MIN_JDK" ]; then export JAVA_HOME; return 0; fi
    fi
    for d in /usr/lib/jvm/*; do
        [ -L "$d" ] && continue
        v=$(mae_jdk_version "$d")
        if [ -n "$v" ] && [ "$v" -ge "$MAE_MIN_JDK" ] && [ "$v" -gt "$best_v" ]; then best=$d; best_v=$v; fi
    done
    if [ -z "$best" ]; then
        mae_log "mae4j needs a JDK >= $MAE_MIN_JDK (the FFM API is final there); none found in JAVA_HOME or /usr/lib/jvm."
        mae_log "Install one (e.g. Temurin 25) and set JAVA_HOME to it."
        return 1
    fi
    export JAVA_HOME=$best
}

# Runs Maven from the repository root with the chosen JDK.
mae_mvn() {
    (cd "$MAE_ROOT" && mvn -B -q "$@")
}

# Builds the CLI when any source is newer than its jar.
mae_build_if_stale() {
    local jar="$MAE_ROOT/cli/target/mae-cli.jar"
    if [ -f "$jar" ] && [ -z "$(cd "$MAE_ROOT" && find pom.xml CMakeLists.txt cmake native bindings java-api server cli \
            -newer "$jar" -type f -not -path '*/target/*' -print -quit)" ]; then
        return 0
    fi
    mae_log "building (native library and jars)..."
    # running, not reviewing: the format check is ./run-tests' (and CI's) to make
    mae_mvn install -DskipTests -Dspotless.check.skip=true
}

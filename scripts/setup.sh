# Shared set-up for ./mae and ./run-tests (sourced, not run): installs missing Debian packages, finds a
# JDK >= 22 and builds what is stale. Idempotent: a second run finds everything in place and does nothing.

MAE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MAE_PACKAGES=(libtorch-dev libgloo-dev libopenblas0-pthread libjpeg-dev cmake g++ make maven dataset-fashion-mnist)
MAE_MIN_JDK=22

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
    if [ -f "$jar" ] && [ -z "$(cd "$MAE_ROOT" && find pom.xml CMakeLists.txt native bindings java-api cli \
            -newer "$jar" -type f -not -path '*/target/*' -print -quit)" ]; then
        return 0
    fi
    mae_log "building (native library and jars)..."
    mae_mvn install -DskipTests
}

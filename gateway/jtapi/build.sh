#!/usr/bin/env bash
# Builds the JTAPI gateway against Cisco JTAPI jars with javac/jar, and runs its
# JUnit 5 tests. No Maven or Gradle: JDK 17 and Debian's junit5 are all it needs.
#
#   gateway/jtapi/build.sh                      # build against jtapi-15.jar
#   gateway/jtapi/build.sh --test               # ... and run the Java tests
#   gateway/jtapi/build.sh --all --test         # every jtapi-*.jar of the vendor directory
#   gateway/jtapi/build.sh --jar /path/jtapi.jar --out /tmp/gw
#
# Jars: --jar (repeatable), else $JTAPI_JAR_DIR (default: ../shared/vendor/cisco-jtapi
# next to the repository root). Cisco's jars are never part of the repository.
# Outputs, per jar, in <out>/<jar name>/: ctibridge-jtapi-gateway.jar (the gateway,
# without Cisco's classes) and ctibridge-jtapi-gateway-tests.jar (the JTAPI double and
# the tests). JUnit: $JUNIT_CONSOLE (default Debian's junit-platform-console-standalone).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
jar_dir="${JTAPI_JAR_DIR:-$root/../shared/vendor/cisco-jtapi}"
junit="${JUNIT_CONSOLE:-/usr/share/java/junit-platform-console-standalone.jar}"
out="$here/build"
jars=()
run_tests=0
all=0

while [ $# -gt 0 ]; do
  case "$1" in
    --jar) jars+=("$2"); shift 2 ;;
    --out) mkdir -p "$2"; out="$(cd "$2" && pwd)"; shift 2 ;;
    --test) run_tests=1; shift ;;
    --all) all=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ ${#jars[@]} -eq 0 ]; then
  if [ $all -eq 1 ]; then
    for j in "$jar_dir"/jtapi-*.jar; do [ -e "$j" ] && jars+=("$j"); done
  else
    jars+=("$jar_dir/jtapi-15.jar")
  fi
fi
if [ ${#jars[@]} -eq 0 ]; then
  echo "build.sh: no Cisco JTAPI jar in $jar_dir (set JTAPI_JAR_DIR or pass --jar; see docs/gateway.md)" >&2
  exit 1
fi
for i in "${!jars[@]}"; do
  j="${jars[$i]}"
  if [ ! -f "$j" ]; then
    echo "build.sh: Cisco JTAPI jar $j not found (set JTAPI_JAR_DIR or pass --jar; see docs/gateway.md)" >&2
    exit 1
  fi
  jars[$i]="$(cd "$(dirname "$j")" && pwd)/$(basename "$j")"
done
for tool in javac jar java; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool not found: install a JDK 17 (Debian: openjdk-17-jdk-headless)" >&2; exit 1; }
done

junit_api=""
for c in /usr/share/java/junit-jupiter-api.jar "$junit"; do
  if [ -f "$c" ]; then junit_api="$c"; break; fi
done

for j in "${jars[@]}"; do
  name="$(basename "$j" .jar)"
  dir="$out/$name"
  rm -rf "$dir"
  mkdir -p "$dir/classes/main" "$dir/classes/test"
  echo "== gateway: compiling against $name ($j)"
  javac --release 17 -Xlint:all -Werror -encoding UTF-8 -d "$dir/classes/main" -cp "$j" \
    $(find "$here/src/main/java" -name '*.java' | sort)
  printf 'Main-Class: org.ctibridge.gateway.Main\n' > "$dir/manifest.txt"
  jar --create --file "$dir/ctibridge-jtapi-gateway.jar" --manifest "$dir/manifest.txt" -C "$dir/classes/main" .
  if [ -z "$junit_api" ]; then
    if [ $run_tests -eq 1 ]; then
      echo "build.sh: JUnit 5 not found (Debian: apt-get install junit5, or set JUNIT_CONSOLE)" >&2; exit 1
    fi
    echo "== gateway: JUnit 5 not installed: tests and the JTAPI double not built"
    continue
  fi
  javac --release 17 -encoding UTF-8 -d "$dir/classes/test" -cp "$dir/classes/main:$j:$junit_api" \
    $(find "$here/src/test/java" -name '*.java' | sort)
  jar --create --file "$dir/ctibridge-jtapi-gateway-tests.jar" -C "$dir/classes/test" .
  if [ $run_tests -eq 1 ]; then
    if [ ! -f "$junit" ]; then
      echo "build.sh: $junit not found (Debian: apt-get install junit5)" >&2; exit 1
    fi
    echo "== gateway: Java tests against $name"
    # The real-jar tests need Cisco's jar on the class path, as the gateway does; they
    # run in the build directory because Cisco's library writes its jtapi.ini there.
    (cd "$dir" && java -Dctibridge.root="$root" -jar "$junit" --disable-banner --details=summary --fail-if-no-tests \
      -cp "$dir/classes/test:$dir/classes/main:$j" --scan-classpath "$dir/classes/test")
  fi
done
echo "== gateway: built in $out"

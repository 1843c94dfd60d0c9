#!/usr/bin/env bash
# Java for the Spark engine (pyspark 4 needs Java 17 or newer): nothing to do when the machine
# has one; else Debian's headless JRE (apt-get, as root or through sudo). docs/scale-out.md.
set -euo pipefail
version() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if command -v java >/dev/null 2>&1 && [ "$(version)" -ge 17 ]; then
  exit 0
fi
echo "the Spark engine needs Java 17 or newer; installing Debian's openjdk-17-jre-headless" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
java -version

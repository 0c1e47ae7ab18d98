#!/usr/bin/env bash
# Installs what the interop tests (package interop) need, when it is
# missing, so that `make test` works on a fresh Debian machine:
#
#   kcat, python3-kafka, python3-confluent-kafka   Debian packages (apt-get)
#   nodejs, npm (only when npm is missing)         Debian packages (apt-get)
#   kafkajs 2.2.4                                  interop/js/node_modules (npm ci)
#
# Idempotent: a second run installs nothing and prints nothing. Prints one
# line per thing it installs; any failed install exits non-zero with the
# reason. Runs apt-get as root, or through sudo when not root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "interop/install-deps.sh: $*" >&2
	exit 1
}

# Debian packages, each checked by what the tests use of it.
declare -A check=(
	[kcat]="command -v kcat"
	[python3-kafka]="/usr/bin/python3 -c 'import kafka'"
	[python3-confluent-kafka]="/usr/bin/python3 -c 'import confluent_kafka'"
	[nodejs]="command -v node"
	[npm]="command -v npm"
)
missing=()
for pkg in kcat python3-kafka python3-confluent-kafka nodejs npm; do
	if ! eval "${check[$pkg]}" >/dev/null 2>&1; then
		missing+=("$pkg")
	fi
done
if ((${#missing[@]})); then
	command -v apt-get >/dev/null || die "need ${missing[*]} but apt-get is not available: install them by hand"
	sudo=()
	if [[ $(id -u) != 0 ]]; then
		command -v sudo >/dev/null || die "need ${missing[*]}: not root and sudo is not available"
		sudo=(sudo)
	fi
	echo "interop: installing ${missing[*]} (apt-get)"
	log=$(mktemp)
	trap 'rm -f "$log"' EXIT
	if ! { "${sudo[@]}" apt-get update && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y "${missing[@]}"; } >"$log" 2>&1; then
		cat "$log" >&2
		die "apt-get install ${missing[*]} failed (output above)"
	fi
	for pkg in "${missing[@]}"; do
		eval "${check[$pkg]}" >/dev/null 2>&1 || die "$pkg installed but its check failed: ${check[$pkg]}"
	done
fi

# kafkajs: npm ci when node_modules is missing or older than the lock file
# (npm writes node_modules/.package-lock.json on every install).
js=$here/js
stamp=$js/node_modules/.package-lock.json
if [[ ! -f $stamp || $js/package-lock.json -nt $stamp || ! -f $js/node_modules/kafkajs/package.json ]]; then
	echo "interop: installing kafkajs (npm ci in interop/js)"
	log=$(mktemp)
	if ! (cd "$js" && npm ci --no-audit --no-fund) >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		die "npm ci in $js failed (output above)"
	fi
	rm -f "$log"
fi

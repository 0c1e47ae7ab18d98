#!/usr/bin/env bash
# Starts a three-broker Tidemark cluster on loopback (`make cluster`) and
# stops it cleanly on Ctrl-C, SIGTERM or SIGHUP: each broker gets one
# SIGTERM and the script waits for all three to exit (a second Ctrl-C makes
# them exit at once). If one broker exits on its own, the others are stopped
# too.
#
#   node  Kafka (not served yet)  Raft             data dir
#   1     127.0.0.1:19092         127.0.0.1:19193  ./data/cluster/node-1
#   2     127.0.0.1:19093         127.0.0.1:19194  ./data/cluster/node-2
#   3     127.0.0.1:19094         127.0.0.1:19195  ./data/cluster/node-3
#
# Usage: cmd/broker/cluster.sh [path/to/broker]   (default ./bin/broker)
# Extra flags for every broker go in TIDEMARK_CLUSTER_FLAGS (for example
# "--log-level debug"); TIDEMARK_CLUSTER_DIR moves the data dirs. The
# brokers read the environment too, so a TIDEMARK_<FLAG> variable for a flag
# this script does not pass applies to all three.
set -euo pipefail

broker=${1:-./bin/broker}
root=${TIDEMARK_CLUSTER_DIR:-./data/cluster}
ids=(1 2 3)
kafka() { echo "127.0.0.1:$((19091 + $1))"; }
raft() { echo "127.0.0.1:$((19192 + $1))"; }

if [[ ! -x $broker ]]; then
	echo "cluster.sh: $broker is not an executable; run make build first" >&2
	exit 2
fi
peers=""
# Each peer with its Kafka address, so a broker whose data dir was wiped
# can ask the others to add it back (docs/operations.md).
for i in "${ids[@]}"; do peers+="${peers:+,}$i@$(raft "$i")/$(kafka "$i")"; done

pids=()
stopping=0
stop_all() {
	# The first signal gives each broker one SIGTERM: a clean shutdown. A
	# second one is passed on, and a broker that gets a second signal exits
	# at once without finishing its shutdown (as when run by hand).
	kill -TERM "${pids[@]}" 2>/dev/null || true
	if ((stopping)); then
		echo "cluster: second signal: brokers exit without a clean shutdown" >&2 || true
	else
		echo "cluster: stopping brokers ${pids[*]} (SIGTERM)" >&2 || true
	fi
	stopping=1
}
trap stop_all INT TERM HUP
# If whatever reads our output goes away (a pipe into tee or less), writes
# fail instead of killing the script before it has stopped the brokers.
trap '' PIPE

for i in "${ids[@]}"; do
	((stopping)) && break # Ctrl-C while starting: start no more
	mkdir -p "$root/node-$i"
	# setsid: the brokers are in a session of their own, so a Ctrl-C in the
	# terminal reaches only this script, which then signals each broker once.
	# The log prefixer ignores signals so that it outlives its broker and
	# the broker's last lines ("node stopped") are not lost to a closed pipe.
	# shellcheck disable=SC2086 # TIDEMARK_CLUSTER_FLAGS is a list of flags
	setsid "$broker" --node-id "$i" --data-dir "$root/node-$i" \
		--kafka-addr "$(kafka "$i")" --raft-addr "$(raft "$i")" --peers "$peers" \
		${TIDEMARK_CLUSTER_FLAGS:-} \
		2> >(trap '' INT TERM HUP PIPE; exec sed -u "s/^/[node-$i] /" >&2) </dev/null &
	pids+=($!)
done

if ((${#pids[@]} == 0)); then
	echo "cluster: stopped before any broker started" >&2 || true
	exit 1
fi
cat >&2 <<EOF || true
cluster: ${#pids[@]} brokers starting (pids ${pids[*]}), peers $peers
cluster:   node 1  kafka $(kafka 1)  raft $(raft 1)  data $root/node-1
cluster:   node 2  kafka $(kafka 2)  raft $(raft 2)  data $root/node-2
cluster:   node 3  kafka $(kafka 3)  raft $(raft 3)  data $root/node-3
cluster: Kafka clients will bootstrap from $(kafka 1),$(kafka 2),$(kafka 3) once the
cluster: Kafka wire protocol lands; today the brokers run the Raft side only.
cluster: Ctrl-C stops all three cleanly.
EOF

# Wait for the first broker to exit, or for a signal (which interrupts
# wait and runs stop_all).
status=0
rc=0
exited=""
wait -n -p exited "${pids[@]}" || rc=$?
if ((!stopping)); then
	echo "cluster: broker pid ${exited:-?} exited on its own (status $rc); stopping the others" >&2 || true
	status=1
	stop_all
fi
for pid in "${pids[@]}"; do
	[[ $pid == "${exited:-}" ]] && continue
	# A signal interrupts wait (status > 128) while the broker still runs:
	# wait again until it is gone.
	while :; do
		rc=0
		wait "$pid" || rc=$?
		kill -0 "$pid" 2>/dev/null || break
	done
	if ((rc != 0)); then
		echo "cluster: broker pid $pid exited with status $rc" >&2 || true
		status=1
	fi
done
echo "cluster: stopped" >&2 || true
exit $status

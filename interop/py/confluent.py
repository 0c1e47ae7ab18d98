"""confluent-kafka-python (librdkafka) against Tidemark, driven by
interop/confluent_test.go.

Run with /usr/bin/python3 (Debian's python3-confluent-kafka). Input (stdin,
JSON): {bootstrap: "host:port,...", topic, group, records: [{key, value}],
waitMs}. Output (stdout, JSON): {assignments: [[partition...], [...]] (once the
group settled),
acked: [{key, value, partition, offset}], reads: [[record...], [...]],
error}.

Steps: two Consumers join one group (range assignment, earliest offset) and
are polled until each holds a partition, so that the group has settled
with two members before any record exists; then a Producer (acks all,
idempotent) sends every record keyed with a delivery report callback and
flushes; then both members are polled until together they have read every
acknowledged record or waitMs passed, and commit synchronously. Any
failure goes into "error" with what was done so far; the exit code is 0
whenever the JSON was written.
"""
import json
import sys
import time
import traceback

from confluent_kafka import Consumer, KafkaException, Producer

POLL_S = 0.2


def main():
    inp = json.load(sys.stdin)
    out = {"assignments": [[], []], "acked": [], "reads": [[], []], "error": None}
    wait_s = inp["waitMs"] / 1000.0
    consumers = []
    try:
        current = [[], []]  # each member's assignment, kept by the callbacks
        for i in range(2):
            assigned = current[i]

            def on_assign(_, partitions, assigned=assigned):
                assigned[:] = sorted(p.partition for p in partitions)

            def on_revoke(_, partitions, assigned=assigned):
                assigned[:] = []

            c = Consumer({"bootstrap.servers": inp["bootstrap"], "group.id": inp["group"],
                          "client.id": "tidemark-interop-confluent-%d" % i,
                          "auto.offset.reset": "earliest", "enable.auto.commit": False,
                          "partition.assignment.strategy": "range"})
            c.subscribe([inp["topic"]], on_assign=on_assign, on_revoke=on_revoke)
            consumers.append(c)

        def poll_all(deadline):
            for i, c in enumerate(consumers):
                m = c.poll(POLL_S)
                if m is None:
                    continue
                if m.error():
                    raise KafkaException(m.error())
                out["reads"][i].append({"key": m.key().decode(), "value": m.value().decode(),
                                        "partition": m.partition(), "offset": m.offset()})

        deadline = time.monotonic() + wait_s
        while not all(current) and time.monotonic() < deadline:
            poll_all(deadline)
        out["assignments"] = [list(a) for a in current]
        if not all(current):
            raise RuntimeError("group %s did not give both members a partition within %d ms: %s" % (
                inp["group"], inp["waitMs"], current))

        reports = []

        def on_delivery(err, msg):
            reports.append((err, msg))

        p = Producer({"bootstrap.servers": inp["bootstrap"], "acks": "all", "enable.idempotence": True,
                      "client.id": "tidemark-interop-confluent-producer"})
        for r in inp["records"]:
            p.produce(inp["topic"], key=r["key"].encode(), value=r["value"].encode(), on_delivery=on_delivery)
            p.poll(0)
        left = p.flush(wait_s)
        if left:
            raise RuntimeError("%d records not delivered within %d ms" % (left, inp["waitMs"]))
        for err, msg in reports:
            if err is not None:
                raise KafkaException(err)
            out["acked"].append({"key": msg.key().decode(), "value": msg.value().decode(),
                                 "partition": msg.partition(), "offset": msg.offset()})

        want = len(out["acked"])
        deadline = time.monotonic() + wait_s
        while sum(len(r) for r in out["reads"]) < want and time.monotonic() < deadline:
            poll_all(deadline)
        got = sum(len(r) for r in out["reads"])
        if current != out["assignments"]:
            raise RuntimeError("the group rebalanced while reading: assignments %s, then %s" % (out["assignments"], current))
        if got < want:
            raise RuntimeError("group %s read %d of %d records within %d ms" % (inp["group"], got, want, inp["waitMs"]))
        for i, c in enumerate(consumers):
            if out["reads"][i]:  # a commit with no offsets to commit is an error in librdkafka
                c.commit(asynchronous=False)
    except Exception as e:  # reported to the Go side, which fails the test
        traceback.print_exc()
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        for c in consumers:
            try:
                c.close()
            except Exception as e:
                out["error"] = out["error"] or "close: %s" % e
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

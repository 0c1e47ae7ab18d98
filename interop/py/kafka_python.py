"""kafka-python 2.0.2 against Tidemark, driven by interop/kafka_python_test.go.

Run with /usr/bin/python3 (Debian's python3-kafka). Input (stdin, JSON):
{bootstrap: [host:port], topic, group, records: [{key, value}], waitMs}.
Output (stdout, JSON): {acked: [{key, value, partition, offset}],
read: [...], committed: bool, error}.

Steps: KafkaProducer (acks all, 3 retries for a leader that moved) sends every record keyed, flushes, and
reads each future's metadata; then a KafkaConsumer in the group,
subscribed to the topic with auto_offset_reset=earliest, polls until it has
read as many records as were acknowledged or waitMs passed, commits
synchronously and closes. Any failure goes into "error" with what was
done so far; the exit code is 0 whenever the JSON was written.
"""
import json
import logging
import os
import sys
import threading
import time
import traceback

from kafka import KafkaConsumer, KafkaProducer

# Client log lines go to stderr, printed by the Go side on failure.
logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                    format="kafka-python %(levelname)s %(name)s: %(message)s")


def main():
    inp = json.load(sys.stdin)
    out = {"acked": [], "read": [], "committed": False, "error": None}
    # kafka-python 2.0.2 can block without a bound (finding a group
    # coordinator loops until one answers), so the work runs in a daemon
    # thread and the main thread reports after a bounded wait.
    worker = threading.Thread(target=run, args=(inp, out), daemon=True)
    worker.start()
    worker.join(2 * inp["waitMs"] / 1000.0)
    if worker.is_alive() and out["error"] is None:
        out["error"] = "no result within %d ms (read %d records so far)" % (2 * inp["waitMs"], len(out["read"]))
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    os._exit(0)  # do not wait for a blocked client thread


def run(inp, out):
    wait_s = inp["waitMs"] / 1000.0
    try:
        producer = KafkaProducer(bootstrap_servers=inp["bootstrap"], acks="all", retries=3,
                                 client_id="tidemark-interop-kafka-python",
                                 request_timeout_ms=inp["waitMs"], max_block_ms=inp["waitMs"])
        futures = [(r, producer.send(inp["topic"], key=r["key"].encode(), value=r["value"].encode()))
                   for r in inp["records"]]
        producer.flush(timeout=wait_s)
        for r, f in futures:
            md = f.get(timeout=wait_s)
            out["acked"].append({"key": r["key"], "value": r["value"],
                                 "partition": md.partition, "offset": md.offset})
        producer.close(timeout=wait_s)

        want = len(out["acked"])
        consumer = KafkaConsumer(inp["topic"], bootstrap_servers=inp["bootstrap"], group_id=inp["group"],
                                 client_id="tidemark-interop-kafka-python",
                                 auto_offset_reset="earliest", enable_auto_commit=False)
        try:
            deadline = time.monotonic() + wait_s
            while len(out["read"]) < want and time.monotonic() < deadline:
                batches = consumer.poll(timeout_ms=500)
                for tp in sorted(batches, key=lambda tp: tp.partition):
                    for m in batches[tp]:
                        out["read"].append({"key": m.key.decode(), "value": m.value.decode(),
                                            "partition": m.partition, "offset": m.offset})
            if len(out["read"]) < want:
                raise RuntimeError("group %s read %d of %d records within %d ms; assignment %s" % (
                    inp["group"], len(out["read"]), want, inp["waitMs"], sorted(p.partition for p in consumer.assignment())))
            consumer.commit()
            out["committed"] = True
        finally:
            consumer.close(autocommit=False)
    except Exception as e:  # reported to the Go side, which fails the test
        traceback.print_exc()
        out["error"] = "%s: %s" % (type(e).__name__, e)


if __name__ == "__main__":
    main()

package partition

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/batch"
)

// TestScenarios runs the golden scenarios in testdata/scenarios/*.txt. Rewrite the
// expected output after a deliberate change with
//
//	go test -tags invariants ./core/partition -run TestScenarios -rewrite
//
// Commands (arguments in brackets are optional):
//
//	new [max-producers=N] [expiration-ms=N]    start an empty partition
//	produce records=N ts=T [ts-step=S] [pid=P epoch=E seq=Q] [now=T]
//	        [leader-epoch=E] [max-bytes=N] [attrs=A] [value-bytes=N]
//	        [batches=N] [break=crc|magic1|length]
//	retain now=T ms=M bytes=B
//	delete-records offset=O
//	fetch offset=O max-bytes=N
//	list-offsets ts=T
//	offsets | producers
//	snapshot                                   restore a copy from a snapshot and continue with it
//	corrupt offset=O                           flip a byte of the stored batch at base O
//
// Record values name their producer and sequence ("p7s3") or, without a
// producer id, a running counter ("r12"), so fetched batches show which
// sends they hold.
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata/scenarios", func(t *testing.T, path string) {
		h := &scenario{}
		h.reset(DefaultConfig())
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return h.run(t, d)
		})
	})
}

type scenario struct {
	cfg     Config
	store   *MemStore
	log     *Log
	counter int
}

func (s *scenario) reset(cfg Config) {
	s.cfg = cfg
	s.counter = 0
	s.store = &MemStore{}
	s.log = New(cfg, s.store)
}

func intArg(t *testing.T, d *datadriven.TestData, key string, def int64) int64 {
	if !d.HasArg(key) {
		return def
	}
	var v string
	d.ScanArgs(t, key, &v)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s: %s=%q: %v", d.Pos, key, v, err)
	}
	return n
}

func (s *scenario) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "new":
		cfg := DefaultConfig()
		cfg.MaxProducerIDs = int(intArg(t, d, "max-producers", int64(cfg.MaxProducerIDs)))
		cfg.ProducerIDExpirationMs = intArg(t, d, "expiration-ms", cfg.ProducerIDExpirationMs)
		s.reset(cfg)
		return "ok"
	case "produce":
		return s.produce(t, d)
	case "retain":
		r, err := s.log.Apply(Retain{NowMs: intArg(t, d, "now", 0), RetentionMs: intArg(t, d, "ms", -1), RetentionBytes: intArg(t, d, "bytes", -1)})
		if err != nil {
			return fmt.Sprintf("apply failed (fatal to the replica): %v", err)
		}
		res := r.(RetainResult)
		return fmt.Sprintf("log-start=%d deleted-batches=%d deleted-bytes=%d expired-producers=%d",
			res.LogStartOffset, res.DeletedBatches, res.DeletedBytes, res.ExpiredProducers)
	case "delete-records":
		r, err := s.log.Apply(DeleteRecords{Offset: intArg(t, d, "offset", 0)})
		if err != nil {
			return fmt.Sprintf("apply failed (fatal to the replica): %v", err)
		}
		res := r.(DeleteRecordsResult)
		if res.Err != nil {
			return fmt.Sprintf("%s (low-watermark=%d)", errString(res.Err), res.LowWatermark)
		}
		return fmt.Sprintf("low-watermark=%d", res.LowWatermark)
	case "fetch":
		return s.fetch(t, d)
	case "list-offsets":
		res := s.log.ListOffsets(intArg(t, d, "ts", 0))
		if res.Err != nil {
			return errString(res.Err)
		}
		return fmt.Sprintf("offset=%d ts=%d", res.Offset, res.TimestampMs)
	case "offsets":
		return s.offsets()
	case "producers":
		var out strings.Builder
		for _, p := range s.log.Meta().Producers {
			fmt.Fprintf(&out, "producer %d epoch=%d last-ts=%d batches:", p.ID, p.Epoch, p.LastTimestampMs)
			for _, b := range p.Batches {
				fmt.Fprintf(&out, " seq[%d,%d]@[%d,%d]", b.FirstSeq, b.LastSeq, b.BaseOffset, b.LastOffset)
			}
			out.WriteString("\n")
		}
		if out.Len() == 0 {
			return "no producers"
		}
		return strings.TrimSuffix(out.String(), "\n")
	case "snapshot":
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, s.log.Meta(), s.store); err != nil {
			t.Fatalf("%s: WriteSnapshot: %v", d.Pos, err)
		}
		n := buf.Len()
		store := &MemStore{}
		restored, err := ReadSnapshot(&buf, store, s.cfg)
		if err != nil {
			t.Fatalf("%s: ReadSnapshot: %v", d.Pos, err)
		}
		same := restored.StateHash() == s.log.StateHash()
		s.store, s.log = store, restored
		return fmt.Sprintf("snapshot of %d bytes restored; state hash equal: %v\n%s", n, same, s.offsets())
	case "corrupt":
		base := intArg(t, d, "offset", 0)
		for i, b := range s.store.bases {
			if b == base {
				s.store.batches[i][len(s.store.batches[i])-1] ^= 0xff
				return "ok"
			}
		}
		t.Fatalf("%s: no stored batch at %d", d.Pos, base)
	}
	t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
	return ""
}

func (s *scenario) apply(t *testing.T, c Command) Result {
	res, err := s.log.Apply(c)
	if err != nil {
		t.Fatalf("Apply(%T): %v", c, err)
	}
	return res
}

func (s *scenario) offsets() string {
	o := s.log.Offsets()
	m := s.log.Meta()
	return fmt.Sprintf("log-start=%d hw=%d lso=%d leo=%d batches=%d bytes=%d",
		o.LogStartOffset, o.HighWatermark, o.LastStableOffset, o.LogEndOffset, m.BatchCount, m.StoredBytes)
}

var attrNames = map[string]int16{
	"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4, "codec7": 7,
	"log-append-time": 0x08, "transactional": 0x10, "control": 0x20,
}

func (s *scenario) produce(t *testing.T, d *datadriven.TestData) string {
	n := intArg(t, d, "records", 1)
	ts := intArg(t, d, "ts", 0)
	step := intArg(t, d, "ts-step", 1)
	valueBytes := int(intArg(t, d, "value-bytes", 0))
	spec := batch.BuildSpec{PartitionLeaderEpoch: -1}
	pid := intArg(t, d, "pid", -1)
	seq := int32(intArg(t, d, "seq", 0))
	if pid >= 0 {
		spec.Producer = &batch.Producer{ID: pid, Epoch: int16(intArg(t, d, "epoch", 0)), BaseSequence: seq}
	}
	if d.HasArg("attrs") {
		var a string
		d.ScanArgs(t, "attrs", &a)
		v, ok := attrNames[a]
		if !ok {
			t.Fatalf("%s: unknown attrs %q", d.Pos, a)
		}
		spec.Attributes = v
	}
	for i := int64(0); i < n; i++ {
		var v string
		if pid >= 0 {
			v = fmt.Sprintf("p%ds%d", pid, batch.IncrementSequence(seq, int32(i)))
		} else {
			v = fmt.Sprintf("r%d", s.counter)
			s.counter++
		}
		if valueBytes > len(v) {
			v += strings.Repeat(".", valueBytes-len(v))
		}
		spec.Records = append(spec.Records, batch.Record{TimestampMs: ts + i*step, Value: []byte(v)})
	}
	b := batch.Build(spec)
	if d.HasArg("break") {
		var what string
		d.ScanArgs(t, "break", &what)
		switch what {
		case "crc":
			b[len(b)-1] ^= 1
		case "magic1":
			b[16] = 1
		case "length":
			b = b[:len(b)-1]
		default:
			t.Fatalf("%s: unknown break %q", d.Pos, what)
		}
	}
	records := b
	for i := int64(1); i < intArg(t, d, "batches", 1); i++ {
		records = append(records, b...)
	}
	before := s.log.Offsets().LogEndOffset
	res := s.apply(t, Produce{
		NowMs:           intArg(t, d, "now", ts),
		LeaderEpoch:     int32(intArg(t, d, "leader-epoch", 1)),
		MaxMessageBytes: int32(intArg(t, d, "max-bytes", 1<<20)),
		Records:         records,
	}).(ProduceResult)
	if res.Err != nil {
		return fmt.Sprintf("%s (base=%d log-start=%d)", errString(res.Err), res.BaseOffset, res.LogStartOffset)
	}
	after := s.log.Offsets().LogEndOffset
	if after == before {
		return fmt.Sprintf("base=%d log-start=%d (duplicate: nothing appended, leo=%d)", res.BaseOffset, res.LogStartOffset, after)
	}
	return fmt.Sprintf("base=%d log-start=%d bytes=%d leo=%d", res.BaseOffset, res.LogStartOffset, len(b), after)
}

func (s *scenario) fetch(t *testing.T, d *datadriven.TestData) string {
	res := s.log.Fetch(intArg(t, d, "offset", 0), int32(intArg(t, d, "max-bytes", math.MaxInt32)))
	var out strings.Builder
	if res.Err != nil {
		fmt.Fprintf(&out, "%s\n", errString(res.Err))
	}
	batches, err := batch.Split(res.Records)
	if len(res.Records) > 0 && err != nil {
		t.Fatalf("%s: fetched records do not split: %v", d.Pos, err)
	}
	for _, b := range batches {
		h, verr := batch.VerifyStored(b)
		if verr != nil {
			t.Fatalf("%s: fetched batch fails verification: %v", d.Pos, verr)
		}
		recs, rerr := batch.Records(b)
		if rerr != nil {
			t.Fatalf("%s: fetched batch does not decode: %v", d.Pos, rerr)
		}
		values := make([]string, len(recs))
		for i, r := range recs {
			values[i] = strings.TrimRight(string(r.Value), ".")
		}
		fmt.Fprintf(&out, "batch [%d,%d] bytes=%d max-ts=%d leader-epoch=%d: %s\n",
			h.BaseOffset, h.LastOffset(), len(b), h.MaxTimestamp, h.PartitionLeaderEpoch, strings.Join(values, " "))
	}
	if len(batches) == 0 && res.Err == nil {
		out.WriteString("no records\n")
	}
	fmt.Fprintf(&out, "hw=%d lso=%d log-start=%d", res.HighWatermark, res.LastStableOffset, res.LogStartOffset)
	return out.String()
}

var codeNames = map[core.Code]string{
	core.OffsetOutOfRange:            "OFFSET_OUT_OF_RANGE",
	core.CorruptMessage:              "CORRUPT_MESSAGE",
	core.MessageTooLarge:             "MESSAGE_TOO_LARGE",
	core.InvalidRequest:              "INVALID_REQUEST",
	core.UnsupportedForMessageFormat: "UNSUPPORTED_FOR_MESSAGE_FORMAT",
	core.OutOfOrderSequenceNumber:    "OUT_OF_ORDER_SEQUENCE_NUMBER",
	core.InvalidProducerEpoch:        "INVALID_PRODUCER_EPOCH",
	core.KafkaStorageError:           "KAFKA_STORAGE_ERROR",
	core.InvalidRecord:               "INVALID_RECORD",
}

func errString(e *core.Error) string {
	name, ok := codeNames[e.Code]
	if !ok {
		name = fmt.Sprintf("code %d", e.Code)
	}
	return fmt.Sprintf("error %s: %s", name, e.Reason)
}

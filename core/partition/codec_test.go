package partition

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/batch"
)

func genCommand(t *rapid.T) Command {
	switch rapid.IntRange(0, 2).Draw(t, "kind") {
	case 0:
		return Produce{
			NowMs:           rapid.Int64().Draw(t, "now"),
			LeaderEpoch:     rapid.Int32().Draw(t, "epoch"),
			MaxMessageBytes: rapid.Int32().Draw(t, "max"),
			Records:         rapid.SliceOfN(rapid.Byte(), 1, 100).Draw(t, "records"),
		}
	case 1:
		return DeleteRecords{Offset: rapid.Int64().Draw(t, "offset")}
	default:
		return Retain{NowMs: rapid.Int64().Draw(t, "now"), RetentionMs: rapid.Int64().Draw(t, "ms"), RetentionBytes: rapid.Int64().Draw(t, "bytes")}
	}
}

func genError(t *rapid.T) *core.Error {
	if rapid.Bool().Draw(t, "hasErr") {
		return nil
	}
	return &core.Error{Code: core.Code(rapid.Int16Range(-1, 120).Filter(func(c int16) bool { return c != 0 }).Draw(t, "code")),
		Reason: rapid.StringN(0, 50, -1).Draw(t, "reason")}
}

func genResult(t *rapid.T) Result {
	switch rapid.IntRange(0, 2).Draw(t, "kind") {
	case 0:
		return ProduceResult{BaseOffset: rapid.Int64().Draw(t, "base"), LogAppendTimeMs: rapid.Int64().Draw(t, "lat"),
			LogStartOffset: rapid.Int64().Draw(t, "ls"), Err: genError(t)}
	case 1:
		return DeleteRecordsResult{LowWatermark: rapid.Int64().Draw(t, "lw"), Err: genError(t)}
	default:
		return RetainResult{LogStartOffset: rapid.Int64().Draw(t, "ls"), DeletedBatches: rapid.Int64().Draw(t, "db"),
			DeletedBytes: rapid.Int64().Draw(t, "dbytes"), ExpiredProducers: rapid.Int64().Draw(t, "exp")}
	}
}

func TestCommandAndResultRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genCommand(t)
		got, err := DecodeCommand(EncodeCommand(c))
		if err != nil || !reflect.DeepEqual(got, c) {
			t.Fatalf("command %+v decoded as %+v, %v", c, got, err)
		}
		r := genResult(t)
		gotR, err := DecodeResult(EncodeResult(r))
		if err != nil || !reflect.DeepEqual(gotR, r) {
			t.Fatalf("result %+v decoded as %+v, %v", r, gotR, err)
		}
	})
}

func TestDecodeRejects(t *testing.T) {
	good := EncodeCommand(DeleteRecords{Offset: 5})
	for name, b := range map[string][]byte{
		"empty":        nil,
		"version 2":    append([]byte{2}, good[1:]...),
		"unknown kind": {1, 9},
		"truncated":    good[:len(good)-1],
		"trailing":     append(append([]byte(nil), good...), 0),
	} {
		if _, err := DecodeCommand(b); err == nil {
			t.Errorf("DecodeCommand(%s) accepted %x", name, b)
		}
	}
	// An error present with code 0 is not a valid result.
	r := EncodeResult(DeleteRecordsResult{LowWatermark: 1, Err: &core.Error{Code: core.OffsetOutOfRange}})
	// ... bool 1, code int16 (2 bytes), reason length uint32 0: the code's
	// low byte is the fifth from the end.
	if r[len(r)-5] != byte(core.OffsetOutOfRange) {
		t.Fatalf("unexpected layout %x", r)
	}
	r[len(r)-5] = 0
	if _, err := DecodeResult(r); err == nil {
		t.Errorf("DecodeResult with an error code 0 = %v", err)
	}
}

// FuzzDecodeCommand: DecodeCommand never panics, and what it accepts
// re-encodes to the same bytes (so decode -> encode -> decode is stable).
func FuzzDecodeCommand(f *testing.F) {
	f.Add(EncodeCommand(Produce{NowMs: 1, LeaderEpoch: 2, MaxMessageBytes: 1 << 20, Records: batch.Build(batch.BuildSpec{Records: []batch.Record{{Value: []byte("v")}}})}))
	f.Add(EncodeCommand(DeleteRecords{Offset: -1}))
	f.Add(EncodeCommand(Retain{NowMs: 100, RetentionMs: -1, RetentionBytes: 1 << 30}))
	f.Add([]byte{})
	f.Add([]byte{1, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			return
		}
		enc := EncodeCommand(c)
		if !bytes.Equal(enc, b) {
			t.Fatalf("decode/encode changed %x into %x", b, enc)
		}
		c2, err := DecodeCommand(enc)
		if err != nil || !reflect.DeepEqual(c, c2) {
			t.Fatalf("re-decode: %+v vs %+v, %v", c, c2, err)
		}
		applyFuzzed(t, c)
		// Random records almost never carry a valid length and CRC: also
		// apply a copy with both fixed, to reach the checks behind them.
		if p, ok := c.(Produce); ok && len(p.Records) >= batch.HeaderSize {
			p.Records = bytes.Clone(p.Records)
			binary.BigEndian.PutUint32(p.Records[8:], uint32(len(p.Records)-12))
			batch.UpdateCRC(p.Records)
			applyFuzzed(t, p)
		}
	})
}

// applyFuzzed applies c to a small log twice over (an idempotent producer's
// batch is in it): it never panics, a rejection changes nothing, and the
// store stays consistent.
func applyFuzzed(t *testing.T, c Command) {
	l := New(DefaultConfig(), &MemStore{})
	if _, err := l.Apply(Produce{NowMs: 0, MaxMessageBytes: 1 << 20, Records: batch.Build(batch.BuildSpec{
		Producer: &batch.Producer{ID: 1, Epoch: 1, BaseSequence: 0},
		Records:  []batch.Record{{Value: []byte("x")}, {Value: []byte("y")}}})}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		before := l.StateHash()
		res, err := l.Apply(c)
		if err != nil {
			t.Fatalf("Apply(%+v): %v", c, err)
		}
		var rejected *core.Error
		switch r := res.(type) {
		case ProduceResult:
			rejected = r.Err
		case DeleteRecordsResult:
			rejected = r.Err
		}
		if rejected != nil && l.StateHash() != before {
			t.Fatalf("rejected %+v changed the state", c)
		}
		if err := l.CheckStore(); err != nil {
			t.Fatal(err)
		}
	}
}

func sampleLog(t testing.TB) (*Log, *MemStore) {
	s := &MemStore{}
	l := New(DefaultConfig(), s)
	for i, cmd := range []Command{
		Produce{NowMs: 10, LeaderEpoch: 1, MaxMessageBytes: 1 << 20, Records: batch.Build(batch.BuildSpec{
			Producer: &batch.Producer{ID: 3, Epoch: 1, BaseSequence: 0},
			Records:  []batch.Record{{TimestampMs: 5, Value: []byte("a")}, {TimestampMs: 6, Value: []byte("b")}}})},
		Produce{NowMs: 11, LeaderEpoch: 1, MaxMessageBytes: 1 << 20, Records: batch.Build(batch.BuildSpec{
			Records: []batch.Record{{TimestampMs: 7, Key: []byte("k"), Value: []byte("c")}}})},
		Produce{NowMs: 12, LeaderEpoch: 2, MaxMessageBytes: 1 << 20, Records: batch.Build(batch.BuildSpec{
			Producer: &batch.Producer{ID: 3, Epoch: 1, BaseSequence: 2},
			Records:  []batch.Record{{TimestampMs: 8, Value: []byte("d")}}})},
		DeleteRecords{Offset: 1},
	} {
		if _, err := l.Apply(cmd); err != nil {
			t.Fatalf("command %d: %v", i, err)
		}
	}
	return l, s
}

func TestMetaRoundTripAndValidation(t *testing.T) {
	l, _ := sampleLog(t)
	m := l.Meta()
	got, err := DecodeMeta(EncodeMeta(m))
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("meta %+v decoded as %+v, %v", m, got, err)
	}
	bad := []func(m *Meta){
		func(m *Meta) { m.LogStartOffset = m.HighWatermark + 1 },
		func(m *Meta) { m.HighWatermark = m.LogEndOffset + 1 },
		func(m *Meta) { m.BatchCount = 0 },
		func(m *Meta) { m.StoredBytes = 10 },
		func(m *Meta) { m.Producers[0].Batches = nil },
		func(m *Meta) { m.Producers[0].Batches[0].LastSeq++ },
		func(m *Meta) { m.Producers[0].Batches[1].FirstSeq += 1; m.Producers[0].Batches[1].LastSeq += 1 },
		func(m *Meta) { m.Producers[0].Batches[1].LastOffset = m.LogEndOffset },
		func(m *Meta) { m.Producers = append(m.Producers, m.Producers[0]) },
		func(m *Meta) { m.Producers[0].Epoch = -1 },
	}
	for i, f := range bad {
		m2, _ := DecodeMeta(EncodeMeta(l.Meta()))
		f(&m2)
		if _, err := DecodeMeta(EncodeMeta(m2)); err == nil {
			t.Errorf("bad meta %d accepted: %+v", i, m2)
		}
	}
}

// TestMetaIsADeepCopy: a Meta taken before later commands does not change
// with them (SaveSnapshot relies on it).
func TestMetaIsADeepCopy(t *testing.T) {
	l, _ := sampleLog(t)
	m := l.Meta()
	before := EncodeMeta(m)
	for seq := int32(3); seq < 12; seq++ {
		if _, err := l.Apply(Produce{NowMs: 20, MaxMessageBytes: 1 << 20, Records: batch.Build(batch.BuildSpec{
			Producer: &batch.Producer{ID: 3, Epoch: 1, BaseSequence: seq}, Records: []batch.Record{{Value: []byte("e")}}})}); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(EncodeMeta(m), before) {
		t.Fatal("Meta changed after later Applies")
	}
}

func TestApplyDoesNotWriteIntoTheCommand(t *testing.T) {
	l := New(DefaultConfig(), &MemStore{})
	records := batch.Build(batch.BuildSpec{Records: []batch.Record{{Value: []byte("v")}}})
	orig := bytes.Clone(records)
	if _, err := l.Apply(Produce{LeaderEpoch: 9, MaxMessageBytes: 100, Records: records}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(records, orig) {
		t.Fatal("Apply wrote into the command's Records")
	}
}

func TestSnapshotRejectsDamage(t *testing.T) {
	l, s := sampleLog(t)
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, l.Meta(), s); err != nil {
		t.Fatal(err)
	}
	snap := buf.Bytes()
	if r, err := ReadSnapshot(bytes.NewReader(snap), &MemStore{}, DefaultConfig()); err != nil || r.StateHash() != l.StateHash() {
		t.Fatalf("clean snapshot: %v", err)
	}
	// Every single flipped byte, and every truncation, is rejected.
	for i := range snap {
		d := bytes.Clone(snap)
		d[i] ^= 0x01
		if _, err := ReadSnapshot(bytes.NewReader(d), &MemStore{}, DefaultConfig()); err == nil {
			t.Fatalf("snapshot with byte %d flipped accepted", i)
		}
		if _, err := ReadSnapshot(bytes.NewReader(snap[:i]), &MemStore{}, DefaultConfig()); err == nil {
			t.Fatalf("snapshot truncated to %d bytes accepted", i)
		}
	}
	// Not into a store that holds data.
	if _, err := ReadSnapshot(bytes.NewReader(snap), s, DefaultConfig()); err == nil {
		t.Fatal("snapshot read into a non-empty store")
	}
	// A store that does not match the meta is not written out.
	m := l.Meta()
	m.StoredBytes++
	if err := WriteSnapshot(&bytes.Buffer{}, m, s); err == nil {
		t.Fatal("WriteSnapshot of a mismatched meta")
	}
}

// FuzzDecodeMeta: never panics; what it accepts re-encodes identically.
func FuzzDecodeMeta(f *testing.F) {
	l, _ := sampleLog(f)
	f.Add(EncodeMeta(l.Meta()))
	f.Add(EncodeMeta(Meta{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			return
		}
		if enc := EncodeMeta(m); !bytes.Equal(enc, b) {
			t.Fatalf("re-encoded %x as %x", b, enc)
		}
		// A valid meta opens (over an empty store it would fail the
		// store checks, so only the meta invariants are exercised here).
		if err := validateMeta(m); err != nil {
			t.Fatalf("DecodeMeta accepted an invalid meta: %v", err)
		}
	})
}

// FuzzReadSnapshot: never panics; an accepted snapshot yields a Log whose
// store checks out and which writes the same snapshot back.
func FuzzReadSnapshot(f *testing.F) {
	l, s := sampleLog(f)
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, l.Meta(), s); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	var empty bytes.Buffer
	if err := WriteSnapshot(&empty, Meta{}, &MemStore{}); err != nil {
		f.Fatal(err)
	}
	f.Add(empty.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		readFuzzedSnapshot(t, b)
		// Also with the trailer CRC fixed, to reach the checks before it.
		if len(b) >= 4 {
			sealed := bytes.Clone(b)
			binary.BigEndian.PutUint32(sealed[len(b)-4:], crc32.Checksum(sealed[:len(b)-4], snapshotCRCTable))
			readFuzzedSnapshot(t, sealed)
		}
	})
}

func readFuzzedSnapshot(t *testing.T, b []byte) {
	{
		store := &MemStore{}
		r, err := ReadSnapshot(bytes.NewReader(b), store, DefaultConfig())
		if err != nil {
			return
		}
		if err := r.CheckStore(); err != nil {
			t.Fatalf("accepted snapshot: %v", err)
		}
		var out bytes.Buffer
		if err := WriteSnapshot(&out, r.Meta(), store); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), b[:out.Len()]) {
			t.Fatal("snapshot does not re-write identically")
		}
		// And the log works: a fetch of everything succeeds.
		if res := r.Fetch(r.Offsets().LogStartOffset, math.MaxInt32); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
}

// TestCheckStoreCatchesMismatch: CheckStore tells a store that disagrees
// with the state (an invariant: panics under ExpensiveChecks) from one
// whose bytes were damaged (reported, never asserted).
func TestCheckStoreCatchesMismatch(t *testing.T) {
	l, s := sampleLog(t)
	if err := l.CheckStore(); err != nil {
		t.Fatal(err)
	}
	// Damage a byte: corruption.
	s.batches[0][len(s.batches[0])-1] ^= 1
	if err := l.CheckStore(); !errors.Is(err, errStoreCorrupt) {
		t.Fatalf("damaged byte: %v", err)
	}
	s.batches[0][len(s.batches[0])-1] ^= 1

	// A valid batch appended behind the Log's back: a mismatch.
	extra := batch.Build(batch.BuildSpec{Records: []batch.Record{{Value: []byte("z")}}})
	batch.SetBaseOffset(extra, l.Offsets().LogEndOffset)
	if err := s.Append(l.Offsets().LogEndOffset, extra, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.CheckStore(); !errors.Is(err, errStoreMismatch) {
		t.Fatalf("extra batch: %v", err)
	}
	if !core.ExpensiveChecks {
		return // the panic below needs -tags invariants; the checks above ran
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "invariant violated: store matches state") {
			t.Fatalf("Apply over a mismatched store: recover() = %v", r)
		}
	}()
	_, _ = l.Apply(Retain{NowMs: 0, RetentionMs: -1, RetentionBytes: -1})
	t.Fatal("Apply over a mismatched store did not panic")
}

package batch

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"

	"pgregory.net/rapid"

	"github.com/tidemark/tidemark/core"
)

// genBytes draws nil (null), empty or a short byte string.
func genBytes(t *rapid.T, label string) []byte {
	switch rapid.IntRange(0, 4).Draw(t, label+"-kind") {
	case 0:
		return nil
	case 1:
		return []byte{}
	default:
		return rapid.SliceOfN(rapid.Byte(), 1, 40).Draw(t, label)
	}
}

func genSpec(t *rapid.T) BuildSpec {
	spec := BuildSpec{
		BaseOffset:           rapid.Int64().Draw(t, "base"),
		PartitionLeaderEpoch: rapid.Int32().Draw(t, "ple"),
	}
	if rapid.Bool().Draw(t, "idempotent") {
		spec.Producer = &Producer{
			ID:           rapid.Int64Range(0, math.MaxInt64).Draw(t, "pid"),
			Epoch:        rapid.Int16Range(0, math.MaxInt16).Draw(t, "epoch"),
			BaseSequence: rapid.Int32Range(0, math.MaxInt32).Draw(t, "seq"),
		}
	}
	n := rapid.IntRange(1, 8).Draw(t, "records")
	ts := rapid.Int64Range(-1, 1<<45).Draw(t, "ts")
	for i := 0; i < n; i++ {
		r := Record{
			// Deltas may be negative and large: timestamps need not be
			// monotonic within a batch.
			TimestampMs: ts + rapid.Int64Range(-1<<40, 1<<40).Draw(t, "tsdelta"),
			Key:         genBytes(t, "key"),
			Value:       genBytes(t, "value"),
		}
		for j := rapid.IntRange(0, 3).Draw(t, "headers"); j > 0; j-- {
			r.Headers = append(r.Headers, RecordHeader{
				Key:   rapid.StringN(0, 10, -1).Draw(t, "hkey"),
				Value: genBytes(t, "hvalue"),
			})
		}
		spec.Records = append(spec.Records, r)
	}
	return spec
}

// TestBuildRoundTrip: whatever Build writes, Validate accepts (idempotent
// or not) and Records decodes back to the records given.
func TestBuildRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		spec := genSpec(t)
		b := Build(spec)
		h, err := Validate(b)
		if err != nil {
			t.Fatalf("Validate rejects a built batch: %v", err)
		}
		if int(h.RecordCount) != len(spec.Records) || h.BaseOffset != spec.BaseOffset || h.PartitionLeaderEpoch != spec.PartitionLeaderEpoch {
			t.Fatalf("header %+v for %d records", h, len(spec.Records))
		}
		if p := spec.Producer; p != nil && (h.ProducerID != p.ID || h.ProducerEpoch != p.Epoch || h.BaseSequence != p.BaseSequence) {
			t.Fatalf("producer fields %+v, want %+v", h, *p)
		}
		if p := spec.Producer; p == nil && (h.ProducerID != -1 || h.ProducerEpoch != -1 || h.BaseSequence != -1) {
			t.Fatalf("non-idempotent producer fields %+v", h)
		}
		first, maxTs := spec.Records[0].TimestampMs, spec.Records[0].TimestampMs
		for _, r := range spec.Records {
			maxTs = max(maxTs, r.TimestampMs)
		}
		if h.FirstTimestamp != first || h.MaxTimestamp != maxTs {
			t.Fatalf("timestamps %d/%d, want %d/%d", h.FirstTimestamp, h.MaxTimestamp, first, maxTs)
		}
		got, err := Records(b)
		if err != nil {
			t.Fatalf("Records: %v", err)
		}
		assertSameRecords(t, got, spec.Records)
	})
}

// goldenSpec and goldenHex pin Build's encoding to franz-go's: goldenHex is
// what kmsg.RecordBatch.AppendTo and kmsg.Record.AppendTo produce for
// goldenSpec (TestGoldenIsKmsg in kmsg_test.go regenerates and compares it
// whenever kmsg is importable).
var goldenSpec = BuildSpec{
	BaseOffset:           0,
	PartitionLeaderEpoch: -1,
	Producer:             &Producer{ID: 4242, Epoch: 3, BaseSequence: 17},
	Records: []Record{
		{TimestampMs: 1700000000000, Key: []byte("key-1"), Value: []byte("value one"),
			Headers: []RecordHeader{{Key: "trace", Value: []byte{1, 2, 3}}, {Key: "nullv", Value: nil}}},
		{TimestampMs: 1699999999000, Key: nil, Value: []byte{}},
		{TimestampMs: 1700000123456, Key: []byte{}, Value: nil},
	},
}

const goldenHex = "000000000000000000000068ffffffff028220d8fb0000000000020000018bcfe568000000018bcfe74a400000000000001092000300000011000000034a0000000a6b65792d311276616c7565206f6e65040a7472616365060102030a6e756c6c76010e00cf0f02010000100080890f04000100"

func TestBuildGolden(t *testing.T) {
	if got := hex.EncodeToString(Build(goldenSpec)); got != goldenHex {
		t.Fatalf("Build(goldenSpec) =\n%s\nwant (kmsg's encoding)\n%s", got, goldenHex)
	}
}

// recordSize is the encoded size of the record at the front of b, length
// prefix included (read with our varint reader: a non-canonical length
// prefix is longer than its canonical re-encoding).
func recordSize(b []byte) int {
	r := varReader{buf: b}
	n := r.varint()
	return r.off + int(n)
}

func sameNullable(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

type fataler interface {
	Fatalf(format string, args ...any)
}

func assertSameRecords(t fataler, got, want []Record) {
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.TimestampMs != w.TimestampMs || !sameNullable(g.Key, w.Key) || !sameNullable(g.Value, w.Value) || len(g.Headers) != len(w.Headers) {
			t.Fatalf("record %d = %+v, want %+v", i, g, w)
		}
		for j := range w.Headers {
			if g.Headers[j].Key != w.Headers[j].Key || !sameNullable(g.Headers[j].Value, w.Headers[j].Value) {
				t.Fatalf("record %d header %d = %+v, want %+v", i, j, g.Headers[j], w.Headers[j])
			}
		}
	}
}

func simple(n int) BuildSpec {
	spec := BuildSpec{PartitionLeaderEpoch: -1}
	for i := 0; i < n; i++ {
		spec.Records = append(spec.Records, Record{TimestampMs: 1000 + int64(i), Value: []byte{byte('a' + i)}})
	}
	return spec
}

// mutate changes b and re-seals the CRC, so that only the intended check
// can fail.
func mutate(b []byte, f func(b []byte)) []byte {
	b = append([]byte(nil), b...)
	f(b)
	UpdateCRC(b)
	return b
}

func TestValidate(t *testing.T) {
	be := binary.BigEndian
	good := Build(simple(3))
	idem := BuildSpec{Producer: &Producer{ID: 7, Epoch: 1, BaseSequence: 5}, Records: simple(2).Records}
	tests := []struct {
		name string
		b    []byte
		want core.Code
	}{
		{"good", good, core.None},
		{"good idempotent", Build(idem), core.None},
		{"compressed records are not walked", mutate(good, func(b []byte) { b[offAttributes+1] = byte(CodecZstd) }), core.None},
		{"empty", nil, core.CorruptMessage},
		{"shorter than magic", good[:10], core.CorruptMessage},
		{"shorter than header", good[:40], core.CorruptMessage},
		{"length field too big", mutate(good, func(b []byte) { be.PutUint32(b[offLength:], uint32(len(b))) }), core.CorruptMessage},
		{"truncated", good[:len(good)-1], core.CorruptMessage},
		{"magic 1", mutate(good, func(b []byte) { b[offMagic] = 1 }), core.UnsupportedForMessageFormat},
		{"magic 0", mutate(good, func(b []byte) { b[offMagic] = 0 }), core.UnsupportedForMessageFormat},
		{"magic 3", mutate(good, func(b []byte) { b[offMagic] = 3 }), core.CorruptMessage},
		{"crc", func() []byte { b := append([]byte(nil), good...); b[len(b)-1] ^= 1; return b }(), core.CorruptMessage},
		{"zero records", Build(BuildSpec{}), core.InvalidRecord},
		{"count mismatch", mutate(good, func(b []byte) { be.PutUint32(b[offRecordCount:], 2) }), core.InvalidRecord},
		{"delta mismatch", mutate(good, func(b []byte) { be.PutUint32(b[offLastOffsetDelta:], 1) }), core.InvalidRecord},
		{"count and delta agree but records do not", mutate(good, func(b []byte) {
			be.PutUint32(b[offRecordCount:], 4)
			be.PutUint32(b[offLastOffsetDelta:], 3)
		}), core.InvalidRecord},
		{"codec 5", mutate(good, func(b []byte) { b[offAttributes+1] = 5 }), core.InvalidRecord},
		{"control", mutate(good, func(b []byte) { b[offAttributes+1] = attrControl }), core.InvalidRecord},
		{"transactional", mutate(good, func(b []byte) { b[offAttributes+1] = attrTransactional }), core.InvalidRecord},
		{"log append time", mutate(good, func(b []byte) { b[offAttributes+1] = attrLogAppendTime }), core.InvalidRecord},
		{"producer id -2", mutate(good, func(b []byte) { be.PutUint64(b[offProducerID:], uint64(1<<64-2)) }), core.InvalidRecord},
		{"idempotent negative seq", mutate(Build(idem), func(b []byte) { be.PutUint32(b[offBaseSequence:], uint32(1<<32-1)) }), core.InvalidRecord},
		{"idempotent negative epoch", mutate(Build(idem), func(b []byte) { be.PutUint16(b[offProducerEpoch:], uint16(1<<16-1)) }), core.InvalidRecord},
		{"offset delta out of order", func() []byte {
			// Swap the two records of a 2-record batch whose records
			// encode to the same length.
			b := Build(simple(2))
			r := b[HeaderSize:]
			n := len(r) / 2
			swapped := append(append([]byte(nil), r[n:]...), r[:n]...)
			return mutate(b, func(b []byte) { copy(b[HeaderSize:], swapped) })
		}(), core.InvalidRecord},
		{"trailing byte in records", func() []byte {
			b := append(append([]byte(nil), good...), 0)
			return mutate(b, func(b []byte) { be.PutUint32(b[offLength:], uint32(len(b)-12)) })
		}(), core.InvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Validate(tc.b)
			if got := core.CodeOf(errOrNil(err)); got != tc.want {
				t.Fatalf("Validate = %v, want code %d", err, tc.want)
			}
			if err == nil && h.Size() != len(tc.b) {
				t.Fatalf("header size %d for %d bytes", h.Size(), len(tc.b))
			}
			if err != nil && err.Reason == "" {
				t.Fatal("error without a reason")
			}
		})
	}
}

// errOrNil avoids the typed-nil trap when passing a *core.Error as error.
func errOrNil(e *core.Error) error {
	if e == nil {
		return nil
	}
	return e
}

func TestVerifyStoredCatchesAnyFlippedByte(t *testing.T) {
	good := Build(simple(3))
	SetBaseOffset(good, 42)
	SetPartitionLeaderEpoch(good, 7)
	if _, err := VerifyStored(good); err != nil {
		t.Fatalf("VerifyStored of a good batch: %v", err)
	}
	// Every byte from the length field on is covered by a check; bytes
	// 0-7 (base offset) and 12-15 (leader epoch) are not, by design: the
	// partition checks the base offset against the store key.
	for i := 8; i < len(good); i++ {
		if i >= offPartitionLeaderEpoch && i < offMagic {
			continue
		}
		b := append([]byte(nil), good...)
		b[i] ^= 0x10
		if _, err := VerifyStored(b); err == nil || err.Code != core.KafkaStorageError {
			t.Fatalf("flipping byte %d: VerifyStored = %v, want KafkaStorageError", i, err)
		}
	}
}

func TestSetFieldsKeepCRC(t *testing.T) {
	b := Build(simple(2))
	before := append([]byte(nil), b[crcStart:]...)
	SetBaseOffset(b, 1<<40)
	SetPartitionLeaderEpoch(b, 99)
	h, err := Validate(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.BaseOffset != 1<<40 || h.PartitionLeaderEpoch != 99 || h.LastOffset() != 1<<40+1 || h.NextOffset() != 1<<40+2 {
		t.Fatalf("header %+v", h)
	}
	if !bytes.Equal(before, b[crcStart:]) {
		t.Fatal("setting offset and epoch changed CRC-covered bytes")
	}
}

// TestAssignedPrefixIsSetFields checks that the prefix followed by the rest
// is the batch with its offset and epoch set, and that b is not written.
func TestAssignedPrefixIsSetFields(t *testing.T) {
	b := Build(simple(3))
	orig := append([]byte(nil), b...)
	p := AssignedPrefix(b, 1<<40, 99)
	want := append([]byte(nil), b...)
	SetBaseOffset(want, 1<<40)
	SetPartitionLeaderEpoch(want, 99)
	if got := append(p[:], b[len(p):]...); !bytes.Equal(got, want) {
		t.Fatalf("prefix+rest = %x, want %x", got, want)
	}
	if !bytes.Equal(b, orig) {
		t.Fatal("AssignedPrefix wrote into its input")
	}
	if AssignedPrefixSize > crcStart {
		t.Fatalf("the assigned prefix (%d bytes) reaches into the CRC-covered bytes at %d", AssignedPrefixSize, crcStart)
	}
}

func TestSplitAndSingle(t *testing.T) {
	a, b := Build(simple(1)), Build(simple(2))
	two := append(append([]byte(nil), a...), b...)
	got, err := Split(two)
	if err != nil || len(got) != 2 || !bytes.Equal(got[0], a) || !bytes.Equal(got[1], b) {
		t.Fatalf("Split = %d batches, %v", len(got), err)
	}
	if _, err := Single(two); err == nil || err.Code != core.InvalidRecord {
		t.Fatalf("Single of two batches = %v, want InvalidRecord", err)
	}
	if one, err := Single(a); err != nil || !bytes.Equal(one, a) {
		t.Fatalf("Single of one batch = %v", err)
	}
	if _, err := Single(nil); err == nil || err.Code != core.InvalidRecord {
		t.Fatalf("Single of nothing = %v, want InvalidRecord", err)
	}
	for _, bad := range [][]byte{two[:len(two)-1], a[:11], append(append([]byte(nil), a...), 1, 2, 3)} {
		if _, err := Split(bad); err == nil || err.Code != core.CorruptMessage {
			t.Fatalf("Split of %d bad bytes = %v, want CorruptMessage", len(bad), err)
		}
	}
	neg := append([]byte(nil), a...)
	binary.BigEndian.PutUint32(neg[offLength:], uint32(1<<32-20))
	if _, err := Split(neg); err == nil || err.Code != core.CorruptMessage {
		t.Fatalf("Split with a negative length = %v", err)
	}
}

func TestLastSequenceWraps(t *testing.T) {
	tests := []struct{ seq, delta, want int32 }{
		{0, 0, 0},
		{5, 3, 8},
		{math.MaxInt32, 0, math.MaxInt32},
		{math.MaxInt32, 1, 0},
		{math.MaxInt32 - 1, 3, 1},
	}
	for _, tc := range tests {
		if got := IncrementSequence(tc.seq, tc.delta); got != tc.want {
			t.Errorf("IncrementSequence(%d, %d) = %d, want %d", tc.seq, tc.delta, got, tc.want)
		}
	}
	h := Header{BaseSequence: math.MaxInt32 - 1, LastOffsetDelta: 2}
	if h.LastSequence() != 0 {
		t.Fatalf("LastSequence = %d", h.LastSequence())
	}
}

func TestRecordsRejectsCompressed(t *testing.T) {
	b := mutate(Build(simple(1)), func(b []byte) { b[offAttributes+1] = byte(CodecGzip) })
	if _, err := Records(b); err == nil || err.Code != core.UnsupportedForMessageFormat {
		t.Fatalf("Records of a gzip batch = %v", err)
	}
}

// kmsgCrossCheck, when kmsg_test.go is compiled in, checks that franz-go's
// kmsg decodes an accepted batch to the same header and records (nil recs:
// a compressed batch, header only).
var kmsgCrossCheck func(t fataler, b []byte, h Header, recs []Record)

// FuzzValidate: Validate never panics, and whatever it accepts parses the
// same way every time, survives the broker's rewrites, decodes with kmsg to
// the same header and (uncompressed) records, and re-builds to records that
// decode identically.
func FuzzValidate(f *testing.F) {
	f.Add(Build(simple(1)))
	f.Add(Build(simple(3)))
	f.Add(Build(BuildSpec{Producer: &Producer{ID: 1, Epoch: 2, BaseSequence: math.MaxInt32}, Records: []Record{
		{TimestampMs: 5, Key: []byte("k"), Value: nil, Headers: []RecordHeader{{Key: "h", Value: []byte{}}, {Key: "", Value: nil}}},
		{TimestampMs: 3, Key: []byte{}, Value: []byte("vv")},
	}}))
	f.Add(mutate(Build(simple(2)), func(b []byte) { b[offAttributes+1] = byte(CodecSnappy) }))
	f.Add([]byte{})
	f.Add(make([]byte, HeaderSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkValidate(t, b)
		// Random bytes almost never carry a matching CRC and length field:
		// also check a copy with both fixed, so the fuzzer reaches the
		// checks behind them (counts, attributes, the record walk).
		if len(b) >= HeaderSize {
			sealed := append([]byte(nil), b...)
			binary.BigEndian.PutUint32(sealed[offLength:], uint32(len(sealed)-lengthFieldEnd))
			UpdateCRC(sealed)
			checkValidate(t, sealed)
		}
	})
}

func checkValidate(t *testing.T, b []byte) {
	{
		orig := append([]byte(nil), b...)
		h, err := Validate(b)
		if !bytes.Equal(orig, b) {
			t.Fatal("Validate modified its input")
		}
		if err != nil {
			if err.Code == core.None || err.Reason == "" {
				t.Fatalf("bad error %+v", err)
			}
			return
		}
		if h2, _ := Validate(b); h2 != h {
			t.Fatalf("re-validate: %+v != %+v", h2, h)
		}
		if p, ok := ParseHeader(b); !ok || p != h {
			t.Fatalf("ParseHeader %+v != %+v", p, h)
		}
		if h.RecordCount < 1 || h.Size() != len(b) || h.Magic != Magic {
			t.Fatalf("accepted header %+v for %d bytes", h, len(b))
		}
		stored := append([]byte(nil), b...)
		SetBaseOffset(stored, 12345)
		SetPartitionLeaderEpoch(stored, 6)
		hs, serr := VerifyStored(stored)
		if serr != nil {
			t.Fatalf("VerifyStored after rewrite: %v", serr)
		}
		want := h
		want.BaseOffset, want.PartitionLeaderEpoch = 12345, 6
		if hs != want {
			t.Fatalf("stored header %+v, want %+v", hs, want)
		}
		if h.Codec() != CodecNone {
			if kmsgCrossCheck != nil {
				kmsgCrossCheck(t, b, h, nil)
			}
			return
		}
		recs, rerr := Records(b)
		if rerr != nil {
			t.Fatalf("Records of an accepted batch: %v", rerr)
		}
		if len(recs) != int(h.RecordCount) {
			t.Fatalf("%d records, header says %d", len(recs), h.RecordCount)
		}
		if kmsgCrossCheck != nil {
			kmsgCrossCheck(t, b, h, recs)
		}
		spec := BuildSpec{Records: recs}
		if h.Idempotent() {
			spec.Producer = &Producer{ID: h.ProducerID, Epoch: h.ProducerEpoch, BaseSequence: h.BaseSequence}
		}
		rebuilt := Build(spec)
		again, rerr := Records(rebuilt)
		if rerr != nil {
			t.Fatalf("Records of the rebuilt batch: %v", rerr)
		}
		assertSameRecords(t, again, recs)
	}
}

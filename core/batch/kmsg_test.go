// This file checks core/batch against franz-go's kmsg: Build must agree
// with kmsg's encoding byte for byte, and each must decode the other.
package batch

import (
	"bytes"
	"encoding/hex"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"
)

func init() { kmsgCrossCheck = crossCheckWithKmsg }

// kmsgBatch encodes spec with franz-go's kmsg types: records through
// kmsg.Record.AppendTo, the batch through kmsg.RecordBatch.AppendTo. The
// only things computed here are the two derived fields kmsg leaves to its
// caller: Length, and the CRC-32C (Castagnoli) over bytes 21.. .
func kmsgBatch(spec BuildSpec) []byte {
	var records []byte
	first, maxTs := spec.Records[0].TimestampMs, spec.Records[0].TimestampMs
	for i, r := range spec.Records {
		maxTs = max(maxTs, r.TimestampMs)
		kr := kmsg.NewRecord()
		kr.TimestampDelta64 = r.TimestampMs - first
		kr.OffsetDelta = int32(i)
		kr.Key, kr.Value = r.Key, r.Value
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		body := kr.AppendTo(nil)[1:] // Length 0 encodes as one byte
		kr.Length = int32(len(body))
		records = kr.AppendTo(records)
	}
	kb := kmsg.RecordBatch{
		FirstOffset:          spec.BaseOffset,
		PartitionLeaderEpoch: spec.PartitionLeaderEpoch,
		Magic:                2,
		Attributes:           spec.Attributes,
		LastOffsetDelta:      int32(len(spec.Records) - 1),
		FirstTimestamp:       first,
		MaxTimestamp:         maxTs,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           int32(len(spec.Records)),
		Records:              records,
	}
	if p := spec.Producer; p != nil {
		kb.ProducerID, kb.ProducerEpoch, kb.FirstSequence = p.ID, p.Epoch, p.BaseSequence
	}
	kb.Length = int32(49 + len(records))
	out := kb.AppendTo(nil)
	kb.CRC = int32(crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return kb.AppendTo(nil)
}

// TestBuildMatchesKmsg: Build and kmsg agree byte for byte, kmsg decodes
// what Build wrote field for field, and Records decodes what kmsg wrote.
func TestBuildMatchesKmsg(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		spec := genSpec(t)
		ours := Build(spec)
		theirs := kmsgBatch(spec)
		if !bytes.Equal(ours, theirs) {
			t.Fatalf("Build and kmsg differ:\nours   %x\ntheirs %x", ours, theirs)
		}
		h, err := Validate(ours)
		if err != nil {
			t.Fatalf("Validate: %v", err)
		}
		crossCheckWithKmsg(t, ours, h, spec.Records)
		got, err := Records(theirs)
		if err != nil {
			t.Fatalf("Records of kmsg's batch: %v", err)
		}
		assertSameRecords(t, got, spec.Records)
	})
}

// TestGoldenIsKmsg: the golden vector in batch_test.go is kmsg's encoding.
func TestGoldenIsKmsg(t *testing.T) {
	if got := hex.EncodeToString(kmsgBatch(goldenSpec)); got != goldenHex {
		t.Fatalf("kmsg encodes goldenSpec as\n%s\nnot the pinned\n%s", got, goldenHex)
	}
}

// crossCheckWithKmsg decodes b with kmsg.RecordBatch.ReadFrom and each
// record with kmsg.Record.ReadFrom and compares with our header and
// records (recs nil: header only).
func crossCheckWithKmsg(t fataler, b []byte, h Header, recs []Record) {
	var kb kmsg.RecordBatch
	if err := kb.ReadFrom(b); err != nil {
		t.Fatalf("kmsg cannot read the batch: %v", err)
	}
	if kb.FirstOffset != h.BaseOffset || kb.Length != h.Length || kb.PartitionLeaderEpoch != h.PartitionLeaderEpoch ||
		kb.Magic != h.Magic || uint32(kb.CRC) != h.CRC || kb.Attributes != h.Attributes ||
		kb.LastOffsetDelta != h.LastOffsetDelta || kb.FirstTimestamp != h.FirstTimestamp ||
		kb.MaxTimestamp != h.MaxTimestamp || kb.ProducerID != h.ProducerID || kb.ProducerEpoch != h.ProducerEpoch ||
		kb.FirstSequence != h.BaseSequence || kb.NumRecords != h.RecordCount {
		t.Fatalf("kmsg header %+v != ours %+v", kb, h)
	}
	if recs == nil {
		return
	}
	rest := kb.Records
	for i, want := range recs {
		var kr kmsg.Record
		if err := kr.ReadFrom(rest); err != nil {
			t.Fatalf("kmsg record %d: %v", i, err)
		}
		if kr.OffsetDelta != int32(i) || kb.FirstTimestamp+kr.TimestampDelta64 != want.TimestampMs ||
			!sameNullable(kr.Key, want.Key) || !sameNullable(kr.Value, want.Value) || len(kr.Headers) != len(want.Headers) {
			t.Fatalf("kmsg record %d = %+v, want %+v", i, kr, want)
		}
		for j := range want.Headers {
			if kr.Headers[j].Key != want.Headers[j].Key || !sameNullable(kr.Headers[j].Value, want.Headers[j].Value) {
				t.Fatalf("kmsg record %d header %d = %+v, want %+v", i, j, kr.Headers[j], want.Headers[j])
			}
		}
		rest = rest[recordSize(rest):]
	}
	if len(rest) != 0 {
		t.Fatalf("%d bytes after the records", len(rest))
	}
}

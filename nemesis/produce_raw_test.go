package nemesis

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	lin "github.com/tidemark/tidemark/linearizability"
)

// TestEncodeBatchDecodes: franz-go's own fetch decoder (which checks the
// CRC) reads back what encodeBatch wrote.
func TestEncodeBatchDecodes(t *testing.T) {
	in := []lin.Record{{Key: "k0", Value: "v0"}, {Key: "", Value: "v1"}, {Key: "k2", Value: "a longer value, to pass 63 bytes of varint range ........................"}}
	rp := kmsg.NewFetchResponseTopicPartition()
	rp.HighWatermark = 3
	rp.RecordBatches = encodeBatch(in, 1_700_000_000_000)
	fp, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Topic: "t"}, &rp, kgo.DefaultDecompressor(), nil)
	if fp.Err != nil {
		t.Fatal(fp.Err)
	}
	if len(fp.Records) != len(in) {
		t.Fatalf("decoded %d records, want %d", len(fp.Records), len(in))
	}
	for i, r := range fp.Records {
		if r.Offset != int64(i) || string(r.Key) != in[i].Key || string(r.Value) != in[i].Value || r.Timestamp.UnixMilli() != 1_700_000_000_000 {
			t.Errorf("record %d: offset %d key %q value %q ts %v, want %d %q %q", i, r.Offset, r.Key, r.Value, r.Timestamp, i, in[i].Key, in[i].Value)
		}
	}
}

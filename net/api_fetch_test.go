package net

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core/partition"
)

// TestFetchRecordsNeverNull: a partition with nothing to return (an empty
// log, or an error) is answered with an empty record set, length 0 on the
// wire, never a null one (-1), at the oldest and the newest version
// served. librdkafka (kcat, confluent-kafka) fails to parse a null record
// set and kafka-python crashes on it.
func TestFetchRecordsNeverNull(t *testing.T) {
	for _, version := range []int16{4, 11} {
		req := kmsg.NewPtrFetchRequest()
		req.MaxBytes = 1 << 20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "topic"
		for _, offset := range []int64{0, 5} { // empty log; OFFSET_OUT_OF_RANGE
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = 0, offset, 1<<20
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		resp := kmsg.NewPtrFetchResponse()
		fetchOnce(fixedCluster{}, req, resp, nil)
		resp.Version = version

		decoded := kmsg.NewPtrFetchResponse()
		decoded.Version = version
		if err := decoded.ReadFrom(resp.AppendTo(nil)); err != nil {
			t.Fatalf("v%d: decode: %v", version, err)
		}
		for _, p := range decoded.Topics[0].Partitions {
			if p.RecordBatches == nil {
				t.Errorf("v%d: partition %d (error %d) sent a null record set", version, p.Partition, p.ErrorCode)
			}
		}
	}
}

// limitRecorder is fixedCluster noting the largest maxBytes it is asked.
type limitRecorder struct {
	fixedCluster
	largest int32
}

func (c *limitRecorder) Fetch(topic string, p int32, offset int64, maxBytes int32, buf []byte) (partition.FetchResult, <-chan struct{}, error) {
	c.largest = max(c.largest, maxBytes)
	return c.fixedCluster.Fetch(topic, p, offset, maxBytes, buf)
}

// A client's MaxBytes and PartitionMaxBytes are capped at
// maxFetchResponseBytes: no partition is read for more.
func TestFetchResponseSizeIsCapped(t *testing.T) {
	req := kmsg.NewPtrFetchRequest()
	req.MaxBytes = 1 << 30
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "topic"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 30
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	c := &limitRecorder{}
	fetchOnce(c, req, kmsg.NewPtrFetchResponse(), nil)
	if c.largest != maxFetchResponseBytes {
		t.Fatalf("a partition was read for up to %d bytes, want the cap %d", c.largest, maxFetchResponseBytes)
	}
}

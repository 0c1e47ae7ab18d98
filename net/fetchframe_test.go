package net

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"
)

// TestFetchFrameIsKmsgEncoding: for any Fetch response at a version
// served, the segments of fetchFrame, joined, are the frame kmsg encodes,
// and each non-empty record set is a segment of its own (not copied).
func TestFetchFrameIsKmsgEncoding(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = rapid.Int16Range(4, 11).Draw(rt, "version")
		resp.ThrottleMillis = rapid.Int32().Draw(rt, "throttle")
		resp.ErrorCode = rapid.Int16().Draw(rt, "error")
		resp.SessionID = rapid.Int32().Draw(rt, "session")
		for range rapid.IntRange(0, 3).Draw(rt, "topics") {
			tp := kmsg.NewFetchResponseTopic()
			tp.Topic = rapid.StringN(0, 20, -1).Draw(rt, "topic")
			for range rapid.IntRange(0, 4).Draw(rt, "partitions") {
				p := kmsg.NewFetchResponseTopicPartition()
				p.Partition = rapid.Int32().Draw(rt, "partition")
				p.ErrorCode = rapid.Int16().Draw(rt, "partition error")
				p.HighWatermark = rapid.Int64().Draw(rt, "hw")
				p.LastStableOffset = rapid.Int64().Draw(rt, "lso")
				p.LogStartOffset = rapid.Int64().Draw(rt, "log start")
				p.PreferredReadReplica = rapid.Int32().Draw(rt, "preferred")
				if rapid.Bool().Draw(rt, "aborted not null") {
					p.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
					for range rapid.IntRange(0, 2).Draw(rt, "aborted") {
						a := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
						a.ProducerID, a.FirstOffset = rapid.Int64().Draw(rt, "producer"), rapid.Int64().Draw(rt, "first")
						p.AbortedTransactions = append(p.AbortedTransactions, a)
					}
				}
				if rapid.Bool().Draw(rt, "records not null") {
					p.RecordBatches = rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(rt, "records")
				}
				tp.Partitions = append(tp.Partitions, p)
			}
			resp.Topics = append(resp.Topics, tp)
		}
		corr := rapid.Int32().Draw(rt, "correlation id")
		segs, ok := fetchFrame(corr, resp)
		if !ok {
			rt.Fatalf("v%d not framed", resp.Version)
		}
		want := binary.BigEndian.AppendUint32(make([]byte, 4), uint32(corr))
		want = resp.AppendTo(want)
		binary.BigEndian.PutUint32(want, uint32(len(want)-4))
		if got := bytes.Join(segs, nil); !bytes.Equal(got, want) {
			rt.Fatalf("v%d: frame differs from kmsg's encoding\n got %x\nwant %x", resp.Version, got, want)
		}
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				if len(p.RecordBatches) > 0 && !segmentOf(segs, p.RecordBatches) {
					rt.Fatalf("partition %d's records were copied, not sent as a segment", p.Partition)
				}
			}
		}
	})
}

func segmentOf(segs [][]byte, b []byte) bool {
	for _, s := range segs {
		if len(s) == len(b) && sameArray(s, b) {
			return true
		}
	}
	return false
}

// A flexible version is left to kmsg.
func TestFetchFrameLeavesFlexibleVersions(t *testing.T) {
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = 12
	if _, ok := fetchFrame(1, resp); ok {
		t.Fatal("v12 framed by fetchFrame")
	}
}

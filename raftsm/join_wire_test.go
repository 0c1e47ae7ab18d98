package raftsm

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
)

func TestJoinWireRoundTrip(t *testing.T) {
	kind, req, err := decodeJoinWireRequest(encodeProbeRequest())
	if err != nil || kind != joinKindProbe || req != (joinRequest{}) {
		t.Fatalf("probe: kind %d req %+v err %v", kind, req, err)
	}
	want := joinRequest{BrokerID: 7, RaftAddr: "10.0.0.7:9093", Incarnation: 0xdeadbeef}
	kind, req, err = decodeJoinWireRequest(encodeJoinRequest(want))
	if err != nil || kind != joinKindJoin || req != want {
		t.Fatalf("join: kind %d req %+v err %v", kind, req, err)
	}
	pa := probeAnswer{ClusterID: "abc"}
	if got, err := decodeProbeAnswer(encodeProbeAnswer(pa)); err != nil || got != pa {
		t.Fatalf("probe answer: %+v %v", got, err)
	}
	ja := joinAnswer{Code: joinNotLeader, Reason: "r", LeaderKafkaAddr: "h:1", ClusterID: "c", ReplicaID: 9}
	if got, err := decodeJoinAnswer(encodeJoinAnswer(ja)); err != nil || got != ja {
		t.Fatalf("join answer: %+v %v", got, err)
	}
	// An answer of one kind is not taken for the other.
	if _, err := decodeJoinAnswer(encodeProbeAnswer(pa)); err == nil {
		t.Fatal("a probe answer decoded as a join answer")
	}
	for _, bad := range [][]byte{nil, {2, joinKindProbe}, {joinWireVersion, 9}, {joinWireVersion, joinKindProbe, 0}, {joinWireVersion, joinKindJoin, 0}} {
		if _, _, err := decodeJoinWireRequest(bad); err == nil {
			t.Errorf("request %x decoded", bad)
		}
	}
}

// FuzzDecodeJoinWireRequest: bytes from the network never panic the
// decoder, and what decodes encodes back to the same bytes.
func FuzzDecodeJoinWireRequest(f *testing.F) {
	f.Add(encodeProbeRequest())
	f.Add(encodeJoinRequest(joinRequest{BrokerID: 1, RaftAddr: "a:1", Incarnation: 3}))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, req, err := decodeJoinWireRequest(b)
		if err != nil {
			return
		}
		var again []byte
		if kind == joinKindProbe {
			again = encodeProbeRequest()
		} else {
			again = encodeJoinRequest(req)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("%x decodes to kind %d %+v, which encodes to %x", b, kind, req, again)
		}
	})
}

// TestJoinListenerSortsConnections: join requests are answered by the
// listener; Kafka connections come out of Accept with every byte intact,
// including a silent one once the peek times out (not waited for here).
func TestJoinListenerSortsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &joinListener{ln: ln, conns: make(chan net.Conn), serve: func(_ context.Context, body []byte) []byte {
		if _, _, err := decodeJoinWireRequest(body); err != nil {
			return nil
		}
		return encodeProbeAnswer(probeAnswer{ClusterID: "cluster-x"})
	}}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	go l.acceptLoop()
	defer l.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := askPeer(ctx, ln.Addr().String(), encodeProbeRequest())
	if err != nil {
		t.Fatal(err)
	}
	if a, err := decodeProbeAnswer(b); err != nil || a.ClusterID != "cluster-x" {
		t.Fatalf("probe answer %+v %v", a, err)
	}

	// A Kafka request (ApiVersions v3 header) passes through unchanged.
	kafkaFrame := []byte{0, 0, 0, 10, 0, 18, 0, 3, 0, 0, 0, 1, 0xff, 0xff}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(kafkaFrame); err != nil {
		t.Fatal(err)
	}
	got, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	buf := make([]byte, len(kafkaFrame))
	got.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(got, buf); err != nil || !bytes.Equal(buf, kafkaFrame) {
		t.Fatalf("kafka bytes %x (%v), want %x", buf, err, kafkaFrame)
	}

	// An oversized join frame is closed without an answer.
	c2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	hdr := binary.BigEndian.AppendUint32(nil, joinMaxFrameSize+10)
	key := joinAPIKey
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(key))
	c2.Write(hdr)
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c2.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("oversized join frame answered: %d bytes, %v", n, err)
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Accept(); err == nil {
		t.Fatal("Accept after Close succeeded")
	}
}

// TestNewControllerReplicaIDsAreNeverReused: the id a join adds is above
// every id the membership ever held, removed ones included.
func TestNewControllerReplicaIDsAreNeverReused(t *testing.T) {
	m := &dragonboat.Membership{
		Nodes:      map[uint64]string{1: "a:1", 3: "c:1"},
		NonVotings: map[uint64]string{4: "d:1"},
		Removed:    map[uint64]struct{}{2: {}, 9: {}},
	}
	if got := maxReplicaIDEver(m); got != 9 {
		t.Fatalf("max id ever %d, want 9 (a removed id)", got)
	}
	m.Nodes[10] = "b:1"
	if got := replicasAt(m, "b:1"); len(got) != 1 || got[0] != 10 {
		t.Fatalf("replicas at b:1: %v", got)
	}
	if got := replicasAt(m, "z:1"); len(got) != 0 {
		t.Fatalf("replicas at an unknown address: %v", got)
	}
}

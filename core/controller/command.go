package controller

import (
	"fmt"

	"github.com/tidemark/tidemark/core/codec"
)

// Command is one entry of the controller's log. The set is sealed: the
// types below are all there is, and Apply switches over them.
//
// Each command carries what its proposer knows: time (NowMs), random ids
// (TopicID, Incarnation) and Kafka's "-1 means the broker default", which
// the proposer resolves before proposing.
type Command interface {
	commandKind() commandKind
}

type commandKind uint8

const (
	kindBootstrap           commandKind = 1
	kindRegisterBroker      commandKind = 2
	kindCreateTopic         commandKind = 3
	kindDeleteTopic         commandKind = 4
	kindCreatePartitions    commandKind = 5
	kindAlterConfigs        commandKind = 6
	kindAllocateProducerIDs commandKind = 7
)

// Bootstrap is the first entry of a new cluster's log. It registers
// Brokers and creates GroupShardCount group-coordinator shards, each with
// GroupReplicationFactor replicas spread over those brokers. A later
// Bootstrap is an idempotent retry if it equals the first one in every
// field but NowMs (brokers compared as a set), and is rejected otherwise.
type Bootstrap struct {
	ClusterID              string
	NowMs                  int64
	GroupShardCount        int32
	GroupReplicationFactor int32
	Brokers                []BrokerInfo
}

// RegisterBroker is sent by a broker when it starts. A new id is added. The
// same incarnation of a known id updates its addresses and rack. A new
// incarnation of a known id means its data directory was wiped: each of its
// replicas gets a new replica id (see RegisterBrokerResult.Replacements).
// Racks and addresses never move existing replicas.
type RegisterBroker struct {
	Broker BrokerInfo
	NowMs  int64
}

// CreateTopic creates a topic with Partitions partitions, each a new shard
// with ReplicationFactor replicas. TopicID is drawn by the proposer and must
// be nonzero and not the id of a live topic. ValidateOnly checks everything
// and changes nothing (Kafka's CreateTopics validateOnly).
type CreateTopic struct {
	Name              string
	TopicID           TopicID
	Partitions        int32
	ReplicationFactor int32
	Configs           []ConfigEntry
	ValidateOnly      bool
	NowMs             int64
}

// DeleteTopic deletes a topic and all its shards, named by exactly one of
// Name and TopicID (Kafka's DeleteTopics v6 accepts either).
type DeleteTopic struct {
	Name    string
	TopicID TopicID
}

// CreatePartitions grows a topic to TotalCount partitions.
type CreatePartitions struct {
	Name         string
	TotalCount   int32
	ValidateOnly bool
}

// AlterConfigs applies incremental config ops to a topic (Kafka's
// IncrementalAlterConfigs). All ops are validated first; either all apply
// or none. A key may appear in at most one op. Kafka's non-incremental
// AlterConfigs is expressed with ReplaceConfigOps.
type AlterConfigs struct {
	Name         string
	Ops          []ConfigOp
	ValidateOnly bool
}

// AllocateProducerIDs reserves a block of Count producer ids (KIP-730): the
// block starts where the previous one ended, so blocks never overlap.
type AllocateProducerIDs struct {
	Count int32
}

func (Bootstrap) commandKind() commandKind           { return kindBootstrap }
func (RegisterBroker) commandKind() commandKind      { return kindRegisterBroker }
func (CreateTopic) commandKind() commandKind         { return kindCreateTopic }
func (DeleteTopic) commandKind() commandKind         { return kindDeleteTopic }
func (CreatePartitions) commandKind() commandKind    { return kindCreatePartitions }
func (AlterConfigs) commandKind() commandKind        { return kindAlterConfigs }
func (AllocateProducerIDs) commandKind() commandKind { return kindAllocateProducerIDs }

// encodingVersion leads every command, result and snapshot encoding.
const encodingVersion = 1

// EncodeCommand returns cmd's binary encoding: version byte, kind byte,
// then the fields in declaration order.
func EncodeCommand(cmd Command) []byte {
	w := codec.NewWriter(64)
	w.Uint8(encodingVersion)
	w.Uint8(uint8(cmd.commandKind()))
	switch c := cmd.(type) {
	case Bootstrap:
		w.String(c.ClusterID)
		w.Int64(c.NowMs)
		w.Int32(c.GroupShardCount)
		w.Int32(c.GroupReplicationFactor)
		w.Count(len(c.Brokers))
		for _, b := range c.Brokers {
			writeBrokerInfo(w, b)
		}
	case RegisterBroker:
		writeBrokerInfo(w, c.Broker)
		w.Int64(c.NowMs)
	case CreateTopic:
		w.String(c.Name)
		writeTopicID(w, c.TopicID)
		w.Int32(c.Partitions)
		w.Int32(c.ReplicationFactor)
		writeConfigEntries(w, c.Configs)
		w.Bool(c.ValidateOnly)
		w.Int64(c.NowMs)
	case DeleteTopic:
		w.String(c.Name)
		writeTopicID(w, c.TopicID)
	case CreatePartitions:
		w.String(c.Name)
		w.Int32(c.TotalCount)
		w.Bool(c.ValidateOnly)
	case AlterConfigs:
		w.String(c.Name)
		w.Count(len(c.Ops))
		for _, op := range c.Ops {
			w.String(op.Key)
			w.String(op.Value)
			w.Uint8(uint8(op.Op))
		}
		w.Bool(c.ValidateOnly)
	case AllocateProducerIDs:
		w.Int32(c.Count)
	default:
		panic(fmt.Sprintf("controller: EncodeCommand of unknown command %T", cmd))
	}
	return w.Bytes()
}

// DecodeCommand decodes what EncodeCommand wrote. It never panics; any
// malformed input (bad version, unknown kind, truncation, a bound exceeded,
// trailing bytes) is an error. Semantic checks (names, counts) are Apply's.
func DecodeCommand(b []byte) (Command, error) {
	r := codec.NewReader(b)
	if v := r.Uint8(); r.Err() == nil && v != encodingVersion {
		return nil, fmt.Errorf("controller command: unknown encoding version %d", v)
	}
	kind := commandKind(r.Uint8())
	if r.Err() != nil {
		return nil, fmt.Errorf("controller command: %w", r.Err())
	}
	var cmd Command
	switch kind {
	case kindBootstrap:
		c := Bootstrap{
			ClusterID:              r.String(maxDecodeStringBytes),
			NowMs:                  r.Int64(),
			GroupShardCount:        r.Int32(),
			GroupReplicationFactor: r.Int32(),
		}
		if n := r.Count(maxDecodeBrokers, brokerInfoMinBytes); n > 0 {
			c.Brokers = make([]BrokerInfo, n)
			for i := range c.Brokers {
				c.Brokers[i] = readBrokerInfo(r)
			}
		}
		cmd = c
	case kindRegisterBroker:
		cmd = RegisterBroker{Broker: readBrokerInfo(r), NowMs: r.Int64()}
	case kindCreateTopic:
		cmd = CreateTopic{
			Name:              r.String(maxDecodeStringBytes),
			TopicID:           readTopicID(r),
			Partitions:        r.Int32(),
			ReplicationFactor: r.Int32(),
			Configs:           readConfigEntries(r),
			ValidateOnly:      r.Bool(),
			NowMs:             r.Int64(),
		}
	case kindDeleteTopic:
		cmd = DeleteTopic{Name: r.String(maxDecodeStringBytes), TopicID: readTopicID(r)}
	case kindCreatePartitions:
		cmd = CreatePartitions{Name: r.String(maxDecodeStringBytes), TotalCount: r.Int32(), ValidateOnly: r.Bool()}
	case kindAlterConfigs:
		c := AlterConfigs{Name: r.String(maxDecodeStringBytes)}
		if n := r.Count(maxDecodeConfigs, 9); n > 0 {
			c.Ops = make([]ConfigOp, n)
			for i := range c.Ops {
				c.Ops[i] = ConfigOp{Key: r.String(maxDecodeStringBytes), Value: r.String(maxDecodeStringBytes)}
				op := ConfigOpType(r.Uint8())
				if op != ConfigOpSet && op != ConfigOpDelete {
					r.Fail(fmt.Errorf("unknown config op %d", op))
				}
				c.Ops[i].Op = op
			}
		}
		c.ValidateOnly = r.Bool()
		cmd = c
	case kindAllocateProducerIDs:
		cmd = AllocateProducerIDs{Count: r.Int32()}
	default:
		return nil, fmt.Errorf("controller command: unknown kind %d", kind)
	}
	if err := r.Finish(); err != nil {
		return nil, fmt.Errorf("controller command kind %d: %w", kind, err)
	}
	return cmd, nil
}

// brokerInfoMinBytes is the smallest encoding of a BrokerInfo: three empty
// strings' length prefixes, the id and the incarnation.
const brokerInfoMinBytes = 4 + 4 + 4 + 4 + 8

func writeBrokerInfo(w *codec.Writer, b BrokerInfo) {
	w.Int32(b.ID)
	w.String(b.KafkaAddr)
	w.String(b.RaftAddr)
	w.String(b.Rack)
	w.Uint64(b.Incarnation)
}

func readBrokerInfo(r *codec.Reader) BrokerInfo {
	return BrokerInfo{
		ID:          r.Int32(),
		KafkaAddr:   r.String(maxDecodeStringBytes),
		RaftAddr:    r.String(maxDecodeStringBytes),
		Rack:        r.String(maxDecodeStringBytes),
		Incarnation: r.Uint64(),
	}
}

func writeTopicID(w *codec.Writer, id TopicID) {
	for _, b := range id {
		w.Uint8(b)
	}
}

func readTopicID(r *codec.Reader) TopicID {
	var id TopicID
	for i := range id {
		id[i] = r.Uint8()
	}
	return id
}

func writeConfigEntries(w *codec.Writer, es []ConfigEntry) {
	w.Count(len(es))
	for _, e := range es {
		w.String(e.Key)
		w.String(e.Value)
	}
}

func readConfigEntries(r *codec.Reader) []ConfigEntry {
	n := r.Count(maxDecodeConfigs, 8)
	if n == 0 {
		return nil
	}
	es := make([]ConfigEntry, n)
	for i := range es {
		es[i] = ConfigEntry{Key: r.String(maxDecodeStringBytes), Value: r.String(maxDecodeStringBytes)}
	}
	return es
}

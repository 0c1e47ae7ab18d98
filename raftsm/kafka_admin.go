package raftsm

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
	"github.com/tidemark/tidemark/core/partition"
)

// This file implements net.AdminCluster on KafkaCluster: topic deletion,
// partition growth and config changes go through the controller shard;
// DeleteRecords through the partition's shard at its leader.

// controllerErr returns the error of a controller result of type T: its Err
// when it carries one, or a description of an unexpected result type.
func controllerErr[T controller.Result](res controller.Result, what string) (T, error) {
	r, ok := res.(T)
	if !ok {
		var zero T
		if e := controller.ResultErr(res); e != nil {
			return zero, e
		}
		return zero, fmt.Errorf("controller answered %s with %T", what, res)
	}
	if e := controller.ResultErr(r); e != nil {
		return r, e
	}
	return r, nil
}

// DeleteTopic implements net.AdminCluster: it proposes DeleteTopic by name.
// Each broker's reconciler then stops the topic's local replicas and
// removes their Raft logs and state.
func (k *KafkaCluster) DeleteTopic(ctx context.Context, name string) (controller.TopicID, error) {
	res, err := k.node.ProposeController(ctx, controller.DeleteTopic{Name: name})
	if err != nil {
		return controller.TopicID{}, err
	}
	r, err := controllerErr[controller.DeleteTopicResult](res, "DeleteTopic")
	if err != nil {
		return controller.TopicID{}, err
	}
	return r.TopicID, nil
}

// CreatePartitions implements net.AdminCluster.
func (k *KafkaCluster) CreatePartitions(ctx context.Context, name string, totalCount int32, validateOnly bool) error {
	res, err := k.node.ProposeController(ctx, controller.CreatePartitions{Name: name, TotalCount: totalCount, ValidateOnly: validateOnly})
	if err != nil {
		return err
	}
	_, err = controllerErr[controller.CreatePartitionsResult](res, "CreatePartitions")
	return err
}

// AlterTopicConfigs implements net.AdminCluster. A new retention.ms or
// retention.bytes takes effect at the partition leaders' next retention
// pass (RetentionCheckIntervalMs), a new max.message.bytes at the next
// produce.
func (k *KafkaCluster) AlterTopicConfigs(ctx context.Context, topic string, ops []controller.ConfigOp, validateOnly bool) error {
	res, err := k.node.ProposeController(ctx, controller.AlterConfigs{Name: topic, Ops: ops, ValidateOnly: validateOnly})
	if err != nil {
		return err
	}
	_, err = controllerErr[controller.AlterConfigsResult](res, "AlterConfigs")
	return err
}

// TopicConfigs implements net.AdminCluster with a local read of the
// controller state.
func (k *KafkaCluster) TopicConfigs(topic string) ([]controller.ConfigValue, error) {
	var (
		values []controller.ConfigValue
		found  bool
	)
	err := k.node.ReadController(func(c *controller.Controller) {
		if t, ok := c.Topic(topic); ok {
			values, found = controller.EffectiveConfigs(t.Configs), true
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read the controller state: %w", err)
	}
	if !found {
		return nil, core.Errorf(core.UnknownTopicOrPartition, "no topic %q", topic)
	}
	return values, nil
}

// DeleteRecords implements net.AdminCluster: it proposes
// partition.DeleteRecords at the partition's leader.
//
// An offset already below the log start has nothing left to delete: Kafka
// answers it with the current log start, while core's DeleteRecords calls
// it out of range. It is answered here from the leader's applied log
// without a proposal (the log start only grows, and everything applied is
// committed). A deletion that races another one past its offset can still
// get core's OFFSET_OUT_OF_RANGE.
func (k *KafkaCluster) DeleteRecords(ctx context.Context, topic string, index int32, offset int64) (partition.DeleteRecordsResult, error) {
	shard, _, err := k.partitionShard(topic, index)
	if err != nil {
		return partition.DeleteRecordsResult{}, err
	}
	var offs partition.Offsets
	if _, err := k.readLeader(topic, index, func(l *partition.Log) { offs = l.Offsets() }); err != nil {
		return partition.DeleteRecordsResult{}, err
	}
	if offset >= 0 && offset < offs.LogStartOffset {
		return partition.DeleteRecordsResult{LowWatermark: offs.LogStartOffset}, nil
	}
	out, err := k.node.Propose(ctx, shard, partition.EncodeCommand(partition.DeleteRecords{Offset: offset}))
	if err != nil {
		return partition.DeleteRecordsResult{}, notLeader(err, topic, index)
	}
	res, err := partition.DecodeResult(out)
	if err != nil {
		return partition.DeleteRecordsResult{}, err
	}
	r, ok := res.(partition.DeleteRecordsResult)
	if !ok {
		return partition.DeleteRecordsResult{}, fmt.Errorf("partition answered DeleteRecords with %T", res)
	}
	return r, nil
}

// BrokerID implements net.AdminCluster.
func (k *KafkaCluster) BrokerID() int32 { return k.node.cfg.NodeID }

// configTypeBoolean is Kafka's BOOLEAN config type (topic configs have none,
// so core/controller does not name it).
const configTypeBoolean controller.ConfigType = 1

// BrokerConfigs implements net.AdminCluster: the settings this broker runs
// with, under Kafka's broker config names, sorted by name. All are fixed at
// start-up.
func (k *KafkaCluster) BrokerConfigs() []controller.ConfigValue {
	cfg := k.node.cfg
	i32 := func(v int32) string { return strconv.FormatInt(int64(v), 10) }
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	out := []controller.ConfigValue{
		{Key: "advertised.listeners", Value: "PLAINTEXT://" + cfg.KafkaAddr, Type: controller.ConfigTypeList,
			Doc: "The address clients are given for this broker."},
		{Key: "auto.create.topics.enable", Value: strconv.FormatBool(k.settings.AutoCreateTopics), Type: configTypeBoolean,
			Doc: "Whether Metadata requests may create unknown topics with the defaults."},
		{Key: "broker.id", Value: i32(cfg.NodeID), Type: controller.ConfigTypeInt},
		{Key: "default.replication.factor", Value: i32(k.settings.DefaultReplicationFactor), Type: controller.ConfigTypeInt,
			Doc: "Replication factor of topics created with -1 or by auto-creation."},
		{Key: "group.initial.rebalance.delay.ms", Value: i32(cfg.Group.InitialRebalanceDelayMs), Type: controller.ConfigTypeInt},
		{Key: "group.max.session.timeout.ms", Value: i32(cfg.Group.MaxSessionTimeoutMs), Type: controller.ConfigTypeInt},
		{Key: "group.max.size", Value: strconv.Itoa(cfg.Group.MaxGroupSize), Type: controller.ConfigTypeInt},
		{Key: "group.min.session.timeout.ms", Value: i32(cfg.Group.MinSessionTimeoutMs), Type: controller.ConfigTypeInt},
		{Key: "log.retention.check.interval.ms", Value: i64(cfg.RetentionCheckIntervalMs), Type: controller.ConfigTypeLong,
			Doc: "How often a partition leader applies retention."},
		{Key: "num.partitions", Value: i32(k.settings.DefaultPartitions), Type: controller.ConfigTypeInt,
			Doc: "Partition count of topics created with -1 or by auto-creation."},
		{Key: "offset.metadata.max.bytes", Value: strconv.Itoa(cfg.Group.MaxOffsetMetadataBytes), Type: controller.ConfigTypeInt},
		{Key: "producer.id.expiration.ms", Value: i64(cfg.Partition.ProducerIDExpirationMs), Type: controller.ConfigTypeInt},
	}
	if cfg.Rack != "" {
		out = append(out, controller.ConfigValue{Key: "broker.rack", Value: cfg.Rack, Type: controller.ConfigTypeString})
	}
	for i := range out {
		out[i].ReadOnly = true
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

package net

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/controller"
)

// CreateTopics (key 19), versions 0-4: the non-flexible versions.
//
// Each topic is checked here (name, duplicates in the request, manual
// replica assignment, null config values) and then proposed to the
// controller, which checks the rest (partition count, replication factor,
// configs, limits) and answers with a Kafka code and message; the message
// goes out from v1 (ErrorMessage). NumPartitions and ReplicationFactor of
// -1 take the broker's defaults. Manual replica assignment is not supported
// and answered INVALID_REQUEST. ValidateOnly (v1+) creates nothing.
//
// Timing: once the controller has committed a topic, the handler waits, up
// to the request's TimeoutMillis, for every partition of the created topics
// to have a leader, so that a client producing right after sees leaders. A
// topic whose leaders are not elected in time is still answered as created
// (error 0), as Kafka answers once the topic exists. TimeoutMillis <= 0
// answers right after the commit. The controller proposal itself is bounded
// by TimeoutMillis (at least minCreateTimeout); running out of it is
// REQUEST_TIMED_OUT.
var createTopicsAPI = api{
	key:          19,
	name:         "CreateTopics",
	minVersion:   0,
	maxVersion:   4,
	handle:       handleCreateTopics,
	needsCluster: true,
}

const (
	// minCreateTimeout bounds a proposal when the request's timeout is
	// shorter or absent: the topic is still created, only not waited for.
	minCreateTimeout = 5 * time.Second
	// maxCreateTimeout caps a client's TimeoutMillis.
	maxCreateTimeout = 60 * time.Second
	// leaderPollInterval spaces the checks for elected leaders.
	leaderPollInterval = 20 * time.Millisecond
	// preferredLeaderWait is how long a create waits for each partition to
	// be led by its preferred replica before it settles for any leader.
	preferredLeaderWait = 3 * time.Second
)

func handleCreateTopics(ctx context.Context, rc *requestContext, req kmsg.Request) (kmsg.Response, error) {
	r, ok := req.(*kmsg.CreateTopicsRequest)
	if !ok {
		return nil, fmt.Errorf("CreateTopics handler got %T", req)
	}
	wait := min(time.Duration(r.TimeoutMillis)*time.Millisecond, maxCreateTimeout)
	proposeCtx, cancel := context.WithTimeout(ctx, max(wait, minCreateTimeout))
	defer cancel()

	count := make(map[string]int, len(r.Topics))
	for _, t := range r.Topics {
		count[t.Topic]++
	}
	resp := kmsg.NewPtrCreateTopicsResponse()
	var created []string
	for _, t := range r.Topics {
		out := kmsg.NewCreateTopicsResponseTopic()
		out.Topic = t.Topic
		if count[t.Topic] > 1 {
			// Kafka answers every copy of a repeated topic with this error.
			setCreateError(&out, core.Errorf(core.InvalidRequest,
				"topic %s appears more than once in the request", quoteName(t.Topic)))
			resp.Topics = append(resp.Topics, out)
			continue
		}
		err := createTopic(proposeCtx, rc.cluster, t, r.ValidateOnly)
		if err == nil && !r.ValidateOnly {
			created = append(created, t.Topic)
		}
		setCreateError(&out, err)
		resp.Topics = append(resp.Topics, out)
	}
	if len(created) > 0 && wait > 0 {
		waitForLeaders(ctx, rc.cluster, created, wait)
	}
	return resp, nil
}

// createTopic checks one topic of the request and proposes it. The error is
// a *core.Error to answer with, or the proposal's failure.
func createTopic(ctx context.Context, cluster Cluster, t kmsg.CreateTopicsRequestTopic, validateOnly bool) error {
	if err := controller.ValidateTopicName(t.Topic); err != nil {
		return err
	}
	if len(t.ReplicaAssignment) > 0 {
		return core.Errorf(core.InvalidRequest,
			"topic %s: manual replica assignment is not supported by this broker; give NumPartitions and ReplicationFactor (or -1 for the defaults)",
			quoteName(t.Topic))
	}
	if t.NumPartitions == 0 || t.NumPartitions < -1 {
		return core.Errorf(core.InvalidPartitions, "number of partitions must be positive or -1 (the default), got %d", t.NumPartitions)
	}
	if t.ReplicationFactor == 0 || t.ReplicationFactor < -1 {
		return core.Errorf(core.InvalidReplicationFactor, "replication factor must be positive or -1 (the default), got %d", t.ReplicationFactor)
	}
	configs := make([]controller.ConfigEntry, 0, len(t.Configs))
	for _, c := range t.Configs {
		if c.Value == nil {
			return core.Errorf(core.InvalidConfig, "null value not supported for topic config %s", quoteName(c.Name))
		}
		configs = append(configs, controller.ConfigEntry{Key: c.Name, Value: *c.Value})
	}
	_, err := cluster.CreateTopic(ctx, TopicSpec{Name: t.Topic, Partitions: t.NumPartitions,
		ReplicationFactor: int32(t.ReplicationFactor), Configs: configs, ValidateOnly: validateOnly})
	return err
}

// setCreateError maps err onto the topic's answer: a *core.Error keeps its
// code and message; a proposal that ran out of time is REQUEST_TIMED_OUT;
// anything else UNKNOWN_SERVER_ERROR with the cause as message.
func setCreateError(out *kmsg.CreateTopicsResponseTopic, err error) {
	if err == nil {
		return
	}
	code, msg := core.UnknownServerError, err.Error()
	var ke *core.Error
	switch {
	case errors.As(err, &ke):
		code, msg = ke.Code, ke.Reason
	case errors.Is(err, context.DeadlineExceeded):
		code, msg = core.RequestTimedOut, "the controller did not commit the topic in time: "+err.Error()
	}
	out.ErrorCode = int16(code)
	out.ErrorMessage = &msg // sent from v1
}

// waitForLeaders polls the cluster until every partition of topics has a
// leader or wait has passed. It reports nothing: the topics exist either way.
//
// For the first preferredLeaderWait it waits for the preferred replica
// (the first) to lead: a new shard elects whichever replica campaigns
// first, and the brokers then move leadership to the preferred replica, so
// a client that produced to the first leader would get
// NOT_LEADER_OR_FOLLOWER (kafka-python's default producer does not retry
// it). After that, any leader will do (the preferred broker may be down).
func waitForLeaders(ctx context.Context, cluster Cluster, topics []string, wait time.Duration) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	want := make(map[string]bool, len(topics))
	for _, t := range topics {
		want[t] = true
	}
	tick := time.NewTicker(leaderPollInterval)
	defer tick.Stop()
	for {
		preferred := time.Since(start) < preferredLeaderWait
		if md, err := cluster.Metadata(); err == nil && leadersKnown(md, want, preferred) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// leadersKnown reports whether every partition of the wanted topics has a
// leader, the preferred replica if preferred.
func leadersKnown(md ClusterMetadata, want map[string]bool, preferred bool) bool {
	found := 0
	for _, t := range md.Topics {
		if !want[t.Name] {
			continue
		}
		found++
		for _, p := range t.Partitions {
			if p.Leader < 0 || preferred && len(p.Replicas) > 0 && p.Leader != p.Replicas[0] {
				return false
			}
		}
	}
	return found == len(want)
}

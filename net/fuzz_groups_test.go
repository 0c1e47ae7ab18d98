package net

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tidemark/tidemark/core"
	"github.com/tidemark/tidemark/core/group"
)

// fixedCluster's groups: it coordinates only group "g" (every other group
// is NOT_COORDINATOR), whose one member "m" is at generation 1 and never
// parks: enough to run every group handler's encode path under the fuzzer.

func fixedCoordinates(id string) error {
	if id != "g" {
		return core.Errorf(core.NotCoordinator, "group %q is coordinated elsewhere", id)
	}
	return nil
}

func (fixedCluster) FindGroupCoordinator(id string) (BrokerMetadata, error) {
	if id == "" {
		return BrokerMetadata{}, core.Errorf(core.CoordinatorNotAvailable, "no leader")
	}
	return BrokerMetadata{ID: 1, Host: "127.0.0.1", Port: 9092}, nil
}

func (fixedCluster) JoinGroup(_ context.Context, cmd group.Join) (group.JoinResult, error) {
	if err := fixedCoordinates(cmd.Group); err != nil {
		return group.JoinResult{}, err
	}
	if cmd.MemberID == "" && cmd.RequireKnownMemberID {
		return group.JoinResult{MemberID: "m", Generation: -1, Err: core.Errorf(core.MemberIDRequired, "rejoin")}, nil
	}
	return group.JoinResult{MemberID: "m", Generation: 1, ProtocolType: cmd.ProtocolType, Protocol: "range", LeaderID: "m",
		Members: []group.JoinMember{{MemberID: "m", Metadata: []byte{0, 1}}}}, nil
}

func (fixedCluster) SyncGroup(_ context.Context, cmd group.Sync) (group.SyncResult, error) {
	if err := fixedCoordinates(cmd.Group); err != nil {
		return group.SyncResult{}, err
	}
	if cmd.MemberID != "m" {
		return group.SyncResult{Err: core.Errorf(core.UnknownMemberID, "unknown member")}, nil
	}
	return group.SyncResult{MemberID: "m", Protocol: "range", Assignment: []byte{0, 0}}, nil
}

func (fixedCluster) Heartbeat(_ context.Context, cmd group.Heartbeat) (group.HeartbeatResult, error) {
	if err := fixedCoordinates(cmd.Group); err != nil {
		return group.HeartbeatResult{}, err
	}
	if cmd.Generation != 1 {
		return group.HeartbeatResult{Err: core.Errorf(core.IllegalGeneration, "generation 1")}, nil
	}
	return group.HeartbeatResult{}, nil
}

func (fixedCluster) LeaveGroup(_ context.Context, cmd group.Leave) (group.LeaveResult, error) {
	if err := fixedCoordinates(cmd.Group); err != nil {
		return group.LeaveResult{}, err
	}
	res := group.LeaveResult{}
	for _, id := range cmd.MemberIDs {
		me := group.MemberError{MemberID: id}
		if id != "m" {
			me.Err = core.Errorf(core.UnknownMemberID, "unknown member")
		}
		res.Members = append(res.Members, me)
	}
	return res, nil
}

func (fixedCluster) CommitOffsets(_ context.Context, cmd group.CommitOffsets) (group.CommitOffsetsResult, error) {
	if err := fixedCoordinates(cmd.Group); err != nil {
		return group.CommitOffsetsResult{}, err
	}
	res := group.CommitOffsetsResult{}
	for _, o := range cmd.Offsets {
		pe := group.PartitionError{Topic: o.Topic, Partition: o.Partition}
		if o.Topic != "topic" || o.Partition < 0 || o.Partition > 1 {
			pe.Err = core.Errorf(core.UnknownTopicOrPartition, "unknown")
		}
		res.Partitions = append(res.Partitions, pe)
	}
	return res, nil
}

func (fixedCluster) FetchOffsets(_ context.Context, id string, tps []group.TopicPartition) ([]group.FetchedOffset, error) {
	if err := fixedCoordinates(id); err != nil {
		return nil, err
	}
	if tps == nil {
		return []group.FetchedOffset{{Topic: "topic", Partition: 0, Offset: 5, LeaderEpoch: -1}}, nil
	}
	out := make([]group.FetchedOffset, len(tps))
	for i, tp := range tps {
		out[i] = group.FetchedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: -1, LeaderEpoch: -1}
	}
	return out, nil
}

func (fixedCluster) DescribeGroup(id string) (group.GroupDescription, error) {
	if err := fixedCoordinates(id); err != nil {
		return group.GroupDescription{}, err
	}
	return group.GroupDescription{Group: id, State: group.Stable, ProtocolType: "consumer", Protocol: "range", Generation: 1,
		LeaderID: "m", Members: []group.MemberDescription{{MemberID: "m", ClientID: "c", ClientHost: "/127.0.0.1",
			Metadata: []byte{0}, Assignment: []byte{1}}}}, nil
}

func (fixedCluster) ListGroups() ([]group.GroupListing, error) {
	return []group.GroupListing{{Group: "g", ProtocolType: "consumer", State: group.Stable}}, nil
}

func (fixedCluster) DeleteGroups(_ context.Context, ids []string) ([]group.GroupError, error) {
	out := make([]group.GroupError, len(ids))
	for i, id := range ids {
		out[i] = group.GroupError{Group: id}
		if err := fixedCoordinates(id); err != nil {
			out[i].Err = err.(*core.Error)
		} else {
			out[i].Err = core.Errorf(core.NonEmptyGroup, "members")
		}
	}
	return out, nil
}

// serveFixedGroup runs one request at version v through parsing, dispatch and
// encoding against fixedCluster, and decodes the response.
func serveFixedGroup(t *testing.T, req kmsg.Request, v int16) kmsg.Response {
	t.Helper()
	reg, err := newRegistry(supportedAPIs)
	if err != nil {
		t.Fatal(err)
	}
	r, err := parseRequest(frameRequest(req, v, 5)[4:], reg)
	if err != nil {
		t.Fatalf("%T v%d: %v", req, v, err)
	}
	r.rc.cluster = fixedCluster{}
	out, err := serveFlat(context.Background(), r)
	if err != nil {
		t.Fatalf("%T v%d: %v", req, v, err)
	}
	resp := req.ResponseKind()
	resp.SetVersion(v)
	if err := resp.ReadFrom(out[8:]); err != nil {
		t.Fatalf("%T v%d response does not decode: %v", req, v, err)
	}
	return resp
}

// TestGroupHandlersFixed runs every group API at every served version
// against fixedCluster: groups coordinated elsewhere are answered
// NOT_COORDINATOR where each version carries it, and the coordinated
// group's answers survive encoding.
func TestGroupHandlersFixed(t *testing.T) {
	for _, a := range groupAPIs {
		for v := a.minVersion; v <= a.maxVersion; v++ {
			for _, g := range []string{"g", "other"} {
				want := int16(0)
				if g == "other" {
					want = int16(core.NotCoordinator)
				}
				var got []int16
				switch a.key {
				case 10:
					got = append(got, serveFixedGroup(t, &kmsg.FindCoordinatorRequest{CoordinatorKey: g}, v).(*kmsg.FindCoordinatorResponse).ErrorCode)
					want = 0
				case 11:
					req := &kmsg.JoinGroupRequest{Group: g, MemberID: "m", SessionTimeoutMillis: 10_000, ProtocolType: "consumer",
						Protocols: []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{1}}}}
					resp := serveFixedGroup(t, req, v).(*kmsg.JoinGroupResponse)
					got = append(got, resp.ErrorCode)
					if g == "g" && (resp.Generation != 1 || len(resp.Members) != 1 || *resp.Protocol != "range") {
						t.Errorf("JoinGroup v%d: %+v", v, resp)
					}
				case 14:
					resp := serveFixedGroup(t, &kmsg.SyncGroupRequest{Group: g, Generation: 1, MemberID: "m"}, v).(*kmsg.SyncGroupResponse)
					got = append(got, resp.ErrorCode)
				case 12:
					got = append(got, serveFixedGroup(t, &kmsg.HeartbeatRequest{Group: g, Generation: 1, MemberID: "m"}, v).(*kmsg.HeartbeatResponse).ErrorCode)
				case 13:
					req := &kmsg.LeaveGroupRequest{Group: g, MemberID: "m", Members: []kmsg.LeaveGroupRequestMember{{MemberID: "m"}}}
					resp := serveFixedGroup(t, req, v).(*kmsg.LeaveGroupResponse)
					got = append(got, resp.ErrorCode)
					for _, m := range resp.Members {
						got = append(got, m.ErrorCode)
					}
				case 8:
					req := &kmsg.OffsetCommitRequest{Group: g, Generation: -1, Topics: []kmsg.OffsetCommitRequestTopic{
						{Topic: "topic", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 3, LeaderEpoch: -1}}}}}
					for _, rt := range serveFixedGroup(t, req, v).(*kmsg.OffsetCommitResponse).Topics {
						for _, rp := range rt.Partitions {
							got = append(got, rp.ErrorCode)
						}
					}
				case 9:
					req := &kmsg.OffsetFetchRequest{Group: g, Topics: []kmsg.OffsetFetchRequestTopic{{Topic: "topic", Partitions: []int32{0}}}}
					resp := serveFixedGroup(t, req, v).(*kmsg.OffsetFetchResponse)
					if v >= 2 {
						got = append(got, resp.ErrorCode)
					}
					for _, rt := range resp.Topics {
						for _, rp := range rt.Partitions {
							got = append(got, rp.ErrorCode)
						}
					}
				case 15:
					for _, rg := range serveFixedGroup(t, &kmsg.DescribeGroupsRequest{Groups: []string{g}}, v).(*kmsg.DescribeGroupsResponse).Groups {
						got = append(got, rg.ErrorCode)
					}
				case 16:
					got = append(got, serveFixedGroup(t, &kmsg.ListGroupsRequest{}, v).(*kmsg.ListGroupsResponse).ErrorCode)
					want = 0
				case 42:
					want = int16(core.NonEmptyGroup)
					if g == "other" {
						want = int16(core.NotCoordinator)
					}
					for _, rg := range serveFixedGroup(t, &kmsg.DeleteGroupsRequest{Groups: []string{g}}, v).(*kmsg.DeleteGroupsResponse).Groups {
						got = append(got, rg.ErrorCode)
					}
				default:
					t.Fatalf("group API %d (%s) not covered by this test", a.key, a.name)
				}
				if len(got) == 0 {
					t.Errorf("%s v%d for %q: no error code in the response", a.name, v, g)
				}
				for _, c := range got {
					if c != want {
						t.Errorf("%s v%d for %q: error codes %v, want %d", a.name, v, g, got, want)
						break
					}
				}
			}
		}
	}
}

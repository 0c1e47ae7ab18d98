package core

import "fmt"

// Code is a Kafka protocol error code. core speaks Kafka's codes directly so
// that net/ maps a result to the wire without a translation table, and so
// that the simulator's clients react to exactly what real clients see.
type Code int16

// The Kafka error codes core returns. Numbers are Kafka's
// (org.apache.kafka.common.protocol.Errors); names follow Kafka's with the
// ERR_ prefix dropped.
const (
	None                        Code = 0
	OffsetOutOfRange            Code = 1
	CorruptMessage              Code = 2
	UnknownTopicOrPartition     Code = 3
	InvalidFetchSize            Code = 4
	LeaderNotAvailable          Code = 5
	NotLeaderOrFollower         Code = 6
	RequestTimedOut             Code = 7
	BrokerNotAvailable          Code = 8
	MessageTooLarge             Code = 10
	CoordinatorNotAvailable     Code = 15
	NotCoordinator              Code = 16
	InvalidTopicException       Code = 17
	RecordListTooLarge          Code = 18
	InvalidRequiredAcks         Code = 21
	IllegalGeneration           Code = 22
	InconsistentGroupProtocol   Code = 23
	InvalidGroupID              Code = 24
	UnknownMemberID             Code = 25
	InvalidSessionTimeout       Code = 26
	RebalanceInProgress         Code = 27
	InvalidCommitOffsetSize     Code = 28
	InvalidTimestamp            Code = 32
	UnsupportedVersion          Code = 35
	TopicAlreadyExists          Code = 36
	InvalidPartitions           Code = 37
	InvalidReplicationFactor    Code = 38
	InvalidReplicaAssignment    Code = 39
	InvalidConfig               Code = 40
	NotController               Code = 41
	InvalidRequest              Code = 42
	UnsupportedForMessageFormat Code = 43
	PolicyViolation             Code = 44
	OutOfOrderSequenceNumber    Code = 45
	DuplicateSequenceNumber     Code = 46
	InvalidProducerEpoch        Code = 47
	InvalidTxnState             Code = 48
	KafkaStorageError           Code = 56
	UnknownProducerID           Code = 59
	NonEmptyGroup               Code = 68
	GroupIDNotFound             Code = 69
	FencedLeaderEpoch           Code = 74
	UnknownLeaderEpoch          Code = 75
	MemberIDRequired            Code = 79
	GroupMaxSizeReached         Code = 81
	FencedInstanceID            Code = 82
	InvalidRecord               Code = 87
	UnstableOffsetCommit        Code = 88
	UnknownTopicID              Code = 100
	InconsistentClusterID       Code = 104
	UnknownServerError          Code = -1
)

// Error is the typed error core returns for bad input: a Kafka error code
// and a one-line reason for logs and for the wire's error-message fields.
type Error struct {
	Code   Code
	Reason string
}

func (e *Error) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("kafka error %d", e.Code)
	}
	return fmt.Sprintf("kafka error %d: %s", e.Code, e.Reason)
}

// Errorf builds an *Error with a formatted reason.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Kafka code of err: None for nil, the code of an *Error,
// UnknownServerError for anything else.
func CodeOf(err error) Code {
	if err == nil {
		return None
	}
	if e, ok := err.(*Error); ok {
		if e == nil {
			return None
		}
		return e.Code
	}
	return UnknownServerError
}

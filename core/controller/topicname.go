package controller

import (
	"strconv"
	"strings"

	"github.com/tidemark/tidemark/core"
)

// MaxTopicNameBytes is Kafka's limit on a topic name's length.
const MaxTopicNameBytes = 249

// ValidateTopicName applies Kafka's rules for a topic name (Topic.validate):
// 1 to 249 characters from [a-zA-Z0-9._-], and neither "." nor "..". It
// returns nil for a legal name and INVALID_TOPIC_EXCEPTION otherwise.
// Collisions with existing topics ('.' versus '_') need the state and are
// checked by CreateTopic.
func ValidateTopicName(name string) *core.Error {
	switch {
	case name == "":
		return core.Errorf(core.InvalidTopicException, "topic name is illegal: it can't be empty")
	case name == "." || name == "..":
		return core.Errorf(core.InvalidTopicException, "topic name cannot be \".\" or \"..\"")
	case len(name) > MaxTopicNameBytes:
		return core.Errorf(core.InvalidTopicException,
			"topic name %s is illegal: it can't be longer than %d characters", shortName(name), MaxTopicNameBytes)
	}
	for i := 0; i < len(name); i++ {
		if !legalTopicChar(name[i]) {
			return core.Errorf(core.InvalidTopicException,
				"topic name %s is illegal: it contains a character other than ASCII alphanumerics, '.', '_' and '-'",
				shortName(name))
		}
	}
	return nil
}

func legalTopicChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		b == '.' || b == '_' || b == '-'
}

// collisionKey maps a name to the key Kafka uses to detect colliding names:
// '.' and '_' become the same character, because Kafka's metric names
// replace '.' with '_' and two such topics would share metrics.
func collisionKey(name string) string { return strings.ReplaceAll(name, ".", "_") }

// shortName quotes name for an error reason, cut to a readable length: a
// reason is one line, and names from clients can be 32 KiB of anything.
func shortName(name string) string {
	const max = 64
	if len(name) > max {
		return strconv.Quote(name[:max]) + "…"
	}
	return strconv.Quote(name)
}

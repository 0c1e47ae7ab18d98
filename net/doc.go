// Package net will speak the Kafka wire protocol: franz-go's kmsg decodes
// requests and encodes responses, one handler file per API key, handlers
// translating to core commands. (Issue: Kafka wire protocol.)
package net

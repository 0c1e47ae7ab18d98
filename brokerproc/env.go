package brokerproc

import (
	"os"
	"strings"
)

// envPrefix starts every environment variable bin/broker reads.
const envPrefix = "TIDEMARK_"

// CleanEnv is this process's environment without TIDEMARK_* variables, for
// Config.Env: a developer's settings then do not reach the brokers (or
// clients) under test.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
			env = append(env, kv)
		}
	}
	return env
}

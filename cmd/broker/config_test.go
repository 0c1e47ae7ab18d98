package main

import (
	"bytes"
	"errors"
	"flag"
	"log/slog"
	"maps"
	"strings"
	"testing"
)

// envOf is an environment holding only kv.
func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func mustParse(t *testing.T, args []string, env func(string) string) brokerConfig {
	t.Helper()
	cfg, err := parseConfig(args, env)
	if err != nil {
		t.Fatalf("parseConfig(%q): %v", args, err)
	}
	return cfg
}

func TestParseConfigDefaults(t *testing.T) {
	cfg := mustParse(t, nil, envOf())
	if cfg.NodeID != 1 || cfg.DataDir != "./data" || cfg.RaftAddr != "127.0.0.1:9093" ||
		cfg.KafkaListenAddr != "127.0.0.1:9092" || cfg.KafkaAddr != "127.0.0.1:9092" {
		t.Errorf("defaults: node %d data %q raft %q kafka listen %q advertised %q",
			cfg.NodeID, cfg.DataDir, cfg.RaftAddr, cfg.KafkaListenAddr, cfg.KafkaAddr)
	}
	if want := map[int32]string{1: "127.0.0.1:9093"}; !maps.Equal(cfg.Peers, want) {
		t.Errorf("empty --peers: got %v, want a single-node cluster %v", cfg.Peers, want)
	}
	if cfg.DefaultReplicationFactor != 1 || cfg.DefaultPartitions != 1 || !cfg.AutoCreateTopics || cfg.LogLevel != slog.LevelInfo {
		t.Errorf("defaults: rf %d partitions %d auto-create %v level %v",
			cfg.DefaultReplicationFactor, cfg.DefaultPartitions, cfg.AutoCreateTopics, cfg.LogLevel)
	}
	if cfg.GroupShardCount != 16 || cfg.ReconcileIntervalMs <= 0 {
		t.Errorf("raftsm defaults lost: %+v", cfg.NodeConfig)
	}
}

func TestParseConfigDefaultReplicationFactorIsMinOf3AndClusterSize(t *testing.T) {
	peers := []string{"1@127.0.0.1:9093", "2@127.0.0.1:9094", "3@127.0.0.1:9095", "4@127.0.0.1:9096", "5@127.0.0.1:9097"}
	for n, want := range map[int]int32{1: 1, 2: 2, 3: 3, 5: 3} {
		cfg := mustParse(t, []string{"--peers", strings.Join(peers[:n], ",")}, envOf())
		if cfg.DefaultReplicationFactor != want || len(cfg.Peers) != n {
			t.Errorf("%d peers: rf %d (want %d), peers %v", n, cfg.DefaultReplicationFactor, want, cfg.Peers)
		}
	}
	cfg := mustParse(t, []string{"--peers", strings.Join(peers[:3], ","), "--default-replication-factor", "2"}, envOf())
	if cfg.DefaultReplicationFactor != 2 {
		t.Errorf("explicit rf: %d", cfg.DefaultReplicationFactor)
	}
}

func TestParseConfigEverySetting(t *testing.T) {
	args := []string{
		"--node-id", "2", "--data-dir", "/var/lib/tidemark", "--kafka-addr", "0.0.0.0:19093",
		"--advertised-kafka-addr", "broker2.example:19093", "--raft-addr", "127.0.0.1:19194",
		"--peers", " 1@127.0.0.1:19193, 2@127.0.0.1:19194 ,3@127.0.0.1:19195",
		"--default-replication-factor=2", "--default-partitions=6", "--auto-create-topics=false", "--log-level=DEBUG",
	}
	cfg := mustParse(t, args, envOf())
	want := map[int32]string{1: "127.0.0.1:19193", 2: "127.0.0.1:19194", 3: "127.0.0.1:19195"}
	if cfg.NodeID != 2 || cfg.DataDir != "/var/lib/tidemark" || cfg.KafkaListenAddr != "0.0.0.0:19093" ||
		cfg.KafkaAddr != "broker2.example:19093" || cfg.RaftAddr != "127.0.0.1:19194" || !maps.Equal(cfg.Peers, want) ||
		cfg.DefaultReplicationFactor != 2 || cfg.DefaultPartitions != 6 || cfg.AutoCreateTopics || cfg.LogLevel != slog.LevelDebug {
		t.Errorf("got %+v", cfg)
	}
	// Peers may carry their Kafka addresses, all or some, after a "/".
	cfg = mustParse(t, []string{"--node-id", "2", "--raft-addr", "127.0.0.1:19194", "--kafka-addr", "127.0.0.1:19093",
		"--peers", "1@127.0.0.1:19193/127.0.0.1:19092,2@127.0.0.1:19194/127.0.0.1:19093,3@127.0.0.1:19195"}, envOf())
	if wantKafka := map[int32]string{1: "127.0.0.1:19092", 2: "127.0.0.1:19093"}; !maps.Equal(cfg.Peers, want) || !maps.Equal(cfg.PeerKafkaAddrs, wantKafka) {
		t.Errorf("peers with kafka addresses: %v %v", cfg.Peers, cfg.PeerKafkaAddrs)
	}
	// A broker left out of --peers joins through the peers' Kafka addresses.
	cfg = mustParse(t, []string{"--node-id", "4", "--raft-addr", "127.0.0.1:19196", "--kafka-addr", "127.0.0.1:19095",
		"--peers", "1@127.0.0.1:19193/127.0.0.1:19092,2@127.0.0.1:19194/127.0.0.1:19093,3@127.0.0.1:19195"}, envOf())
	if _, listed := cfg.Peers[4]; listed || len(cfg.Peers) != 3 || len(cfg.PeerKafkaAddrs) != 2 || cfg.DefaultReplicationFactor != 3 {
		t.Errorf("broker outside --peers: %v %v rf %d", cfg.Peers, cfg.PeerKafkaAddrs, cfg.DefaultReplicationFactor)
	}
	// A bool flag alone means true; single-dash flags work as in Go's flag package.
	if cfg := mustParse(t, []string{"-auto-create-topics"}, envOf()); !cfg.AutoCreateTopics {
		t.Error("--auto-create-topics alone should mean true")
	}
}

func TestParseConfigEnvironment(t *testing.T) {
	env := envOf(
		"TIDEMARK_NODE_ID", "3", "TIDEMARK_DATA_DIR", "/srv/t", "TIDEMARK_KAFKA_ADDR", "127.0.0.1:19094",
		"TIDEMARK_ADVERTISED_KAFKA_ADDR", "b3:19094", "TIDEMARK_RAFT_ADDR", "127.0.0.1:19195",
		"TIDEMARK_PEERS", "1@127.0.0.1:19193,2@127.0.0.1:19194,3@127.0.0.1:19195",
		"TIDEMARK_DEFAULT_REPLICATION_FACTOR", "1", "TIDEMARK_DEFAULT_PARTITIONS", "4",
		"TIDEMARK_AUTO_CREATE_TOPICS", "false", "TIDEMARK_LOG_LEVEL", "warn",
	)
	cfg := mustParse(t, nil, env)
	if cfg.NodeID != 3 || cfg.DataDir != "/srv/t" || cfg.KafkaListenAddr != "127.0.0.1:19094" || cfg.KafkaAddr != "b3:19094" ||
		cfg.RaftAddr != "127.0.0.1:19195" || len(cfg.Peers) != 3 || cfg.DefaultReplicationFactor != 1 ||
		cfg.DefaultPartitions != 4 || cfg.AutoCreateTopics || cfg.LogLevel != slog.LevelWarn {
		t.Errorf("from the environment: %+v", cfg)
	}
	// The command line wins over the environment, flag by flag.
	cfg = mustParse(t, []string{"--node-id", "2", "--raft-addr", "127.0.0.1:19194", "--auto-create-topics"}, env)
	if cfg.NodeID != 2 || cfg.RaftAddr != "127.0.0.1:19194" || !cfg.AutoCreateTopics || cfg.DataDir != "/srv/t" || cfg.DefaultPartitions != 4 {
		t.Errorf("flags over env: %+v", cfg)
	}
	// An empty variable counts as unset.
	if cfg := mustParse(t, nil, envOf("TIDEMARK_NODE_ID", "", "TIDEMARK_DATA_DIR", "")); cfg.NodeID != 1 || cfg.DataDir != "./data" {
		t.Errorf("empty env: node %d data %q", cfg.NodeID, cfg.DataDir)
	}
	if envName("advertised-kafka-addr") != "TIDEMARK_ADVERTISED_KAFKA_ADDR" {
		t.Errorf("envName: %s", envName("advertised-kafka-addr"))
	}
}

func TestParseConfigErrors(t *testing.T) {
	const three = "1@127.0.0.1:9093,2@127.0.0.1:9094,3@127.0.0.1:9095"
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, nil, "flag provided but not defined: --bogus (see --help)"},
		{"missing value", []string{"--node-id"}, nil, "flag needs an argument: --node-id (see --help)"},
		{"positional argument", []string{"run"}, nil, `unexpected argument "run": every setting is a --flag (see --help)`},
		{"node id not a number", []string{"--node-id", "one"}, nil, `--node-id "one": not an integer between 0 and 2147483647`},
		{"node id negative", []string{"--node-id=-1"}, nil, `--node-id "-1": must be at least 0`},
		{"node id too large", []string{"--node-id=2147483648"}, nil, `--node-id "2147483648": not an integer between 0 and 2147483647`},
		{"bad env value names the variable", nil, []string{"TIDEMARK_NODE_ID", "x"}, `TIDEMARK_NODE_ID "x": not an integer between 0 and 2147483647`},
		{"empty data dir", []string{"--data-dir="}, nil, "--data-dir is empty"},
		{"kafka addr without port", []string{"--kafka-addr", "localhost"}, nil, `--kafka-addr "localhost": not host:port`},
		{"kafka port out of range", []string{"--kafka-addr", "127.0.0.1:70000"}, nil, `--kafka-addr "127.0.0.1:70000": port "70000" is not between 1 and 65535`},
		{"kafka port zero", []string{"--kafka-addr", "127.0.0.1:0"}, nil, `--kafka-addr "127.0.0.1:0": port "0" is not between 1 and 65535`},
		{"wildcard listen address is not advertisable", []string{"--kafka-addr", "0.0.0.0:9092"}, nil,
			`--advertised-kafka-addr (defaulted to --kafka-addr) "0.0.0.0:9092": others dial this address, so it needs a host they can reach, not "0.0.0.0"`},
		{"raft addr without host", []string{"--raft-addr", ":9093"}, nil,
			`--raft-addr ":9093": others dial this address, so it needs a host they can reach, not ""`},
		{"raft and kafka on one port", []string{"--raft-addr", "127.0.0.1:9092"}, nil, "--raft-addr and --kafka-addr are both 127.0.0.1:9092: they need different ports"},
		{"peers entry without @", []string{"--peers", "1=127.0.0.1:9093"}, nil, `--peers "1=127.0.0.1:9093": entry 1 "1=127.0.0.1:9093" is not id@host:port or id@host:port/kafka-host:port`},
		{"peers id not a number", []string{"--peers", "1@127.0.0.1:9093,x@127.0.0.1:9094"}, nil,
			`--peers "1@127.0.0.1:9093,x@127.0.0.1:9094": entry 2 "x@127.0.0.1:9094": id "x" is not an integer >= 0`},
		{"peers bad address", []string{"--peers", "1@127.0.0.1"}, nil,
			`--peers "1@127.0.0.1": entry 1 "1@127.0.0.1": address "127.0.0.1" is not host:port with a reachable host`},
		{"peers empty entry", []string{"--peers", "1@127.0.0.1:9093,"}, nil, `--peers "1@127.0.0.1:9093,": entry 2 "" is not id@host:port or id@host:port/kafka-host:port`},
		{"peer kafka address bad", []string{"--peers", "1@127.0.0.1:9093/127.0.0.1"}, nil,
			`--peers "1@127.0.0.1:9093/127.0.0.1": entry 1 "1@127.0.0.1:9093/127.0.0.1": kafka address "127.0.0.1" is not host:port with a reachable host`},
		{"own peer kafka address differs", []string{"--peers", "1@127.0.0.1:9093/127.0.0.1:9999"}, nil,
			`--peers "1@127.0.0.1:9093/127.0.0.1:9999": gives node 1 the kafka address 127.0.0.1:9999, but --advertised-kafka-addr is 127.0.0.1:9092`},
		{"peer kafka address is another's raft address", []string{"--peers", "1@127.0.0.1:9093,2@127.0.0.1:9094/127.0.0.1:9093"}, nil,
			`--peers "1@127.0.0.1:9093,2@127.0.0.1:9094/127.0.0.1:9093": nodes 1 and 2 have the same address 127.0.0.1:9093`},
		{"duplicate peer id", []string{"--peers", "1@127.0.0.1:9093,1@127.0.0.1:9094"}, nil,
			`--peers "1@127.0.0.1:9093,1@127.0.0.1:9094": node id 1 is listed twice`},
		{"duplicate peer address", []string{"--peers", "1@127.0.0.1:9093,2@127.0.0.1:9093"}, nil,
			`--peers "1@127.0.0.1:9093,2@127.0.0.1:9093": nodes 1 and 2 have the same address 127.0.0.1:9093`},
		{"peers without this node", []string{"--node-id", "4", "--peers", three}, nil,
			`--peers "` + three + `": does not list this node (--node-id 4; listed: 1 2 3)`},
		{"raft addr differs from peers", []string{"--node-id", "2", "--peers", three}, nil,
			`--peers "` + three + `": gives node 2 the raft address 127.0.0.1:9094, but --raft-addr is 127.0.0.1:9093`},
		{"peers from env without this node", nil, []string{"TIDEMARK_PEERS", "2@127.0.0.1:9094"},
			`TIDEMARK_PEERS "2@127.0.0.1:9094": does not list this node (--node-id 1; listed: 2)`},
		{"rf zero", []string{"--default-replication-factor", "0"}, nil, `--default-replication-factor "0": must be at least 1`},
		{"rf over cluster size", []string{"--default-replication-factor", "3"}, nil,
			`--default-replication-factor "3": more than the 1 broker(s) in --peers`},
		{"partitions zero", []string{"--default-partitions", "0"}, nil, `--default-partitions "0": must be at least 1`},
		{"partitions over the per-topic bound", []string{"--default-partitions", "10001"}, nil,
			`--default-partitions "10001": more than the 10000 partitions a topic may have`},
		{"auto-create not a bool", []string{"--auto-create-topics=maybe"}, nil, `--auto-create-topics "maybe": not true or false`},
		{"auto-create env not a bool", nil, []string{"TIDEMARK_AUTO_CREATE_TOPICS", "yes"}, `TIDEMARK_AUTO_CREATE_TOPICS "yes": not true or false`},
		{"log level", []string{"--log-level", "verbose"}, nil, `--log-level "verbose": not debug, info, warn or error`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.args, envOf(tc.env...))
			if err == nil {
				t.Fatalf("accepted; want %q", tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error\n got %q\nwant %q", got, tc.want)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error is more than one line: %q", err)
			}
		})
	}
}

func TestParseConfigHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		if _, err := parseConfig([]string{arg}, envOf()); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s: %v, want flag.ErrHelp", arg, err)
		}
	}
	var b bytes.Buffer
	usage(&b)
	for _, s := range flagSpecs {
		if !strings.Contains(b.String(), "--"+s.name+"  (env "+envName(s.name)) {
			t.Errorf("usage does not list --%s with its variable:\n%s", s.name, b.String())
		}
	}
}

func TestRunHelpAndBadConfig(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--help"}, envOf(), &out, &errOut); code != exitOK || !strings.Contains(out.String(), "--peers") || errOut.Len() != 0 {
		t.Errorf("--help: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
	out.Reset()
	if code := run([]string{"--node-id", "x"}, envOf(), &out, &errOut); code != exitBadConfig ||
		errOut.String() != "tidemark: --node-id \"x\": not an integer between 0 and 2147483647\n" || out.Len() != 0 {
		t.Errorf("bad flag: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

func TestOneLine(t *testing.T) {
	if got := oneLine("a\nb\r\nc\rd\n"); got != "a b c d" {
		t.Errorf("oneLine: %q", got)
	}
}

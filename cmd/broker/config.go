package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/tidemark/tidemark/raftsm"
)

// brokerConfig is everything one broker process is started with: the Raft
// side (raftsm.NodeConfig, whose KafkaAddr is the address advertised to
// clients) and the Kafka-level settings that net/ will use once it exists.
type brokerConfig struct {
	raftsm.NodeConfig

	// KafkaListenAddr is the host:port the Kafka listener binds. net/ does
	// not exist yet: the broker only checks that the port is free.
	KafkaListenAddr string
	// DefaultReplicationFactor is used for topics created with -1 (Kafka's
	// default.replication.factor), and for auto-created topics.
	DefaultReplicationFactor int32
	// DefaultPartitions is Kafka's num.partitions.
	DefaultPartitions int32
	// AutoCreateTopics is Kafka's auto.create.topics.enable.
	AutoCreateTopics bool
	LogLevel         slog.Level
	// PprofAddr is where net/http/pprof listens; "" means off.
	PprofAddr string
}

// flagSpec is one command-line flag. Every flag is also read from the
// environment variable envName(name); a flag on the command line wins.
type flagSpec struct {
	name    string
	def     string // as the user would type it; "" means derived, as derived says
	derived string // the default in words, for -h, when def is ""
	usage   string
	isBool  bool
}

var flagSpecs = []flagSpec{
	{name: "node-id", def: "1", usage: "this broker's id (Kafka's broker.id), an integer >= 0"},
	{name: "data-dir", def: "./data", usage: "directory holding identity.json, raft/ (Raft log) and state/ (applied state)"},
	{name: "kafka-addr", def: "127.0.0.1:9092", usage: "host:port the Kafka listener binds"},
	{name: "advertised-kafka-addr", derived: "--kafka-addr", usage: "host:port given to Kafka clients; needs a host they can reach"},
	{name: "raft-addr", def: "127.0.0.1:9093", usage: "host:port for Raft traffic; must equal this node's entry in --peers"},
	{name: "peers", derived: "a single-node cluster of this node", usage: "initial cluster members, id@raft-host:port[/kafka-host:port],...; the same on every broker. With Kafka addresses, a broker whose data dir was wiped rejoins safely, and a broker not listed joins the running cluster"},
	{name: "default-replication-factor", derived: "min(3, number of peers)", usage: "replication factor of topics created without one"},
	{name: "default-partitions", def: "1", usage: "partition count of topics created without one"},
	{name: "auto-create-topics", def: "true", usage: "create a topic when a client first produces to or fetches it", isBool: true},
	{name: "log-level", def: "info", usage: "debug, info, warn or error"},
	{name: "pprof-addr", derived: "off", usage: "host:port serving Go's net/http/pprof profiles (for benchmarks and debugging; keep it on loopback)"},
}

// envName is the environment variable that sets flag name:
// node-id -> TIDEMARK_NODE_ID.
func envName(name string) string {
	return "TIDEMARK_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// stringFlag holds a flag's raw text; flag.FlagSet only finds unknown flags
// and missing values, parseConfig does the rest so that a value from the
// command line and one from the environment get the same checks and the
// same messages.
type stringFlag struct {
	value  string
	isBool bool
}

func (f *stringFlag) String() string     { return f.value }
func (f *stringFlag) Set(s string) error { f.value = s; return nil }
func (f *stringFlag) IsBoolFlag() bool   { return f.isBool }

// usage writes the -h text.
func usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: broker [flags]\n\nRuns one Tidemark broker. Every flag can also be set by an environment\nvariable; a flag on the command line wins.\n\n")
	for _, s := range flagSpecs {
		def := s.def
		if def == "" {
			def = s.derived
		}
		fmt.Fprintf(w, "  --%s  (env %s, default %s)\n      %s\n", s.name, envName(s.name), def, s.usage)
	}
	fmt.Fprintf(w, "\nExit codes: 0 after a clean shutdown (SIGINT or SIGTERM), 2 if the broker\ncould not start (the reason is one line on stderr), 1 otherwise.\n")
}

// setting is a flag's raw value and where it came from, for messages.
type setting struct {
	value  string
	source string // "--node-id", "TIDEMARK_NODE_ID" or "default --node-id"
}

func (s setting) errorf(format string, args ...any) error {
	return fmt.Errorf("%s %q: %s", s.source, s.value, fmt.Sprintf(format, args...))
}

// parseConfig turns the command line and the environment into a validated
// configuration. It is pure: env is consulted only for TIDEMARK_* names,
// and nothing touches the disk or the network (see preflight for that).
// Every error is one line. -h or --help returns flag.ErrHelp.
func parseConfig(args []string, env func(string) string) (brokerConfig, error) {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	raw := map[string]*stringFlag{}
	for _, s := range flagSpecs {
		raw[s.name] = &stringFlag{value: s.def, isBool: s.isBool}
		fs.Var(raw[s.name], s.name, s.usage)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return brokerConfig{}, err
		}
		return brokerConfig{}, fmt.Errorf("%s (see --help)", strings.Replace(err.Error(), ": -", ": --", 1))
	}
	if fs.NArg() > 0 {
		return brokerConfig{}, fmt.Errorf("unexpected argument %q: every setting is a --flag (see --help)", fs.Arg(0))
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[f.Name] = true })
	get := map[string]setting{}
	for _, s := range flagSpecs {
		switch v := env(envName(s.name)); {
		case onCommandLine[s.name]:
			get[s.name] = setting{value: raw[s.name].value, source: "--" + s.name}
		case v != "":
			get[s.name] = setting{value: v, source: envName(s.name)}
		default:
			get[s.name] = setting{value: s.def, source: "default --" + s.name}
		}
	}

	cfg := brokerConfig{NodeConfig: raftsm.DefaultNodeConfig()}
	var err error
	if cfg.NodeID, err = parseInt32(get["node-id"], 0); err != nil {
		return brokerConfig{}, err
	}
	if cfg.DataDir = get["data-dir"].value; cfg.DataDir == "" {
		return brokerConfig{}, errors.New("--data-dir is empty")
	}
	if cfg.KafkaListenAddr, err = parseAddr(get["kafka-addr"], true); err != nil {
		return brokerConfig{}, err
	}
	adv := get["advertised-kafka-addr"]
	if adv.value == "" {
		adv = setting{value: cfg.KafkaListenAddr, source: "--advertised-kafka-addr (defaulted to --kafka-addr)"}
	}
	if cfg.KafkaAddr, err = parseAddr(adv, false); err != nil {
		return brokerConfig{}, err
	}
	if cfg.RaftAddr, err = parseAddr(get["raft-addr"], false); err != nil {
		return brokerConfig{}, err
	}
	if sameAddr(cfg.RaftAddr, cfg.KafkaListenAddr) {
		return brokerConfig{}, fmt.Errorf("--raft-addr and --kafka-addr are both %s: they need different ports", cfg.RaftAddr)
	}
	if cfg.Peers, cfg.PeerKafkaAddrs, err = parsePeers(get["peers"], cfg.NodeID, cfg.RaftAddr, cfg.KafkaAddr); err != nil {
		return brokerConfig{}, err
	}
	if n := int32(len(cfg.Peers)); n > cfg.Controller.MaxBrokers {
		return brokerConfig{}, fmt.Errorf("--peers lists %d brokers, more than the %d a cluster may have", n, cfg.Controller.MaxBrokers)
	}
	peerCount := int32(len(cfg.Peers))
	if rf := get["default-replication-factor"]; rf.value == "" {
		cfg.DefaultReplicationFactor = min(3, peerCount)
	} else {
		if cfg.DefaultReplicationFactor, err = parseInt32(rf, 1); err != nil {
			return brokerConfig{}, err
		}
		// Every broker is an initial peer today (docs/operations.md), so
		// more replicas than peers could never be placed.
		if cfg.DefaultReplicationFactor > peerCount {
			return brokerConfig{}, rf.errorf("more than the %d broker(s) in --peers", peerCount)
		}
	}
	if cfg.DefaultPartitions, err = parseInt32(get["default-partitions"], 1); err != nil {
		return brokerConfig{}, err
	}
	if cfg.DefaultPartitions > cfg.Controller.MaxPartitionsPerTopic {
		return brokerConfig{}, get["default-partitions"].errorf("more than the %d partitions a topic may have", cfg.Controller.MaxPartitionsPerTopic)
	}
	ac := get["auto-create-topics"]
	if cfg.AutoCreateTopics, err = strconv.ParseBool(ac.value); err != nil {
		return brokerConfig{}, ac.errorf("not true or false")
	}
	if cfg.LogLevel, err = parseLevel(get["log-level"]); err != nil {
		return brokerConfig{}, err
	}
	if pp := get["pprof-addr"]; strings.TrimSpace(pp.value) != "" {
		if cfg.PprofAddr, err = parseAddr(pp, true); err != nil {
			return brokerConfig{}, err
		}
	}
	// raftsm's own checks, so that nothing it would refuse gets as far as
	// touching the data dir.
	if err := cfg.NodeConfig.Validate(); err != nil {
		return brokerConfig{}, err
	}
	return cfg, nil
}

func parseInt32(s setting, lowest int32) (int32, error) {
	v, err := strconv.ParseInt(strings.TrimSpace(s.value), 10, 32)
	if err != nil {
		return 0, s.errorf("not an integer between %d and %d", lowest, int32(1<<31-1))
	}
	if int32(v) < lowest {
		return 0, s.errorf("must be at least %d", lowest)
	}
	return int32(v), nil
}

// parseAddr checks host:port. A listen address may leave the host empty or
// unspecified (all interfaces); an address that others dial may not.
func parseAddr(s setting, listen bool) (string, error) {
	host, port, err := net.SplitHostPort(strings.TrimSpace(s.value))
	if err != nil {
		return "", s.errorf("not host:port")
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return "", s.errorf("port %q is not between 1 and 65535", port)
	}
	if !listen {
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			return "", s.errorf("others dial this address, so it needs a host they can reach, not %q", host)
		}
	}
	return net.JoinHostPort(host, port), nil
}

// sameAddr reports whether two listen addresses would take the same port.
func sameAddr(a, b string) bool {
	ah, ap, _ := net.SplitHostPort(a)
	bh, bp, _ := net.SplitHostPort(b)
	if ap != bp {
		return false
	}
	wild := func(h string) bool { ip := net.ParseIP(h); return h == "" || (ip != nil && ip.IsUnspecified()) }
	return ah == bh || wild(ah) || wild(bh)
}

// parsePeers reads "1@127.0.0.1:9093,2@127.0.0.1:9094": each peer's id and
// Raft address, optionally followed by "/" and its advertised Kafka
// address ("1@127.0.0.1:9093/127.0.0.1:9092"), where a broker with a new
// data dir asks whether the cluster already exists (docs/operations.md,
// "Wiped data dir"). Empty means a single-node cluster of this node.
// This node's Kafka address, if listed, must be --advertised-kafka-addr.
// This node may be left out only when some peer has a Kafka address: it
// then joins the running cluster as a broker that is not an initial peer.
func parsePeers(s setting, nodeID int32, raftAddr, kafkaAddr string) (peers, kafkaAddrs map[int32]string, err error) {
	if strings.TrimSpace(s.value) == "" {
		return map[int32]string{nodeID: raftAddr}, map[int32]string{}, nil
	}
	peers, kafkaAddrs = map[int32]string{}, map[int32]string{}
	byAddr := map[string]int32{}
	for i, entry := range strings.Split(s.value, ",") {
		entry = strings.TrimSpace(entry)
		idText, addrsText, ok := strings.Cut(entry, "@")
		if !ok {
			return nil, nil, s.errorf("entry %d %q is not id@host:port or id@host:port/kafka-host:port", i+1, entry)
		}
		id, err := strconv.ParseInt(strings.TrimSpace(idText), 10, 32)
		if err != nil || id < 0 {
			return nil, nil, s.errorf("entry %d %q: id %q is not an integer >= 0", i+1, entry, idText)
		}
		addrText, kafkaText, hasKafka := strings.Cut(addrsText, "/")
		addr, err := parseAddr(setting{value: addrText, source: "peer"}, false)
		if err != nil {
			return nil, nil, s.errorf("entry %d %q: address %q is not host:port with a reachable host", i+1, entry, addrText)
		}
		if _, dup := peers[int32(id)]; dup {
			return nil, nil, s.errorf("node id %d is listed twice", id)
		}
		if other, dup := byAddr[addr]; dup {
			return nil, nil, s.errorf("nodes %d and %d have the same address %s", other, id, addr)
		}
		peers[int32(id)], byAddr[addr] = addr, int32(id)
		if hasKafka {
			ka, err := parseAddr(setting{value: kafkaText, source: "peer"}, false)
			if err != nil {
				return nil, nil, s.errorf("entry %d %q: kafka address %q is not host:port with a reachable host", i+1, entry, kafkaText)
			}
			if other, dup := byAddr[ka]; dup {
				return nil, nil, s.errorf("nodes %d and %d have the same address %s", other, id, ka)
			}
			kafkaAddrs[int32(id)], byAddr[ka] = ka, int32(id)
		}
	}
	mine, ok := peers[nodeID]
	if !ok && len(kafkaAddrs) > 0 {
		// Not an initial peer: it joins the running cluster through the
		// peers' Kafka addresses (docs/operations.md, "Adding a broker").
		return peers, kafkaAddrs, nil
	}
	if !ok {
		ids := make([]int, 0, len(peers))
		for id := range peers {
			ids = append(ids, int(id))
		}
		sort.Ints(ids)
		return nil, nil, s.errorf("does not list this node (--node-id %d; listed: %s)", nodeID, strings.Trim(fmt.Sprint(ids), "[]"))
	}
	if mine != raftAddr {
		return nil, nil, s.errorf("gives node %d the raft address %s, but --raft-addr is %s", nodeID, mine, raftAddr)
	}
	if ka, ok := kafkaAddrs[nodeID]; ok && ka != kafkaAddr {
		return nil, nil, s.errorf("gives node %d the kafka address %s, but --advertised-kafka-addr is %s", nodeID, ka, kafkaAddr)
	}
	return peers, kafkaAddrs, nil
}

func parseLevel(s setting) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s.value)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, s.errorf("not debug, info, warn or error")
}

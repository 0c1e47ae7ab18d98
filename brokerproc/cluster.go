package brokerproc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults of Config's bounds.
const (
	// DefaultReadyTimeout bounds a cluster's start, a topic's creation
	// and a wait for leaders.
	DefaultReadyTimeout = 120 * time.Second
	// DefaultStopTimeout bounds a clean (SIGTERM) stop before SIGKILL;
	// the broker's own grace for in-flight requests is 5 s.
	DefaultStopTimeout = 30 * time.Second
	// DefaultPollInterval is how often readiness is polled.
	DefaultPollInterval = 200 * time.Millisecond
)

// Config describes the brokers Start launches. Binary, Dir and N are
// required; every other field has a default.
type Config struct {
	Binary string // path of bin/broker
	Dir    string // holds every broker's data dir and log
	N      int    // number of brokers, ids 1..N

	// Args are extra flags appended to every broker's command line (for
	// example --auto-create-topics=false).
	Args []string
	// Env is the brokers' environment; nil inherits this process's.
	Env []string
	// Pprof gives every broker a free loopback --pprof-addr.
	Pprof bool
	// PeersWithKafka lists peers as id@raft/kafka instead of id@raft: the
	// brokers then learn each other's Kafka addresses from --peers.
	PeersWithKafka bool
	// Setpgid puts every broker in its own process group, so that a
	// Ctrl-C of the harness does not reach the brokers before the harness
	// can stop them and keep their logs.
	Setpgid bool
	// DeathSignal, if not 0, is sent to a broker when the harness dies
	// (SetDeathSignal).
	DeathSignal syscall.Signal

	// Paths returns broker id's data dir and log file; nil means
	// Dir/node-<id> and Dir/node-<id>.log.
	Paths func(id int32) (dataDir, logPath string)
	// Addrs returns broker id's Kafka and Raft addresses; nil means free
	// loopback ports.
	Addrs func(id int32) (kafka, raft string)
	// Command builds the process for b from the broker's argument list;
	// nil means exec.Command(Binary, args...). The process it returns
	// must be the broker itself (signals go to its pid).
	Command func(b *Broker, binary string, args []string) *exec.Cmd

	ReadyTimeout time.Duration // 0: DefaultReadyTimeout
	StopTimeout  time.Duration // 0: DefaultStopTimeout
	PollInterval time.Duration // 0: DefaultPollInterval
}

// Broker is one bin/broker process of a Cluster.
type Broker struct {
	ID        int32
	KafkaAddr string
	RaftAddr  string
	DataDir   string
	LogPath   string
	PprofAddr string // "" unless Config.Pprof

	cmd     *exec.Cmd // nil while stopped by the harness
	exited  chan struct{}
	waitErr error // Wait's result, set before exited is closed
	paused  bool
}

// Running reports whether the broker's process was started and not
// stopped or killed by the harness (it may be paused, or have died).
func (b *Broker) Running() bool { return b.cmd != nil }

// Paused reports whether the broker is paused (SIGSTOP).
func (b *Broker) Paused() bool { return b.paused }

// Pid is the running broker's process id, 0 while stopped.
func (b *Broker) Pid() int {
	if b.cmd == nil {
		return 0
	}
	return b.cmd.Process.Pid
}

// Exited reports whether the broker's last process has exited, and Wait's
// result if so (nil for exit status 0).
func (b *Broker) Exited() (bool, error) {
	if b.exited == nil {
		return false, nil
	}
	select {
	case <-b.exited:
		return true, b.waitErr
	default:
		return false, nil
	}
}

// Cluster is Config.N bin/broker processes with their own data dirs.
type Cluster struct {
	Binary  string
	Dir     string
	Brokers []*Broker
	cfg     Config
	peers   string
}

// Start launches every broker of cfg and returns without waiting for them
// to be ready (WaitReady). On error the brokers already started are
// stopped.
func Start(cfg Config) (*Cluster, error) {
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = DefaultStopTimeout
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	c := &Cluster{Binary: cfg.Binary, Dir: cfg.Dir, cfg: cfg}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, err
	}
	var peers []string
	for i := 1; i <= cfg.N; i++ {
		b := &Broker{ID: int32(i)}
		if cfg.Paths != nil {
			b.DataDir, b.LogPath = cfg.Paths(b.ID)
		} else {
			b.DataDir = filepath.Join(cfg.Dir, fmt.Sprintf("node-%d", i))
			b.LogPath = filepath.Join(cfg.Dir, fmt.Sprintf("node-%d.log", i))
		}
		if cfg.Addrs != nil {
			b.KafkaAddr, b.RaftAddr = cfg.Addrs(b.ID)
		} else {
			var err error
			if b.KafkaAddr, err = FreeAddr(); err != nil {
				return nil, err
			}
			if b.RaftAddr, err = FreeAddr(); err != nil {
				return nil, err
			}
		}
		if cfg.Pprof {
			var err error
			if b.PprofAddr, err = FreeAddr(); err != nil {
				return nil, err
			}
		}
		c.Brokers = append(c.Brokers, b)
		if cfg.PeersWithKafka {
			peers = append(peers, fmt.Sprintf("%d@%s/%s", i, b.RaftAddr, b.KafkaAddr))
		} else {
			peers = append(peers, fmt.Sprintf("%d@%s", i, b.RaftAddr))
		}
	}
	c.peers = strings.Join(peers, ",")
	for _, b := range c.Brokers {
		if err := c.Start(b); err != nil {
			c.StopAll()
			return nil, err
		}
	}
	return c, nil
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start starts b's process (it must be stopped). Its log is appended to.
func (c *Cluster) Start(b *Broker) error {
	if b.cmd != nil {
		return fmt.Errorf("broker %d already running", b.ID)
	}
	if err := os.MkdirAll(b.DataDir, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(b.LogPath), 0o755); err != nil {
		return err
	}
	logFile, err := os.OpenFile(b.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	args := []string{
		"--node-id", strconv.Itoa(int(b.ID)),
		"--data-dir", b.DataDir,
		"--kafka-addr", b.KafkaAddr,
		"--raft-addr", b.RaftAddr,
		"--peers", c.peers,
	}
	args = append(args, c.cfg.Args...)
	if b.PprofAddr != "" {
		args = append(args, "--pprof-addr", b.PprofAddr)
	}
	var cmd *exec.Cmd
	if c.cfg.Command != nil {
		cmd = c.cfg.Command(b, c.Binary, args)
	} else {
		cmd = exec.Command(c.Binary, args...)
	}
	cmd.Env = c.cfg.Env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if c.cfg.Setpgid {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if c.cfg.DeathSignal != 0 {
		SetDeathSignal(cmd, c.cfg.DeathSignal)
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start broker %d: %w", b.ID, err)
	}
	exited := make(chan struct{})
	b.cmd, b.exited, b.waitErr, b.paused = cmd, exited, nil, false
	go func() {
		err := cmd.Wait()
		logFile.Close()
		b.waitErr = err
		close(exited)
	}()
	return nil
}

// Kill sends SIGKILL to b and waits for it to exit.
func (c *Cluster) Kill(b *Broker) {
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
	b.cmd, b.paused = nil, false
}

// Stop stops b cleanly (SIGTERM; SIGCONT first if paused), with SIGKILL
// after the stop timeout.
func (c *Cluster) Stop(b *Broker) {
	if b.cmd == nil {
		return
	}
	if b.paused {
		b.cmd.Process.Signal(syscall.SIGCONT)
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
		b.cmd, b.paused = nil, false
	case <-time.After(c.cfg.StopTimeout):
		c.Kill(b)
	}
}

// StopAll stops every running broker cleanly and at once: SIGTERM to all
// (paused ones are resumed first), then a wait bounded by the stop timeout
// after which the rest are killed. It returns an error for every broker
// that exited non-zero (also on its own, before StopAll) or had to be
// killed.
func (c *Cluster) StopAll() []error {
	for _, b := range c.Brokers {
		if b.cmd == nil {
			continue
		}
		if b.paused {
			b.cmd.Process.Signal(syscall.SIGCONT)
		}
		if done, _ := b.Exited(); !done {
			b.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	var errs []error
	deadline := time.After(c.cfg.StopTimeout)
	for _, b := range c.Brokers {
		if b.cmd == nil {
			continue
		}
		select {
		case <-b.exited:
			if b.waitErr != nil {
				errs = append(errs, fmt.Errorf("node %d exited after SIGTERM: %v (log %s)", b.ID, b.waitErr, b.LogPath))
			}
			b.cmd, b.paused = nil, false
		case <-deadline:
			c.Kill(b)
			errs = append(errs, fmt.Errorf("node %d did not exit within %v of SIGTERM; killed (log %s)", b.ID, c.cfg.StopTimeout, b.LogPath))
		}
	}
	return errs
}

// Pause sends SIGSTOP to b.
func (c *Cluster) Pause(b *Broker) error {
	if b.cmd == nil {
		return fmt.Errorf("broker %d not running", b.ID)
	}
	b.paused = true
	return b.cmd.Process.Signal(syscall.SIGSTOP)
}

// Resume sends SIGCONT to b.
func (c *Cluster) Resume(b *Broker) error {
	if b.cmd == nil {
		return fmt.Errorf("broker %d not running", b.ID)
	}
	b.paused = false
	return b.cmd.Process.Signal(syscall.SIGCONT)
}

// ResumeAll resumes every paused broker.
func (c *Cluster) ResumeAll() {
	for _, b := range c.Brokers {
		if b.paused {
			c.Resume(b)
		}
	}
}

// Wipe kills b, deletes its data dir and starts it again: it rejoins as a
// new incarnation (docs/operations.md).
func (c *Cluster) Wipe(b *Broker) error {
	c.Kill(b)
	if err := os.RemoveAll(b.DataDir); err != nil {
		return err
	}
	return c.Start(b)
}

// RestartAll stops every broker cleanly and starts them all again; it
// does not wait for readiness.
func (c *Cluster) RestartAll() error {
	c.StopAll()
	for _, b := range c.Brokers {
		if err := c.Start(b); err != nil {
			return err
		}
	}
	return nil
}

// ByID returns the broker with id, or nil.
func (c *Cluster) ByID(id int32) *Broker {
	for _, b := range c.Brokers {
		if b.ID == id {
			return b
		}
	}
	return nil
}

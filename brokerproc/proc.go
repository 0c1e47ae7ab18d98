package brokerproc

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// RSS is a running broker's resident set size in bytes, from /proc.
func (b *Broker) RSS() (int64, error) {
	if b.cmd == nil {
		return 0, fmt.Errorf("broker %d is not running", b.ID)
	}
	return rssBytes(b.cmd.Process.Pid)
}

// CPUTime is the CPU time (user + system) a running broker has used, from
// /proc.
func (b *Broker) CPUTime() (time.Duration, error) {
	if b.cmd == nil {
		return 0, fmt.Errorf("broker %d is not running", b.ID)
	}
	return cpuTime(b.cmd.Process.Pid)
}

// CPUTime is the CPU time all running brokers have used; brokers that
// cannot be read count 0.
func (c *Cluster) CPUTime() time.Duration {
	var total time.Duration
	for _, b := range c.Brokers {
		if d, err := b.CPUTime(); err == nil {
			total += d
		}
	}
	return total
}

// rssBytes reads VmRSS of pid from /proc/<pid>/status.
func rssBytes(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// clockTicksPerSecond is USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat; 100 on every Linux architecture Go supports.
const clockTicksPerSecond = 100

// cpuTime reads utime + stime of pid from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start at field 3, so utime (14) and stime (15)
	// are the 12th and 13th.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicksPerSecond, nil
}

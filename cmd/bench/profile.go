package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/tidemark/tidemark/brokerproc"
)

// profile starts taking a CPU profile of every broker of c for d and
// returns a func that waits for them and then takes each broker's
// allocation profile. Files go to <profileDir>/<name>-node-<id>.{cpu,allocs}.pprof;
// read them with `go tool pprof bin/broker FILE`. Without --profile it does
// nothing.
func (r *runner) profile(c *cluster, name string, d time.Duration) (wait func()) {
	if r.profileDir == "" || !c.profiled {
		return func() {}
	}
	var wg sync.WaitGroup
	for _, b := range c.Brokers {
		if !b.Running() {
			continue
		}
		wg.Add(1)
		go func(b *brokerproc.Broker) {
			defer wg.Done()
			base := filepath.Join(r.profileDir, fmt.Sprintf("%s-node-%d", name, b.ID))
			secs := max(1, int(d/time.Second))
			if err := fetchProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", b.PprofAddr, secs), base+".cpu.pprof"); err != nil {
				log.Printf("  cpu profile of broker %d: %v", b.ID, err)
			}
			if err := fetchProfile(fmt.Sprintf("http://%s/debug/pprof/allocs", b.PprofAddr), base+".allocs.pprof"); err != nil {
				log.Printf("  allocation profile of broker %d: %v", b.ID, err)
			}
		}(b)
	}
	return wg.Wait
}

// profileClient takes a CPU profile of this process (the load generator)
// until the returned func is called: <profileDir>/<name>-client.cpu.pprof,
// read with `go tool pprof bin/bench FILE`. Without --profile it does
// nothing.
func (r *runner) profileClient(name string) (stop func()) {
	if r.profileDir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(r.profileDir, name+"-client.cpu.pprof"))
	if err != nil {
		log.Printf("  client cpu profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Printf("  client cpu profile: %v", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// profileTimeout bounds one profile download beyond its own duration.
const profileTimeout = 2 * time.Minute

func fetchProfile(url, path string) error {
	client := http.Client{Timeout: profileTimeout}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// consumeProfileDuration is the length of the brokers' CPU profiles of a
// consume run: the read-back of a 10 s produce run takes 1-5 s, so the
// profile covers its start (the first, largest fetches) and most of it.
const consumeProfileDuration = 2 * time.Second

package main

import (
	"fmt"
	"html"
	"io"
	"strings"
	"time"
)

// writeMarkdown writes the results table.
func writeMarkdown(w io.Writer, r *results) {
	fmt.Fprintf(w, "# Benchmark results\n\n")
	fmt.Fprintf(w, "Measured by `make bench` (`bin/bench`) on %s, commit %s, %s, %d CPUs. Brokers and the load generator share the host. ",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Commit, r.GoVersion, r.CPUs)
	fmt.Fprintf(w, "Every produce is acks=all (fsynced on a quorum before the acknowledgement), idempotent, uncompressed random payload, at most %d records in flight; each produce run, and each fixed-rate run, is measured for %v after a warm-up of %v at the same load.\n\n", r.InFlight, r.Duration, r.Warmup)

	if len(r.Throughput) > 0 {
		fmt.Fprintf(w, "## Produce and consume throughput\n\n")
		fmt.Fprintf(w, "| brokers (RF) | partitions | record | produce records/s | produce MB/s | ack p50 | ack p99 | ack p99.9 | ack max | broker CPU µs/record | consume records/s | consume MB/s |\n")
		fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, t := range r.Throughput {
			if t.Err != "" {
				fmt.Fprintf(w, "| %d (%d) | %d | %s | error: %s ||||||||||\n", t.Brokers, min(t.Brokers, 3), t.Partitions, sizeName(t.RecordBytes), oneLine(t.Err))
				continue
			}
			p, c := t.Produce, t.Consume
			fmt.Fprintf(w, "| %d (%d) | %d | %s | %.0f | %.1f | %s | %s | %s | %s | %.0f | %.0f | %.1f |\n",
				t.Brokers, min(t.Brokers, 3), t.Partitions, sizeName(t.RecordBytes), p.recordsPerSec(), p.mbPerSec(),
				ms(p.Ack.P50), ms(p.Ack.P99), ms(p.Ack.P999), ms(p.Ack.Max), p.cpuUsPerRecord(), c.recordsPerSec(), c.mbPerSec())
		}
		fmt.Fprintf(w, "\n![produce throughput](throughput.svg)\n\n")
	}
	if len(r.Latency) > 0 {
		fmt.Fprintf(w, "## Latency at 50%% of the measured maximum\n\n")
		fmt.Fprintf(w, "| brokers (RF) | partitions | record | offered records/s | ack p50 | ack p99 | ack p99.9 | end-to-end p50 | end-to-end p99 | end-to-end p99.9 | end-to-end max |\n")
		fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, l := range r.Latency {
			if l.Err != "" {
				fmt.Fprintf(w, "| %d (%d) | %d | %s | %.0f | error: %s ||||||\n", l.Brokers, min(l.Brokers, 3), l.Partitions, sizeName(l.RecordBytes), l.Rate, oneLine(l.Err))
				continue
			}
			a, e := l.Result.Ack, l.Result.E2E
			fmt.Fprintf(w, "| %d (%d) | %d | %s | %.0f | %s | %s | %s | %s | %s | %s | %s |\n",
				l.Brokers, min(l.Brokers, 3), l.Partitions, sizeName(l.RecordBytes), l.Rate,
				ms(a.P50), ms(a.P99), ms(a.P999), ms(e.P50), ms(e.P99), ms(e.P999), ms(e.Max))
		}
		fmt.Fprintf(w, "\n![latency](latency.svg)\n\n")
	}
	if s := r.Scale; s != nil {
		fmt.Fprintf(w, "## Partition scale\n\n")
		if s.Err != "" {
			fmt.Fprintf(w, "%d brokers, %d partitions at RF 3: error: %s\n\n", s.Brokers, s.Partitions, oneLine(s.Err))
		} else {
			var rss []string
			for _, b := range s.RSSBytes {
				rss = append(rss, fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)))
			}
			fmt.Fprintf(w, "| brokers | partitions (RF 3) | brokers ready | topic created, all partitions led | full restart, all partitions led | resident memory per broker | produce records/s (1 KiB, all partitions) |\n")
			fmt.Fprintf(w, "|---|---|---|---|---|---|---|\n")
			fmt.Fprintf(w, "| %d | %d | %s | %s | %s | %s | %.0f |\n\n", s.Brokers, s.Partitions, secs(s.StartReady),
				secs(s.CreateReady), secs(s.RestartReady), strings.Join(rss, ", "), s.Produce.recordsPerSec())
		}
	}
	if rc := r.Recovery; rc != nil {
		fmt.Fprintf(w, "## Leader failover\n\n")
		fmt.Fprintf(w, "Time from SIGKILL of a partition's leader (3 brokers, RF 3) to the first acknowledged produce on that partition, with a client refreshing metadata at most every 100 ms:\n\n")
		var ts []string
		for _, t := range rc.Trials {
			ts = append(ts, ms(t))
		}
		if rc.Err != "" {
			ts = append(ts, "error: "+oneLine(rc.Err))
		}
		fmt.Fprintf(w, "%s\n\n", strings.Join(ts, ", "))
	}
}

func sizeName(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// bar is one bar of a bar chart.
type bar struct {
	label string
	value float64
}

// writeBarChart writes a horizontal bar chart as SVG: no dependencies, and
// it renders in GitHub's markdown.
func writeBarChart(w io.Writer, title, unit string, bars []bar) {
	const (
		width      = 760
		labelWidth = 230
		barHeight  = 22
		gap        = 6
		top        = 40
	)
	maxV := 0.0
	for _, b := range bars {
		maxV = max(maxV, b.value)
	}
	height := top + len(bars)*(barHeight+gap) + 20
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="white"/><text x="10" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	for i, b := range bars {
		y := top + i*(barHeight+gap)
		length := 0.0
		if maxV > 0 {
			length = b.value / maxV * float64(width-labelWidth-110)
		}
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelWidth-8, y+15, html.EscapeString(b.label))
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="#3b6ea8"/>`+"\n", labelWidth, y, length, barHeight)
		fmt.Fprintf(w, `<text x="%.1f" y="%d">%s %s</text>`+"\n", float64(labelWidth)+length+6, y+15, formatValue(b.value), unit)
	}
	fmt.Fprintf(w, "</svg>\n")
}

func formatValue(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func throughputBars(r *results) []bar {
	var bs []bar
	for _, t := range r.Throughput {
		if t.Err == "" {
			bs = append(bs, bar{fmt.Sprintf("%d broker(s), %d part., %s", t.Brokers, t.Partitions, sizeName(t.RecordBytes)), t.Produce.recordsPerSec()})
		}
	}
	return bs
}

func latencyBars(r *results) []bar {
	var bs []bar
	for _, l := range r.Latency {
		if l.Err == "" {
			name := fmt.Sprintf("%d broker(s), %s", l.Brokers, sizeName(l.RecordBytes))
			bs = append(bs,
				bar{name + " ack p99", float64(l.Result.Ack.P99) / float64(time.Millisecond)},
				bar{name + " e2e p99", float64(l.Result.E2E.P99) / float64(time.Millisecond)})
		}
	}
	return bs
}

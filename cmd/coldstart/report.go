package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// The targets of issue 8 for every function, against hello-world.
const (
	maxInitRatio   = 1.5
	maxBinaryBytes = 12_000_000 // 12 MB
	maxMemoryRatio = 2.0
)

// Result is every sample of one program.
type Result struct {
	Name      string
	Event     string // the sample event file, "" for none
	ARM64Size int64
	Samples   []Sample
}

// Summary is the medians of a Result.
type Summary struct {
	Init, First, Warm time.Duration
	RSSInit, Peak     int64
	Status            int // the first invocation's status in most runs
	WarmStatus        int
}

// Summarize returns the medians of r's samples.
func (r Result) Summarize() Summary {
	var s Summary
	pick := func(f func(Sample) int64) int64 {
		v := make([]int64, len(r.Samples))
		for i, x := range r.Samples {
			v[i] = f(x)
		}
		return median(v)
	}
	s.Init = time.Duration(pick(func(x Sample) int64 { return int64(x.Init) }))
	s.First = time.Duration(pick(func(x Sample) int64 { return int64(x.First) }))
	s.Warm = time.Duration(pick(func(x Sample) int64 { return int64(x.Warm) }))
	s.RSSInit = pick(func(x Sample) int64 { return x.RSSInit })
	s.Peak = pick(func(x Sample) int64 { return x.Peak })
	s.Status = mode(r.Samples, func(x Sample) int { return x.Status })
	s.WarmStatus = mode(r.Samples, func(x Sample) int { return x.WarmStatus })
	return s
}

// median of v (the mean of the middle two for an even count); 0 for none.
func median(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// mode is the most frequent value of f over samples (the smallest on a tie).
func mode(samples []Sample, f func(Sample) int) int {
	count := map[int]int{}
	best, bestN := 0, 0
	for _, s := range samples {
		v := f(s)
		count[v]++
		if n := count[v]; n > bestN || (n == bestN && v < best) {
			best, bestN = v, n
		}
	}
	return best
}

// Verdict is a function's standing against the targets.
type Verdict struct {
	InitRatio, MemoryRatio  float64
	InitOK, BinaryOK, MemOK bool
}

// OK reports whether every target is met.
func (v Verdict) OK() bool { return v.InitOK && v.BinaryOK && v.MemOK }

// Judge compares a function's medians with hello-world's.
func Judge(fn Summary, size int64, hello Summary) Verdict {
	v := Verdict{InitRatio: ratio(int64(fn.Init), int64(hello.Init)), MemoryRatio: ratio(fn.RSSInit, hello.RSSInit)}
	v.InitOK = v.InitRatio <= maxInitRatio
	v.BinaryOK = size <= maxBinaryBytes
	v.MemOK = v.MemoryRatio <= maxMemoryRatio
	return v
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// mib formats bytes of memory in MiB (Lambda's memory setting is in MiB).
func mib(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// mb formats a binary size in MB (10⁶ bytes), the unit of the 12 MB target.
func mb(b int64) string { return fmt.Sprintf("%.2f", float64(b)/1e6) }

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// WriteTable writes the markdown table: hello-world first, then every
// function with its ratios and verdicts. It returns whether every function
// meets every target.
func WriteTable(w io.Writer, hello Result, fns []Result) bool {
	h := hello.Summarize()
	fmt.Fprintln(w, "| function | event → status | init ms | init × hello | first invoke ms | warm invoke ms | RSS after init MiB | RSS × hello | peak RSS MiB | arm64 binary MB (bytes) | init ≤ 1.5× | binary ≤ 12 MB | memory ≤ 2× |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|:-:|:-:|")
	fmt.Fprintf(w, "| %s | %s | %s | 1.00 | %s | %s | %s | 1.00 | %s | %s (%d) | — | — | — |\n",
		hello.Name, eventCell(hello, h), ms(h.Init), ms(h.First), ms(h.Warm), mib(h.RSSInit), mib(h.Peak), mb(hello.ARM64Size), hello.ARM64Size)
	all := true
	for _, r := range fns {
		s := r.Summarize()
		v := Judge(s, r.ARM64Size, h)
		all = all && v.OK()
		first, warm := ms(s.First), ms(s.Warm)
		if r.Event == "" {
			first, warm = "—", "—"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.2f | %s | %s | %s | %.2f | %s | %s (%d) | %s | %s | %s |\n",
			r.Name, eventCell(r, s), ms(s.Init), v.InitRatio, first, warm, mib(s.RSSInit), v.MemoryRatio, mib(s.Peak),
			mb(r.ARM64Size), r.ARM64Size, passFail(v.InitOK), passFail(v.BinaryOK), passFail(v.MemOK))
	}
	return all
}

func eventCell(r Result, s Summary) string {
	if r.Event == "" {
		return "none (init only)"
	}
	if s.Status == s.WarmStatus {
		return fmt.Sprintf("`%s` → %d", r.Event, s.Status)
	}
	return fmt.Sprintf("`%s` → %d, then %d", r.Event, s.Status, s.WarmStatus)
}

// Machine describes where the figures come from: CPU model, cores, Go, and
// the load average when the runs began (other work on the machine shows in
// the init times).
func Machine(goVersion, load string) string {
	return fmt.Sprintf("%s, %d cores, %s %s/%s, load average %s at the start", cpuModel(), runtime.NumCPU(), goVersion, runtime.GOOS, runtime.GOARCH, load)
}

// loadAverage is the one-minute load average of /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

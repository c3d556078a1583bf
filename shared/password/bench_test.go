package password_test

import (
	"fmt"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/password"
)

// BenchmarkService_ForgotPassword measures forgot-password for a known and
// an unknown username, alternating, against DynamoDB Local and the SES
// emulator, and reports the median of each in milliseconds: once with the
// response floor the service ships with, once without it (the raw cost of
// each path). Run it with a fixed count: go test -run '^$' -bench ForgotPassword -benchtime 40x ./shared/password
func BenchmarkService_ForgotPassword(b *testing.B) {
	for _, bc := range []struct {
		name  string
		floor time.Duration
	}{{"floor", 0}, {"raw", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b)
			f.newUser("known", "Correct-horse-7")
			f.svc.ResetFloor = bc.floor
			// Real time, so the floor waits out what the work really took.
			f.svc.Now = time.Now
			// High limits so the benchmark measures the full path every time.
			f.svc.Limits = password.Limits{SignInPerSource: 1 << 30, SignInWindow: time.Hour, ResetPerSource: 1 << 30, ResetWindow: time.Hour}
			f.tenant.Settings.ResetRequestsPerHour = 1 << 30
			if err := f.deps.Store.PutTenantSettings(f.ctx, f.tenant.ID, f.tenant.Settings); err != nil {
				b.Fatal(err)
			}
			var known, unknown []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				name, into := "known", &known
				if i%2 == 1 {
					name, into = "unknown-user", &unknown
				}
				start := time.Now()
				if err := f.svc.ForgotPassword(f.ctx, f.tenant.ID, name); err != nil {
					b.Fatal(err)
				}
				*into = append(*into, time.Since(start))
			}
			b.StopTimer()
			b.ReportMetric(medianMS(known), "known-median-ms")
			b.ReportMetric(medianMS(unknown), "unknown-median-ms")
		})
	}
}

func medianMS(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return float64(d[len(d)/2].Microseconds()) / 1000
}

// BenchmarkService_SignInFailures measures, interleaved, a sign-in that
// fails for each reason: a wrong password for a known user, an unknown
// user, a locked-out user and an unknown tenant, against DynamoDB Local, and
// reports each median in milliseconds. Each costs one argon2id run and the
// same round trips, so the medians should agree (within 5 %): the time of
// an answer does not tell its reason.
// go test -run '^$' -bench SignInFailures -benchtime 80x ./shared/password
func BenchmarkService_SignInFailures(b *testing.B) {
	f := newFixture(b)
	f.newUser("known", "Correct-horse-7")
	f.svc.Limits = password.Limits{SignInPerSource: 1 << 30, SignInWindow: time.Hour, ResetPerSource: 1 << 30, ResetWindow: time.Hour}
	// The locked-out user lives in a second tenant with the default
	// threshold; in the first, no number of wrong passwords locks "known".
	locked, _, temp, err := f.deps.Tenancy.CreateTenant(f.ctx, "l"+f.id[1:], "Locked", "locked", f.email("locked"))
	if err != nil {
		b.Fatal(err)
	}
	testenv.Remember(temp)
	for i := 0; i < locked.Settings.LockoutThreshold; i++ {
		_, _ = f.svc.SignIn(f.ctx, locked.ID, "locked", "wrong-password-1")
	}
	f.tenant.Settings.LockoutThreshold = 1 << 30
	if err := f.deps.Store.PutTenantSettings(f.ctx, f.tenant.ID, f.tenant.Settings); err != nil {
		b.Fatal(err)
	}
	cases := []struct{ name, tenant, user string }{
		{"known", f.tenant.ID, "known"}, {"unknown-user", f.tenant.ID, "nobody"},
		{"locked-out", locked.ID, "locked"}, {"unknown-tenant", "no-such-tenant", "known"},
	}
	times := make([][]time.Duration, len(cases))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := i % len(cases)
		start := time.Now()
		_, err := f.svc.SignIn(f.ctx, cases[c].tenant, cases[c].user, "wrong-password-1")
		times[c] = append(times[c], time.Since(start))
		if code(err) != latchkey.EInvalidCredentials && code(err) != latchkey.EAccountLocked {
			b.Fatalf("%s: got %v", cases[c].name, err)
		}
	}
	b.StopTimer()
	for i, c := range cases {
		b.ReportMetric(medianMS(times[i]), c.name+"-median-ms")
	}
}

// BenchmarkService_SignInThroughput measures sign-ins per second on one
// goroutine with the right and with a wrong password, against DynamoDB
// Local: one argon2id run each at m=19 MiB, t=2, p=1. signins/s is wall
// time, DynamoDB Local's latency included; signins/s/core divides by the
// CPU time this process spent (user + system), which is what a Lambda's
// vCPU pays for. Run it also
// with -tags purego, the path arm64 Lambdas take:
// go test -run '^$' -bench SignInThroughput -benchtime 60x [-tags purego] ./shared/password
func BenchmarkService_SignInThroughput(b *testing.B) {
	for _, pw := range []struct{ name, password string }{{"right", "Correct-horse-7"}, {"wrong", "wrong-password-1"}} {
		b.Run(pw.name, func(b *testing.B) {
			f := newFixture(b)
			f.newUser("known", "Correct-horse-7")
			f.svc.Limits = password.Limits{SignInPerSource: 1 << 30, SignInWindow: time.Hour, ResetPerSource: 1 << 30, ResetWindow: time.Hour}
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime(b)
			for i := 0; i < b.N; i++ {
				user := "known"
				if pw.name == "wrong" {
					user = fmt.Sprintf("known%d", i%1000) // no lockout in the way
				}
				if _, err := f.svc.SignIn(f.ctx, f.tenant.ID, user, pw.password); err != nil && pw.name == "right" {
					b.Fatal(err)
				}
			}
			cpu := cpuTime(b) - cpu0
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "signins/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "signins/s/core")
		})
	}
}

// cpuTime returns the CPU time (user + system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

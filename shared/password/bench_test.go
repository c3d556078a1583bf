package password_test

import (
	"sort"
	"testing"
	"time"

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

package pinsignup_test

import (
	"sort"
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/pinsignup"
)

// BenchmarkService_SignUp_WrongCode measures a refused signup for each
// reason a code can be wrong (never issued, replaced, revoked), alternating,
// against DynamoDB Local, and reports the median of each in milliseconds:
// the answer is the same, and so should the work be. Run it with a fixed
// count: go test -run '^$' -bench SignUp_WrongCode -benchtime 60x ./shared/pinsignup
func BenchmarkService_SignUp_WrongCode(b *testing.B) {
	f := newFixture(b)
	f.svc.Limits = pinsignup.Limits{PerAddress: 1 << 30, AddressWindow: time.Hour, PerTenant: 1 << 30, TenantWindow: time.Hour}
	sam, replaced := f.holder("sam")
	if _, err := f.svc.Generate(f.ctx, f.tenant.ID, f.admin.ID, sam.ID); err != nil {
		b.Fatal(err)
	}
	ria, revoked := f.holder("ria")
	if err := f.svc.Revoke(f.ctx, f.tenant.ID, f.admin.ID, ria.ID); err != nil {
		b.Fatal(err)
	}
	codes := []string{"NEVR-ISSU-ED22", replaced, revoked}
	took := make([][]time.Duration, len(codes))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(codes)
		start := time.Now()
		if _, err := f.signup(codes[k], "someone", pinsignup.ClientWeb, "198.51.100.50"); code(err) != "invalid_pin_code" {
			b.Fatalf("got %v, want invalid_pin_code", err)
		}
		took[k] = append(took[k], time.Since(start))
	}
	b.StopTimer()
	for k, name := range []string{"unknown", "replaced", "revoked"} {
		b.ReportMetric(medianMS(took[k]), name+"-median-ms")
	}
}

func medianMS(d []time.Duration) float64 {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return float64(d[len(d)/2].Microseconds()) / 1000
}

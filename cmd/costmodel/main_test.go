package main

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
)

// inputs are the defaults run uses, on the repository's docs/data-model.md.
func inputs(t *testing.T) Inputs {
	t.Helper()
	f, err := os.Open("../../docs/data-model.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rt, _, err := ParseRoundTrips(f)
	if err != nil {
		t.Fatal(err)
	}
	mix, err := parsePairs(defaultMix)
	if err != nil {
		t.Fatal(err)
	}
	return Inputs{
		MAU: 10000, Tenants: 10, Mix: mix, RoundTrips: rt, Flows: flowModels(), MemoryMB: defaultMemory(),
		RTTms: 6, SESms: 40, SNSms: 40, ColdShare: 0.02, LogBytes: 700, AccessLogBytes: 450,
		NotifierRuns: 720, Alarms: 40, Secrets: 1, Prices: prices,
	}
}

// TestParseRoundTrips_EveryFlow proves that the parse of docs/data-model.md
// finds every row of the round-trip table (each row of the section that
// starts with a flow name), with its count, and every flow the model uses.
func TestParseRoundTrips_EveryFlow(t *testing.T) {
	b, err := os.ReadFile("../../docs/data-model.md")
	if err != nil {
		t.Fatal(err)
	}
	rt, order, err := ParseRoundTrips(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// Count the rows independently: lines of the section starting "| `".
	_, section, _ := strings.Cut(string(b), "## Round trips per flow (enforced)")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := 0
	for _, l := range strings.Split(section, "\n") {
		if strings.HasPrefix(l, "| `") {
			rows++
		}
	}
	if rows == 0 || len(rt) != rows || len(order) != rows {
		t.Errorf("flows parsed: got %d (%d in order), want %d rows", len(rt), len(order), rows)
	}
	for name, want := range map[string]int{"signin-password": 5, "forgot-password-known": 6, "users-list": 1, "notifier-tenant-day": 89} {
		if got := rt[name]; got != want {
			t.Errorf("%s: got %d round trips, want %d", name, got, want)
		}
	}
	if err := inputs(t).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestParseRoundTrips_NoTable proves that a document without the table is
// an error, not an empty model.
func TestParseRoundTrips_NoTable(t *testing.T) {
	if _, _, err := ParseRoundTrips(strings.NewReader("# Data model\n\n| `x` | 3 | y |\n")); err == nil {
		t.Error("got no error, want one")
	}
}

// TestInputs_Validate proves that a modelled flow whose calls disagree
// with the table is refused.
func TestInputs_Validate(t *testing.T) {
	in := inputs(t)
	f := in.Flows["signin-password"]
	f.Calls = f.Calls[:4]
	in.Flows["signin-password"] = f
	if err := in.Validate(); err == nil || !strings.Contains(err.Error(), "signin-password") {
		t.Errorf("Validate: got %v, want an error naming signin-password", err)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestCompute_TotalsAndScaling proves that the totals are the sums of the
// items, that doubling MAU doubles every variable item and leaves every
// fixed one, and that SMS is the largest item when reminders go by SMS.
func TestCompute_TotalsAndScaling(t *testing.T) {
	in := inputs(t)
	rep := Compute(in)
	var v, f float64
	for _, it := range rep.Items {
		v += it.Variable
		f += it.Fixed
	}
	if !near(rep.TotalVariable, v) || !near(rep.TotalFixed, f) {
		t.Errorf("totals: got %v and %v, want the sums %v and %v", rep.TotalVariable, rep.TotalFixed, v, f)
	}
	if want := (v + f) / in.MAU * 1000; !near(rep.TotalPer1000, want) {
		t.Errorf("total per 1 000 MAU: got %v, want %v", rep.TotalPer1000, want)
	}
	if rep.TotalVariable <= 0 || rep.TotalFixed <= 0 {
		t.Fatalf("totals: got %v and %v, want both positive", rep.TotalVariable, rep.TotalFixed)
	}

	in2 := in
	in2.MAU = 2 * in.MAU
	rep2 := Compute(in2)
	for i, it := range rep.Items {
		it2 := rep2.Items[i]
		if !near(it2.Variable, 2*it.Variable) {
			t.Errorf("%s: variable at 2× MAU got %v, want %v", it.Name, it2.Variable, 2*it.Variable)
		}
		if !near(it2.Fixed, it.Fixed) {
			t.Errorf("%s: fixed at 2× MAU got %v, want %v", it.Name, it2.Fixed, it.Fixed)
		}
	}
	if !near(rep2.VariablePer1000, rep.VariablePer1000) {
		t.Errorf("variable per 1 000 MAU: got %v at 2× MAU, want %v", rep2.VariablePer1000, rep.VariablePer1000)
	}

	top := rep.Items[0]
	for _, it := range rep.Items {
		if it.Variable > top.Variable {
			top = it
		}
	}
	if top.Name != "SNS SMS (US)" {
		t.Errorf("largest variable item: got %s, want SNS SMS (US)", top.Name)
	}
}

// TestParseBench proves that sign-in CPU times are read from benchmark
// output as 1000 / the median signins/s/core.
func TestParseBench(t *testing.T) {
	out := `BenchmarkService_SignInThroughput/right-2   60  134055087 ns/op  7.460 signins/s  20.00 signins/s/core
BenchmarkService_SignInThroughput/right-2   60  199191128 ns/op  5.020 signins/s  25.00 signins/s/core
BenchmarkService_SignInThroughput/right-2   60   57101306 ns/op  17.51 signins/s  40.00 signins/s/core
BenchmarkService_SignInThroughput/wrong-2   60   50421858 ns/op  19.83 signins/s  50.00 signins/s/core
`
	right, wrong, err := ParseBench(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if right != 40 || wrong != 20 {
		t.Errorf("got %v and %v ms, want 40 and 20", right, wrong)
	}
	if _, _, err := ParseBench(strings.NewReader("PASS\n")); err == nil {
		t.Error("no lines: got no error, want one")
	}
}

// TestRun proves that the command runs on the repository's files and
// prints every item and the Cognito comparison.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-data-model", "../../docs/data-model.md"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SNS SMS (US)", "DynamoDB writes (WRU)", "total per 1 000 MAU", "Amazon Cognito Essentials: $15.00"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

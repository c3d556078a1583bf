// Command costmodel computes what Latchkey costs on AWS per 1 000 monthly
// active users (MAU), itemised by service, against Amazon Cognito
// Essentials (issue 13). It reads:
//
//   - the DynamoDB round trips of each flow from docs/data-model.md's
//     "Round trips per flow (enforced)" table (the table the system tests
//     enforce); each round trip's request units are this model's reading of
//     that table's description (flowModels);
//   - the CPU time of each flow at one vCPU: defaults from
//     docs/performance.md's measured figures, or, with -bench, from
//     `go test -bench SignInThroughput` output (signins/s/core);
//   - the memory of each function: the stack's choice (infra:
//     HashingMemoryMB for functions that hash, DefaultMemoryMB for the
//     others), or -memory;
//   - an assumed flow mix per MAU and month (-mix), and AWS list prices for
//     us-east-1 (prices, as of PricesAsOf).
//
// It prints each item per 1 000 MAU (variable) and per month (fixed), and
// the total per 1 000 MAU at -mau users.
//
//	go run ./cmd/costmodel [-mau 10000] [-tenants 10] [-mix signin-password=20,...]
//	    [-bench bench.txt] [-memory sessions=1769,...] [-sms-reminders=false]
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/latchkey/latchkey/shared/catalog"
)

// PricesAsOf is the date of prices.
const PricesAsOf = "2026-11-26"

// Prices are AWS list prices in US dollars.
type Prices struct {
	LambdaGBSecond      float64 // arm64, first tier
	LambdaPerRequest    float64
	HTTPAPIPerRequest   float64 // first 300 million a month
	DynamoWRU           float64 // on-demand write request unit
	DynamoRRU           float64 // on-demand read request unit
	SESPerEmail         float64
	SMSPerMessage       float64 // SNS SMS to a US number, transactional
	SecretPerMonth      float64
	SecretPerCall       float64
	LogsPerGB           float64 // CloudWatch Logs ingestion (standard)
	AlarmPerMonth       float64 // standard-resolution metric alarm
	CognitoEssentialMAU float64 // Amazon Cognito Essentials, per MAU
}

// prices are us-east-1 list prices as of PricesAsOf. Lambda's arm64
// GB-second is the published $0.0000133334; the others are the list prices
// issue 13 gives, not checked against AWS's pages on that date. The free
// tiers (Lambda's 400 000 GB-s, Cognito's free MAU, SES's from Lambda) are
// left out on both sides.
var prices = Prices{
	LambdaGBSecond:      0.0000133334,
	LambdaPerRequest:    0.20 / 1e6,
	HTTPAPIPerRequest:   1.00 / 1e6,
	DynamoWRU:           0.625 / 1e6,
	DynamoRRU:           0.125 / 1e6,
	SESPerEmail:         0.10 / 1000,
	SMSPerMessage:       0.00581,
	SecretPerMonth:      0.40,
	SecretPerCall:       0.05 / 10000,
	LogsPerGB:           0.50,
	AlarmPerMonth:       0.10,
	CognitoEssentialMAU: 0.015,
}

// Memory the stack gives a function (infra.HashingMemoryMB and
// infra.DefaultMemoryMB; infra is a main package, so they are repeated).
const (
	hashingMemoryMB = 1769
	defaultMemoryMB = 512
	// oneVCPUMB is the memory at which Lambda gives a whole vCPU; below it
	// CPU is in proportion to memory.
	oneVCPUMB = 1769
)

// Request units of one round trip. Items are under 1 KB written and 4 KB
// read (a user item is about 0.5 KB).
const (
	read       = 1.0 // GetItem or Query of the table, strongly consistent
	readEC     = 0.5 // Query of an index, eventually consistent
	write      = 1.0 // PutItem, UpdateItem or DeleteItem
	txWritePer = 2.0 // each item of a TransactWriteItems
)

// call is one DynamoDB round trip's request units.
type call struct{ rru, wru float64 }

func r(u float64) call     { return call{rru: u} }
func w() call              { return call{wru: write} }
func tx(items int) call    { return call{wru: txWritePer * float64(items)} }
func gsiWrites(n int) call { return call{wru: write * float64(n)} }

// flowModel is one flow of the mix: the function serving it, whether it
// comes through the HTTP API, its round trips (one call each, as many as
// docs/data-model.md's table says; extra holds index writes, which are not
// round trips), its CPU time at one vCPU and the messages it sends.
type flowModel struct {
	Function string
	API      bool
	Calls    []call
	Extra    call
	CPUms    float64
	Emails   float64
	SMS      float64
	// Assumed is set for a flow the round-trip table does not list: its
	// calls are this model's own reading of docs/data-model.md.
	Assumed bool
	// CPUFrom says where CPUms comes from.
	CPUFrom string
}

// CPU defaults, from docs/performance.md (2026-11 figures, arm64's pure-Go
// argon2id measured as `-tags purego` on the benchmark machine):
// SignInThroughput purego right 25.9 sign-ins/s/core = 38.6 ms, wrong
// 26.9/s = 37.2 ms; HashPassword purego 56.0 ms; "what remains of each
// sign-in is the SDK's calls (about 5 ms of CPU)" for the flows that hash
// nothing.
const (
	cpuSignInRight = 1000 / 25.9
	cpuSignInWrong = 1000 / 26.9
	cpuHash        = 56.0
	cpuNoHash      = 5.0
	fromPerf       = "docs/performance.md"
)

// flowModels are the flows of the mix. The calls follow the descriptions
// of docs/data-model.md's round-trip table, in its order.
func flowModels() map[string]flowModel {
	return map[string]flowModel{
		// slots, claim, Query, one transaction: slots back (2), user, audit.
		"signin-password":       {Function: "sessions", API: true, Calls: []call{w(), w(), r(read), r(read), tx(4)}, CPUms: cpuSignInRight, CPUFrom: fromPerf},
		"signin-wrong-password": {Function: "sessions", API: true, Calls: []call{w(), w(), r(read), r(read), w()}, CPUms: cpuSignInWrong, CPUFrom: fromPerf},
		// transaction: slots back (2), temporary password, challenge, audit.
		"signin-temporary-password": {Function: "sessions", API: true, Calls: []call{w(), w(), r(read), r(read), tx(5)}, CPUms: cpuNoHash, CPUFrom: fromPerf},
		// transaction: challenge, user, temporary password, login state, audit; the new password hashed.
		"challenge-complete":      {Function: "sessions", API: true, Calls: []call{r(read), r(read), tx(5)}, CPUms: cpuHash + cpuNoHash, CPUFrom: fromPerf},
		"forgot-password-known":   {Function: "password-reset", API: true, Calls: []call{w(), w(), r(read), r(read), w(), w()}, CPUms: cpuNoHash, Emails: 1, CPUFrom: fromPerf},
		"forgot-password-unknown": {Function: "password-reset", API: true, Calls: []call{w(), w(), r(read), r(read), w()}, CPUms: cpuNoHash, CPUFrom: fromPerf},
		// Query the account, PutItem code, PutItem audit; the code by SMS.
		"code-send":         {Function: "pin-verification", API: true, Calls: []call{r(read), w(), w()}, CPUms: cpuNoHash, SMS: 1, CPUFrom: fromPerf},
		"code-verify-right": {Function: "pin-verification", API: true, Calls: []call{w(), tx(2)}, CPUms: cpuNoHash, CPUFrom: fromPerf},
		"pin-verify-right":  {Function: "pin-verification", API: true, Calls: []call{w(), tx(2)}, CPUms: cpuNoHash, CPUFrom: fromPerf},
		// a page of 10 users (about 5 KB) from GSI1, eventually consistent.
		"users-list": {Function: "admin", API: true, Calls: []call{r(2 * readEC)}, CPUms: cpuNoHash, CPUFrom: fromPerf},
		// GetItem, transaction: user, audit; the user's GSI1 and GSI2 copies rewritten.
		"user-patch": {Function: "users", API: true, Calls: []call{r(read), tx(2)}, Extra: gsiWrites(2), CPUms: cpuNoHash, CPUFrom: fromPerf},
		// per reminder: claim, record the sends; one e-mail and one SMS.
		"notifier-notice": {Function: "expiry-notifier", Calls: []call{w(), w()}, CPUms: cpuNoHash, Emails: 1, SMS: 1, CPUFrom: fromPerf},
		// the e-mail's delivery event (SES → EventBridge): GetItem notice, UpdateItem.
		"ses-delivery-event": {Function: "delivery-events", Calls: []call{r(read), w()}, CPUms: cpuNoHash, Assumed: true, CPUFrom: fromPerf},
	}
}

// perTenantDay is the notifier's fixed reads per tenant and day: the flow
// notifier-tenant-day of the round-trip table, each an eventually
// consistent Query of GSI1 or an empty GSI3 shard.
const perTenantDay = "notifier-tenant-day"

// defaultMix is the assumed flows per MAU and month.
const defaultMix = "signin-password=20,signin-wrong-password=1,forgot-password-known=0.3,forgot-password-unknown=0.05," +
	"signin-temporary-password=0.3,challenge-complete=0.3,code-send=0.1,code-verify-right=0.1,pin-verify-right=0.1," +
	"users-list=0.2,user-patch=0.05,notifier-notice=1,ses-delivery-event=1"

// Inputs are everything Compute uses.
type Inputs struct {
	MAU     float64
	Tenants float64
	// Mix is flows per MAU and month.
	Mix map[string]float64
	// RoundTrips are docs/data-model.md's minimum calls per flow.
	RoundTrips map[string]int
	Flows      map[string]flowModel
	// MemoryMB per function.
	MemoryMB map[string]float64
	// RTTms is one DynamoDB round trip's latency in the region; SESms and
	// SNSms one send's.
	RTTms, SESms, SNSms float64
	// ColdShare is the share of invocations that start a container (each
	// reads the secret once).
	ColdShare float64
	// LogBytes per invocation (the function's request log and Lambda's
	// START/END/REPORT lines); AccessLogBytes per API request.
	LogBytes, AccessLogBytes float64
	// NotifierRuns is the scheduled notifier's invocations a month (hourly).
	NotifierRuns float64
	Alarms       float64
	// Secrets is how many copies of the master key are billed (2 with a
	// replica region).
	Secrets float64
	Prices  Prices
}

// Item is one line of the bill for a month at Inputs.MAU.
type Item struct {
	Name     string
	Variable float64 // grows with MAU
	Fixed    float64 // does not
	Note     string
}

// Report is the bill.
type Report struct {
	Items                   []Item
	TotalVariable           float64
	TotalFixed              float64
	VariablePer1000         float64
	TotalPer1000            float64
	CognitoPer1000          float64
	FlowDurationsMS         map[string]float64
	MonthlyInvocations      float64
	MonthlyAPIRequests      float64
	MonthlyRRU, MonthlyWRU  float64
	MonthlyEmails, MonthSMS float64
}

// Validate checks that every flow of the mix is modelled, that every
// modelled flow the round-trip table lists has as many calls as the table
// says, and that the table has the notifier's per-tenant reads.
func (in Inputs) Validate() error {
	var errs []error
	for name := range in.Mix {
		if _, ok := in.Flows[name]; !ok {
			errs = append(errs, fmt.Errorf("mix: flow %s is not modelled", name))
		}
	}
	for name, f := range in.Flows {
		n, ok := in.RoundTrips[name]
		switch {
		case f.Assumed && ok:
			errs = append(errs, fmt.Errorf("flow %s is in docs/data-model.md now: drop Assumed", name))
		case !f.Assumed && !ok:
			errs = append(errs, fmt.Errorf("flow %s: not in docs/data-model.md's round-trip table", name))
		case !f.Assumed && n != len(f.Calls):
			errs = append(errs, fmt.Errorf("flow %s: %d calls modelled, docs/data-model.md says %d", name, len(f.Calls), n))
		}
		if _, ok := in.MemoryMB[f.Function]; !ok {
			errs = append(errs, fmt.Errorf("flow %s: no memory for function %s", name, f.Function))
		}
	}
	if _, ok := in.RoundTrips[perTenantDay]; !ok {
		errs = append(errs, fmt.Errorf("docs/data-model.md: no %s row", perTenantDay))
	}
	return errors.Join(errs...)
}

// Duration is flow f's billed milliseconds at memory mb: its CPU time
// stretched by the CPU share below one vCPU, plus its waits.
func (in Inputs) Duration(f flowModel, mb float64) float64 {
	cpu := f.CPUms * math.Max(1, oneVCPUMB/mb)
	return math.Ceil(cpu + float64(len(f.Calls))*in.RTTms + f.Emails*in.SESms + f.SMS*in.SNSms)
}

// Compute is the bill for a month at in.MAU users.
func Compute(in Inputs) Report {
	p := in.Prices
	rep := Report{FlowDurationsMS: map[string]float64{}}
	var gbs, invocations, apiReqs, rru, wru, emails, sms float64
	names := make([]string, 0, len(in.Mix))
	for n := range in.Mix {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		f := in.Flows[name]
		n := in.Mix[name] * in.MAU
		mb := in.MemoryMB[f.Function]
		d := in.Duration(f, mb)
		rep.FlowDurationsMS[name] = d
		gbs += n * d / 1000 * mb / 1024
		if f.Function != "expiry-notifier" { // notices run inside the scheduled invocations
			invocations += n
		}
		if f.API {
			apiReqs += n
		}
		for _, c := range append(f.Calls, f.Extra) {
			rru += n * c.rru
			wru += n * c.wru
		}
		emails += n * f.Emails
		sms += n * f.SMS
	}
	// Fixed: the scheduled notifier, each run reading the tenants once and,
	// once a day per tenant, its reminder window's shards.
	tenantDayReads := in.Tenants * 30 * float64(in.RoundTrips[perTenantDay])
	notifierMB := in.MemoryMB["expiry-notifier"]
	notifierSeconds := in.NotifierRuns*(cpuNoHash+in.RTTms)/1000 + tenantDayReads*in.RTTms/1000
	fixedGBs := notifierSeconds * notifierMB / 1024
	fixedRRU := in.NotifierRuns*readEC + tenantDayReads*readEC

	logGB := (invocations*in.LogBytes + apiReqs*in.AccessLogBytes) / 1e9
	fixedLogGB := in.NotifierRuns * in.LogBytes / 1e9
	rep.Items = []Item{
		{"Lambda compute (GB-s)", gbs * p.LambdaGBSecond, fixedGBs * p.LambdaGBSecond, "arm64, memory per function"},
		{"Lambda requests", invocations * p.LambdaPerRequest, in.NotifierRuns * p.LambdaPerRequest, ""},
		{"API Gateway HTTP API", apiReqs * p.HTTPAPIPerRequest, 0, ""},
		{"DynamoDB reads (RRU)", rru * p.DynamoRRU, fixedRRU * p.DynamoRRU, "on-demand"},
		{"DynamoDB writes (WRU)", wru * p.DynamoWRU, 0, "on-demand, index writes included"},
		{"SES e-mail", emails * p.SESPerEmail, 0, ""},
		{"SNS SMS (US)", sms * p.SMSPerMessage, 0, "expiry reminders and verification codes"},
		{"Secrets Manager", invocations * in.ColdShare * p.SecretPerCall, in.Secrets * p.SecretPerMonth, "one read per cold start"},
		{"CloudWatch Logs ingestion", logGB * p.LogsPerGB, fixedLogGB * p.LogsPerGB, "function and API access logs"},
		{"CloudWatch alarms", 0, in.Alarms * p.AlarmPerMonth, ""},
	}
	for _, it := range rep.Items {
		rep.TotalVariable += it.Variable
		rep.TotalFixed += it.Fixed
	}
	if in.MAU > 0 {
		rep.VariablePer1000 = rep.TotalVariable / in.MAU * 1000
		rep.TotalPer1000 = (rep.TotalVariable + rep.TotalFixed) / in.MAU * 1000
	}
	rep.CognitoPer1000 = p.CognitoEssentialMAU * 1000
	rep.MonthlyInvocations, rep.MonthlyAPIRequests = invocations, apiReqs
	rep.MonthlyRRU, rep.MonthlyWRU, rep.MonthlyEmails, rep.MonthSMS = rru, wru, emails, sms
	return rep
}

// roundTripRow is a row of the round-trip table: | `flow` | 5 | ... |
var roundTripRow = regexp.MustCompile("^\\| `([a-z0-9-]+)` \\| ([0-9]+) \\|")

// ParseRoundTrips reads the "Round trips per flow (enforced)" table of
// docs/data-model.md: each flow's minimum DynamoDB calls, and the flows in
// the table's order.
func ParseRoundTrips(r io.Reader) (map[string]int, []string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	in := false
	out := map[string]int{}
	var order []string
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			if in {
				break
			}
			in = strings.HasPrefix(line, "## Round trips per flow (enforced)")
			continue
		}
		if !in {
			continue
		}
		m := roundTripRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			return nil, nil, fmt.Errorf("flow %s: %w", m[1], err)
		}
		if _, dup := out[m[1]]; dup {
			return nil, nil, fmt.Errorf("flow %s listed twice", m[1])
		}
		out[m[1]] = n
		order = append(order, m[1])
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if len(out) == 0 {
		return nil, nil, errors.New(`no "Round trips per flow (enforced)" table found`)
	}
	return out, order, nil
}

// signInRate matches SignInThroughput's per-core figure in `go test -bench`
// output.
var signInRate = regexp.MustCompile(`^BenchmarkService_SignInThroughput/(right|wrong)\S*\s.*?([0-9.]+) signins/s/core`)

// ParseBench returns the median CPU milliseconds per sign-in, right and
// wrong password, from SignInThroughput lines of `go test -bench` output
// (1000 / signins/s/core).
func ParseBench(r io.Reader) (right, wrong float64, err error) {
	rates := map[string][]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := signInRate.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil || v <= 0 {
			return 0, 0, fmt.Errorf("bad rate %q", m[2])
		}
		rates[m[1]] = append(rates[m[1]], v)
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if len(rates["right"]) == 0 || len(rates["wrong"]) == 0 {
		return 0, 0, errors.New("no SignInThroughput right and wrong signins/s/core lines")
	}
	return 1000 / median(rates["right"]), 1000 / median(rates["wrong"]), nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// parsePairs parses "a=1,b=2".
func parsePairs(s string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, kv := range strings.Split(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || f < 0 {
			return nil, fmt.Errorf("%q: want name=number", kv)
		}
		out[k] = f
	}
	return out, nil
}

// defaultMemory is the stack's memory per function.
func defaultMemory() map[string]float64 {
	out := map[string]float64{}
	for _, f := range catalog.Functions() {
		out[f.Name] = defaultMemoryMB
		if f.Hashes {
			out[f.Name] = hashingMemoryMB
		}
	}
	return out
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "costmodel:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("costmodel", flag.ContinueOnError)
	dataModel := fs.String("data-model", "docs/data-model.md", "the data model, whose round-trip table is read")
	mau := fs.Float64("mau", 10000, "monthly active users")
	tenants := fs.Float64("tenants", 10, "tenants (the notifier reads each one's expiry index daily)")
	mix := fs.String("mix", defaultMix, "flows per MAU and month, name=count,...")
	bench := fs.String("bench", "", "`go test -bench SignInThroughput` output to take sign-in CPU times from (default: docs/performance.md's)")
	memory := fs.String("memory", "", "memory per function, name=MB,... (default: the stack's)")
	durations := fs.String("cpu", "", "JSON object of CPU milliseconds at one vCPU per flow, overriding the defaults")
	rtt := fs.Float64("rtt-ms", 6, "DynamoDB round trip, ms (in region)")
	sesMS := fs.Float64("ses-ms", 40, "one SES SendEmail, ms")
	snsMS := fs.Float64("sns-ms", 40, "one SNS Publish, ms")
	cold := fs.Float64("cold-share", 0.02, "share of invocations that are cold starts (one secret read each)")
	logBytes := fs.Float64("log-bytes", 700, "log bytes per invocation (request line and Lambda's START/END/REPORT)")
	accessBytes := fs.Float64("access-log-bytes", 450, "API access log bytes per request")
	alarms := fs.Float64("alarms", 40, "CloudWatch alarms in the stack")
	replica := fs.Bool("secret-replica", false, "the master key is replicated to a second region (billed as a second secret)")
	smsReminders := fs.Bool("sms-reminders", true, "expiry reminders also go by SMS (the notifier sends both when the user has a mobile)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*dataModel)
	if err != nil {
		return err
	}
	rt, _, err := ParseRoundTrips(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *dataModel, err)
	}
	in := Inputs{
		MAU: *mau, Tenants: *tenants, RoundTrips: rt, Flows: flowModels(), MemoryMB: defaultMemory(),
		RTTms: *rtt, SESms: *sesMS, SNSms: *snsMS, ColdShare: *cold, LogBytes: *logBytes, AccessLogBytes: *accessBytes,
		NotifierRuns: 24 * 30, Alarms: *alarms, Secrets: 1, Prices: prices,
	}
	if *replica {
		in.Secrets = 2
	}
	if in.Mix, err = parsePairs(*mix); err != nil {
		return fmt.Errorf("-mix: %w", err)
	}
	if *memory != "" {
		m, err := parsePairs(*memory)
		if err != nil {
			return fmt.Errorf("-memory: %w", err)
		}
		for k, v := range m {
			in.MemoryMB[k] = v
		}
	}
	if *bench != "" {
		b, err := os.Open(*bench)
		if err != nil {
			return err
		}
		right, wrong, err := ParseBench(b)
		b.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *bench, err)
		}
		setCPU(in.Flows, "signin-password", right, *bench)
		setCPU(in.Flows, "signin-wrong-password", wrong, *bench)
	}
	if *durations != "" {
		var m map[string]float64
		if err := json.Unmarshal([]byte(*durations), &m); err != nil {
			return fmt.Errorf("-cpu: %w", err)
		}
		for k, v := range m {
			if _, ok := in.Flows[k]; !ok {
				return fmt.Errorf("-cpu: flow %s is not modelled", k)
			}
			setCPU(in.Flows, k, v, "-cpu")
		}
	}
	if !*smsReminders {
		n := in.Flows["notifier-notice"]
		n.SMS = 0
		in.Flows["notifier-notice"] = n
	}
	if err := in.Validate(); err != nil {
		return err
	}
	printReport(stdout, in, Compute(in))
	return nil
}

func setCPU(flows map[string]flowModel, name string, ms float64, from string) {
	f := flows[name]
	f.CPUms, f.CPUFrom = ms, from
	flows[name] = f
}

func printReport(w io.Writer, in Inputs, rep Report) {
	fmt.Fprintf(w, "Latchkey cost model: %.0f MAU, %.0f tenants, us-east-1 list prices as of %s\n\n", in.MAU, in.Tenants, PricesAsOf)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "flow\tper MAU·month\tfunction\tMB\tCPU ms @1 vCPU\tbilled ms\tround trips\tRRU\tWRU\temails\tSMS\t")
	names := make([]string, 0, len(in.Mix))
	for n := range in.Mix {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := in.Flows[n]
		var ru, wu float64
		for _, c := range append(f.Calls, f.Extra) {
			ru += c.rru
			wu += c.wru
		}
		fmt.Fprintf(tw, "%s\t%g\t%s\t%.0f\t%.1f\t%.0f\t%d\t%g\t%g\t%g\t%g\t\n", n, in.Mix[n], f.Function, in.MemoryMB[f.Function],
			f.CPUms, rep.FlowDurationsMS[n], len(f.Calls), ru, wu, f.Emails, f.SMS)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "item\tper 1 000 MAU\tfixed per month\t")
	per := func(v float64) float64 { return v / in.MAU * 1000 }
	for _, it := range rep.Items {
		fmt.Fprintf(tw, "%s\t$%.4f\t$%.4f\t\n", it.Name, per(it.Variable), it.Fixed)
	}
	fmt.Fprintf(tw, "total\t$%.4f\t$%.4f\t\n", rep.VariablePer1000, rep.TotalFixed)
	tw.Flush()
	fmt.Fprintf(w, "\ntotal per 1 000 MAU at %.0f MAU (fixed spread over them): $%.4f\n", in.MAU, rep.TotalPer1000)
	fmt.Fprintf(w, "Amazon Cognito Essentials: $%.2f per 1 000 MAU ($%.3f per MAU, free tier left out; its own e-mail and SMS are billed on top)\n",
		rep.CognitoPer1000, in.Prices.CognitoEssentialMAU)
}

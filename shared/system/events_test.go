package system_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/expiry"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/system"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	// eventsDir is the repository's events/, relative to this package.
	eventsDir = "../../events"
	// scheduledEvent is the EventBridge fixture of the scheduled reminder
	// function, which has no route: it is parsed, not invoked.
	scheduledEvent = "scheduled.daily.json"
	// streamEvent is the table-stream fixture of the lock notifier, which
	// has no route either: it is parsed and handled, not routed.
	streamEvent = "lock-notifier.stream.json"
	// deliveryEvent is the SES bounce fixture of the delivery-events
	// function, an EventBridge event with no route either.
	deliveryEvent = "delivery-events.bounce.json"
	// samplePassword is admin's password in sessions.sign-in.json and the
	// current password in password-reset.change-own.json; the fixture gives
	// admin this password.
	samplePassword = "Correct-horse-battery-9"
	// samplePIN is admin's user PIN in sessions.sign-in-pin.json and
	// pin-verification.user-pin-set.json; the fixture gives admin this PIN.
	samplePIN = "482917"
	sender    = "no-reply@latchkey.test"
)

// outcome is what a sample event must answer.
type outcome struct {
	status int
	// code is the error code of an error answer.
	code string
	// keys are the top-level fields of the JSON body, exactly (none for 204).
	keys []string
	// fields are exact values of top-level fields.
	fields map[string]any
}

// expected holds the answer of every file in events/ (but the scheduled
// one). Each event runs against a fresh table holding tenant "demo" whose
// admin "admin" has completed the first sign-in with samplePassword.
var expected = map[string]outcome{
	// The sample's password is admin's: a token.
	"sessions.sign-in.json": {status: http.StatusCreated, keys: []string{"expiresAt", "token", "user"}},
	// The tenant allows sign-in with a PIN and the sample's PIN is admin's: a token.
	"sessions.sign-in-pin.json": {status: http.StatusCreated, keys: []string{"expiresAt", "token", "user"}},
	// The session in the file is made up: a real one comes from a sign-in
	// with a temporary password and lives 15 minutes, so no file can hold
	// one. The request runs the whole path (decoding, tenant, challenge
	// lookup by MAC) and gets the documented answer for an unknown session.
	"sessions.new-password.json": {status: http.StatusUnauthorized, code: latchkey.EInvalidSession, keys: []string{"error"}},
	// Always 202 {}; admin has an e-mail address, so a temporary password is sent.
	"password-reset.forgot.json": {status: http.StatusAccepted, keys: []string{}},
	// admin's current password is the sample's, and the new one meets the policy.
	"password-reset.change-own.json": {status: http.StatusNoContent},
	// admin resets their own password (admin holds every staff role); the
	// answer names admin@demo.example, masked.
	"password-reset.reset.json": {status: http.StatusAccepted, keys: []string{"sentTo"}, fields: map[string]any{"sentTo": "a***@d***.example"}},
	"password-reset.lock.json":  {status: http.StatusNoContent},
	// Unlocking a user who is not locked succeeds.
	"password-reset.unlock.json": {status: http.StatusNoContent},
	// admin already holds a PIN code (the fixture gave one): a new one replaces it.
	"pin-signup.generate.json": {status: http.StatusCreated, keys: []string{"pinCode"}},
	"pin-signup.revoke.json":   {status: http.StatusNoContent},
	// admin's current code goes to the other address in the body, masked in the answer.
	"pin-signup.email.json": {status: http.StatusAccepted, keys: []string{"sentTo"}, fields: map[string]any{"sentTo": "r***@d***.example"}},
	// The tenant allows web signup, but the code in the file is made up (real
	// ones are random and shown once): the documented answer for a wrong code.
	"pin-signup.signup.json": {status: http.StatusUnauthorized, code: latchkey.EInvalidPINCode, keys: []string{"error"}},
	// The fixture holds account acct-1001: the upsert replaces its name and
	// contacts; the reads find it, with no PIN set yet.
	"accounts.upsert.json":      {status: http.StatusOK, keys: accountKeys, fields: map[string]any{"id": "acct-1001", "name": "Demo Holdings Ltd"}},
	"pin-verification.get.json": {status: http.StatusOK, keys: accountKeys, fields: map[string]any{"id": "acct-1001"}},
	"pin-verification.security-status.json": {status: http.StatusOK, keys: []string{"locked", "pinSet", "verified"},
		fields: map[string]any{"pinSet": false, "verified": false, "locked": false}},
	// The tenant has the security PIN on and acct-1001's owner an e-mail
	// address (no mobile): a set-up link goes by e-mail only.
	"pin-verification.link-send.json": {status: http.StatusAccepted, keys: []string{"expiresAt", "purpose", "sentTo"},
		fields: map[string]any{"purpose": "setup"}},
	// Link tokens are random and sent only to the contact, so the token in
	// these files is made up: the documented answer for an unknown link.
	"pin-verification.link-get.json": {status: http.StatusGone, code: latchkey.EGone, keys: []string{"error"}},
	"pin-verification.link-set.json": {status: http.StatusGone, code: latchkey.EGone, keys: []string{"error"}},
	// admin sets their own user PIN (an admin acts on admins).
	"pin-verification.user-pin-set.json": {status: http.StatusNoContent},
	// admin's current password is the sample's, and the new PIN is not trivial.
	"pin-verification.me-pin.json": {status: http.StatusNoContent},
	// acct-1001 has no security PIN yet: the documented answer to verifying one.
	"pin-verification.verify.json": {status: http.StatusConflict, code: latchkey.EPINNotSet, keys: []string{"error"}},
	// The owner of acct-1001 has an e-mail address: the code goes by e-mail.
	"pin-verification.code-send.json": {status: http.StatusAccepted, keys: []string{"expiresAt", "sentTo"}},
	// Codes are random and reach only the contact, and none was sent in the
	// event's fresh table: the documented answer when no code is live.
	"pin-verification.code-verify.json": {status: http.StatusGone, code: latchkey.ECodeGone, keys: []string{"error"}},
	// The two users of the sample are new to demo: both created.
	"users.import.json": {status: http.StatusOK, keys: []string{"created", "refused", "results"},
		fields: map[string]any{"created": float64(2), "refused": float64(0)}},
	// admin has signed in, so is accessed_self_serve: a page of one.
	"admin.users-list.json": {status: http.StatusOK, keys: []string{"users"}},
	// demo has the self-serve override on (the default): admin switched on.
	"admin.self-serve.json": {status: http.StatusOK, keys: []string{"refused", "results", "updated"},
		fields: map[string]any{"updated": float64(1), "refused": float64(0)}},
	// admin holds a PIN code and a user PIN set by an admin, has an e-mail
	// address and no mobile; the PATCH adds the mobile (in E.164) and an
	// expiry day.
	"admin.user-get.json": {status: http.StatusOK, keys: adminViewKeys,
		fields: map[string]any{"username": "admin", "registrationStatus": "accessed_self_serve", "selfServe": false, "locked": false}},
	"users.patch.json": {status: http.StatusOK, keys: slices.Sorted(slices.Values(append([]string{"mobile", "passwordExpiresOn"}, adminViewKeys...))),
		fields: map[string]any{"mobile": "+447911123456", "passwordExpiresOn": "2027-01-31"}},
	// No expiry notice was sent to admin in the event's fresh table: an
	// empty list (TestDeps_InvokeScheduled shows one with notices).
	"admin.user-notifications.json": {status: http.StatusOK, keys: []string{"notifications"}},
	// admin has an e-mail address: the welcome goes there, masked in the answer.
	"admin.welcome-send.json": {status: http.StatusAccepted, keys: []string{"sentTo"}, fields: map[string]any{"sentTo": "a***@d***.example"}},
	// Welcome tokens are random and reach only the user, so the token in
	// the file is made up: the documented answer for an unknown link.
	"users.welcome-confirm.json": {status: http.StatusGone, code: latchkey.EGone, keys: []string{"error"}},
	// Every setting, in the tenant's settings; the sample puts them all
	// back with a new policy minimum, time zone and temporary-password
	// lifetime, and the answer is what was stored.
	"admin.settings-get.json": {status: http.StatusOK, keys: settingsKeys},
	"admin.settings-put.json": {status: http.StatusOK, keys: settingsKeys,
		fields: map[string]any{"tempPasswordHours": float64(24), "timeZone": "Europe/London"}},
	// demo has no template of its own: GET answers the default; the PUT
	// stores one; the preview renders the draft in the body with sample
	// values; DELETE returns to the default (also when there was none).
	"admin.template-get.json": {status: http.StatusOK, keys: templateKeys,
		fields: map[string]any{"name": "PASSWORD_EMAIL_CHANGE", "isDefault": true}},
	"admin.template-put.json": {status: http.StatusOK, keys: templateKeys,
		fields: map[string]any{"name": "PASSWORD_EMAIL_CHANGE", "isDefault": false}},
	"admin.template-preview.json": {status: http.StatusOK, keys: []string{"html", "sms", "subject", "text"},
		fields: map[string]any{"subject": "Your Demo PIN code", "text": "Your PIN code: K7QM-R2XW-9HTC"}},
	"admin.template-delete.json": {status: http.StatusNoContent},
	// The fixture's set-up wrote more than two audit events since
	// 2026-11-01: a page of two, and a cursor to the next.
	"admin.audit-page.json": {status: http.StatusOK, keys: []string{"events", "nextCursor"}},
}

// settingsKeys are the fields of the tenant settings in an answer.
var settingsKeys = []string{
	"lockoutMinutes", "lockoutThreshold", "passwordPolicy", "pinLinkHours", "pinSignIn", "pinSignup",
	"reminderDays", "resetByEmail", "resetRequestsPerHour", "securityPin", "selfServe", "sendHour",
	"senderEmail", "tempPasswordHours", "timeZone", "usernameInResetEmail", "verificationMinutes",
}

// templateKeys are the fields of a template in an answer.
var templateKeys = []string{"fields", "html", "isDefault", "name", "requiredFields", "sms", "subject", "text"}

// adminViewKeys are the fields of the demo admin's user view.
var adminViewKeys = []string{"email", "id", "locked", "pinCodeUser", "pinSet", "pinSetByAdmin", "registrationStatus", "roles", "selfServe", "username"}

// accountKeys are the fields of an account in an answer.
var accountKeys = []string{"contacts", "createdAt", "id", "name", "securityStatus", "updatedAt"}

// TestDeps_InvokeDeliveryEvent checks the delivery-events fixture: a
// permanent bounce of a notice e-mail from SES (its tags name a notice of
// tenant demo), which the handler parses and takes; there is no such
// notice here, so nothing changes.
func TestDeps_InvokeDeliveryEvent(t *testing.T) {
	raw := readEvent(t, deliveryEvent)
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	var detail expiry.SESEvent
	if err := json.Unmarshal(ev.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	if ev.Source != "aws.ses" || ev.DetailType != expiry.DetailBounced || detail.Bounce == nil || detail.Bounce.BounceType != "Permanent" ||
		len(detail.Mail.Tags[expiry.TagNotice]) != 1 || detail.Mail.MessageID == "" {
		t.Fatalf("got %s %s %+v, want a tagged permanent bounce from aws.ses", ev.Source, ev.DetailType, detail)
	}
	d := testenv.NewDeps(t, time.Now)
	rep, err := d.InvokeDeliveryEvent(context.Background(), raw)
	if err != nil || rep.Updated || rep.Marked {
		t.Errorf("handle: got %+v, %v, want nothing changed and nil", rep, err)
	}
}

// sampleEvents returns the names of the payload-2.0 files in events/.
func sampleEvents(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		if name := filepath.Base(p); name != scheduledEvent && name != streamEvent && name != deliveryEvent {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		t.Fatalf("got no events in %s, want one per route", eventsDir)
	}
	return out
}

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(eventsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// routeOf returns the route of a sample event, by its routeKey.
func routeOf(t *testing.T, raw []byte) routes.Route {
	t.Helper()
	var head struct {
		RouteKey string `json:"routeKey"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		t.Fatalf("parse: %v", err)
	}
	r, ok := routes.ByKey(catalog.Routes(), head.RouteKey)
	if !ok {
		t.Fatalf("routeKey %q: got no route, want a key of the route table", head.RouteKey)
	}
	return r
}

// newDemo returns dependencies on a fresh table holding tenant "demo" whose
// admin "admin" (admin@demo.example) has set samplePassword, and account
// "acct-1001" for the security-PIN events.
func newDemo(t *testing.T) *system.Deps {
	t.Helper()
	ctx := context.Background()
	clock := testclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	d := testenv.NewDeps(t, clock.Now)
	d.Passwords.ResetFloor = -1
	_, _, temp, err := d.Tenancy.CreateTenant(ctx, "demo", "Demo", "admin", "admin@demo.example")
	if err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	testenv.Remember(temp, samplePassword)
	res, err := d.Passwords.SignIn(ctx, "demo", "admin", temp)
	if err != nil {
		t.Fatalf("first sign-in: %v", err)
	}
	if _, err := d.Passwords.CompleteNewPassword(ctx, "demo", res.Session, samplePassword); err != nil {
		t.Fatalf("set admin's password: %v", err)
	}
	// PIN-code signup from the web pages, the security PIN and sign-in with
	// a user PIN on, and admin holds a PIN code and has a user PIN.
	tn, err := d.Store.GetTenant(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	tn.Settings.PINSignup = latchkey.PINSignupWeb
	tn.Settings.SecurityPIN = true
	tn.Settings.PINSignIn = true
	if err := d.Store.PutTenantSettings(ctx, "demo", tn.Settings); err != nil {
		t.Fatal(err)
	}
	admin, err := d.Store.GetUserByUsername(ctx, "demo", "admin")
	if err != nil {
		t.Fatal(err)
	}
	code, err := d.PINSignup.Generate(ctx, "demo", admin.ID, admin.ID)
	if err != nil {
		t.Fatalf("give admin a PIN code: %v", err)
	}
	testenv.Remember(code)
	if err := d.UserPIN.Set(ctx, "demo", admin, admin.ID, samplePIN); err != nil {
		t.Fatalf("give admin a user PIN: %v", err)
	}
	testenv.Remember(samplePIN, "739105") // and the new PIN of pin-verification.me-pin.json
	// An account for the security-PIN events.
	if _, err := d.PINVerify.Upsert(ctx, "demo", admin.ID, "acct-1001", pinverify.AccountInput{
		Name:     "Demo Holdings",
		Contacts: []latchkey.Contact{{ID: "c-owner", Name: "Jane Doe", Role: latchkey.ContactOwner, Email: "jane@demo.example"}},
	}); err != nil {
		t.Fatalf("create account: %v", err)
	}
	return d
}

func TestDeps_Invoke(t *testing.T) {
	names := sampleEvents(t)
	// route key -> its files: at least one per route, and more where a
	// route takes bodies of different shapes (sign-in with a password, and
	// with a PIN).
	covered := map[string][]string{}
	for _, name := range names {
		r := routeOf(t, readEvent(t, name))
		covered[r.Key()] = append(covered[r.Key()], name)
	}

	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			want, ok := expected[name]
			if !ok {
				t.Fatalf("got no expected status for %s, want one in the expected table", name)
			}
			raw := readEvent(t, name)
			r := routeOf(t, raw)
			if !strings.HasPrefix(name, r.Function+".") {
				t.Errorf("file name: got %s, want %s.<short-name>.json (the route's function)", name, r.Function)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}

			d := newDemo(t)
			res, err := d.Invoke(context.Background(), r.Function, raw)
			if err != nil {
				t.Fatalf("invoke %s: %v", r.Function, err)
			}
			if res.StatusCode != want.status {
				t.Errorf("status: got %d, want %d (body %s)", res.StatusCode, want.status, res.Body)
			}
			if got := res.Headers["X-Request-Id"]; got != ev.RequestContext.RequestID {
				t.Errorf("X-Request-Id: got %q, want the event's request id %q", got, ev.RequestContext.RequestID)
			}
			if res.StatusCode == http.StatusNoContent {
				if res.Body != "" {
					t.Errorf("body of 204: got %q, want none", res.Body)
				}
				return
			}
			if got := res.Headers["Content-Type"]; got != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", got)
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
				t.Fatalf("body: got %q, want a JSON object (%v)", res.Body, err)
			}
			keys := make([]string, 0, len(body))
			for k := range body {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if !slices.Equal(keys, want.keys) {
				t.Errorf("body fields: got %v, want %v (body %s)", keys, want.keys, res.Body)
			}
			for k, v := range want.fields {
				if body[k] != v {
					t.Errorf("%s: got %v, want %v", k, body[k], v)
				}
			}
			if want.code != "" {
				e, _ := body["error"].(map[string]any)
				if e["code"] != want.code {
					t.Errorf("error code: got %v, want %s", e["code"], want.code)
				}
			}
		})
	}

	t.Run("every route has an event", func(t *testing.T) {
		for _, r := range catalog.Routes() {
			if _, ok := covered[r.Key()]; !ok {
				t.Errorf("%s: got no file in events/, want %s.<short-name>.json", r.Key(), r.Function)
			}
		}
	})
	t.Run("every expectation has a file", func(t *testing.T) {
		for name := range expected {
			if !slices.Contains(names, name) {
				t.Errorf("expected table names %s: got no such file in events/", name)
			}
		}
	})
}

// placeholder matches the placeholders Deps.PrepareEvent replaces.
var placeholder = regexp.MustCompile(`\$\{(TOKEN|USERID):[a-z0-9-]+/[^}]+\}`)

// TestDeps_PrepareEvent checks that each sample is shaped like the events
// API Gateway sends (payload 2.0, lowercase headers) and that the
// placeholders are replaced.
func TestDeps_PrepareEvent(t *testing.T) {
	d := newDemo(t)
	admin, err := d.Store.GetUserByUsername(context.Background(), "demo", "admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sampleEvents(t) {
		t.Run(name, func(t *testing.T) {
			raw := readEvent(t, name)
			r := routeOf(t, raw)
			ev, err := d.PrepareEvent(context.Background(), raw)
			if err != nil {
				t.Fatalf("prepare: %v", err)
			}
			if out, _ := json.Marshal(ev); placeholder.Match(out) {
				t.Errorf("got %s left after PrepareEvent, want every placeholder replaced", placeholder.Find(out))
			}
			ctx := ev.RequestContext
			for _, c := range []struct{ what, got, want string }{
				{"version", ev.Version, "2.0"},
				{"requestContext.routeKey", ctx.RouteKey, r.Key()},
				{"requestContext.stage", ctx.Stage, "$default"},
				{"requestContext.http.method", ctx.HTTP.Method, r.Method},
				{"requestContext.http.path", ctx.HTTP.Path, ev.RawPath},
				{"pathParameters.tenant", ev.PathParameters["tenant"], "demo"},
			} {
				if c.got != c.want {
					t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
				}
			}
			if ctx.RequestID == "" || ctx.HTTP.SourceIP == "" {
				t.Errorf("requestId %q, sourceIp %q: want both set", ctx.RequestID, ctx.HTTP.SourceIP)
			}
			got, params, ok, methodOK := routes.Match(catalog.Routes(), ctx.HTTP.Method, ev.RawPath)
			if !ok || !methodOK || got.Key() != r.Key() {
				t.Errorf("rawPath %s: got route %q, want %q", ev.RawPath, got.Key(), r.Key())
			}
			if !mapsEqual(params, ev.PathParameters) {
				t.Errorf("pathParameters: got %v, want %v (from rawPath)", ev.PathParameters, params)
			}
			if id, ok := ev.PathParameters["userId"]; ok && id != admin.ID {
				t.Errorf("userId: got %q, want admin's id %q", id, admin.ID)
			}
			for k := range ev.Headers {
				if k != strings.ToLower(k) {
					t.Errorf("header %q: want lowercase names, as API Gateway sends them", k)
				}
			}
			if ev.Body != "" {
				if ev.Headers["content-type"] != "application/json" {
					t.Errorf("content-type: got %q, want application/json", ev.Headers["content-type"])
				}
				if !json.Valid([]byte(ev.Body)) {
					t.Errorf("body: got %q, want a JSON string", ev.Body)
				}
			}
			bearer, hasAuth := ev.Headers["authorization"]
			switch {
			case r.Public() && hasAuth:
				t.Errorf("authorization on a public route: got %q, want none", bearer)
			case !r.Public() && !strings.Contains(string(raw), `"authorization": "Bearer ${TOKEN:demo/admin}"`):
				t.Errorf("authorization: want \"Bearer ${TOKEN:demo/admin}\" in the file")
			case !r.Public():
				if _, err := d.Tokens.Verify(strings.TrimPrefix(bearer, "Bearer ")); err != nil {
					t.Errorf("token: got %v, want a valid token of admin", err)
				}
			}
		})
	}
	t.Run("unknown user", func(t *testing.T) {
		_, err := d.PrepareEvent(context.Background(), []byte(`{"rawPath":"/v1/tenants/demo/users/${USERID:demo/nobody}/lock"}`))
		if latchkey.ErrorCode(err) != latchkey.ENotFound {
			t.Errorf("got %v, want a %s error naming the placeholder", err, latchkey.ENotFound)
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestEventBridgeEvent_Scheduled checks the fixture of the scheduled
// reminder function: an EventBridge "Scheduled Event" as Lambda receives it.
func TestEventBridgeEvent_Scheduled(t *testing.T) {
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(readEvent(t, scheduledEvent), &ev); err != nil {
		t.Fatalf("parse: %v", err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"version", ev.Version, "0"},
		{"detail-type", ev.DetailType, "Scheduled Event"},
		{"source", ev.Source, "aws.events"},
		{"detail", strings.TrimSpace(string(ev.Detail)), "{}"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
	if !regexp.MustCompile(`^\d{12}$`).MatchString(ev.AccountID) || ev.Region == "" || ev.ID == "" {
		t.Errorf("account %q, region %q, id %q: want a 12-digit account, a region and an id", ev.AccountID, ev.Region, ev.ID)
	}
	if ev.Time.IsZero() || ev.Time.Location() != time.UTC {
		t.Errorf("time: got %v, want a UTC time", ev.Time)
	}
	rule := "arn:aws:events:" + ev.Region + ":" + ev.AccountID + ":rule/"
	if len(ev.Resources) != 1 || !strings.HasPrefix(ev.Resources[0], rule) {
		t.Errorf("resources: got %v, want the one rule ARN %s<name>", ev.Resources, rule)
	}
}

// makeNotifiable gives the demo admin a mobile, self-serve on and a
// password expiring on expires (YYYY-MM-DD).
func makeNotifiable(t *testing.T, d *system.Deps, expires string) {
	t.Helper()
	ctx := context.Background()
	admin, err := d.Store.GetUserByUsername(ctx, "demo", "admin")
	if err != nil {
		t.Fatal(err)
	}
	next := *admin
	next.Mobile, next.PasswordExpiresOn = "+447911123456", expires
	ev := latchkey.AuditEvent{TenantID: "demo", Actor: "test", Subject: admin.ID, Action: latchkey.ActionUserUpdate, Result: latchkey.ResultSuccess}
	if err := d.Store.UpdateUser(ctx, admin, next, ev); err != nil {
		t.Fatal(err)
	}
	ev.Action = latchkey.ActionSelfServe
	if err := d.Store.SetSelfServe(ctx, "demo", admin.ID, true, ev); err != nil {
		t.Fatal(err)
	}
}

// TestDeps_InvokeScheduled sends the scheduled fixture through the expiry
// notifier: at the event's time (09:00 UTC, demo's send hour) admin, whose
// password expires in 3 days, gets a reminder; the same event again sends
// nothing; with the clock override on the expiry day, the expiry-day
// notice; and admin.user-notifications.json then lists both.
func TestDeps_InvokeScheduled(t *testing.T) {
	ctx := context.Background()
	d := newDemo(t)
	makeNotifiable(t, d, "2026-11-05")
	raw := readEvent(t, scheduledEvent)
	for _, c := range []struct {
		what string
		at   time.Time
		sent int
	}{
		{"the event's time", time.Time{}, 1},
		{"the same event again", time.Time{}, 0},
		{"the expiry day, by the clock override", time.Date(2026, 11, 5, 9, 0, 0, 0, time.UTC), 1},
		{"the expiry day, an hour later", time.Date(2026, 11, 5, 10, 0, 0, 0, time.UTC), 0},
	} {
		// The demo deployment sends no SMS (no outbox): the e-mail is
		// enough for a notice to count as sent.
		rep, _ := d.InvokeScheduled(ctx, raw, c.at)
		if rep.Sent != c.sent {
			t.Errorf("%s: got %+v, want %d sent", c.what, rep, c.sent)
		}
	}
	res, err := d.Invoke(ctx, "admin", readEvent(t, "admin.user-notifications.json"))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Notifications []struct{ Date, Kind string } `json:"notifications"`
	}
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("notifications: got %d %s (%v), want 200", res.StatusCode, res.Body, err)
	}
	want := "[{2026-11-05 PASSWORD_EXPIRES_TODAY} {2026-11-02 PASSWORD_EXPIRY_REMINDER}]"
	if got := fmt.Sprint(body.Notifications); got != want {
		t.Errorf("notifications: got %s, want %s", got, want)
	}
}

// TestDeps_InvokeStream checks the lock notifier's fixture, one insert of
// a user.lock audit item of admin, which the filters let through: sent
// through the notifier (Deps.InvokeStream, as make invoke does), it sends
// admin one ACCOUNT_LOCKED notice once admin is notifiable, and the same
// batch again (Lambda's retry) sends nothing more.
func TestDeps_InvokeStream(t *testing.T) {
	raw := readEvent(t, streamEvent)
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Records) != 1 || ev.Records[0].EventName != "INSERT" || ev.Records[0].Change.NewImage["Action"].String() != string(latchkey.ActionUserLock) {
		t.Fatalf("got %+v, want one insert of a user.lock audit item", ev.Records)
	}
	ctx := context.Background()
	d := newDemo(t)
	if rep, err := d.InvokeStream(ctx, raw); err != nil || rep != (expiry.Report{Skipped: 1}) {
		t.Errorf("admin without a mobile: got %+v, %v, want nothing sent, 1 skipped", rep, err)
	}
	makeNotifiable(t, d, "2026-12-31")
	if rep, err := d.InvokeStream(ctx, raw); err != nil || rep.Sent != 1 {
		t.Errorf("admin notifiable: got %+v, %v, want 1 sent", rep, err)
	}
	if rep, err := d.InvokeStream(ctx, raw); err != nil || rep.Sent != 0 || rep.Duplicate != 1 {
		t.Errorf("the same batch again: got %+v, %v, want 1 duplicate", rep, err)
	}
}

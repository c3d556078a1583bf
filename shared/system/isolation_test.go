package system_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/latchkey/latchkey/shared/catalog"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/internal/testclock"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/pinverify"
	"github.com/latchkey/latchkey/shared/routes"
	"github.com/latchkey/latchkey/shared/system"
	"github.com/latchkey/latchkey/shared/tenancy"
	"github.com/latchkey/latchkey/shared/token"
)

// The tenant-isolation matrix (issue 12, item 3): every route that needs a
// token is called with six kinds of token that must not get in, each on a
// path naming a real object of tenant "home".

// Fillers of path parameters: what a fixture may name for a {param}.
const (
	fillTarget   = "the target user's id"
	fillAccount  = "the account created in setup"
	fillChange   = "template PASSWORD_EMAIL_CHANGE"
	fillPINCode  = "template PINCODE_EMAIL_BODY"
	isoAccountID = "acct-iso-1"
)

// isoFixture says how to call one route as a request that would succeed: how
// to fill each path parameter, the body and query, and what the home admin
// gets for it (the control, sent after the refusals: it proves the request
// reached a real object and would have acted).
type isoFixture struct {
	params map[string]string
	body   string
	query  map[string]string
	// before readies the object for the control (a PIN code to e-mail).
	before func(t *testing.T, e *isoEnv)
	// after undoes what the control changed that a later route needs.
	after func(t *testing.T, e *isoEnv)
	ok    int
}

// isoFixtures holds one entry per route that needs a token, by route key.
var isoFixtures = map[string]isoFixture{
	"PUT /v1/tenants/{tenant}/me/password": {
		body: `{"currentPassword":"` + isoAdminPassword + `","newPassword":"` + isoAdminPassword2 + `"}`, ok: http.StatusNoContent,
		after: func(t *testing.T, e *isoEnv) { e.changePassword(t, "admin", isoAdminPassword2, isoAdminPassword) },
	},
	"POST /v1/tenants/{tenant}/users/{userId}/password-reset": {params: target, ok: http.StatusAccepted},
	"POST /v1/tenants/{tenant}/users/{userId}/lock":           {params: target, ok: http.StatusNoContent},
	"POST /v1/tenants/{tenant}/users/{userId}/unlock":         {params: target, ok: http.StatusNoContent},
	"POST /v1/tenants/{tenant}/users/{userId}/pin-code":       {params: target, ok: http.StatusCreated},
	"DELETE /v1/tenants/{tenant}/users/{userId}/pin-code":     {params: target, ok: http.StatusNoContent},
	"POST /v1/tenants/{tenant}/users/{userId}/pin-code/email": {params: target, body: `{}`, ok: http.StatusAccepted,
		before: func(t *testing.T, e *isoEnv) {
			code, err := e.d.PINSignup.Generate(context.Background(), isoHome, e.admin.ID, e.target.ID)
			if err != nil {
				t.Fatal(err)
			}
			testenv.Remember(code)
		}},
	"PUT /v1/tenants/{tenant}/accounts/{accountId}": {params: account, ok: http.StatusOK,
		body: `{"name":"Home Holdings Ltd","contacts":[{"id":"c-owner","name":"Jane Doe","role":"owner","email":"jane@home.example"}]}`},
	"GET /v1/tenants/{tenant}/accounts/{accountId}":                      {params: account, ok: http.StatusOK},
	"GET /v1/tenants/{tenant}/accounts/{accountId}/security-status":      {params: account, ok: http.StatusOK},
	"POST /v1/tenants/{tenant}/accounts/{accountId}/security-pin/links":  {params: account, body: `{"contactId":"c-owner"}`, ok: http.StatusAccepted},
	"POST /v1/tenants/{tenant}/accounts/{accountId}/security-pin/verify": {params: account, body: `{"pin":"482917"}`, ok: http.StatusConflict}, // pin_not_set: the handler ran
	"POST /v1/tenants/{tenant}/accounts/{accountId}/verification-codes":  {params: account, body: `{"contactId":"c-owner"}`, ok: http.StatusAccepted},
	"POST /v1/tenants/{tenant}/accounts/{accountId}/verification-codes/verify": {params: account, body: `{"code":"104729"}`, ok: http.StatusUnprocessableEntity, // a wrong code: the handler ran
		before: func(t *testing.T, e *isoEnv) {
			if _, err := e.d.PINVerify.SendCode(context.Background(), isoHome, e.admin.ID, isoAccountID, "c-owner"); err != nil {
				t.Fatal(err)
			}
		}},
	"PUT /v1/tenants/{tenant}/users/{userId}/pin": {params: target, body: `{"pin":"482917"}`, ok: http.StatusNoContent},
	"PUT /v1/tenants/{tenant}/me/pin":             {body: `{"currentPassword":"` + isoAdminPassword + `","newPin":"739105"}`, ok: http.StatusNoContent},
	"POST /v1/tenants/{tenant}/users": {ok: http.StatusOK,
		body: `{"users":[{"username":"nina","email":"nina@home.example","roles":["user"]}],"sendEmail":false}`},
	"GET /v1/tenants/{tenant}/users":                        {query: map[string]string{"limit": "50"}, ok: http.StatusOK},
	"POST /v1/tenants/{tenant}/users/self-serve":            {body: `{"userIds":["${target}"],"enabled":true}`, ok: http.StatusOK},
	"GET /v1/tenants/{tenant}/users/{userId}":               {params: target, ok: http.StatusOK},
	"PATCH /v1/tenants/{tenant}/users/{userId}":             {params: target, body: `{"passwordExpiresOn":"2030-01-31"}`, ok: http.StatusOK},
	"POST /v1/tenants/{tenant}/users/{userId}/welcome":      {params: target, ok: http.StatusAccepted},
	"GET /v1/tenants/{tenant}/settings":                     {ok: http.StatusOK},
	"PUT /v1/tenants/{tenant}/settings":                     {body: isoSettings, ok: http.StatusOK},
	"GET /v1/tenants/{tenant}/templates/{name}":             {params: change, ok: http.StatusOK},
	"PUT /v1/tenants/{tenant}/templates/{name}":             {params: change, body: isoTemplate, ok: http.StatusOK},
	"DELETE /v1/tenants/{tenant}/templates/{name}":          {params: change, ok: http.StatusNoContent},
	"POST /v1/tenants/{tenant}/templates/{name}/preview":    {params: pinCodeTemplate, body: isoPreview, ok: http.StatusOK},
	"GET /v1/tenants/{tenant}/audit":                        {query: map[string]string{"limit": "2"}, ok: http.StatusOK},
	"GET /v1/tenants/{tenant}/users/{userId}/notifications": {params: target, ok: http.StatusOK},
}

var (
	target          = map[string]string{"userId": fillTarget}
	account         = map[string]string{"accountId": fillAccount}
	change          = map[string]string{"name": fillChange}
	pinCodeTemplate = map[string]string{"name": fillPINCode}
)

const (
	isoHome           = "home"
	isoOther          = "other"
	isoAdminPassword  = "Correct-horse-battery-9"
	isoAdminPassword2 = "Staple-lantern-42"
	isoSettings       = `{"passwordPolicy":{"minLength":10,"maxLength":128,"requireLetter":true,"requireDigit":true,"refuseCommon":true,"refuseIdentity":true},` +
		`"tempPasswordHours":24,"lockoutThreshold":5,"lockoutMinutes":15,"resetByEmail":true,"usernameInResetEmail":false,"resetRequestsPerHour":3,` +
		`"pinSignup":"web","senderEmail":"","securityPin":true,"pinLinkHours":24,"verificationMinutes":60,"pinSignIn":true,"selfServe":true,` +
		`"reminderDays":10,"sendHour":9,"timeZone":"Europe/London"}`
	isoTemplate = `{"subject":"Your {{tenantName}} temporary password","text":"Your temporary password is {{temporaryPassword}}, valid until {{expiresAt}}.",` +
		`"html":"<p>{{temporaryPassword}} until {{expiresAt}}</p>","sms":""}`
	isoPreview = `{"subject":"Your {{tenantName}} PIN code","text":"Your PIN code: {{pinCode}}","html":"<p>{{pinCode}}</p>","sms":""}`
)

// refusal is the exact answer of one kind of bad token.
type refusal struct {
	status  int
	code    string
	message string
}

// The variants and the answer each gets, as observed: a change shows here.
var (
	refusedTenant  = refusal{http.StatusForbidden, latchkey.EForbidden, "The token is not valid for this tenant."}
	refusedRole    = refusal{http.StatusForbidden, latchkey.EForbidden, "Your role may not do this."}
	refusedExpired = refusal{http.StatusUnauthorized, latchkey.EUnauthorized, "The token has expired. Sign in again."}
	refusedInvalid = refusal{http.StatusUnauthorized, latchkey.EUnauthorized, "The token is not valid."}
	refusedStale   = refusal{http.StatusUnauthorized, latchkey.EUnauthorized, "The token is no longer valid. Sign in again."}
)

// isoVariants are the six variants of the matrix, in order.
var isoVariants = []string{"a other tenant", "b missing role", "c expired", "d other key", "e alg changed", "f before password change"}

// isoEnv is the matrix's world: tenant home with its admin, a keeper
// holding every role (the holder of the tokens of variants c to f), a
// target user and an account; tenant other with a user holding every role.
type isoEnv struct {
	d      *system.Deps
	clock  *testclock.Clock
	admin  *latchkey.User
	keeper *latchkey.User
	target *latchkey.User
	// outsider holds every role in tenant other.
	outsider *latchkey.User
	// lacking are home users by the roles they hold (see lackingUser).
	lacking map[string]*latchkey.User
	// keeperPasswords counts the keeper's password changes.
	keeperPasswords int
}

var allRoles = []latchkey.Role{latchkey.RoleAdmin, latchkey.RoleAgent, latchkey.RoleUser}

// newIsoEnv builds the matrix's world on a fresh table, every user past
// the first sign-in with a password of their own.
func newIsoEnv(t *testing.T) *isoEnv {
	t.Helper()
	ctx := context.Background()
	// Start at the real time: the clock only moves forward from it, so no
	// item's TTL falls in the real past of DynamoDB Local.
	clock := testclock.New(time.Now().UTC().Truncate(time.Second))
	d := testenv.NewDeps(t, clock.Now)
	d.Passwords.ResetFloor = -1
	e := &isoEnv{d: d, clock: clock, lacking: map[string]*latchkey.User{}}

	_, admin, temp, err := d.Tenancy.CreateTenant(ctx, isoHome, "Home", "admin", "admin@home.example")
	if err != nil {
		t.Fatal(err)
	}
	e.activate(t, isoHome, "admin", temp, isoAdminPassword)
	e.admin = admin
	tn, err := d.Tenancy.UpdateSettings(ctx, isoHome, "test", "securityPin=on", func(s *latchkey.Settings) {
		s.SecurityPIN, s.PINSignup = true, latchkey.PINSignupWeb
	})
	if err != nil {
		t.Fatal(err)
	}
	keeper, temp, err := d.Tenancy.CreateUser(ctx, tn, "test", tenancy.NewUser{Username: "keeper", Email: "keeper@home.example", Roles: allRoles})
	if err != nil {
		t.Fatal(err)
	}
	e.keeper = keeper
	e.activate(t, isoHome, "keeper", temp, e.keeperPassword())
	if e.target, _, err = d.Tenancy.CreateUser(ctx, tn, "test", tenancy.NewUser{Username: "target", Email: "target@home.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.PINVerify.Upsert(ctx, isoHome, admin.ID, isoAccountID, pinverifyInput()); err != nil {
		t.Fatalf("create account: %v", err)
	}

	otherTenant, _, temp, err := d.Tenancy.CreateTenant(ctx, isoOther, "Other", "boss", "boss@other.example")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(temp)
	if e.outsider, temp, err = d.Tenancy.CreateUser(ctx, otherTenant, "test", tenancy.NewUser{Username: "outsider", Email: "outsider@other.example", Roles: allRoles}); err != nil {
		t.Fatal(err)
	}
	e.activate(t, isoOther, "outsider", temp, "Stranger-gate-2026")
	return e
}

// pinverifyInput is the account of the matrix: one owner with an e-mail
// address (no mobile: the deployment sends no SMS).
func pinverifyInput() pinverify.AccountInput {
	return pinverify.AccountInput{
		Name:     "Home Holdings",
		Contacts: []latchkey.Contact{{ID: "c-owner", Name: "Jane Doe", Role: latchkey.ContactOwner, Email: "jane@home.example"}},
	}
}

// activate completes a user's first sign-in with password pw.
func (e *isoEnv) activate(t *testing.T, tid, username, temp, pw string) {
	t.Helper()
	ctx := context.Background()
	testenv.Remember(temp, pw)
	res, err := e.d.Passwords.SignIn(ctx, tid, username, temp)
	if err != nil {
		t.Fatalf("first sign-in of %s: %v", username, err)
	}
	testenv.Remember(res.Session)
	if _, err := e.d.Passwords.CompleteNewPassword(ctx, tid, res.Session, pw); err != nil {
		t.Fatalf("set the password of %s: %v", username, err)
	}
}

func (e *isoEnv) keeperPassword() string {
	return fmt.Sprintf("Warden-gate-%04d", 2026+e.keeperPasswords)
}

// changePassword changes the password of home user username through the
// password service, as PUT /me/password does.
func (e *isoEnv) changePassword(t *testing.T, username, current, next string) {
	t.Helper()
	ctx := context.Background()
	u, err := e.d.Store.GetUserByUsername(ctx, isoHome, username)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(next)
	if err := e.d.Passwords.ChangeOwn(ctx, u, current, next); err != nil {
		t.Fatalf("change the password of %s: %v", username, err)
	}
}

// issue returns a fresh token of the stored user, as a sign-in gives.
func (e *isoEnv) issue(t *testing.T, tid, uid string) string {
	t.Helper()
	u, err := e.d.Store.GetUser(context.Background(), tid, uid)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.d.Tokens.Issue(tid, u.ID, u.Roles, u.SessionVersion)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Remember(tok)
	return tok
}

// lackingUser returns a home user holding every role but the ones route r
// allows. For a route that allows every role, that is a user with no role
// at all: no service creates one (tenancy gives a user without roles the
// role user, and PATCH refuses an empty list), so the test writes the empty
// list to the store, the only place roles are read from (token.Auth takes
// them from the stored user, not from the token).
func (e *isoEnv) lackingUser(t *testing.T, r routes.Route) *latchkey.User {
	t.Helper()
	var roles []latchkey.Role
	for _, role := range allRoles {
		if !slices.Contains(r.Roles, role) {
			roles = append(roles, role)
		}
	}
	name := "lacks-" + strings.ReplaceAll(fmt.Sprint(r.Roles), " ", "-")
	name = regexp.MustCompile(`[^a-z-]`).ReplaceAllString(name, "")
	if u, ok := e.lacking[name]; ok {
		return u
	}
	ctx := context.Background()
	tn, err := e.d.Store.GetTenant(ctx, isoHome)
	if err != nil {
		t.Fatal(err)
	}
	u, temp, err := e.d.Tenancy.CreateUser(ctx, tn, "test", tenancy.NewUser{Username: name, Email: name + "@home.example", Roles: roles})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	e.activate(t, isoHome, name, temp, "Lacking-pass-2026")
	if len(roles) == 0 {
		u, err = e.d.Store.GetUser(ctx, isoHome, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		next := *u
		next.Roles = nil
		if err := e.d.Store.UpdateUser(ctx, u, next, latchkey.Event(isoHome, "test", u.ID, latchkey.ActionUserUpdate, latchkey.ResultSuccess, "")); err != nil {
			t.Fatalf("take every role from %s: %v", name, err)
		}
	}
	u, err = e.d.Store.GetUser(ctx, isoHome, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Allows(u.Roles) {
		t.Fatalf("%s holds %v, which %s allows", name, u.Roles, r.Key())
	}
	e.lacking[name] = u
	return u
}

// request builds the payload-2.0 event of route r with fixture f and the
// bearer token tok (none when empty).
func (e *isoEnv) request(t *testing.T, r routes.Route, f isoFixture, tok string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	fill := map[string]string{fillTarget: e.target.ID, fillAccount: isoAccountID, fillChange: "PASSWORD_EMAIL_CHANGE", fillPINCode: "PINCODE_EMAIL_BODY"}
	params := map[string]string{"tenant": isoHome}
	path := r.FullPath()
	for _, m := range regexp.MustCompile(`\{([A-Za-z]+)\}`).FindAllStringSubmatch(r.FullPath(), -1) {
		name := m[1]
		if name == "tenant" {
			continue
		}
		how, ok := f.params[name]
		if !ok {
			t.Fatalf("%s: the fixture does not say how to fill {%s}", r.Key(), name)
		}
		v, ok := fill[how]
		if !ok {
			t.Fatalf("%s: {%s} is to be filled with %q, which no filler knows", r.Key(), name, how)
		}
		params[name] = v
	}
	for k, v := range params {
		path = strings.Replace(path, "{"+k+"}", v, 1)
	}
	headers := map[string]string{"content-type": "application/json"}
	if tok != "" {
		headers["authorization"] = "Bearer " + tok
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: r.Key(), RawPath: path, Headers: headers, PathParameters: params,
		QueryStringParameters: f.query, Body: strings.ReplaceAll(f.body, "${target}", e.target.ID),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: r.Key(), Stage: "$default", RequestID: "iso-" + r.Method,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: path, SourceIP: "203.0.113.9"},
		},
	}
}

// call sends ev through the server of r's function.
func (e *isoEnv) call(t *testing.T, r routes.Route, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	srv, err := e.d.Server(r.Function)
	if err != nil {
		t.Fatal(err)
	}
	res, err := srv.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("handle: %v", err)
	}
	return res
}

// snapshot returns every item of the table, sorted: what "nothing changed"
// is checked against.
func snapshot(t *testing.T, d *system.Deps) []map[string]any {
	t.Helper()
	db := testenv.DB(t)
	var out []map[string]any
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &d.Config.TableName, ConsistentRead: boolPtr(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		var items []map[string]any
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			t.Fatal(err)
		}
		out = append(out, items...)
	}
	sort.Slice(out, func(i, j int) bool {
		return fmt.Sprint(out[i]["PK"], "|", out[i]["SK"]) < fmt.Sprint(out[j]["PK"], "|", out[j]["SK"])
	})
	return out
}

// boolPtr returns a pointer to b, for the SDK's optional fields.
func boolPtr(b bool) *bool { return &b }

// tamper re-encodes the header of token tok with alg, keeping its payload;
// sig is the signature part to use.
func tamper(t *testing.T, tok, alg, sig string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token: got %d parts, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var head map[string]any
	if err := json.Unmarshal(raw, &head); err != nil {
		t.Fatal(err)
	}
	if head["alg"] != "EdDSA" {
		t.Fatalf("alg: got %v, want EdDSA", head["alg"])
	}
	head["alg"] = alg
	h, _ := json.Marshal(head)
	return base64.RawURLEncoding.EncodeToString(h) + "." + parts[1] + "." + sig
}

// badTokens are the tokens of one variant, by name.
type badTokens map[string]string

// variant is one row of the matrix: its tokens and the answer each gets.
type variant struct {
	tokens badTokens
	want   refusal
}

// TestTenantIsolation_Matrix calls every route that needs a token (from
// the route table) with (a) a valid token of a user holding every role in
// another tenant, (b) a token of this tenant whose user holds none of the
// route's roles, (c) an expired token, (d) a token signed by another key,
// (e) the token with alg re-encoded as none and HS256 keeping payload and
// signature, unsigned, and HS256 keyed by the public key, and (f) a token
// from before the user's password change, on a path naming tenant home and
// its real objects. Each is refused with its exact status, code and
// message, and the table is item for item the same afterwards; then the
// home admin's same request gets its success answer (the request was real).
// A route without a fixture fails, and every route needing a token must
// have met all six variants.
func TestTenantIsolation_Matrix(t *testing.T) {
	e := newIsoEnv(t)
	_, otherKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forger := &token.Issuer{Key: otherKey, Now: e.clock.Now, TTL: token.DefaultTTL}
	pub := e.d.Keys.SigningKey.Public().(ed25519.PublicKey)

	exercised := map[string]map[string]bool{}
	calls := 0
	var protected []routes.Route
	for _, r := range catalog.Routes() {
		if !r.Public() {
			protected = append(protected, r)
		}
	}
	for _, r := range protected {
		t.Run(r.Key(), func(t *testing.T) {
			f, ok := isoFixtures[r.Key()]
			if !ok {
				t.Fatalf("route %s has no entry in isoFixtures: say how to fill its path, its body and the answer of its control", r.Key())
			}
			// The tokens of every variant, made before the snapshot: the
			// password change of (f) is a write of its own. It comes first,
			// so that every other token carries the current session
			// version and has only its own defect.
			stale := e.issue(t, isoHome, e.keeper.ID)
			prev := e.keeperPassword()
			e.keeperPasswords++
			e.changePassword(t, "keeper", prev, e.keeperPassword())
			keeperTok := e.issue(t, isoHome, e.keeper.ID)
			sig := strings.Split(keeperTok, ".")[2]
			forged, _, err := forger.Issue(isoHome, e.keeper.ID, allRoles, mustUser(t, e, e.keeper.ID).SessionVersion)
			if err != nil {
				t.Fatal(err)
			}
			lacking := e.lackingUser(t, r)
			variants := map[string]variant{
				"a other tenant": {badTokens{"outsider's token": e.issue(t, isoOther, e.outsider.ID)}, refusedTenant},
				"b missing role": {badTokens{"roles " + fmt.Sprint(lacking.Roles): e.issue(t, isoHome, lacking.ID)}, refusedRole},
				"d other key":    {badTokens{"signed by another Ed25519 key": forged}, refusedInvalid},
				"e alg changed": {badTokens{
					"alg none, signature kept":  tamper(t, keeperTok, "none", sig),
					"alg HS256, signature kept": tamper(t, keeperTok, "HS256", sig),
					"alg none, unsigned":        tamper(t, keeperTok, "none", ""),
					"alg HS256 keyed by the public key": func() string {
						unsigned := tamper(t, keeperTok, "HS256", "")
						m := hmac.New(sha256.New, pub)
						m.Write([]byte(strings.TrimSuffix(unsigned, ".")))
						return unsigned + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
					}(),
				}, refusedInvalid},
				"f before password change": {badTokens{"issued before the change": stale}, refusedStale},
			}

			before := snapshot(t, e.d)
			// check sends tok and reports whether it got exactly want.
			check := func(v, what, tok string, want refusal) bool {
				t.Helper()
				res := e.call(t, r, e.request(t, r, f, tok))
				calls++
				var body struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				var top map[string]json.RawMessage
				_ = json.Unmarshal([]byte(res.Body), &top)
				if err := json.Unmarshal([]byte(res.Body), &body); err != nil || len(top) != 1 ||
					res.StatusCode != want.status || body.Error.Code != want.code || body.Error.Message != want.message {
					t.Errorf("%s, %s: got %d %s, want %d {code %s, message %q} alone", v, what, res.StatusCode, res.Body, want.status, want.code, want.message)
					return false
				}
				return true
			}
			exercised[r.Key()] = map[string]bool{}
			for _, v := range []string{"a other tenant", "b missing role", "d other key", "e alg changed", "f before password change"} {
				names := make([]string, 0, len(variants[v].tokens))
				for name := range variants[v].tokens {
					names = append(names, name)
				}
				sort.Strings(names)
				all := true
				for _, name := range names {
					all = check(v, name, variants[v].tokens[name], variants[v].want) && all
				}
				exercised[r.Key()][v] = all
			}
			// (c) last: the clock moves one second past the token's
			// expiry, and stays there (every later token is issued anew).
			expiring := e.issue(t, isoHome, e.keeper.ID)
			e.clock.Advance(token.DefaultTTL + time.Second)
			exercised[r.Key()]["c expired"] = check("c expired", "one second past expiry", expiring, refusedExpired)

			if after := snapshot(t, e.d); !reflect.DeepEqual(before, after) {
				t.Errorf("the table changed under refused calls: %d items before, %d after\nbefore %v\nafter  %v", len(before), len(after), before, after)
			}

			// The control: the home admin's same request acts.
			if f.before != nil {
				f.before(t, e)
			}
			res := e.call(t, r, e.request(t, r, f, e.issue(t, isoHome, e.admin.ID)))
			if res.StatusCode != f.ok {
				t.Errorf("control, the home admin: got %d %s, want %d", res.StatusCode, res.Body, f.ok)
			}
			if f.after != nil {
				f.after(t, e)
			}
		})
	}

	t.Run("every route needing a token met all six variants", func(t *testing.T) {
		full := 0
		for _, r := range protected {
			n := 0
			for _, v := range isoVariants {
				if exercised[r.Key()][v] {
					n++
				}
			}
			if n == len(isoVariants) {
				full++
			} else {
				t.Errorf("%s: %d of %d variants refused as expected", r.Key(), n, len(isoVariants))
			}
		}
		if full != len(protected) || len(protected) == 0 {
			t.Errorf("got %d of %d routes needing a token through all %d variants, want all", full, len(protected), len(isoVariants))
		}
		t.Logf("%d routes needing a token (of %d in the table) × %d variants; %d refused calls", len(protected), len(catalog.Routes()), len(isoVariants), calls)
	})
	t.Run("every fixture names a route needing a token", func(t *testing.T) {
		for key := range isoFixtures {
			r, ok := routes.ByKey(catalog.Routes(), key)
			if !ok || r.Public() {
				t.Errorf("isoFixtures has %s: got no route needing a token by that key", key)
			}
		}
	})
}

// mustUser reads home user uid as stored now.
func mustUser(t *testing.T, e *isoEnv, uid string) *latchkey.User {
	t.Helper()
	u, err := e.d.Store.GetUser(context.Background(), isoHome, uid)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

package useradmin_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/devstack"
	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
	"github.com/latchkey/latchkey/shared/secure"
)

var welcomeLink = regexp.MustCompile(regexp.QuoteMeta(publicBase) + `/t/[a-z0-9-]+/welcome#([A-Za-z0-9_-]+)`)

// welcomeToken waits for a welcome e-mail to to holding a link token not
// in seen, remembers the token as a secret and returns it.
func welcomeToken(t *testing.T, to string, seen map[string]bool) string {
	t.Helper()
	var got string
	testenv.WaitForEmail(t, to, func(e devstack.ReceivedEmail) bool {
		for _, m := range welcomeLink.FindAllStringSubmatch(e.Text, -1) {
			if !seen[m[1]] && strings.HasPrefix(e.Subject, "Welcome to ") {
				got = m[1]
				return true
			}
		}
		return false
	})
	seen[got] = true
	testenv.Remember(got)
	return got
}

func TestService_Welcome(t *testing.T) {
	f := newFixture(t)
	a := f.serve()
	admin := func() string { return f.token(f.admin) } // tokens live an hour; the test moves days
	u := f.user("newbie")
	seen := map[string]bool{}
	send := func() string {
		t.Helper()
		r := a.do("POST", f.tenant.ID+"/users/"+u.ID+"/welcome", admin(), nil)
		if r.status != http.StatusAccepted || r.body["sentTo"] != latchkey.MaskEmail(u.Email) {
			t.Fatalf("send: got %s, want 202 with the masked address", r)
		}
		return welcomeToken(t, u.Email, seen)
	}
	confirm := func(token, mobile string) reply {
		t.Helper()
		return a.do("POST", f.tenant.ID+"/welcome/"+token, "", map[string]string{"mobile": mobile})
	}

	first := send()
	if len(first) < 43 {
		t.Fatalf("token: got %d characters, want at least 43 (256 bits)", len(first))
	}
	t.Run("only the keyed MAC is stored", func(t *testing.T) {
		for _, it := range f.scan() {
			for name, v := range it {
				if s, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, first) {
					t.Errorf("attribute %s holds the token", name)
				}
			}
		}
		it := f.item(u.ID)
		if sAttr(it, "welcomeMac") == "" {
			t.Error("the user names no welcome link")
		}
	})
	second := send()
	gone := map[string]reply{"cancelled by a newer link": confirm(first, "+44 7911 123456")}
	gone["unknown"] = confirm(strings.Repeat("A", 43), "+44 7911 123456")

	t.Run("a bad number is refused and the link stays", func(t *testing.T) {
		r := confirm(second, "07911 123456")
		if r.status != http.StatusBadRequest || r.errorCode() != latchkey.EValidation || !strings.Contains(r.raw, "mobile:") {
			t.Errorf("got %s, want 400 validation_failed naming mobile", r)
		}
	})
	t.Run("ten concurrent confirmations: exactly one", func(t *testing.T) {
		replies := make([]reply, 10)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range replies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				replies[i] = confirm(second, "+44 7911 123456")
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, r := range replies {
			switch {
			case r.status == http.StatusOK && r.body["status"] == "mobile_confirmed":
				ok++
			case r.status == http.StatusGone:
				gone["used, concurrently"] = r
			default:
				t.Errorf("got %s, want 200 or 410", r)
			}
		}
		if ok != 1 {
			t.Fatalf("got %d confirmations, want exactly 1", ok)
		}
		if ev := f.audits(latchkey.ActionWelcomeConfirm); len(ev) < 1 || countResult(ev, latchkey.ResultSuccess) != 1 {
			t.Errorf("audit: got %+v, want one welcome.confirm success", ev)
		}
	})
	t.Run("the user is accessed_self_serve with the E.164 number", func(t *testing.T) {
		got := a.do("GET", f.tenant.ID+"/users/"+u.ID, admin(), nil)
		if got.status != http.StatusOK || got.body["mobile"] != "+447911123456" || got.body["registrationStatus"] != latchkey.RegistrationAccessed {
			t.Errorf("got %s, want mobile +447911123456, accessed_self_serve", got)
		}
		if it := f.item(u.ID); sAttr(it, "GSI2PK") != "TENANT#"+f.tenant.ID+"#REG#accessed_self_serve" || sAttr(it, "welcomeMac") != "" {
			t.Errorf("stored: got GSI2PK %q, welcomeMac %q; want accessed and the link gone", sAttr(it, "GSI2PK"), sAttr(it, "welcomeMac"))
		}
	})
	gone["used"] = confirm(second, "+1 415 555 0101")

	t.Run("expiry is checked on read, to the second", func(t *testing.T) {
		third := send()
		f.clock.Advance(latchkey.WelcomeLinkTTL - time.Second)
		if r := confirm(third, "+1 415 555 0100"); r.status != http.StatusOK {
			t.Fatalf("a second before expiry: got %s, want 200", r)
		}
		fourth := send()
		f.clock.Advance(latchkey.WelcomeLinkTTL + time.Second)
		gone["expired"] = confirm(fourth, "+1 415 555 0100")
		table := f.deps.Config.TableName
		res, err := testenv.DB(t).GetItem(context.Background(), &dynamodb.GetItemInput{
			TableName: &table, ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{
				"PK": &types.AttributeValueMemberS{Value: "TENANT#" + f.tenant.ID + "#WELCOME#" + secure.MAC(f.deps.Keys.HMACKey, "welcome", fourth)},
				"SK": &types.AttributeValueMemberS{Value: "WELCOME"},
			},
		})
		if err != nil || res.Item == nil {
			t.Fatalf("expired link item: got %v, %v; want it still in the table", res, err)
		}
		if f.get(u.ID).Mobile != "+14155550100" {
			t.Errorf("mobile: got %s, want the one confirmed before expiry", f.get(u.ID).Mobile)
		}
	})
	t.Run("one and the same 410 for unknown, used, cancelled and expired", func(t *testing.T) {
		var firstName string
		for name, r := range gone {
			if r.status != http.StatusGone || r.errorCode() != latchkey.EGone {
				t.Errorf("%s: got %s, want 410 %s", name, r, latchkey.EGone)
			}
			if firstName == "" {
				firstName = name
				continue
			}
			if r.raw != gone[firstName].raw {
				t.Errorf("%s answers %s, %s answers %s: want the same body", name, r.raw, firstName, gone[firstName].raw)
			}
		}
		if len(gone) != 5 {
			t.Errorf("got %d kinds of gone link, want 5", len(gone))
		}
	})
	t.Run("a user without e-mail", func(t *testing.T) {
		bare := latchkey.User{TenantID: f.tenant.ID, ID: "bare", Username: "bare", Roles: []latchkey.Role{latchkey.RoleUser}, CreatedAt: f.clock.Now()}
		if err := f.deps.Store.CreateUser(f.ctx, bare, nil, nil, latchkey.Event(f.tenant.ID, "test", "bare", latchkey.ActionUserCreate, latchkey.ResultSuccess, "")); err != nil {
			t.Fatal(err)
		}
		if r := a.do("POST", f.tenant.ID+"/users/bare/welcome", admin(), nil); r.status != http.StatusConflict || r.errorCode() != latchkey.ENoEmail {
			t.Errorf("got %s, want 409 %s", r, latchkey.ENoEmail)
		}
		if r := a.do("POST", f.tenant.ID+"/users/nobody/welcome", admin(), nil); r.status != http.StatusNotFound {
			t.Errorf("unknown user: got %s, want 404", r)
		}
	})
}

func countResult(ev []latchkey.AuditEvent, result string) int {
	n := 0
	for _, e := range ev {
		if e.Result == result {
			n++
		}
	}
	return n
}

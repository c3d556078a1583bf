package latchkey_test

import (
	"testing"
	"time"

	"github.com/latchkey/latchkey/shared/latchkey"
)

func TestContactRole_MayReceiveLinks(t *testing.T) {
	for _, tt := range []struct {
		role        latchkey.ContactRole
		valid, link bool
	}{
		{latchkey.ContactOwner, true, true},
		{latchkey.ContactAuthorized, true, true},
		{latchkey.ContactOther, true, false},
		{"admin", false, false},
		{"", false, false},
	} {
		if got := tt.role.Valid(); got != tt.valid {
			t.Errorf("%q Valid: got %v, want %v", tt.role, got, tt.valid)
		}
		if got := tt.role.MayReceiveLinks(); got != tt.link {
			t.Errorf("%q MayReceiveLinks: got %v, want %v", tt.role, got, tt.link)
		}
	}
}

func TestAccount_Status(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	until, locked := now.Add(time.Minute), now.Add(-time.Hour)
	a := &latchkey.Account{PINMAC: "m", VerifiedUntil: &until, VerifiedBy: "u1", VerifiedMethod: "pin", VerifyLockedAt: &locked}
	st := a.Status(now)
	if !st.PINSet || !st.Verified || st.VerifiedUntil == nil || !st.VerifiedUntil.Equal(until) || st.VerifiedBy != "u1" || st.Method != "pin" || !st.Locked {
		t.Errorf("before the end: got %+v, want set, verified by u1 with pin, locked", st)
	}
	if st := a.Status(until); st.Verified || st.VerifiedUntil != nil || st.VerifiedBy != "" || st.Method != "" {
		t.Errorf("at the end: got %+v, want not verified", st)
	}
	if st := (&latchkey.Account{}).Status(now); st != (latchkey.SecurityStatus{}) {
		t.Errorf("new account: got %+v, want the zero status", st)
	}
}

func TestAccount_Validate(t *testing.T) {
	mobile := func(s string) (string, error) { return "+15550001111", nil }
	a := &latchkey.Account{ID: "a1", Name: "  Acme  ", Contacts: []latchkey.Contact{
		{ID: "c1", Name: " Olive ", Role: latchkey.ContactOwner, Email: " olive@acme.example ", Mobile: "+1 555 000 1111"},
		{ID: "c2", Name: "Desk", Role: latchkey.ContactOther, Email: " ", Mobile: "  "},
	}}
	if err := a.Validate(mobile); err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	want := []latchkey.Contact{
		{ID: "c1", Name: "Olive", Role: latchkey.ContactOwner, Email: "olive@acme.example", Mobile: "+15550001111"},
		{ID: "c2", Name: "Desk", Role: latchkey.ContactOther},
	}
	if a.Name != "Acme" || a.Contacts[0] != want[0] || a.Contacts[1] != want[1] {
		t.Errorf("got %q %+v, want Acme %+v", a.Name, a.Contacts, want)
	}
	bad := &latchkey.Account{ID: "a/1", Name: "x", Contacts: want}
	if err := bad.Validate(mobile); latchkey.ErrorCode(err) != latchkey.EValidation || latchkey.ErrorMessage(err)[:4] != "id: " {
		t.Errorf("bad id: got %v, want validation_failed naming id", err)
	}
}

func TestMaskMobile(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"+447911123456", "+44*******456"},
		{"+14155550100", "+14******100"},
		{"+1234567", "+12**567"},
		{"+123456", "+******"},
	} {
		if got := latchkey.MaskMobile(tt.in); got != tt.want {
			t.Errorf("MaskMobile(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSettings_PINLinkTTL(t *testing.T) {
	if got := latchkey.DefaultSettings().PINLinkTTL(); got != 24*time.Hour {
		t.Errorf("default: got %v, want 24h", got)
	}
	if got := (latchkey.Settings{}).PINLinkTTL(); got != 24*time.Hour {
		t.Errorf("unset: got %v, want 24h", got)
	}
	if got := (latchkey.Settings{PINLinkHours: 2}).PINLinkTTL(); got != 2*time.Hour {
		t.Errorf("2 hours: got %v, want 2h", got)
	}
}

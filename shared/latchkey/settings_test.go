package latchkey

import (
	"slices"
	"testing"
)

func TestChangedSettings(t *testing.T) {
	a := DefaultSettings()
	if got := ChangedSettings(a, a); len(got) != 0 {
		t.Errorf("same settings: got %v, want none", got)
	}
	b := a
	b.Policy.MinLength = 12
	b.TimeZone = "Europe/Paris"
	b.SelfServe = false
	b.SenderEmail = "it@example.com"
	want := []string{"passwordPolicy.minLength", "senderEmail", "selfServe", "timeZone"}
	if got := ChangedSettings(a, b); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

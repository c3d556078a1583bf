package tenantadmin_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/latchkey/latchkey/shared/devstack/testenv"
	"github.com/latchkey/latchkey/shared/latchkey"
)

// settingsObject returns the settings as a JSON object (a fresh copy).
func settingsObject(t *testing.T, st latchkey.Settings) map[string]any {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// set sets the member at path ("passwordPolicy.minLength") of m; a nil
// value with del deletes it.
func set(m map[string]any, path string, v any, del bool) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		m = m[p].(map[string]any)
	}
	if del {
		delete(m, parts[len(parts)-1])
		return
	}
	m[parts[len(parts)-1]] = v
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// settingPaths returns the JSON path of every setting, from the type.
func settingPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name := latchkey.SettingName(t.Field(i))
		if t.Field(i).Type.Kind() == reflect.Struct {
			out = append(out, settingPaths(t.Field(i).Type, prefix+name+".")...)
			continue
		}
		out = append(out, prefix+name)
	}
	return out
}

func TestSettings_GetPut(t *testing.T) {
	f := newFixture(t)

	t.Run("GET answers every setting at its default", func(t *testing.T) {
		a := f.asAdmin("GET", "/settings", "")
		if a.status != 200 {
			t.Fatalf("status: got %d, want 200 (%s)", a.status, a.body)
		}
		var got map[string]any
		a.decode(t, &got)
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		want := []string{}
		for k := range settingsObject(t, latchkey.DefaultSettings()) {
			want = append(want, k)
		}
		sort.Strings(want)
		if !slices.Equal(keys, want) || !slices.Contains(keys, "senderEmail") || !slices.Contains(keys, "timeZone") {
			t.Errorf("fields: got %v, want %v", keys, want)
		}
		var st latchkey.Settings
		a.decode(t, &st)
		if st != latchkey.DefaultSettings() {
			t.Errorf("got %+v, want the defaults %+v", st, latchkey.DefaultSettings())
		}
	})

	t.Run("PUT then GET answers what was put, and the change is audited", func(t *testing.T) {
		want := latchkey.DefaultSettings()
		want.Policy.MinLength, want.Policy.MaxLength, want.Policy.RefuseCommon = 12, 64, false
		want.TempPasswordHours, want.LockoutThreshold, want.LockoutMinutes = 24, 8, 30
		want.ResetByEmail, want.UsernameInResetEmail, want.ResetRequestsPerHour = false, true, 5
		want.PINSignup, want.PINSignIn, want.SecurityPIN = latchkey.PINSignupAll, true, true
		want.PINLinkHours, want.VerificationMinutes = 48, 30
		want.SelfServe, want.ReminderDays, want.SendHour, want.TimeZone = false, 14, 7, "Europe/Paris"
		want.SenderEmail = "it@acme.example"
		a := f.asAdmin("PUT", "/settings", marshal(t, want))
		var got latchkey.Settings
		if a.decode(t, &got); a.status != 200 || got != want {
			t.Fatalf("PUT: got %d %+v, want 200 %+v (%s)", a.status, got, want, a.body)
		}
		a = f.asAdmin("GET", "/settings", "")
		if a.decode(t, &got); a.status != 200 || got != want {
			t.Fatalf("GET: got %d %+v, want 200 %+v", a.status, got, want)
		}
		if tn, err := f.deps.Store.ReadTenant(f.ctx, f.tid); err != nil || tn.Settings != want {
			t.Fatalf("stored: got %+v, %v; want %+v", tn, err, want)
		}
		events := f.audited(latchkey.ActionSettingsUpdate)
		changed := strings.Join(latchkey.ChangedSettings(latchkey.DefaultSettings(), want), ",")
		if len(events) != 1 || events[0].Actor != f.admin.ID || events[0].Subject != f.tid || events[0].Result != latchkey.ResultSuccess || events[0].Reason != changed {
			t.Fatalf("audit: got %+v, want one success by the admin with reason %q", events, changed)
		}
		if n := len(strings.Split(changed, ",")); n != 19 {
			t.Errorf("changed settings: got %d (%s), want 19: every setting the test moved", n, changed)
		}
	})
}

func TestSettings_Validation(t *testing.T) {
	f := newFixture(t)
	base := latchkey.DefaultSettings()
	for _, tc := range []struct {
		path string
		bad  []any
	}{
		{"passwordPolicy.minLength", []any{7, 0, 129}},
		{"passwordPolicy.maxLength", []any{7, 129, 1024}},
		{"tempPasswordHours", []any{0, -1, 169}},
		{"lockoutThreshold", []any{2, 21}},
		{"lockoutMinutes", []any{0, 1441}},
		{"resetRequestsPerHour", []any{0, 21}},
		{"pinSignup", []any{"", "sometimes", "WEB"}},
		{"pinLinkHours", []any{-1, 169}},
		{"verificationMinutes", []any{-1, 1441}},
		{"reminderDays", []any{0, 31}},
		{"sendHour", []any{-1, 24}},
		{"timeZone", []any{"", "Local", "Mars/Olympus_Mons", "Europe/Londres", "../etc/passwd"}},
		{"senderEmail", []any{"not an address", "it@localhost", " it@acme.example"}},
	} {
		for _, v := range tc.bad {
			t.Run(tc.path+"="+marshal(t, v), func(t *testing.T) {
				m := settingsObject(t, base)
				set(m, tc.path, v, false)
				a := f.asAdmin("PUT", "/settings", marshal(t, m))
				if a.status != 400 || a.code != latchkey.EValidation || !strings.HasPrefix(a.message, tc.path+" ") {
					t.Fatalf("got %d %s %q, want 400 %s naming %s", a.status, a.code, a.message, latchkey.EValidation, tc.path)
				}
			})
		}
	}
	t.Run("maxLength below minLength", func(t *testing.T) {
		m := settingsObject(t, base)
		set(m, "passwordPolicy.minLength", 20, false)
		set(m, "passwordPolicy.maxLength", 19, false)
		if a := f.asAdmin("PUT", "/settings", marshal(t, m)); a.status != 400 || !strings.HasPrefix(a.message, "passwordPolicy.maxLength ") {
			t.Fatalf("got %d %q, want 400 naming passwordPolicy.maxLength", a.status, a.message)
		}
	})
	for _, path := range settingPaths(reflect.TypeOf(base), "") {
		t.Run("missing "+path, func(t *testing.T) {
			m := settingsObject(t, base)
			set(m, path, nil, true)
			a := f.asAdmin("PUT", "/settings", marshal(t, m))
			if a.status != 400 || a.code != latchkey.EValidation || !slices.Contains(a.problems, path+" is required") {
				t.Fatalf("got %d %s %q %v, want 400 %s naming %s", a.status, a.code, a.message, a.problems, latchkey.EValidation, path)
			}
		})
		t.Run("null "+path, func(t *testing.T) {
			m := settingsObject(t, base)
			set(m, path, nil, false)
			if a := f.asAdmin("PUT", "/settings", marshal(t, m)); a.status != 400 || !slices.Contains(a.problems, path+" is required") {
				t.Fatalf("got %d %q, want 400 naming %s", a.status, a.body, path)
			}
		})
		t.Run("wrong type "+path, func(t *testing.T) {
			m := settingsObject(t, base)
			set(m, path, []int{1}, false)
			a := f.asAdmin("PUT", "/settings", marshal(t, m))
			last := path[strings.LastIndexByte(path, '.')+1:]
			if a.status != 400 || a.code != latchkey.EInvalidJSON || !strings.Contains(a.message, last) {
				t.Fatalf("got %d %s %q, want 400 %s naming %s", a.status, a.code, a.message, latchkey.EInvalidJSON, last)
			}
		})
	}
	t.Run("unknown setting", func(t *testing.T) {
		m := settingsObject(t, base)
		set(m, "selfService", true, false)
		if a := f.asAdmin("PUT", "/settings", marshal(t, m)); a.status != 400 || a.code != latchkey.EInvalidJSON {
			t.Fatalf("got %d %s, want 400 %s", a.status, a.code, latchkey.EInvalidJSON)
		}
	})
	t.Run("several wrong settings are all named", func(t *testing.T) {
		m := settingsObject(t, base)
		set(m, "sendHour", 24, false)
		set(m, "reminderDays", 0, false)
		a := f.asAdmin("PUT", "/settings", marshal(t, m))
		if a.status != 400 || len(a.problems) != 2 || !strings.Contains(a.message, "sendHour") || !strings.Contains(a.message, "reminderDays") {
			t.Fatalf("got %d %q %v, want both named", a.status, a.message, a.problems)
		}
	})

	// Nothing was stored, and no success was audited.
	if tn, err := f.deps.Store.ReadTenant(f.ctx, f.tid); err != nil || tn.Settings != base {
		t.Errorf("stored settings: got %+v, %v; want the defaults, unchanged", tn, err)
	}
	for _, e := range f.audited(latchkey.ActionSettingsUpdate) {
		if e.Result != latchkey.ResultFailure || e.Reason != latchkey.EValidation {
			t.Errorf("audit: got %+v, want only failures (validation_failed)", e)
		}
	}
	if len(f.audited(latchkey.ActionSettingsUpdate)) == 0 {
		t.Errorf("audit: got no settings.update failure, want the refusals recorded")
	}
}

// A tenant stored before a setting existed reads that setting as its
// default, not as a zero value.
func TestSettings_LegacyTenantReadsDefaults(t *testing.T) {
	f := newFixture(t)
	removeStoredSettings(t, f, "SelfServe", "ReminderDays", "SendHour", "TimeZone")
	a := f.asAdmin("GET", "/settings", "")
	var got latchkey.Settings
	if a.decode(t, &got); got != latchkey.DefaultSettings() {
		t.Fatalf("got %+v, want the defaults for the settings the item lacks", got)
	}
}

// removeStoredSettings removes settings (by their attribute names) from the
// tenant's stored item, as in an item written before they existed.
func removeStoredSettings(t *testing.T, f *fixture, names ...string) {
	t.Helper()
	attrs := map[string]string{"#s": "Settings"}
	var paths []string
	for i, n := range names {
		k := fmt.Sprintf("#n%d", i)
		attrs[k] = n
		paths = append(paths, "#s."+k)
	}
	_, err := testenv.DB(t).UpdateItem(f.ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(f.deps.Config.TableName),
		Key: map[string]types.AttributeValue{
			"PK": &types.AttributeValueMemberS{Value: "TENANT#" + f.tid},
			"SK": &types.AttributeValueMemberS{Value: "TENANT"},
		},
		UpdateExpression:         aws.String("REMOVE " + strings.Join(paths, ", ")),
		ConditionExpression:      aws.String("attribute_exists(#s.#n0)"),
		ExpressionAttributeNames: attrs,
	})
	if err != nil {
		t.Fatalf("remove settings %v: %v", names, err)
	}
}

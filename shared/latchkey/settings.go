package latchkey

import (
	"reflect"
	"strings"
)

// ChangedSettings returns the JSON names of the settings that differ between
// before and after, in declaration order, with the password policy's as
// "passwordPolicy.minLength" and so on. The audit log records them as the
// reason of a settings.update (never their values: a sender address is not
// a secret, but the log needs only which switch moved).
func ChangedSettings(before, after Settings) []string {
	return changedFields(reflect.ValueOf(before), reflect.ValueOf(after), "")
}

func changedFields(a, b reflect.Value, prefix string) []string {
	var out []string
	for i := 0; i < a.NumField(); i++ {
		name := SettingName(a.Type().Field(i))
		if name == "" {
			continue
		}
		fa, fb := a.Field(i), b.Field(i)
		if fa.Kind() == reflect.Struct {
			out = append(out, changedFields(fa, fb, prefix+name+".")...)
			continue
		}
		if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			out = append(out, prefix+name)
		}
	}
	return out
}

// SettingName returns the JSON name of a field of Settings or
// PasswordPolicy ("" for a field without one).
func SettingName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

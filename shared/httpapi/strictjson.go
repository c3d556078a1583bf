package httpapi

// Strict JSON: encoding/json matches member names to struct fields without
// regard to case, keeps the last of duplicate names and replaces invalid
// UTF-8 with U+FFFD. checkStrictJSON refuses all three before encoding/json
// decodes the body.
//
// Why a pre-check and not github.com/go-json-experiment/json (v1.27.2), which
// does all of this by default: that library made the sessions function's
// binary 589,824 to 655,360 bytes larger as measured on two commits (e.g.
// 22,610,082 to 23,199,906 bytes; GOOS=linux GOARCH=arm64 CGO_ENABLED=0,
// -tags lambda.norpc -trimpath -ldflags "-s -w"), over the ~400 KB budget set
// for this change, and even its jsontext package alone added 196,608 bytes.
// This pass over encoding/json's own token stream (which every function links
// anyway) is about 200 lines with tests, and together with the path-parameter
// checks it grew the same binary by 0 to 65,536 bytes (one linker step).

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// jsonProblemError is a problem found by checkStrictJSON, with a message that
// names the problem and at most the member concerned, never a value.
type jsonProblemError struct{ problem string }

func (e *jsonProblemError) Error() string { return e.problem }

func problemf(format string, args ...any) error {
	return &jsonProblemError{problem: fmt.Sprintf(format, args...)}
}

// errTrailingData reports data after the top-level JSON value.
var errTrailingData = errors.New("data after the JSON value")

// checkStrictJSON reports whether body, which will be decoded into a value of
// type t, is valid UTF-8 with no unpaired surrogate escapes, holds exactly one
// JSON value, repeats no member name within an object, and names only members
// that match a field of the target struct exactly, case included, at every
// depth. Objects decoded into maps, interfaces or types with their own
// UnmarshalJSON or UnmarshalText are checked for duplicates and UTF-8 only.
// It returns a *jsonProblemError, errTrailingData, or the *json.SyntaxError
// of malformed JSON.
func checkStrictJSON(body []byte, t reflect.Type) error {
	if !utf8.Valid(body) || hasLoneSurrogate(body) {
		return problemf("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers are not converted, only skipped
	if err := checkValue(dec, t, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailingData
	}
	return nil
}

// checkValue reads one value from dec. t is the Go type it will be decoded
// into, nil when unknown or free-form; at is its JSON pointer.
func checkValue(dec *json.Decoder, t reflect.Type, at string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	t = target(t)
	switch tok {
	case json.Delim('{'):
		var fields map[string]reflect.Type
		var elem reflect.Type
		switch {
		case t == nil:
		case t.Kind() == reflect.Struct:
			fields = structFields(t)
		case t.Kind() == reflect.Map:
			elem = t.Elem()
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			name, _ := tok.(string)
			if seen[name] {
				return problemf("duplicate field %s", member(at, name))
			}
			seen[name] = true
			ft := elem
			if fields != nil {
				var ok bool
				if ft, ok = fields[name]; !ok {
					return problemf("unknown field %s", member(at, name))
				}
			}
			if err := checkValue(dec, ft, at+"/"+escapePointer(name)); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
		return err
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkValue(dec, elem, at+"/"+strconv.Itoa(i)); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return err
	}
	return nil
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// target returns the type whose shape a JSON value must have when decoded
// into t: t without pointers, or nil when the shape is free (an interface) or
// up to the type's own UnmarshalJSON or UnmarshalText.
func target(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Kind() == reflect.Interface {
			return nil
		}
		if reflect.PointerTo(t).Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
			return nil
		}
		if t.Kind() != reflect.Pointer {
			return t
		}
		t = t.Elem()
	}
	return nil
}

// fieldCache holds structFields by struct type.
var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// structFields returns the JSON member names that encoding/json decodes into
// fields of the struct type t, each with its field's type. It follows
// encoding/json's rules: exported fields, the name from the `json` tag when
// valid and the Go name otherwise, `json:"-"` skipped, untagged embedded
// structs inlined, and of several fields with one name the shallowest (then
// the only tagged one) wins while a tie drops the name.
func structFields(t reflect.Type) map[string]reflect.Type {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]reflect.Type)
	}
	type candidate struct {
		typ    reflect.Type
		depth  int
		tagged bool
		count  int // candidates at this depth with this tagging
	}
	best := map[string]*candidate{}
	type level struct {
		typ   reflect.Type
		depth int
	}
	queue := []level{{t, 0}}
	// depthOf is the depth a struct type was first inlined at. The same type
	// inlined twice at one depth is walked twice, so that its names tie and
	// drop out as in encoding/json; deeper repeats (cycles) are skipped.
	depthOf := map[reflect.Type]int{}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if d, ok := depthOf[cur.typ]; ok && d < cur.depth {
			continue
		}
		depthOf[cur.typ] = cur.depth
		for i := 0; i < cur.typ.NumField(); i++ {
			sf := cur.typ.Field(i)
			ft := sf.Type
			if sf.Anonymous {
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if !sf.IsExported() && ft.Kind() != reflect.Struct {
					continue
				}
			} else if !sf.IsExported() {
				continue
			}
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if !validTagName(name) {
				name = ""
			}
			if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
				queue = append(queue, level{ft, cur.depth + 1})
				continue
			}
			tagged := name != ""
			if name == "" {
				name = sf.Name
			}
			c := best[name]
			switch {
			case c == nil || cur.depth < c.depth || cur.depth == c.depth && tagged && !c.tagged:
				best[name] = &candidate{typ: sf.Type, depth: cur.depth, tagged: tagged, count: 1}
			case cur.depth == c.depth && tagged == c.tagged:
				c.count++
			}
		}
	}
	fields := make(map[string]reflect.Type, len(best))
	for name, c := range best {
		if c.count == 1 {
			fields[name] = c.typ
		}
	}
	fieldCache.Store(t, fields)
	return fields
}

// validTagName is encoding/json's test of a tag name.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// hasLoneSurrogate reports whether a JSON string in b holds a \u escape of
// half a UTF-16 surrogate pair without its other half, which encoding/json
// would silently turn into U+FFFD. b is scanned as bytes: outside strings no
// backslash is valid JSON, so every backslash starts an escape in a string.
func hasLoneSurrogate(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+1 >= len(b) {
			return false
		}
		if b[i+1] != 'u' {
			i++ // skip the escaped character, which may be a backslash
			continue
		}
		r, ok := hex4(b[i+2:])
		if !ok {
			return false // malformed: encoding/json reports it
		}
		i += 5
		switch {
		case 0xDC00 <= r && r <= 0xDFFF:
			return true
		case 0xD800 <= r && r <= 0xDBFF:
			if i+2 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return true
			}
			lo, ok := hex4(b[i+3:])
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 parses the four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 16)
	return rune(v), err == nil
}

// escapePointer escapes a member name as a JSON pointer token (RFC 6901).
func escapePointer(name string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
}

// member names the object member name inside the value at pointer parent:
// `"name"` at the top level, `"name" within "/contacts/0"` deeper down. Long
// names are cut short.
func member(parent, name string) string {
	s := strconv.Quote(truncate(name, 64))
	if parent != "" {
		s += " within " + strconv.Quote(truncate(parent, 128))
	}
	return s
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

package httpapi_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/shared/httpapi"
	"github.com/latchkey/latchkey/shared/latchkey"
)

type contact struct {
	ID    string `json:"id"`
	Email string `json:"email,omitempty"`
}

type note struct {
	Note string `json:"note"`
}

// form has the shapes request bodies use: plain and omitempty tags, nested
// structs in a slice and behind a pointer, a map, a free-form value, an
// ignored field, an untagged field and an embedded struct.
type form struct {
	Username string            `json:"username"`
	Password string            `json:"password,omitempty"`
	Age      int               `json:"age,omitempty"`
	Count    int               `json:"count,string"`
	Contacts []contact         `json:"contacts"`
	Manager  *contact          `json:"manager"`
	Labels   map[string]string `json:"labels"`
	Extra    any               `json:"extra"`
	Internal string            `json:"-"`
	Plain    string
	note
}

func TestRequest_Decode(t *testing.T) {
	// Every refused body holds "hunter2" somewhere; no message may echo it.
	tests := []struct {
		name string
		body string
		// want is a part of the message; "" means the body is accepted.
		want string
	}{
		{"empty body means {}", "", ""},
		{"blank body means {}", " \n\t", ""},
		{"empty object", "{}", ""},
		{"every field", `{"username":"ann","password":"pw","age":3,"count":"4","contacts":[{"id":"c1","email":"a@example.com"},{"id":"c2"}],` +
			`"manager":{"id":"m"},"labels":{"k":"v","K":"w"},"extra":{"a":[1,{"b":null}]},"Plain":"p","note":"n"}`, ""},
		{"valid surrogate pair", `{"username":"\ud83d\ude00"}`, ""},
		{"escaped backslash before u", `{"username":"\\ud800"}`, ""},
		{"null", "null", ""},

		{"case-changed name", `{"USERNAME":"hunter2"}`, `unknown field "USERNAME"`},
		{"capitalised name", `{"Username":"hunter2"}`, `unknown field "Username"`},
		{"name with Unicode folding", `{"uſername":"hunter2"}`, `unknown field "uſername"`},
		{"case-changed name in an array", `{"contacts":[{"id":"c1"},{"ID":"hunter2"}]}`, `unknown field "ID" within "/contacts/1"`},
		{"case-changed name behind a pointer", `{"manager":{"Email":"hunter2"}}`, `unknown field "Email" within "/manager"`},
		{"case-changed embedded name", `{"Note":"hunter2"}`, `unknown field "Note"`},
		{"case-changed untagged name", `{"plain":"hunter2"}`, `unknown field "plain"`},
		{"ignored field", `{"Internal":"hunter2"}`, `unknown field "Internal"`},
		{"embedded struct by name", `{"note":"x","Note":"hunter2"}`, `unknown field "Note"`},

		{"duplicate name", `{"username":"a","username":"hunter2"}`, `duplicate field "username"`},
		{"duplicate case-changed name", `{"username":"a","USERNAME":"hunter2"}`, `unknown field "USERNAME"`},
		{"duplicate name in an array", `{"contacts":[{"id":"c1"},{"id":"c2","email":"a","email":"hunter2"}]}`, `duplicate field "email" within "/contacts/1"`},
		{"duplicate name behind a pointer", `{"manager":{"id":"a","id":"hunter2"}}`, `duplicate field "id" within "/manager"`},
		{"duplicate map key", `{"labels":{"k":"a","k":"hunter2"}}`, `duplicate field "k" within "/labels"`},
		{"duplicate name in a free-form value", `{"extra":[{"a":{"b":1,"b":"hunter2"}}]}`, `duplicate field "b" within "/extra/0/a"`},
		{"duplicate name in a value of the wrong type", `{"username":{"a":1,"a":"hunter2"}}`, `duplicate field "a" within "/username"`},

		{"invalid UTF-8 in a value", "{\"username\":\"a\xffhunter2\"}", "invalid UTF-8"},
		{"invalid UTF-8 in a name", "{\"user\xffname\":\"hunter2\"}", "invalid UTF-8"},
		{"invalid UTF-8 in a nested value", "{\"contacts\":[{\"id\":\"\xc3hunter2\"}]}", "invalid UTF-8"},
		{"overlong UTF-8", "{\"username\":\"\xc0\xafhunter2\"}", "invalid UTF-8"},
		{"UTF-8 encoded surrogate", "{\"username\":\"\xed\xa0\x80hunter2\"}", "invalid UTF-8"},
		{"lone high surrogate escape", `{"username":"hunter2\ud800"}`, "invalid UTF-8"},
		{"lone low surrogate escape", `{"username":"\udc00hunter2"}`, "invalid UTF-8"},
		{"high surrogate escape before a letter escape", `{"username":"\ud800\u0041hunter2"}`, "invalid UTF-8"},
		{"lone surrogate escape in a name", `{"\ud800":"hunter2"}`, "invalid UTF-8"},

		{"unknown field", `{"hunter2":1}`, `unknown field "hunter2"`},
		{"unknown field in an array", `{"contacts":[{"id":"c1","phone":"hunter2"}]}`, `unknown field "phone" within "/contacts/0"`},
		{"unknown field behind a pointer", `{"manager":{"phone":"hunter2"}}`, `unknown field "phone" within "/manager"`},

		{"second object", `{} {"username":"hunter2"}`, "data after the JSON value"},
		{"trailing garbage", `{"username":"a"}hunter2`, "data after the JSON value"},
		{"trailing brace", `{}}`, "data after the JSON value"},
		{"trailing string", `{} "hunter2"`, "data after the JSON value"},

		{"wrong type", `{"age":"hunter2"}`, `field "age" has the wrong type or value`},
		{"wrong type in an array", `{"contacts":[{"id":12345}]}`, `field "contacts.id" has the wrong type or value`},
		{"number out of range", `{"age":1e400}`, `field "age" has the wrong type or value`},
		{"string option not a number", `{"count":"hunter2"}`, "a field has the wrong type or value"},
		{"array body", `["hunter2"]`, "the body must be a JSON object"},
		{"string body", `"hunter2"`, "the body must be a JSON object"},
		{"unterminated", `{"username":"hunter2"`, "malformed JSON"},
		{"bare word", `{"username":hunter2}`, "malformed JSON"},
		{"trailing comma", `{"username":"hunter2",}`, "malformed JSON"},
		{"single quotes", `{'username':'hunter2'}`, "malformed JSON"},
		{"control character", "{\"username\":\"hunter2\x01\"}", "malformed JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got form
			r := &httpapi.Request{Body: []byte(tt.body)}
			err := r.Decode(&got)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if code := latchkey.ErrorCode(err); code != latchkey.EInvalidJSON {
				t.Fatalf("code: got %q (%v), want %q", code, err, latchkey.EInvalidJSON)
			}
			msg := latchkey.ErrorMessage(err)
			if !strings.Contains(msg, tt.want) {
				t.Errorf("message: got %q, want it to contain %q", msg, tt.want)
			}
			if strings.Contains(msg, "hunter2") && !strings.Contains(tt.want, "hunter2") {
				t.Errorf("message: got %q, want no value from the body", msg)
			}
		})
	}
}

func TestRequest_Decode_Values(t *testing.T) {
	r := &httpapi.Request{Body: []byte(`{"username":"ann","count":"4","contacts":[{"id":"c1","email":"a@example.com"}],` +
		`"manager":{"id":"m"},"labels":{"k":"v","K":"w"},"Plain":"p","note":"n"}`)}
	var got form
	if err := r.Decode(&got); err != nil {
		t.Fatal(err)
	}
	want := form{
		Username: "ann", Count: 4, Contacts: []contact{{ID: "c1", Email: "a@example.com"}}, Manager: &contact{ID: "m"},
		Labels: map[string]string{"k": "v", "K": "w"}, Plain: "p", note: note{Note: "n"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

type nameA struct{ Name string }

type nameB struct{ Name string }

type nameTagged struct {
	Alias string `json:"Name"`
}

// TestRequest_Decode_Embedded checks that names resolve among embedded
// structs as encoding/json resolves them. (Untagged, so that go vet does not
// object to the repeated names.)
func TestRequest_Decode_Embedded(t *testing.T) {
	t.Run("outer field wins", func(t *testing.T) {
		var v struct {
			nameA
			Name string
		}
		if err := (&httpapi.Request{Body: []byte(`{"Name":"x"}`)}).Decode(&v); err != nil || v.Name != "x" || v.nameA.Name != "" {
			t.Errorf("got %v and %+v, want nil and the outer field set", err, v)
		}
	})
	t.Run("tie at one depth drops the name", func(t *testing.T) {
		var v struct {
			nameA
			nameB
		}
		err := (&httpapi.Request{Body: []byte(`{"Name":"x"}`)}).Decode(&v)
		if want := `unknown field "Name"`; !strings.Contains(latchkey.ErrorMessage(err), want) {
			t.Errorf("got %v, want %s", err, want)
		}
	})
	t.Run("tagged field wins a tie", func(t *testing.T) {
		var v struct {
			nameA
			nameTagged
		}
		if err := (&httpapi.Request{Body: []byte(`{"Name":"x"}`)}).Decode(&v); err != nil || v.Alias != "x" || v.nameA.Name != "" {
			t.Errorf("got %v and %+v, want nil and the tagged field set", err, v)
		}
	})
}

func TestRequest_Decode_NotAPointer(t *testing.T) {
	var v form
	for _, target := range []any{v, nil, (*form)(nil)} {
		err := (&httpapi.Request{Body: []byte(`{}`)}).Decode(target)
		if latchkey.ErrorCode(err) != latchkey.EInternal {
			t.Errorf("Decode(%T): got %v, want an internal (uncoded) error", target, err)
		}
	}
}

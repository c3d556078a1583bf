package devstack

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/latchkey/latchkey/shared/secure"
)

// SMSMessage is one SNS Publish call the outbox received.
type SMSMessage struct {
	MessageID   string            `json:"messageId"`
	PhoneNumber string            `json:"phoneNumber"`
	Message     string            `json:"message"`
	Attributes  map[string]string `json:"attributes"`
	At          time.Time         `json:"at"`
}

// OutboxOptions configure StartOutbox.
type OutboxOptions struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// Path, when set, persists the messages as JSON across restarts.
	Path string
}

// Outbox is the local stand-in for SNS SMS: no SNS SMS emulator exists, so it
// answers the SNS Query protocol's Publish action, as the real SDK client
// sends it, records each message, and shows them at GET / (a web page) and
// GET /messages (JSON).
type Outbox struct {
	mu       sync.Mutex
	messages []SMSMessage
	path     string
	srv      *http.Server
	endpoint string
}

// StartOutbox starts the SMS outbox.
func StartOutbox(ctx context.Context, o OutboxOptions) (*Outbox, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", o.Port))
	if err != nil {
		return nil, fmt.Errorf("port %d is in use: stop what is using it, or set SNS_ENDPOINT to an SMS outbox already running there", o.Port)
	}
	b := &Outbox{path: o.Path, endpoint: "http://" + ln.Addr().String()}
	if o.Path != "" {
		if raw, err := os.ReadFile(o.Path); err == nil {
			if err := json.Unmarshal(raw, &b.messages); err != nil {
				ln.Close()
				return nil, fmt.Errorf("read %s: %w", o.Path, err)
			}
		}
	}
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.srv.Serve(ln) }()
	return b, nil
}

// Endpoint is the outbox's base URL, the SNS_ENDPOINT of the functions.
func (b *Outbox) Endpoint() string { return b.endpoint }

// Stop stops the outbox.
func (b *Outbox) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return b.srv.Shutdown(ctx)
}

// Messages returns every message received so far.
func (b *Outbox) Messages() []SMSMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]SMSMessage(nil), b.messages...)
}

const snsNS = "http://sns.amazonaws.com/doc/2010-03-31/"

type publishResponse struct {
	XMLName   xml.Name `xml:"PublishResponse"`
	NS        string   `xml:"xmlns,attr"`
	MessageID string   `xml:"PublishResult>MessageId"`
	RequestID string   `xml:"ResponseMetadata>RequestId"`
}

type errorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	NS        string   `xml:"xmlns,attr"`
	Type      string   `xml:"Error>Type"`
	Code      string   `xml:"Error>Code"`
	Message   string   `xml:"Error>Message"`
	RequestID string   `xml:"RequestId"`
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}

func snsError(w http.ResponseWriter, status int, code, msg string) {
	id, _ := secure.NewID()
	writeXML(w, status, errorResponse{NS: snsNS, Type: "Sender", Code: code, Message: msg, RequestID: id})
}

// ServeHTTP implements the SNS Query Publish action and the outbox pages.
func (b *Outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/messages":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(b.Messages())
	case r.Method == http.MethodGet && r.URL.Path == "/":
		b.page(w)
	case r.Method == http.MethodPost:
		b.publish(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (b *Outbox) publish(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		snsError(w, http.StatusBadRequest, "InvalidParameter", "Malformed request body.")
		return
	}
	if a := r.PostForm.Get("Action"); a != "Publish" {
		snsError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("The local SMS outbox implements only Publish, not %q.", a))
		return
	}
	phone, msg := r.PostForm.Get("PhoneNumber"), r.PostForm.Get("Message")
	if phone == "" || !strings.HasPrefix(phone, "+") {
		snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: PhoneNumber (the outbox accepts SMS to E.164 numbers only).")
		return
	}
	if msg == "" {
		snsError(w, http.StatusBadRequest, "InvalidParameter", "Invalid parameter: Empty message")
		return
	}
	attrs := map[string]string{}
	for i := 1; ; i++ {
		p := fmt.Sprintf("MessageAttributes.entry.%d.", i)
		name := r.PostForm.Get(p + "Name")
		if name == "" {
			break
		}
		attrs[name] = r.PostForm.Get(p + "Value.StringValue")
	}
	id, _ := secure.NewID()
	m := SMSMessage{MessageID: id, PhoneNumber: phone, Message: msg, Attributes: attrs, At: time.Now().UTC()}
	if err := b.add(m); err != nil {
		snsError(w, http.StatusInternalServerError, "InternalError", "The outbox could not save the message.")
		return
	}
	reqID, _ := secure.NewID()
	writeXML(w, http.StatusOK, publishResponse{NS: snsNS, MessageID: id, RequestID: reqID})
}

func (b *Outbox) add(m SMSMessage) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.messages = append(b.messages, m)
	if b.path == "" {
		return nil
	}
	raw, err := json.MarshalIndent(b.messages, "", "  ")
	if err != nil {
		return err
	}
	tmp := b.path + ".tmp"
	if err := os.MkdirAll(filepath.Dir(b.path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, b.path)
}

var pageTmpl = template.Must(template.New("outbox").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Latchkey SMS outbox</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}</style></head>
<body><h1>SMS outbox</h1><p>{{len .}} message(s), newest first. JSON at <a href="/messages">/messages</a>.</p>
<table><tr><th>Time (UTC)</th><th>To</th><th>Message</th><th>Type</th></tr>
{{range .}}<tr><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td>{{.PhoneNumber}}</td><td>{{.Message}}</td><td>{{index .Attributes "AWS.SNS.SMS.SMSType"}}</td></tr>
{{end}}</table></body></html>`))

func (b *Outbox) page(w http.ResponseWriter) {
	msgs := b.Messages()
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.Execute(w, msgs); err != nil {
		http.Error(w, "render failed", http.StatusInternalServerError)
	}
}

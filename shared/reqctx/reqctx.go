// Package reqctx carries per-request values (request id, logger, source
// address) through a context, so services log and audit with the request id
// without depending on the HTTP layer.
package reqctx

import (
	"context"
	"log/slog"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyLogger
	keySourceIP
)

// WithRequestID returns ctx carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, keyRequestID, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

// WithLogger returns ctx carrying l.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, keyLogger, l)
}

// Logger returns the logger carried by ctx, or slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// WithSourceIP returns ctx carrying the caller's source address.
func WithSourceIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, keySourceIP, ip)
}

// SourceIP returns the caller's source address carried by ctx, or "".
func SourceIP(ctx context.Context) string {
	s, _ := ctx.Value(keySourceIP).(string)
	return s
}

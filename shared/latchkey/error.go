// Package latchkey holds Latchkey's domain types, the coded error every layer
// returns, and the interfaces the domain needs from its adapters (storage,
// e-mail, SMS). It imports no AWS package: adapters live in sibling packages
// named after what they adapt (shared/dynamo, shared/ses, shared/sns).
package latchkey

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes. Each is part of the HTTP contract (PRODUCT.md) and maps to one
// status in codeStatus; an unknown code is an internal error.
const (
	EBadRequest         = "bad_request"
	EInvalidJSON        = "invalid_json"
	EValidation         = "validation_failed"
	EPasswordPolicy     = "password_policy"
	EBodyTooLarge       = "body_too_large"
	EUnauthorized       = "unauthorized"
	EInvalidCredentials = "invalid_credentials"
	EInvalidSession     = "invalid_session"
	EInvalidPINCode     = "invalid_pin_code"
	EForbidden          = "forbidden"
	EPINSignupDisabled  = "pin_signup_disabled"
	// ESecurityPINDisabled: the tenant has the security-PIN feature off.
	ESecurityPINDisabled = "security_pin_disabled"
	// EContactNotAllowed: security-PIN links go to owners and authorized contacts only.
	EContactNotAllowed = "contact_not_allowed"
	// EPINMismatch: the PIN and its confirmation differ.
	EPINMismatch = "pin_mismatch"
	// EPINTooSimple: the PIN is all one digit or a straight run.
	EPINTooSimple = "pin_too_simple"
	// EPINNotSet: the account has no security PIN to verify.
	EPINNotSet = "pin_not_set"
	// EPINVerificationLocked: 5 consecutive wrong security PINs; a reset
	// link ends it.
	EPINVerificationLocked = "pin_verification_locked"
	// ECodeGone: no live verification code (none sent, used, expired,
	// replaced by a newer one, or out of attempts).
	ECodeGone = "code_gone"
	// EWrongPIN and EWrongCode: a wrong security PIN or verification code;
	// the answer carries verified:false and attemptsRemaining beside the error.
	EWrongPIN  = "wrong_pin"
	EWrongCode = "wrong_code"
	// ETenantSelfServiceDisabled: the tenant's self-serve override is off,
	// so per-user switches cannot change.
	ETenantSelfServiceDisabled = "tenant_self_service_disabled"
	// ELastAdmin: the change would leave the tenant without an admin.
	ELastAdmin          = "last_admin"
	ENotFound           = "not_found"
	ERouteNotFound      = "route_not_found"
	EMethodNotAllowed   = "method_not_allowed"
	EConflict           = "conflict"
	EUsernameTaken      = "username_taken"
	ETenantExists       = "tenant_exists"
	ENoEmail            = "no_email"
	EGone               = "link_gone"
	EAccountLocked      = "account_locked"
	ERateLimited        = "rate_limited"
	EUnsupportedMedia   = "unsupported_media_type"
	EInternal           = "internal"
	EServiceUnavailable = "service_unavailable"
)

// codeStatus is the one table from error code to HTTP status.
var codeStatus = map[string]int{
	EBadRequest:                http.StatusBadRequest,
	EInvalidJSON:               http.StatusBadRequest,
	EValidation:                http.StatusBadRequest,
	EPasswordPolicy:            http.StatusBadRequest,
	EBodyTooLarge:              http.StatusRequestEntityTooLarge,
	EUnauthorized:              http.StatusUnauthorized,
	EInvalidCredentials:        http.StatusUnauthorized,
	EInvalidSession:            http.StatusUnauthorized,
	EInvalidPINCode:            http.StatusUnauthorized,
	EForbidden:                 http.StatusForbidden,
	EPINSignupDisabled:         http.StatusForbidden,
	ESecurityPINDisabled:       http.StatusForbidden,
	EContactNotAllowed:         http.StatusConflict,
	EPINMismatch:               http.StatusBadRequest,
	EPINTooSimple:              http.StatusBadRequest,
	EPINNotSet:                 http.StatusConflict,
	EPINVerificationLocked:     http.StatusLocked,
	ECodeGone:                  http.StatusGone,
	EWrongPIN:                  http.StatusUnprocessableEntity,
	EWrongCode:                 http.StatusUnprocessableEntity,
	ETenantSelfServiceDisabled: http.StatusConflict,
	ELastAdmin:                 http.StatusConflict,
	ENotFound:                  http.StatusNotFound,
	ERouteNotFound:             http.StatusNotFound,
	EMethodNotAllowed:          http.StatusMethodNotAllowed,
	EConflict:                  http.StatusConflict,
	EUsernameTaken:             http.StatusConflict,
	ETenantExists:              http.StatusConflict,
	ENoEmail:                   http.StatusConflict,
	EGone:                      http.StatusGone,
	EAccountLocked:             http.StatusLocked,
	ERateLimited:               http.StatusTooManyRequests,
	EUnsupportedMedia:          http.StatusUnsupportedMediaType,
	EInternal:                  http.StatusInternalServerError,
	EServiceUnavailable:        http.StatusServiceUnavailable,
}

// Error is the coded error of the domain. Code is machine-readable and stable,
// Message is safe to show to a client, Details carries extra fields that are
// part of the contract (such as the failed password rules or a Retry-After).
type Error struct {
	Code    string
	Message string
	// Details are merged into the JSON error object next to code and message.
	Details map[string]any
	// Fields are top-level members of the response body beside "error",
	// where the contract puts them there (attemptsRemaining of a wrong PIN).
	Fields map[string]any
	// RetryAfterSeconds, when positive, is sent as the Retry-After header.
	RetryAfterSeconds int
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("latchkey error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns a coded error with a formatted, client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err when it is (or wraps) an *Error, and
// EInternal for every other non-nil error. It returns "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err. Errors that are not
// coded get a generic message: detail stays in the logs.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// StatusOf returns the HTTP status for an error code (500 when unknown).
func StatusOf(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Codes returns every error code known to the status table.
func Codes() []string {
	out := make([]string, 0, len(codeStatus))
	for c := range codeStatus {
		out = append(out, c)
	}
	return out
}

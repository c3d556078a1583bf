package latchkey

// Formats of the identifiers that arrive in request paths. Each validator is
// pure and allocation-free, so that shared/httpapi can refuse a malformed path
// parameter before any handler or store sees it. They check bytes, not runes:
// every accepted character is ASCII, so length in bytes is length in
// characters, and any non-ASCII byte is refused.

// Longest identifiers accepted in a path.
const (
	idsTenantMaxLen = 32
	idsIDMaxLen     = 64
	idsTokenMaxLen  = 128
)

// ValidTenantID reports whether s is a well-formed tenant id: 3 to 32
// lowercase ASCII letters, digits and hyphens, starting and ending with a
// letter or digit, with no two hyphens in a row. It is the regular expression
// ^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$ plus "no --".
func ValidTenantID(s string) bool {
	if len(s) < 3 || len(s) > idsTenantMaxLen {
		return false
	}
	if s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-':
			if s[i-1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// ValidID reports whether s is a well-formed entity id (such as a user id):
// 1 to 64 characters of [A-Za-z0-9_-].
func ValidID(s string) bool { return validBase64URL(s, idsIDMaxLen) }

// ValidLinkToken reports whether s is a well-formed link token: 1 to 128
// characters of the unpadded base64url alphabet [A-Za-z0-9_-].
func ValidLinkToken(s string) bool { return validBase64URL(s, idsTokenMaxLen) }

// validBase64URL reports whether s is 1 to maxLen characters of [A-Za-z0-9_-].
func validBase64URL(s string, maxLen int) bool {
	if len(s) == 0 || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

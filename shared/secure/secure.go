// Package secure holds Latchkey's security primitives: argon2id password
// hashes with their parameters stored in the hash, keyed HMAC for PINs, codes
// and link tokens, constant-time comparison, crypto/rand generators and
// AES-GCM sealing for the few secrets that must be recoverable.
package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters. They are stored in every hash, so raising
// them later only affects new hashes; VerifyPassword reports old ones as
// needing a rehash.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   int
	KeyLen    uint32
}

// DefaultParams meet OWASP's argon2id minimum (m=19 MiB, t=2, p=1), which
// PRODUCT.md requires.
var DefaultParams = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

var b64 = base64.RawStdEncoding

// HashPassword hashes pw with DefaultParams into a PHC string
// ($argon2id$v=19$m=19456,t=2,p=1$salt$hash).
func HashPassword(pw string) (string, error) { return HashPasswordWith(pw, DefaultParams) }

// HashPasswordWith hashes pw with p.
func HashPasswordWith(pw string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// ErrMalformedHash is returned for a stored hash that is not an argon2id PHC string.
var ErrMalformedHash = errors.New("malformed argon2id hash")

func parsePHC(phc string) (Params, []byte, []byte, error) {
	parts := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, ErrMalformedHash
	}
	var p Params
	var threads uint32
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Params{}, nil, nil, ErrMalformedHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return Params{}, nil, nil, ErrMalformedHash
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > 255 {
				return Params{}, nil, nil, ErrMalformedHash
			}
			threads = uint32(n)
		default:
			return Params{}, nil, nil, ErrMalformedHash
		}
	}
	p.Threads = uint8(threads)
	if p.MemoryKiB == 0 || p.Time == 0 || p.Threads == 0 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return Params{}, nil, nil, ErrMalformedHash
	}
	p.SaltLen, p.KeyLen = len(salt), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword reports whether pw matches the PHC string phc, comparing in
// constant time. needsRehash is true when phc was made with weaker parameters
// than DefaultParams. A malformed phc returns ErrMalformedHash.
func VerifyPassword(phc, pw string) (ok, needsRehash bool, err error) {
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	d := DefaultParams
	needsRehash = p.MemoryKiB < d.MemoryKiB || p.Time < d.Time || p.KeyLen < d.KeyLen
	return ok, needsRehash, nil
}

// dummyHash is a constant argon2id hash with DefaultParams (of a password
// nobody types): checking against it costs exactly what checking a real
// hash costs, and nothing is hashed at start-up or on the first request.
// TestDummyHash keeps its parameters equal to DefaultParams.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$M+0Hrs023/VHDr3ps0tkPA$44/1YxTtOrDixxmDIlyM0/+EpXq5fVBPL6ehfJUv1Sg"

// DummyVerify does the work of one VerifyPassword against a fixed hash, so that
// a request for an unknown user costs what one for a known user costs.
func DummyVerify(pw string) { _, _, _ = VerifyPassword(dummyHash, pw) }

// MAC returns base64url(HMAC-SHA256(key, purpose || 0x00 || value)). The
// purpose separates uses of the one key (PIN codes, sessions, link tokens).
func MAC(key []byte, purpose, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// EqualMAC compares two MACs (or any two secrets) in constant time.
func EqualMAC(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

// RandomToken returns n random bytes from crypto/rand, base64url-encoded.
func RandomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// RandomString returns n characters drawn uniformly from alphabet with crypto/rand.
func RandomString(n int, alphabet string) (string, error) {
	max := big.NewInt(int64(len(alphabet)))
	out := make([]byte, n)
	for i := range out {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("random string: %w", err)
		}
		out[i] = alphabet[k.Int64()]
	}
	return string(out), nil
}

// RandomDigits returns n random decimal digits (PINs, verification codes).
func RandomDigits(n int) (string, error) { return RandomString(n, "0123456789") }

// Unambiguous is the alphabet of secrets people read and type: no 0/O, 1/l/I.
const Unambiguous = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"

// TemporaryPassword returns a 16-character temporary password from the
// unambiguous alphabet (about 93 bits). It always holds a letter and a digit,
// so it passes every tenant's letter and digit rules.
func TemporaryPassword() (string, error) {
	for {
		pw, err := RandomString(16, Unambiguous)
		if err != nil {
			return "", err
		}
		if strings.ContainsAny(pw, "23456789") && strings.IndexFunc(pw, func(r rune) bool { return r > '9' }) >= 0 {
			return pw, nil
		}
	}
}

// PINCodeAlphabet is the alphabet of PIN codes: 31 upper-case letters and
// digits without look-alikes (no 0/O, 1/I/L), so a code read aloud or typed in
// any case works.
const PINCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// PINCodeLen is the number of random characters in a PIN code.
const PINCodeLen = 12

// PINCode returns a PIN code for PIN-code signup: 12 characters of
// PINCodeAlphabet (12 × log2(31) ≈ 59 bits, above the 50 PRODUCT.md asks
// for), shown in groups of four ("ABCD-EFGH-JKMN").
func PINCode() (string, error) {
	s, err := RandomString(PINCodeLen, PINCodeAlphabet)
	if err != nil {
		return "", err
	}
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12], nil
}

// NormalizePINCode removes the spaces and hyphens a person may type in a PIN
// code and upper-cases it.
func NormalizePINCode(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s))
}

// NewID returns a random identifier: 16 lowercase base32 characters (80 bits).
func NewID() (string, error) { return RandomString(16, "abcdefghijklmnopqrstuvwxyz234567") }

// Seal encrypts plaintext with AES-256-GCM under key (32 bytes), binding it to
// aad (for example the tenant and user it belongs to). The nonce is prepended.
func Seal(key []byte, plaintext, aad string) (string, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(plaintext), []byte(aad))), nil
}

// Open decrypts what Seal produced with the same key and aad.
func Open(key []byte, sealed, aad string) (string, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < gcm.NonceSize() {
		return "", errors.New("open: malformed ciphertext")
	}
	pt, err := gcm.Open(nil, b[:gcm.NonceSize()], b[gcm.NonceSize():], []byte(aad))
	if err != nil {
		return "", errors.New("open: authentication failed")
	}
	return string(pt), nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, errors.New("seal: key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return cipher.NewGCM(block)
}

// Package secrets loads Latchkey's keys once per cold start: from Secrets
// Manager in AWS, from a generated, git-ignored file locally. One master key
// is stored; the HMAC key, the token signing key and the data key are derived
// from it with HKDF-SHA256 under distinct labels, so no key serves two uses.
package secrets

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"golang.org/x/crypto/hkdf"
)

// Keys are the application's keys. They never leave the process and are never logged.
type Keys struct {
	// HMACKey keys the MACs of PINs, PIN codes, verification codes, link and session tokens.
	HMACKey []byte
	// SigningKey signs access tokens (EdDSA).
	SigningKey ed25519.PrivateKey
	// DataKey encrypts the few secrets that must be recoverable (AES-256-GCM).
	DataKey []byte
}

// MinMasterKeyLen is the shortest master key accepted.
const MinMasterKeyLen = 32

// GenerateMasterKey returns a new random master key (256 bits, base64url).
func GenerateMasterKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate master key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Derive derives every key from master. The same master always gives the same keys.
func Derive(master string) (*Keys, error) {
	if len(master) < MinMasterKeyLen {
		return nil, fmt.Errorf("master key: got %d characters, want at least %d", len(master), MinMasterKeyLen)
	}
	derive := func(label string, n int) ([]byte, error) {
		out := make([]byte, n)
		if _, err := io.ReadFull(hkdf.New(sha256.New, []byte(master), []byte("latchkey"), []byte(label)), out); err != nil {
			return nil, fmt.Errorf("derive %s: %w", label, err)
		}
		return out, nil
	}
	h, err := derive("hmac-v1", 32)
	if err != nil {
		return nil, err
	}
	seed, err := derive("token-signing-ed25519-v1", ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	d, err := derive("data-aes256gcm-v1", 32)
	if err != nil {
		return nil, err
	}
	return &Keys{HMACKey: h, SigningKey: ed25519.NewKeyFromSeed(seed), DataKey: d}, nil
}

// document is the stored form: {"masterKey": "..."}.
type document struct {
	MasterKey string `json:"masterKey"`
}

// Parse reads a secret value: either the JSON document {"masterKey": "..."} or
// the bare master key (what the CDK stack's generated secret holds).
func Parse(value string) (*Keys, error) {
	value = strings.TrimSpace(value)
	if strings.HasPrefix(value, "{") {
		var d document
		if err := json.Unmarshal([]byte(value), &d); err != nil {
			return nil, errors.New("secret: not valid JSON")
		}
		value = d.MasterKey
	}
	return Derive(value)
}

// SecretsManagerAPI is the part of the Secrets Manager client used here.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// FromSecretsManager loads the keys from the secret arn.
func FromSecretsManager(ctx context.Context, api SecretsManagerAPI, arn string) (*Keys, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return nil, fmt.Errorf("get secret value: %w", err)
	}
	if out.SecretString == nil {
		return nil, errors.New("secret: no SecretString")
	}
	return Parse(*out.SecretString)
}

// LoadOrCreateFile loads the keys from path, creating the file (mode 0600)
// with a new master key when it does not exist. It is for local use only.
func LoadOrCreateFile(path string) (*Keys, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		master, err := GenerateMasterKey()
		if err != nil {
			return nil, err
		}
		b, _ = json.Marshal(document{MasterKey: master})
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("secrets file: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateFile(path) // another process created it first
		}
		if err != nil {
			return nil, fmt.Errorf("secrets file: %w", err)
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return nil, fmt.Errorf("secrets file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("secrets file: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	return Parse(string(b))
}

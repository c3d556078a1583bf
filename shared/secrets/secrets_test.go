package secrets

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

func TestDerive(t *testing.T) {
	m, err := GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	a, err := Derive(m)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Derive(m)
	if !bytes.Equal(a.HMACKey, b.HMACKey) || !bytes.Equal(a.SigningKey, b.SigningKey) || !bytes.Equal(a.DataKey, b.DataKey) {
		t.Fatal("got different keys from one master, want the same")
	}
	if bytes.Equal(a.HMACKey, a.DataKey) {
		t.Fatal("got HMAC key == data key, want distinct keys per use")
	}
	m2, _ := GenerateMasterKey()
	c, _ := Derive(m2)
	if bytes.Equal(a.HMACKey, c.HMACKey) {
		t.Fatal("got equal keys from different masters")
	}
	if _, err := Derive("short"); err == nil {
		t.Fatal("got nil error for a short master key")
	}
}

func TestLoadOrCreateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "secrets.json")
	a, err := LoadOrCreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("got mode %v, want 0600", st.Mode().Perm())
	}
	b, err := LoadOrCreateFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.HMACKey, b.HMACKey) {
		t.Fatal("second load gave other keys, want the stored ones")
	}
}

type fakeSM struct{ value *string }

func (f fakeSM) GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if f.value == nil {
		return nil, errors.New("denied")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: f.value}, nil
}

func TestFromSecretsManager(t *testing.T) {
	m, _ := GenerateMasterKey()
	want, _ := Derive(m)
	for name, v := range map[string]string{"bare": m, "json": `{"masterKey":"` + m + `"}`} {
		t.Run(name, func(t *testing.T) {
			got, err := FromSecretsManager(context.Background(), fakeSM{&v}, "arn")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.HMACKey, want.HMACKey) {
				t.Fatal("got other keys than Derive(master)")
			}
		})
	}
	if _, err := FromSecretsManager(context.Background(), fakeSM{}, "arn"); err == nil {
		t.Fatal("got nil error when the secret cannot be read")
	}
}

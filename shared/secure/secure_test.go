package secure

import (
	"math"
	"regexp"
	"strings"
	"testing"
)

func TestHashPassword_Verify(t *testing.T) {
	h, err := HashPassword("correct horse 1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("got hash %q, want argon2id PHC with m=19456,t=2,p=1", h)
	}
	t.Run("right password", func(t *testing.T) {
		ok, rehash, err := VerifyPassword(h, "correct horse 1")
		if err != nil || !ok || rehash {
			t.Fatalf("got ok=%v rehash=%v err=%v, want true false nil", ok, rehash, err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		ok, _, err := VerifyPassword(h, "correct horse 2")
		if err != nil || ok {
			t.Fatalf("got ok=%v err=%v, want false nil", ok, err)
		}
	})
	t.Run("same password twice gives different salts", func(t *testing.T) {
		h2, _ := HashPassword("correct horse 1")
		if h2 == h {
			t.Fatal("got identical hashes, want distinct salts")
		}
	})
	t.Run("weaker parameters need rehash", func(t *testing.T) {
		weak, err := HashPasswordWith("pw", Params{MemoryKiB: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
		if err != nil {
			t.Fatal(err)
		}
		ok, rehash, err := VerifyPassword(weak, "pw")
		if err != nil || !ok || !rehash {
			t.Fatalf("got ok=%v rehash=%v err=%v, want true true nil", ok, rehash, err)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", "$argon2id$v=19$m=0,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"} {
			if _, _, err := VerifyPassword(bad, "x"); err != ErrMalformedHash {
				t.Errorf("VerifyPassword(%q): got %v, want ErrMalformedHash", bad, err)
			}
		}
	})
}

func TestMAC(t *testing.T) {
	k1, k2 := []byte("key-one-key-one-key-one-key-one!"), []byte("key-two-key-two-key-two-key-two!")
	a := MAC(k1, "pin", "123456")
	if a != MAC(k1, "pin", "123456") {
		t.Fatal("got different MACs for the same input, want equal")
	}
	for name, other := range map[string]string{
		"other key": MAC(k2, "pin", "123456"), "other purpose": MAC(k1, "code", "123456"), "other value": MAC(k1, "pin", "123457"),
		"purpose/value boundary": MAC(k1, "pin1", "23456"),
	} {
		if EqualMAC(a, other) {
			t.Errorf("%s: got equal MAC, want different", name)
		}
	}
	if strings.Contains(a, "123456") {
		t.Fatal("MAC contains its input")
	}
}

func TestGenerators(t *testing.T) {
	seen := map[string]bool{}
	tp := regexp.MustCompile(`^[A-Za-z0-9]{16}$`)
	for i := 0; i < 200; i++ {
		pw, err := TemporaryPassword()
		if err != nil {
			t.Fatal(err)
		}
		if !tp.MatchString(pw) || strings.ContainsAny(pw, "0O1lI") || !strings.ContainsAny(pw, "23456789") {
			t.Fatalf("temporary password %q: want 16 unambiguous characters with a digit", pw)
		}
		if seen[pw] {
			t.Fatalf("temporary password %q repeated", pw)
		}
		seen[pw] = true
	}
	d, _ := RandomDigits(6)
	if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(d) {
		t.Fatalf("got %q, want 6 digits", d)
	}
	id, _ := NewID()
	if !regexp.MustCompile(`^[a-z2-7]{16}$`).MatchString(id) {
		t.Fatalf("got id %q, want 16 lowercase base32", id)
	}
	pc, _ := PINCode()
	if !regexp.MustCompile(`^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$`).MatchString(pc) || strings.ContainsAny(pc, "01OIL") {
		t.Fatalf("got PIN code %q, want XXXX-XXXX-XXXX without look-alikes", pc)
	}
	if bits := float64(PINCodeLen) * math.Log2(float64(len(PINCodeAlphabet))); bits < 50 {
		t.Fatalf("PIN code entropy: got %.1f bits, want at least 50", bits)
	}
	if got := NormalizePINCode(" " + strings.ToLower(pc) + " "); got != strings.ReplaceAll(pc, "-", "") {
		t.Fatalf("NormalizePINCode: got %q", got)
	}
}

func TestSeal_Open(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	s, err := Seal(key, "ABCD-EFGH-JKLM", "t1/u1")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Open(key, s, "t1/u1"); err != nil || got != "ABCD-EFGH-JKLM" {
		t.Fatalf("got %q %v, want the plaintext", got, err)
	}
	if _, err := Open(key, s, "t2/u1"); err == nil {
		t.Fatal("opened with another aad, want error")
	}
	if _, err := Open([]byte("fedcba9876543210fedcba9876543210"), s, "t1/u1"); err == nil {
		t.Fatal("opened with another key, want error")
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("correct horse battery 9"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPassword(b *testing.B) {
	h, _ := HashPassword("correct horse battery 9")
	b.ResetTimer()
	for b.Loop() {
		_, _, _ = VerifyPassword(h, "correct horse battery 9")
	}
}

func BenchmarkMAC(b *testing.B) {
	k := []byte("0123456789abcdef0123456789abcdef")
	for b.Loop() {
		MAC(k, "pin", "123456")
	}
}

// The dummy hash costs what a real one costs: the same parameters.
func TestDummyHash(t *testing.T) {
	p, _, _, err := parsePHC(dummyHash)
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultParams
	if p.MemoryKiB != d.MemoryKiB || p.Time != d.Time || p.Threads != d.Threads || p.KeyLen != d.KeyLen {
		t.Fatalf("dummy hash parameters %+v, want DefaultParams %+v", p, d)
	}
}

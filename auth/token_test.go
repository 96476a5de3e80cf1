package auth

import (
	"strings"
	"testing"
)

func TestNewTokenAndKeyring(t *testing.T) {
	tok, hash, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "ltc_") || len(tok) < 40 || HashToken(tok) != hash || len(hash) != 64 {
		t.Fatalf("NewToken = %q, %q", tok, hash)
	}
	tok2, hash2, _ := NewToken()
	if tok2 == tok {
		t.Fatal("two tokens are equal")
	}
	k, err := NewKeyring([]TokenSpec{
		{Name: "north", Hash: hash, Role: "analyst", BusinessUnits: []string{"North"}},
		{Name: "ops", Hash: strings.ToUpper(hash2), Role: "admin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := k.Authenticate(tok); !ok || id.Name != "north" || id.Role != Analyst || id.BusinessUnits[0] != "North" {
		t.Errorf("Authenticate(north) = %+v, %v", id, ok)
	}
	if id, ok := k.Authenticate(tok2); !ok || id.Name != "ops" || id.Role != Admin || id.Scoped() {
		t.Errorf("Authenticate(ops) = %+v, %v", id, ok)
	}
	for _, bad := range []string{"", tok + "x", tok[:len(tok)-1], hash, "ltc_"} {
		if _, ok := k.Authenticate(bad); ok {
			t.Errorf("Authenticate(%q) accepted", bad)
		}
	}
}

func TestKeyringRejectsBadSpecs(t *testing.T) {
	_, h := mustToken(t)
	for name, specs := range map[string][]TokenSpec{
		"no name":        {{Hash: h, Role: "viewer"}},
		"short hash":     {{Name: "a", Hash: "abc", Role: "viewer"}},
		"plain token":    {{Name: "a", Hash: "ltc_secret", Role: "viewer"}},
		"bad role":       {{Name: "a", Hash: h, Role: "root"}},
		"empty unit":     {{Name: "a", Hash: h, Role: "viewer", BusinessUnits: []string{""}}},
		"duplicate name": {{Name: "a", Hash: h, Role: "viewer"}, {Name: "a", Hash: HashToken("x"), Role: "viewer"}},
		"duplicate hash": {{Name: "a", Hash: h, Role: "viewer"}, {Name: "b", Hash: h, Role: "admin"}},
	} {
		if _, err := NewKeyring(specs); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func mustToken(t *testing.T) (string, string) {
	t.Helper()
	tok, h, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	return tok, h
}

// BenchmarkAuthenticate measures a token check against 100 configured tokens.
func BenchmarkAuthenticate(b *testing.B) {
	var specs []TokenSpec
	var last string
	for i := range 100 {
		tok, h, _ := NewToken()
		specs = append(specs, TokenSpec{Name: strings.Repeat("t", i+1), Hash: h, Role: "viewer"})
		last = tok
	}
	k, err := NewKeyring(specs)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		k.Authenticate(last)
	}
}

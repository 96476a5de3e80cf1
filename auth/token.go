package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// TokenSpec is one API token as configured (auth.tokens in ltc.yaml, or LTC_TOKENS): the SHA-256
// of the token, never the token itself.
//
// SHA-256 rather than a slow password hash (bcrypt, argon2): tokens are 256-bit random strings made by
// NewToken, so guessing one from its hash is infeasible however fast the hash is, and a fast hash lets
// every API request be checked in microseconds. A slow hash only helps low-entropy secrets such as
// passwords, which ltc does not accept.
type TokenSpec struct {
	// Name identifies the token in logs, rate limits and /auth/session (not secret).
	Name string `yaml:"name" json:"name"`
	// Hash is the lowercase hex SHA-256 of the token (64 characters), as `ltc token new` prints it.
	Hash string `yaml:"hash" json:"hash"`
	// Role is viewer, analyst or admin.
	Role string `yaml:"role" json:"role"`
	// BusinessUnits and Regions limit the rows the token sees; empty means all.
	BusinessUnits []string `yaml:"business_units" json:"business_units,omitempty"`
	Regions       []string `yaml:"regions" json:"regions,omitempty"`
}

// tokenPrefix marks ltc tokens, so secret scanners and people recognise them.
const tokenPrefix = "ltc_"

// NewToken returns a new random token (256 bits from crypto/rand) and its hash for the config.
func NewToken() (token, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("auth.NewToken: %w", err)
	}
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the lowercase hex SHA-256 of token, the form TokenSpec.Hash stores.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Validate reports every problem of the spec.
func (s TokenSpec) Validate() error {
	var errs []error
	if strings.TrimSpace(s.Name) == "" {
		errs = append(errs, errors.New("name: empty"))
	}
	if b, err := hex.DecodeString(s.Hash); err != nil || len(b) != sha256.Size {
		errs = append(errs, errors.New("hash: want the 64-character hex SHA-256 of the token (ltc token new prints it)"))
	}
	if _, err := ParseRole(s.Role); err != nil {
		errs = append(errs, err)
	}
	for _, v := range append(append([]string(nil), s.BusinessUnits...), s.Regions...) {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, errors.New("business_units/regions: empty value"))
			break
		}
	}
	return errors.Join(errs...)
}

// Keyring checks tokens against the configured hashes. It is read-only after NewKeyring and safe
// for concurrent use.
type Keyring struct {
	entries []keyEntry
}

type keyEntry struct {
	hash []byte
	id   Identity
}

// NewKeyring returns a keyring of specs; it fails on an invalid spec or a repeated name or hash.
func NewKeyring(specs []TokenSpec) (*Keyring, error) {
	k := &Keyring{}
	names, hashes := map[string]bool{}, map[string]bool{}
	var errs []error
	for i, s := range specs {
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("token %d (%q): %w", i+1, s.Name, err))
			continue
		}
		h := strings.ToLower(s.Hash)
		if names[s.Name] {
			errs = append(errs, fmt.Errorf("token %q: duplicate name", s.Name))
		}
		if hashes[h] {
			errs = append(errs, fmt.Errorf("token %q: same hash as another token", s.Name))
		}
		names[s.Name], hashes[h] = true, true
		role, _ := ParseRole(s.Role)
		raw, _ := hex.DecodeString(h)
		k.entries = append(k.entries, keyEntry{hash: raw, id: Identity{
			Name: s.Name, Role: role,
			BusinessUnits: append([]string(nil), s.BusinessUnits...),
			Regions:       append([]string(nil), s.Regions...),
		}})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("auth.NewKeyring: %w", err)
	}
	return k, nil
}

// Len returns the number of tokens.
func (k *Keyring) Len() int { return len(k.entries) }

// Authenticate returns the identity of token. It compares the token's hash with every configured
// hash in constant time and without stopping at a match, so the time taken does not tell how much
// of a hash matched or which entry did.
func (k *Keyring) Authenticate(token string) (Identity, bool) {
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i, e := range k.entries {
		if subtle.ConstantTimeCompare(sum[:], e.hash) == 1 {
			found = i
		}
	}
	if found < 0 || token == "" {
		return Identity{}, false
	}
	return k.entries[found].id, true
}

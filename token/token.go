package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

const prefix = "K10"

var (
	hashPattern      = regexp.MustCompile(`^[0-9a-f]{64}$`)
	bootstrapPattern = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)
	// ErrNoCAHash says a short token carries nothing to verify the CA with.
	ErrNoCAHash = errors.New("the token has no CA hash")
)

// Token is a parsed join token.
type Token struct {
	CAHash string // lowercase hex sha256 of the CA bundle; "" for a short token
	User   string // "server", "node", or "" for a bootstrap or short token
	ID     string // bootstrap token id, else ""
	Secret string
}

const formats = "want K10<sha256>::server:<secret>, K10<sha256>::<id>.<secret> or a bare secret"

// Parse reads a token as found in the server's token file or a flag.
// Errors never repeat the token, which is a secret.
func Parse(s string) (Token, error) {
	s = strings.TrimSpace(s)
	rest, full := strings.CutPrefix(s, prefix)
	if !full {
		return ParseCredential(s)
	}
	hash, cred, ok := strings.Cut(rest, "::")
	if !ok {
		return Token{}, fmt.Errorf("token starts with K10 but has no \"::\": %s", formats)
	}
	hash = strings.ToLower(hash)
	if !hashPattern.MatchString(hash) {
		return Token{}, fmt.Errorf("token's CA hash is not 64 hex digits: %s", formats)
	}
	t, err := ParseCredential(cred)
	if err != nil {
		return t, err
	}
	if t.User == "" && t.ID == "" {
		return Token{}, fmt.Errorf("token has a CA hash but no user or bootstrap id: %s", formats)
	}
	t.CAHash = hash
	return t, nil
}

// ParseCredential reads what an agent presents: <user>:<secret>,
// <id>.<secret>, or a bare secret.
func ParseCredential(s string) (Token, error) {
	if s == "" {
		return Token{}, fmt.Errorf("empty token: %s", formats)
	}
	if m := bootstrapPattern.FindStringSubmatch(s); m != nil {
		return Token{ID: m[1], Secret: m[2]}, nil
	}
	if user, secret, ok := strings.Cut(s, ":"); ok {
		if user != "server" && user != "node" {
			return Token{}, fmt.Errorf("token user %q: want server or node", user)
		}
		if secret == "" {
			return Token{}, fmt.Errorf("token has an empty secret: %s", formats)
		}
		return Token{User: user, Secret: secret}, nil
	}
	if strings.ContainsAny(s, " \t\n") {
		return Token{}, fmt.Errorf("token contains whitespace: %s", formats)
	}
	return Token{Secret: s}, nil
}

// Credential is what an agent sends as its bearer token.
func (t Token) Credential() string {
	switch {
	case t.ID != "":
		return t.ID + "." + t.Secret
	case t.User != "":
		return t.User + ":" + t.Secret
	default:
		return t.Secret
	}
}

// String is the full form when the CA hash is known, else the credential.
func (t Token) String() string {
	if t.CAHash == "" {
		return t.Credential()
	}
	return prefix + t.CAHash + "::" + t.Credential()
}

// CAHash is the hash a full token carries: sha256 of exactly these bytes.
func CAHash(bundle []byte) string {
	sum := sha256.Sum256(bundle)
	return hex.EncodeToString(sum[:])
}

// VerifyCA checks a CA bundle against the token's hash. A short token
// returns ErrNoCAHash, so the caller decides whether to trust on first use.
func (t Token) VerifyCA(bundle []byte) error {
	if t.CAHash == "" {
		return ErrNoCAHash
	}
	if !Equal(CAHash(bundle), t.CAHash) {
		return fmt.Errorf("the server's CA (sha256 %s) does not match the token's CA hash", CAHash(bundle))
	}
	return nil
}

// NewSecret returns 32 random bytes, hex-encoded.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Equal compares secrets in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

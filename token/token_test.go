package token

import (
	"errors"
	"strings"
	"testing"
)

const testHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseForms(t *testing.T) {
	for in, want := range map[string]Token{
		"K10" + testHash + "::server:s3cret\n":           {CAHash: testHash, User: "server", Secret: "s3cret"},
		"K10" + strings.ToUpper(testHash) + "::node:abc": {CAHash: testHash, User: "node", Secret: "abc"},
		"K10" + testHash + "::abcdef.0123456789abcdef":   {CAHash: testHash, ID: "abcdef", Secret: "0123456789abcdef"},
		"abcdef.0123456789abcdef":                        {ID: "abcdef", Secret: "0123456789abcdef"},
		"server:s3cret":                                  {User: "server", Secret: "s3cret"},
		"  bare-secret ":                                 {Secret: "bare-secret"},
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
}

func TestParseRejectsMalformedWithoutLeakingTheSecret(t *testing.T) {
	for _, in := range []string{
		"",
		"K10" + testHash[:10] + "::server:topsecret", // short hash
		"K10" + strings.Repeat("z", 64) + "::server:topsecret",
		"K10" + testHash + "server:topsecret", // no ::
		"K10" + testHash + "::topsecret",      // hash but no user
		"admin:topsecret",
		"server:",
		"top secret",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) accepted", in)
			continue
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("Parse(%q) error repeats the secret: %v", in, err)
		}
	}
}

func TestStringRoundTrips(t *testing.T) {
	for _, tok := range []Token{
		{CAHash: testHash, User: "server", Secret: "s"},
		{CAHash: testHash, ID: "abcdef", Secret: "0123456789abcdef"},
		{Secret: "bare"},
	} {
		got, err := Parse(tok.String())
		if err != nil || got != tok {
			t.Errorf("round trip of %+v: %+v, %v", tok, got, err)
		}
		cred, err := ParseCredential(tok.Credential())
		tok.CAHash = ""
		if err != nil || cred != tok {
			t.Errorf("credential round trip of %+v: %+v, %v", tok, cred, err)
		}
	}
}

func TestVerifyCA(t *testing.T) {
	ca := []byte("-----BEGIN CERTIFICATE-----\n...")
	tok := Token{CAHash: CAHash(ca), User: "server", Secret: "s"}
	if err := tok.VerifyCA(ca); err != nil {
		t.Fatal(err)
	}
	if err := tok.VerifyCA(append(ca, '\n')); err == nil {
		t.Fatal("a different CA bundle verified")
	}
	if err := (Token{Secret: "s"}).VerifyCA(ca); !errors.Is(err, ErrNoCAHash) {
		t.Fatalf("short token: %v", err)
	}
}

func TestNewSecretsDiffer(t *testing.T) {
	a, _ := NewSecret()
	b, _ := NewSecret()
	if len(a) != 64 || a == b {
		t.Fatalf("secrets %q %q", a, b)
	}
}

package token

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	bootstrapapi "k8s.io/cluster-bootstrap/token/api"
)

// Bootstrap is an extra join token, kept as a Kubernetes bootstrap-token
// Secret so it can expire and be revoked without touching the server's own.
type Bootstrap struct {
	ID, Secret, Description string
	Expires                 time.Time // zero: never
}

// Credential is the token without a CA hash.
func (b Bootstrap) Credential() string { return b.ID + "." + b.Secret }

// errInvalidBootstrap does not say which part failed, to tell a guesser
// nothing.
var errInvalidBootstrap = errors.New("invalid or expired bootstrap token")

// CreateBootstrap stores a new random bootstrap token; ttl 0 never expires.
func CreateBootstrap(ctx context.Context, c kubernetes.Interface, ttl time.Duration, description string) (Bootstrap, error) {
	b := Bootstrap{ID: randomString(6), Secret: randomString(16), Description: description}
	data := map[string][]byte{
		bootstrapapi.BootstrapTokenIDKey:               []byte(b.ID),
		bootstrapapi.BootstrapTokenSecretKey:           []byte(b.Secret),
		bootstrapapi.BootstrapTokenUsageAuthentication: []byte("true"),
		bootstrapapi.BootstrapTokenUsageSigningKey:     []byte("true"),
	}
	if description != "" {
		data[bootstrapapi.BootstrapTokenDescriptionKey] = []byte(description)
	}
	if ttl > 0 {
		b.Expires = time.Now().Add(ttl).UTC().Truncate(time.Second)
		data[bootstrapapi.BootstrapTokenExpirationKey] = []byte(b.Expires.Format(time.RFC3339))
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: bootstrapapi.BootstrapTokenSecretPrefix + b.ID, Namespace: metav1.NamespaceSystem},
		Type:       bootstrapapi.SecretTypeBootstrapToken,
		Data:       data,
	}
	if _, err := c.CoreV1().Secrets(metav1.NamespaceSystem).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		return Bootstrap{}, fmt.Errorf("storing bootstrap token %s: %w", b.ID, err)
	}
	return b, nil
}

// ListBootstrap returns the stored bootstrap tokens, oldest expiry first.
func ListBootstrap(ctx context.Context, c kubernetes.Interface) ([]Bootstrap, error) {
	list, err := c.CoreV1().Secrets(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{
		FieldSelector: "type=" + string(bootstrapapi.SecretTypeBootstrapToken),
	})
	if err != nil {
		return nil, fmt.Errorf("listing bootstrap tokens: %w", err)
	}
	var out []Bootstrap
	for _, s := range list.Items {
		if s.Type != bootstrapapi.SecretTypeBootstrapToken {
			continue // fake clients ignore field selectors
		}
		out = append(out, fromSecret(&s))
	}
	slices.SortFunc(out, func(a, b Bootstrap) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteBootstrap revokes a token given as its id, id.secret or full form.
func DeleteBootstrap(ctx context.Context, c kubernetes.Interface, token string) error {
	id := token
	if t, err := Parse(token); err == nil && t.ID != "" {
		id = t.ID
	}
	err := c.CoreV1().Secrets(metav1.NamespaceSystem).Delete(ctx, bootstrapapi.BootstrapTokenSecretPrefix+id, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("no bootstrap token %q (see `kedge token list`)", id)
	}
	if err != nil {
		return fmt.Errorf("deleting bootstrap token %s: %w", id, err)
	}
	return nil
}

// LookupBootstrap returns nil only for a stored, unexpired token whose
// secret matches.
func LookupBootstrap(ctx context.Context, c kubernetes.Interface, id, secret string, now time.Time) error {
	s, err := c.CoreV1().Secrets(metav1.NamespaceSystem).Get(ctx, bootstrapapi.BootstrapTokenSecretPrefix+id, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return errInvalidBootstrap
	}
	if err != nil {
		return fmt.Errorf("looking up bootstrap token %s: %w", id, err)
	}
	b := fromSecret(s)
	if s.Type != bootstrapapi.SecretTypeBootstrapToken || !Equal(b.Secret, secret) {
		return errInvalidBootstrap
	}
	if !b.Expires.IsZero() && now.After(b.Expires) {
		return errInvalidBootstrap
	}
	return nil
}

func fromSecret(s *corev1.Secret) Bootstrap {
	b := Bootstrap{
		ID:          string(s.Data[bootstrapapi.BootstrapTokenIDKey]),
		Secret:      string(s.Data[bootstrapapi.BootstrapTokenSecretKey]),
		Description: string(s.Data[bootstrapapi.BootstrapTokenDescriptionKey]),
	}
	if exp := s.Data[bootstrapapi.BootstrapTokenExpirationKey]; len(exp) > 0 {
		t, err := time.Parse(time.RFC3339, string(exp))
		if err != nil {
			t = time.Unix(0, 0) // unreadable: treat as expired
		}
		b.Expires = t
	}
	return b
}

// randomString draws n characters from [a-z0-9], the bootstrap token
// alphabet, rejecting bytes that would favour some characters.
func randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	const limit = 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	b := make([]byte, 1)
	for len(out) < n {
		rand.Read(b) // cannot fail since Go 1.24
		if int(b[0]) < limit {
			out = append(out, alphabet[int(b[0])%len(alphabet)])
		}
	}
	return string(out)
}

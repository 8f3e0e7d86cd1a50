package supervisor

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var errNodeTaken = errors.New("node name taken")

// passwordSecret names the kube-system Secret holding a node's password
// hash.
func passwordSecret(node string) string { return node + ".node-password.kedge" }

// checkNodePassword binds a node name to the first machine that joins with
// it. A different password is refused while the Node exists; once an
// operator deletes the Node, the name is free again. A Node that exists
// without any password (the server's own) cannot be taken over either.
func (s *Supervisor) checkNodePassword(ctx context.Context, node, password string) error {
	secrets := s.opts.Client.CoreV1().Secrets(metav1.NamespaceSystem)
	secret, err := secrets.Get(ctx, passwordSecret(node), metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading the node password of %s: %w", node, err)
	}
	if err == nil && bcrypt.CompareHashAndPassword(secret.Data["hash"], []byte(password)) == nil {
		return nil
	}
	exists, err := s.nodeExists(ctx, node)
	if err != nil {
		return err
	}
	if exists {
		return fmt.Errorf("%w: node %q is already registered by another machine (node password mismatch); "+
			"give this machine another --node-name, or if the old machine is gone run `kedge kubectl delete node %s` on a server and start this agent again",
			errNodeTaken, node, node)
	}
	return s.storePassword(ctx, node, password)
}

func (s *Supervisor) nodeExists(ctx context.Context, node string) (bool, error) {
	_, err := s.opts.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("looking up node %s: %w", node, err)
	}
	return true, nil
}

func (s *Supervisor) storePassword(ctx context.Context, node, password string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: passwordSecret(node), Namespace: metav1.NamespaceSystem},
		Type:       "kedge.io/node-password",
		Data:       map[string][]byte{"hash": hash},
	}
	secrets := s.opts.Client.CoreV1().Secrets(metav1.NamespaceSystem)
	_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = secrets.Create(ctx, secret, metav1.CreateOptions{})
	}
	if err != nil {
		return fmt.Errorf("storing the node password of %s: %w", node, err)
	}
	return nil
}

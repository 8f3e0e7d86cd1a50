package join

import (
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"

	"github.com/kedge-io/kedge/joinapi"
)

// renewBefore asks for new certificates well before they expire (they last
// a year), at an agent start.
const renewBefore = 30 * 24 * time.Hour

// current returns the stored cluster configuration when every certificate
// on disk fits this node as configured now; the error says what does not.
func (o Options) current() (joinapi.ClusterConfig, error) {
	cluster, err := readCluster(o.Files.Cluster())
	if err != nil {
		return cluster, fmt.Errorf("no earlier join: %w", err)
	}
	if o.Token.CAHash != "" {
		ca, err := os.ReadFile(o.Files.ServerCA())
		if err != nil {
			return cluster, err
		}
		if err := o.Token.VerifyCA(ca); err != nil {
			return cluster, fmt.Errorf("the stored CA does not match the token: %w", err)
		}
	}
	for _, kind := range kinds {
		if err := o.checkCert(kind); err != nil {
			return cluster, err
		}
	}
	return cluster, nil
}

func (o Options) checkCert(kind string) error {
	certs, err := certutil.CertsFromFile(o.Files.Cert(kind))
	if err != nil {
		return err
	}
	cert := certs[0]
	data, err := os.ReadFile(o.Files.Key(kind))
	if err != nil {
		return err
	}
	key, err := keyutil.ParsePrivateKeyPEM(data)
	if ec, ok := key.(*ecdsa.PrivateKey); err != nil || !ok || !ec.PublicKey.Equal(cert.PublicKey) {
		return fmt.Errorf("%s does not match its key", o.Files.Cert(kind))
	}
	if o.now().Add(renewBefore).After(cert.NotAfter) {
		return fmt.Errorf("%s expires %s", o.Files.Cert(kind), cert.NotAfter.Format(time.DateOnly))
	}
	return o.checkIdentity(kind, cert)
}

func (o Options) checkIdentity(kind string, cert *x509.Certificate) error {
	switch kind {
	case joinapi.KubeletClient:
		if cert.Subject.CommonName != "system:node:"+o.NodeName {
			return fmt.Errorf("%s is for %s, not node %s", o.Files.Cert(kind), cert.Subject.CommonName, o.NodeName)
		}
	case joinapi.KubeletServing:
		for _, ip := range o.NodeIPs {
			if cert.VerifyHostname(ip.String()) != nil {
				return fmt.Errorf("%s does not cover node IP %s", o.Files.Cert(kind), ip)
			}
		}
		if cert.VerifyHostname(o.NodeName) != nil {
			return fmt.Errorf("%s does not cover node name %s", o.Files.Cert(kind), o.NodeName)
		}
	}
	return nil
}

package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/kedge-io/kedge/atomicfile"
	"github.com/kedge-io/kedge/datadir"
	"github.com/kedge-io/kedge/token"
)

// joinSecrets are the secrets the supervisor accepts besides bootstrap
// tokens.
type joinSecrets struct{ server, agent string }

// ensureTokens keeps <data-dir>/server/token (and agent-token, when
// --agent-token is set) in the full K10 form, so an operator can copy the
// file's content to agents. The secret comes from --token, else from the
// file of an earlier start, else it is generated once.
func ensureTokens(cfg Config, l datadir.Layout, caBundle []byte) (joinSecrets, error) {
	hash := token.CAHash(caBundle)
	server, err := tokenSecret(cfg.Token, "--token", l.TokenFile())
	if err != nil {
		return joinSecrets{}, err
	}
	if err := writeToken(l.TokenFile(), token.Token{CAHash: hash, User: "server", Secret: server}); err != nil {
		return joinSecrets{}, err
	}
	s := joinSecrets{server: server}
	if cfg.AgentToken == "" {
		err := os.Remove(l.AgentTokenFile())
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return s, fmt.Errorf("removing the stale %s: %w", l.AgentTokenFile(), err)
		}
		return s, nil
	}
	if s.agent, err = tokenSecret(cfg.AgentToken, "--agent-token", ""); err != nil {
		return s, err
	}
	return s, writeToken(l.AgentTokenFile(), token.Token{CAHash: hash, User: "node", Secret: s.agent})
}

// tokenSecret returns the secret of a flag value (a bare secret or a full
// token), else of an existing file, else a new one.
func tokenSecret(value, flag, file string) (string, error) {
	if value != "" {
		t, err := token.Parse(value)
		if err != nil {
			return "", fmt.Errorf("%s: %w", flag, err)
		}
		if t.ID != "" {
			return "", fmt.Errorf("%s: a bootstrap token (<id>.<secret>) cannot be the server's token; give a secret of your own or leave it out", flag)
		}
		return t.Secret, nil
	}
	if file != "" {
		data, err := os.ReadFile(file)
		if err == nil {
			t, err := token.Parse(string(data))
			if err != nil {
				return "", fmt.Errorf("%s: %w (remove the file to generate a new token; joined agents keep working)", file, err)
			}
			return t.Secret, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return token.NewSecret()
}

func writeToken(path string, t token.Token) error {
	if err := atomicfile.Write(path, []byte(t.String()+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

package containerd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// CheckTOML parses data, the contents of the file name, with the TOML
// parser containerd itself uses, so a file it would reject is reported
// before containerd sees it, as name:line:column and the parser's reason.
func CheckTOML(name string, data []byte) error {
	var v map[string]any
	err := toml.Unmarshal(data, &v)
	if err == nil {
		return nil
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		return fmt.Errorf("%s:%d:%d: %s", name, row, col, strings.TrimPrefix(de.Error(), "toml: "))
	}
	return fmt.Errorf("%s: %w", name, err)
}

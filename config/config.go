package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// Source describes where the config file comes from.
type Source struct {
	Path     string   // value of --config (default "/etc/kedge/config.yaml")
	Explicit bool     // true when the user set --config or KEDGE_CONFIG: then a missing file is an error
	Environ  []string // os.Environ() in production; tests inject
}

// reserved flags are never taken from the environment or a file: "config"
// names the file Apply reads, so the caller settles it first, and "help" and
// "version" are commands rather than settings.
var reserved = map[string]bool{"config": true, "help": true, "version": true}

// Apply fills every flag of fs that was not set on the command line from the
// environment, then from the files.
//
// A flag counts as set once it is Changed: cobra marks the command-line ones
// and fs.Set marks those the environment fills, so the files skip both.
// Every problem found is reported, joined, so that one typo cannot hide another.
func Apply(fs *pflag.FlagSet, src Source) error {
	envErr := applyEnv(fs, src.Environ)
	settings, fileErr := loadFiles(fs, src)
	if err := errors.Join(envErr, fileErr); err != nil {
		return err
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(settings)) {
		if !settings[name].flag.Changed {
			errs = append(errs, settings[name].apply(fs))
		}
	}
	return errors.Join(errs...)
}

// EnvName returns the environment variable that sets flag, e.g.
// KEDGE_HTTPS_LISTEN_PORT for https-listen-port.
func EnvName(flag string) string {
	return "KEDGE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func applyEnv(fs *pflag.FlagSet, environ []string) error {
	env := envMap(environ)
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		name := EnvName(f.Name)
		v, ok := env[name]
		if !ok || f.Changed || reserved[f.Name] {
			return
		}
		if err := setEnv(fs, f, v); err != nil {
			value, cause := splitInvalid(err, v)
			errs = append(errs, fmt.Errorf("%s: invalid value %q for --%s: %w", name, value, f.Name, cause))
		}
	})
	return errors.Join(errs...)
}

func envMap(environ []string) map[string]string {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// setEnv gives stringArray flags their elements one by one because, unlike
// the slice types, their Set takes a comma as part of the value.
func setEnv(fs *pflag.FlagSet, f *pflag.Flag, v string) error {
	if !isList(f) || f.Value.Type() != "stringArray" {
		return fs.Set(f.Name, v)
	}
	var elems []string
	if v != "" {
		elems = strings.Split(v, ",")
	}
	return setList(fs, f, elems)
}

func isList(f *pflag.Flag) bool {
	_, ok := f.Value.(pflag.SliceValue)
	return ok
}

// setList makes the list flag f hold exactly values, each going through
// fs.Set as a repeated command-line flag would. Replace drops the default
// first: pflag's own lists do so on their first Set, but an empty list has
// no first Set, and a custom Value may always append.
func setList(fs *pflag.FlagSet, f *pflag.Flag, values []string) error {
	if err := f.Value.(pflag.SliceValue).Replace(nil); err != nil {
		return fmt.Errorf("clearing default: %w", err)
	}
	if len(values) == 0 {
		// Only fs.Set marks a flag Changed, and an empty list must still
		// keep lower-precedence sources from filling it.
		f.Changed = true
	}
	for _, v := range values {
		if err := fs.Set(f.Name, v); err != nil {
			return err
		}
	}
	return nil
}

// splitInvalid takes apart pflag's error for a rejected value, whose message
// names the flag in command-line form, so callers can name the source their
// own way. value is what to quote when err does not say which value failed.
func splitInvalid(err error, value string) (string, error) {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		return invalid.GetValue(), invalid.Unwrap()
	}
	return value, err
}

package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Key is one configuration key, as the reference in docs/operations.md
// lists it.
type Key struct {
	// Path is the key's full path: "nats.bufferSize"; "[]" stands for
	// any entry of a list ("cti.ctiManagers[].address"), "*" for any key
	// of a map ("cti.ctiPorts.*.ip").
	Path string
	// Env is the environment variable overriding it ("" if none).
	Env string
	// field is the key's field in a Config (nil for the entries of lists
	// and maps).
	field func(*Config) reflect.Value
}

// Keys lists every configuration key in the order of the Config struct:
// each leaf setting, and each list or map of settings itself.
func Keys() []Key {
	var keys []Key
	var walk func(t reflect.Type, prefix string, index []int, reachable bool)
	walk = func(t reflect.Type, prefix string, index []int, reachable bool) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			idx := append(index[:len(index):len(index)], i)
			k := Key{Path: path, Env: f.Tag.Get("env")}
			if reachable {
				k.field = func(c *Config) reflect.Value { return reflect.ValueOf(c).Elem().FieldByIndex(idx) }
			}
			switch ft := f.Type; {
			case ft.Kind() == reflect.Struct && !isScalar(ft):
				walk(ft, path, idx, reachable)
				continue
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				keys = append(keys, k)
				walk(ft.Elem(), path+"[]", nil, false)
				continue
			case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Struct:
				keys = append(keys, k)
				walk(ft.Elem(), path+".*", nil, false)
				continue
			}
			keys = append(keys, k)
		}
	}
	walk(reflect.TypeFor[Config](), "", nil, true)
	return keys
}

// isScalar reports whether a struct type is one value in the file (none
// so far; time.Time would be).
func isScalar(t reflect.Type) bool {
	return t.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// EnvNames lists the environment variables ApplyEnv reads, sorted (the
// help text prints them).
func EnvNames() []string {
	var names []string
	for _, k := range Keys() {
		if k.Env != "" {
			names = append(names, k.Env)
		}
	}
	slices.Sort(names)
	return names
}

// envNATSURL lists external NATS servers; setting it also turns the
// embedded server off, as --nats-url does.
const envNATSURL = "CTIBRIDGE_NATS_URL"

// ApplyEnv overrides cfg from the environment (lookup is os.LookupEnv in
// production, a map in tests): each key's variable, parsed as its key is
// in the file (numbers, true/false, durations, comma-separated lists;
// CTIBRIDGE_CTI_MANAGERS as ParseManagers describes). A value that does
// not parse leaves its key unchanged and is reported.
func ApplyEnv(cfg *Config, lookup func(string) (string, bool)) error {
	var errs []error
	for _, k := range Keys() {
		if k.Env == "" {
			continue
		}
		v, ok := lookup(k.Env)
		if !ok {
			continue
		}
		if err := setFromEnv(k.field(cfg), v); err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", k.Env, err))
			continue
		}
		if k.Env == envNATSURL {
			cfg.NATS.Embedded = false
		}
	}
	return errors.Join(errs...)
}

func setFromEnv(f reflect.Value, v string) error {
	if u, ok := f.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(v))
	}
	if f.Type() == reflect.TypeFor[time.Duration]() {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("not a duration with its unit (e.g. 10m): %q", v)
		}
		f.SetInt(int64(d))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(v)
	case reflect.Bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not true or false: %q", v)
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(v, 10, f.Type().Bits())
		if err != nil {
			return fmt.Errorf("not a number: %q", v)
		}
		f.SetInt(n)
	case reflect.Slice:
		switch f.Type().Elem() {
		case reflect.TypeFor[string]():
			f.Set(reflect.ValueOf(splitList(v)))
		case reflect.TypeFor[CTIManager]():
			ms, err := ParseManagers(v)
			if err != nil {
				return err
			}
			f.Set(reflect.ValueOf(ms))
		default:
			return fmt.Errorf("no environment syntax for %s", f.Type())
		}
	default:
		return fmt.Errorf("no environment syntax for %s", f.Type())
	}
	return nil
}

// ParseManagers parses CTIBRIDGE_CTI_MANAGERS,
// "name=host:port[/tlshost:tlsport][!],...": each CTIManager's name, its
// address, optionally its TLS address after a '/', and a trailing '!' for
// the least-priority CTIManager, in order of preference.
func ParseManagers(s string) ([]CTIManager, error) {
	var out []CTIManager
	for _, item := range splitList(s) {
		m := CTIManager{}
		if strings.HasSuffix(item, "!") {
			m.LeastPriority = true
			item = strings.TrimSuffix(item, "!")
		}
		name, addrs, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want name=host:port[/tlshost:tlsport][!]", item)
		}
		m.Name = name
		m.Address, m.TLSAddress, _ = strings.Cut(addrs, "/")
		out = append(out, m)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

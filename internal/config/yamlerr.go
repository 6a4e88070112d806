package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// explainYAML rewrites a decoding error of yaml.v3 so that each problem
// names the configuration key it concerns, as Validate's problems do.
// yaml.v3 reports type errors by line only ("line 7: cannot unmarshal
// !!str `ten` into int", "line 3: field Intervall not found in type
// config.CTIConfig"); the key path is recovered from the document's node
// tree. Syntax errors keep yaml's own text, which names the line when
// yaml knows it (there is no key to name when the document does not
// parse).
func explainYAML(doc []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// yaml.v3 names the line of most syntax errors, not of all
		// ("could not find expected directive name").
		return fmt.Errorf("config: the file is not valid YAML: %w", err)
	}
	lines := keyLines(doc)
	problems := make([]error, 0, len(te.Errors))
	for _, e := range te.Errors {
		problems = append(problems, errors.New(oneLine(explainLine(e, lines))))
	}
	return fmt.Errorf("config: %d problem(s) decoding the file:\n  %w", len(problems), joinIndented(problems))
}

// explainLine turns "line N: msg" into "<key> (line N): msg".
func explainLine(e string, lines map[int]string) string {
	rest, ok := strings.CutPrefix(e, "line ")
	if !ok {
		return e
	}
	num, msg, ok := strings.Cut(rest, ": ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return e
	}
	if f, ok := strings.CutPrefix(msg, "field "); ok {
		if name, _, ok := strings.Cut(f, " not found in type "); ok {
			msg = fmt.Sprintf("unknown key %q: check its spelling and where it is nested (every key is listed in docs/operations.md)", name)
		}
	}
	key := lines[n]
	switch key {
	case "":
		return e
	case notMapping:
		key = topLevel
		msg += ": the file must be a mapping of settings (cluster:, cti:, nats:, http:, log:)"
	}
	return fmt.Sprintf("%s (line %d): %s", key, n, msg)
}

// topLevel names the document itself; notMapping marks a document that
// is not a mapping of settings.
const (
	topLevel   = "top level"
	notMapping = "\x00not a mapping"
)

// keyLines maps each line of doc to the key path of what it holds
// ("cti.ctiManagers[1].address"). A line holding several keys (a flow
// mapping) maps to their common parent.
func keyLines(doc []byte) map[int]string {
	var root yaml.Node
	if yaml.Unmarshal(doc, &root) != nil {
		return nil
	}
	out, weak := map[int][]string{}, map[int][]string{}
	var walk func(n *yaml.Node, path []string, depth int)
	walk = func(n *yaml.Node, path []string, depth int) {
		if n == nil || depth > 64 {
			return
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				if c.Kind != yaml.MappingNode {
					// The document is a scalar or a list, not settings:
					// nothing inside it is a key.
					add(out, c.Line, []string{notMapping})
					continue
				}
				walk(c, path, depth+1)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				name := k.Value
				if k.Kind != yaml.ScalarNode {
					name = k.Tag + " key" // a list or mapping used as a key
				}
				p := append(path[:len(path):len(path)], keyToken(name, len(path) == 0))
				add(out, k.Line, p)
				switch {
				case v.Line == k.Line:
				case v.Kind != yaml.MappingNode && v.Kind != yaml.SequenceNode:
					add(out, v.Line, p) // a scalar on the next line
				default:
					// A collection's entries record their own lines; its
					// own line names it only if nothing else is there.
					weak[v.Line] = p
				}
				walk(v, p, depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := append(path[:len(path):len(path)], "["+strconv.Itoa(i)+"]")
				add(out, c.Line, p)
				walk(c, p, depth+1)
			}
		}
	}
	walk(&root, nil, 0)
	for l, p := range weak {
		if _, ok := out[l]; !ok {
			out[l] = p
		}
	}
	lines := make(map[int]string, len(out))
	for l, p := range out {
		lines[l] = render(p)
		if len(p) == 0 {
			// Several top-level keys on one line ({a: 1, b: 2}).
			lines[l] = topLevel
		}
	}
	return lines
}

// add records path for line, keeping the common prefix with what the line
// already holds.
func add(out map[int][]string, line int, path []string) {
	prev, ok := out[line]
	if !ok {
		out[line] = path
		return
	}
	n := 0
	for n < len(prev) && n < len(path) && prev[n] == path[n] {
		n++
	}
	out[line] = prev[:n]
}

func render(p []string) string {
	var sb strings.Builder
	for i, tok := range p {
		if i > 0 && !strings.HasPrefix(tok, "[") {
			sb.WriteByte('.')
		}
		sb.WriteString(tok)
	}
	return sb.String()
}

// keyToken renders a mapping key as a path element: plain keys as they
// are, anything else (spaces, dots, quotes, control characters) quoted
// in brackets so that a hostile key cannot forge a path or a log line.
func keyToken(k string, top bool) string {
	if plainKey(k) {
		return k
	}
	if top {
		return strconv.Quote(k)
	}
	return "[" + strconv.Quote(k) + "]"
}

func plainKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '+':
		default:
			return false
		}
	}
	return true
}

// mapField names the entry key of the map at path: "cti.ctiPorts.CTIP1",
// or `cti.routePoints["a b"]` for a key that is not a plain token (a key
// is free text from the file and must not break the one-problem-per-line
// error format).
func mapField(path, key string) string {
	if plainKey(key) {
		return path + "." + key
	}
	return path + "[" + strconv.Quote(key) + "]"
}

// oneLine escapes control characters: yaml quotes offending values as they
// are, and a value spanning lines would break the one-problem-per-line
// format (or forge a log line).
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			q := strconv.QuoteRune(r)
			sb.WriteString(q[1 : len(q)-1])
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// Package scenario reads scenario files: YAML documents that state the
// hosts, initial tables, sysctls, actors, properties and expected verdicts
// per kernel profile of one race. It validates them, reports bad input
// with file, line and what was expected, and compiles a scenario for one
// variant and profile into an explore.Checker. The library/ directory is
// embedded and doubles as a regression suite.
package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"raceroute/explore"
	"raceroute/model/profile"
)

// Error is a problem in a scenario file, with its position.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Line is a scalar with the position it came from, for error messages.
type Line struct {
	Text      string
	Line, Col int
}

// UnmarshalYAML keeps the scalar and its position.
func (l *Line) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a string, got a %s", n.Line, kindName(n.Kind))
	}
	l.Text, l.Line, l.Col = n.Value, n.Line, n.Column
	return nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// Duration is a YAML duration ("1s", "200ms", "1.5s"), or a bare number of
// milliseconds.
type Duration struct {
	D    time.Duration
	Line int
}

// UnmarshalYAML parses a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	d.Line = n.Line
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration such as 1s or 200ms, got a %s", n.Line, kindName(n.Kind))
	}
	if v, err := time.ParseDuration(n.Value); err == nil {
		d.D = v
		return nil
	}
	var ms float64
	if _, err := fmt.Sscanf(n.Value, "%g", &ms); err == nil && !strings.ContainsAny(n.Value, " \t") {
		d.D = time.Duration(ms * float64(time.Millisecond))
		return nil
	}
	return fmt.Errorf("line %d: want a duration such as 1s or 200ms, got %q", n.Line, n.Value)
}

// Millis returns the duration in the engine's milliseconds.
func (d Duration) Millis() explore.Time { return explore.Time(d.D / time.Millisecond) }

// CheckSettings are a scenario's defaults for checking it.
type CheckSettings struct {
	// Strategy: dfs (default) or random/pct.
	Strategy string `yaml:"strategy"`
	// Horizon ends timed scenarios: no step fires after it.
	Horizon Duration `yaml:"horizon"`
	// Runs is the number of seeded runs of a statistical check.
	Runs int64 `yaml:"runs"`
	// Budget bounds the check's wall-clock time.
	Budget Duration `yaml:"budget"`
	// PreemptionBound, when set, bounds DFS preemptions.
	PreemptionBound *int `yaml:"preemption-bound"`
}

// Header is the part of a scenario file common to every model.
type Header struct {
	Name        string            `yaml:"name"`
	Model       string            `yaml:"model"`
	Description string            `yaml:"description"`
	Seed        string            `yaml:"seed"`
	Check       CheckSettings     `yaml:"check"`
	Vars        map[string]string `yaml:"vars"`
	Variants    []VariantSpec     `yaml:"variants"`
	Expect      map[string]string `yaml:"expect"`
}

// VariantSpec is a named set of variable values with its expectations.
type VariantSpec struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Vars        map[string]string `yaml:"vars"`
	Expect      map[string]string `yaml:"expect"`
}

// Variant is one runnable version of a scenario.
type Variant struct {
	Name        string // empty when the scenario has no variants
	Description string
	Vars        map[string]string
	// Expect maps every profile name to the expected verdict.
	Expect map[string]explore.Verdict
}

// Scenario is a parsed, validated scenario file.
type Scenario struct {
	Header
	// Source is the file path, or "library:NAME" for embedded ones.
	Source   string
	Variants []Variant
	data     []byte
}

// compilers maps a model name to its compiler. A compiler decodes the
// whole document into its own type (which inlines Header) and builds a
// checker.
type compiler func(sc *Scenario, v Variant, p profile.Profile) (explore.Checker, error)

func compilerFor(model string) (compiler, bool) {
	switch model {
	case "fib6":
		return compileFIB6, true
	case "neigh":
		return compileNeigh, true
	}
	return nil, false
}

// Parse reads a scenario from data; source names it in errors.
func Parse(source string, data []byte) (*Scenario, error) {
	sc := &Scenario{Source: source, data: data}
	if err := decodeLoose(data, &sc.Header); err != nil {
		return nil, sc.yamlError(err)
	}
	if sc.Name == "" {
		return nil, &Error{File: source, Line: 1, Msg: "missing `name:` (want the scenario's name, e.g. name: babeld-route-modify)"}
	}
	if _, ok := compilerFor(sc.Model); !ok {
		return nil, sc.errAtKey("model", fmt.Sprintf("unknown model %q (want fib6 or neigh)", sc.Model))
	}
	if sc.Check.Strategy != "" {
		if _, err := explore.ParseStrategy(sc.Check.Strategy); err != nil {
			return nil, sc.errAtKey("strategy", err.Error())
		}
	}
	specs := sc.Header.Variants
	if len(specs) == 0 {
		specs = []VariantSpec{{Expect: sc.Expect}}
	} else if len(sc.Expect) > 0 {
		return nil, sc.errAtKey("expect", "top-level `expect:` and `variants:` both given: put expectations in each variant")
	}
	seen := map[string]bool{}
	for _, vs := range specs {
		if len(sc.Header.Variants) > 0 && vs.Name == "" {
			return nil, sc.errAtKey("variants", "a variant without `name:`")
		}
		if seen[vs.Name] {
			return nil, sc.errAtKey("variants", fmt.Sprintf("variant %q given twice", vs.Name))
		}
		seen[vs.Name] = true
		v := Variant{Name: vs.Name, Description: vs.Description, Vars: map[string]string{}, Expect: map[string]explore.Verdict{}}
		for k, val := range sc.Vars {
			v.Vars[k] = val
		}
		for k, val := range vs.Vars {
			v.Vars[k] = val
		}
		if err := sc.expectations(vs, v.Expect); err != nil {
			return nil, err
		}
		sc.Variants = append(sc.Variants, v)
	}
	// Compile every variant once on the first profile to validate the
	// model part now rather than at check time.
	p := profile.All()[0]
	for _, v := range sc.Variants {
		if _, err := sc.Compile(v, p); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

func (sc *Scenario) expectations(vs VariantSpec, out map[string]explore.Verdict) error {
	where := "expect"
	if vs.Name != "" {
		where = vs.Name
	}
	if len(vs.Expect) == 0 {
		return sc.errAtKey(where, fmt.Sprintf("no `expect:` for variant %q: want a verdict (holds or violated) per kernel profile, or \"*\" for the rest", vs.Name))
	}
	def, hasDef := vs.Expect["*"]
	for k, val := range vs.Expect {
		if k == "*" {
			continue
		}
		if _, err := profile.Lookup(k); err != nil {
			return sc.errAtKey(k, fmt.Sprintf("expect: %v", err))
		}
		vd, err := explore.ParseVerdict(val)
		if err != nil {
			return sc.errAtKey(k, fmt.Sprintf("expect %s: %v", k, err))
		}
		out[k] = vd
	}
	for _, name := range profile.Names() {
		if _, ok := out[name]; ok {
			continue
		}
		if !hasDef {
			return sc.errAtKey(where, fmt.Sprintf("variant %q has no expectation for kernel profile %s (give it, or \"*\" for the rest)", vs.Name, name))
		}
		vd, err := explore.ParseVerdict(def)
		if err != nil {
			return sc.errAtKey("*", fmt.Sprintf("expect *: %v", err))
		}
		out[name] = vd
	}
	return nil
}

// Compile builds the checker of variant v on profile p.
func (sc *Scenario) Compile(v Variant, p profile.Profile) (explore.Checker, error) {
	c, _ := compilerFor(sc.Model)
	return c(sc, v, p)
}

// Variant returns the variant called name ("" for the only one).
func (sc *Scenario) Variant(name string) (Variant, error) {
	for _, v := range sc.Variants {
		if v.Name == name {
			return v, nil
		}
	}
	names := make([]string, len(sc.Variants))
	for i, v := range sc.Variants {
		names[i] = v.Name
	}
	return Variant{}, fmt.Errorf("scenario %s has no variant %q (variants: %s)", sc.Name, name, strings.Join(names, ", "))
}

// FullName is the scenario name with the variant, as reports show it.
func (sc *Scenario) FullName(v Variant) string {
	if v.Name == "" {
		return sc.Name
	}
	return sc.Name + "/" + v.Name
}

// Decode decodes the whole document into out strictly (unknown keys are
// errors), for model compilers.
func (sc *Scenario) Decode(out any) error {
	dec := yaml.NewDecoder(bytes.NewReader(sc.data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		return sc.yamlError(err)
	}
	return nil
}

// Errorf makes an Error at a position of this scenario's file.
func (sc *Scenario) Errorf(line, col int, format string, args ...any) error {
	return &Error{File: sc.Source, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// ErrorAt makes an Error at l's position.
func (sc *Scenario) ErrorAt(l Line, format string, args ...any) error {
	return sc.Errorf(l.Line, l.Col, format, args...)
}

var varRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_-]*)\}?`)

// Expand replaces $name and ${name} in l by the variant's values; an
// unknown variable is an error at l.
func (sc *Scenario) Expand(l Line, v Variant) (string, error) {
	var missing string
	out := varRef.ReplaceAllStringFunc(l.Text, func(m string) string {
		name := varRef.FindStringSubmatch(m)[1]
		if val, ok := v.Vars[name]; ok {
			return val
		}
		missing = name
		return m
	})
	if missing != "" {
		return "", sc.ErrorAt(l, "unknown variable $%s (define it under `vars:` or in the variant)", missing)
	}
	return out, nil
}

func decodeLoose(data []byte, out any) error {
	err := yaml.Unmarshal(data, out)
	return err
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns a yaml error into an Error with the file and line.
func (sc *Scenario) yamlError(err error) error {
	var se *Error
	if errors.As(err, &se) {
		return err
	}
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return sc.lineError(te.Errors[0])
	}
	return sc.lineError(err.Error())
}

func (sc *Scenario) lineError(msg string) error {
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		var line int
		fmt.Sscanf(m[1], "%d", &line)
		return &Error{File: sc.Source, Line: line, Msg: m[2]}
	}
	return &Error{File: sc.Source, Msg: msg}
}

// errAtKey reports msg at the first line where key appears as a mapping
// key (a best effort for header fields, which are decoded loosely).
func (sc *Scenario) errAtKey(key, msg string) error {
	var doc yaml.Node
	line := 0
	if yaml.Unmarshal(sc.data, &doc) == nil {
		line = findKey(&doc, key)
	}
	return &Error{File: sc.Source, Line: line, Msg: msg}
}

func findKey(n *yaml.Node, key string) int {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i].Line
			}
		}
	}
	for _, c := range n.Content {
		if l := findKey(c, key); l > 0 {
			return l
		}
	}
	return 0
}

// Load reads a scenario file.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(path, data)
}

// Lines is a list of one-line items, given either as a YAML list of
// strings or as a block scalar with one item per line (so that `ip -6
// route` output can be pasted as it is). Blank lines and lines starting
// with # are skipped.
type Lines []Line

// UnmarshalYAML accepts a list of scalars or a block scalar.
func (ls *Lines) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			var l Line
			if err := l.UnmarshalYAML(c); err != nil {
				return err
			}
			*ls = append(*ls, l)
		}
		return nil
	case yaml.ScalarNode:
		first := n.Line
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			first++ // the content starts below the | or > indicator
		}
		for i, text := range strings.Split(n.Value, "\n") {
			t := strings.TrimSpace(text)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			line, col := first+i, 0 // a block's content column is not kept by the parser
			if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
				line, col = n.Line, n.Column
			}
			*ls = append(*ls, Line{Text: t, Line: line, Col: col})
		}
		return nil
	}
	return fmt.Errorf("line %d: want a list of lines or a block of lines, got a %s", n.Line, kindName(n.Kind))
}

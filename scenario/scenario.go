// Package scenario reads scenario files: YAML documents that state the
// hosts, initial tables, sysctls, actors, properties and expected verdicts
// per kernel profile of one race. It validates them, reports bad input
// with file, line and what was expected, and compiles a scenario for one
// variant and profile into an explore.Checker. The library/ directory is
// embedded and doubles as a regression suite. docs/scenarios.md is the
// reference of the format.
package scenario

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"raceroute/explore"
	"raceroute/profile"
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

// CheckSettings are a scenario's defaults for checking it.
type CheckSettings struct {
	// Strategy: dfs (default), random or pct.
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
	Name        string        `yaml:"name"`
	Model       string        `yaml:"model"`
	Description string        `yaml:"description"`
	Seed        string        `yaml:"seed"`
	Check       CheckSettings `yaml:"check"`
	Vars        Pairs         `yaml:"vars"`
	Variants    []VariantSpec `yaml:"variants"`
	Expect      Pairs         `yaml:"expect"`
}

// VariantSpec is a named set of variable values with its expectations.
type VariantSpec struct {
	At          Pos    `yaml:"-"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Vars        Pairs  `yaml:"vars"`
	Expect      Pairs  `yaml:"expect"`
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
	// Source names the scenario in errors: the absolute path of a file
	// read by Load, or library/FILE for an embedded one.
	Source   string
	Variants []Variant
	data     []byte
	root     *yaml.Node // the top mapping of the file
	doc      modelDoc   // the whole file, decoded for its model
	embedded bool
}

// modelDoc is a model's document type; it inlines Header.
type modelDoc interface{ header() *Header }

// model is a scenario model: a new empty document of it, and its
// compiler, which builds the checker of one variant on one profile from
// sc.doc (and sc.Header, which a caller may have adjusted).
type model struct {
	newDoc  func() modelDoc
	compile func(sc *Scenario, v Variant, p profile.Profile) (explore.Checker, error)
}

func modelOf(name string) (model, bool) {
	switch name {
	case "fib6":
		return model{func() modelDoc { return new(fib6Doc) }, compileFIB6}, true
	case "neigh":
		return model{func() modelDoc { return new(neighDoc) }, compileNeigh}, true
	}
	return model{}, false
}

// Parse reads a scenario from data; source names it in errors. Every
// error is an *Error with the file and line.
func Parse(source string, data []byte) (*Scenario, error) {
	root, err := readDocument(source, data)
	if err != nil {
		return nil, err
	}
	sc := &Scenario{Source: source, data: data, root: root}
	model, ok, err := sc.modelName()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, sc.errAt(posOf(root), "missing `model:` (want model: fib6 or model: neigh)")
	}
	m, ok := modelOf(model.Text)
	if !ok {
		return nil, sc.errAt(model.Pos(), "unknown model %q (want fib6 or neigh)", model.Text)
	}
	doc := m.newDoc()
	if err := newDecoder(source).decode(root, posOf(root), reflect.ValueOf(doc).Elem()); err != nil {
		return nil, err
	}
	sc.doc = doc
	sc.Header = *doc.header()
	if err := sc.checkHeader(); err != nil {
		return nil, err
	}
	if err := sc.variants(); err != nil {
		return nil, err
	}
	if err := sc.checkVars(); err != nil {
		return nil, err
	}
	// Compile every variant on every profile to validate the model part
	// now rather than at check time (a model's capacity can depend on the
	// profile: clones exist only on some).
	for _, v := range sc.Variants {
		for _, p := range profile.All() {
			if _, err := sc.Compile(v, p); err != nil {
				return nil, err
			}
		}
	}
	return sc, nil
}

// modelName reads `model:` before the rest, which is decoded for it.
func (sc *Scenario) modelName() (Line, bool, error) {
	for i := 0; i+1 < len(sc.root.Content); i += 2 {
		if k := sc.root.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "model" {
			var l Line
			err := newDecoder(sc.Source).decodeKey("model", sc.root.Content[i+1], posOf(k), reflect.ValueOf(&l).Elem())
			return l, true, err
		}
	}
	return Line{}, false, nil
}

// names of scenarios and variants: they are selected as NAME/VARIANT on
// the command line.
var nameRE = regexp.MustCompile(`^[^/\s]+$`)

func (sc *Scenario) checkHeader() error {
	switch {
	case sc.Name == "":
		return sc.errAt(posOf(sc.root), "missing `name:` (want the scenario's name, e.g. name: babeld-route-modify)")
	case !nameRE.MatchString(sc.Name):
		return sc.errAt(sc.at("name"), "name %q: want a name without / or spaces (a variant is selected as NAME/VARIANT)", sc.Name)
	}
	set := sc.Check
	if set.Strategy != "" {
		if _, err := explore.ParseStrategy(set.Strategy); err != nil {
			return sc.errAt(sc.at("check", "strategy"), "check: %v", err)
		}
	}
	for _, d := range []struct {
		key string
		d   Duration
	}{{"horizon", set.Horizon}, {"budget", set.Budget}} {
		if d.d.D < 0 {
			return sc.errAt(d.d.At, "check: %s: want a duration of 0 or more, got %s", d.key, d.d.D)
		}
	}
	if set.Runs < 0 {
		return sc.errAt(sc.at("check", "runs"), "check: runs: want 0 (as many as the budget allows) or more, got %d", set.Runs)
	}
	if set.PreemptionBound != nil && *set.PreemptionBound < 0 {
		return sc.errAt(sc.at("check", "preemption-bound"), "check: preemption-bound: want 0 or more (leave it out for no bound), got %d", *set.PreemptionBound)
	}
	return nil
}

// variants builds sc.Variants from the header.
func (sc *Scenario) variants() error {
	specs := sc.Header.Variants
	if len(specs) == 0 {
		specs = []VariantSpec{{At: posOf(sc.root), Expect: sc.Expect}}
	} else if len(sc.Expect.List) > 0 {
		return sc.errAt(sc.Expect.At, "top-level `expect:` and `variants:` both given: put expectations in each variant")
	}
	seen := map[string]bool{}
	for _, vs := range specs {
		if len(sc.Header.Variants) > 0 {
			switch {
			case vs.Name == "":
				return sc.errAt(vs.At, "scenario %s: a variant without `name:`", sc.Name)
			case !nameRE.MatchString(vs.Name):
				return sc.errAt(vs.At, "scenario %s: variant name %q: want a name without / or spaces (it is selected as NAME/VARIANT)", sc.Name, vs.Name)
			case seen[vs.Name]:
				return sc.errAt(vs.At, "scenario %s: variant %q given twice", sc.Name, vs.Name)
			}
		}
		seen[vs.Name] = true
		v := Variant{Name: vs.Name, Description: vs.Description, Vars: map[string]string{}, Expect: map[string]explore.Verdict{}}
		for _, vars := range []Pairs{sc.Vars, vs.Vars} {
			for _, p := range vars.List {
				v.Vars[p.Key.Text] = p.Value.Text
			}
		}
		if err := sc.expectations(vs, v.Expect); err != nil {
			return err
		}
		sc.Variants = append(sc.Variants, v)
	}
	return nil
}

// whose names the scenario, and the variant when there is one.
func (sc *Scenario) whose(variant string) string {
	if variant == "" {
		return "scenario " + sc.Name
	}
	return fmt.Sprintf("scenario %s, variant %s,", sc.Name, variant)
}

func (sc *Scenario) expectations(vs VariantSpec, out map[string]explore.Verdict) error {
	if len(vs.Expect.List) == 0 {
		at := vs.At
		if vs.Expect.At.Line > 0 {
			at = vs.Expect.At
		}
		return sc.errAt(at, "%s has no `expect:`: want a verdict (holds or violated) per kernel profile, or \"*\" for the rest, e.g. expect: {\"*\": holds}", sc.whose(vs.Name))
	}
	var def *Pair
	for i, p := range vs.Expect.List {
		vd, err := explore.ParseVerdict(p.Value.Text)
		if err != nil {
			return sc.errAt(p.Value.Pos(), "expect %s: %v", p.Key.Text, err)
		}
		if p.Key.Text == "*" {
			def = &vs.Expect.List[i]
			continue
		}
		if _, err := profile.Lookup(p.Key.Text); err != nil {
			return sc.errAt(p.Key.Pos(), "expect: %v", err)
		}
		out[p.Key.Text] = vd
	}
	for _, name := range profile.Names() {
		if _, ok := out[name]; ok {
			continue
		}
		if def == nil {
			return sc.errAt(vs.Expect.At, "%s has no expectation for kernel profile %s (give it, or \"*\" for the rest)", sc.whose(vs.Name), name)
		}
		out[name] = explore.Verdict(def.Value.Text)
	}
	return nil
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// checkVars refuses variables with names no reference can spell and
// variables no value of the model part uses (a misspelt name in a variant
// would otherwise change nothing, silently).
func (sc *Scenario) checkVars() error {
	used := map[string]bool{}
	collectRefs(reflect.ValueOf(sc.doc).Elem(), used)
	lists := []Pairs{sc.Vars}
	for _, vs := range sc.Header.Variants {
		lists = append(lists, vs.Vars)
	}
	for _, vars := range lists {
		for _, p := range vars.List {
			name := p.Key.Text
			switch {
			case !varName.MatchString(name):
				return sc.errAt(p.Key.Pos(), "variable name %q: want letters, digits, _ and - (starting with a letter or _)", name)
			case !used[name]:
				return sc.errAt(p.Key.Pos(), "variable %s is set but no value uses $%s", name, name)
			}
		}
	}
	return nil
}

// collectRefs adds the variables referenced by the Lines in v (the model
// part of a document: Header is skipped, its values are not expanded).
func collectRefs(v reflect.Value, used map[string]bool) {
	switch v.Type() {
	case lineType:
		for _, m := range varRef.FindAllStringSubmatch(v.Interface().(Line).Text, -1) {
			used[m[1]] = true
		}
		return
	case reflect.TypeFor[Header]():
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			collectRefs(v.Elem(), used)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			collectRefs(v.Index(i), used)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			collectRefs(v.Field(i), used)
		}
	}
}

// Compile builds the checker of variant v on profile p. It reads the
// check settings from sc.Check, so a caller may adjust them on a copy of
// sc (a strategy given on the command line).
func (sc *Scenario) Compile(v Variant, p profile.Profile) (explore.Checker, error) {
	m, _ := modelOf(sc.Model)
	return m.compile(sc, v, p)
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
	if len(sc.Variants) == 1 && sc.Variants[0].Name == "" {
		return Variant{}, fmt.Errorf("scenario %s has no variants (asked for %q)", sc.Name, name)
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

// ContentHash is a short, stable hash of the file's bytes (the first 12
// hex digits of their SHA-256): a replay token of a scenario file carries
// it, so that a token whose file has changed is refused instead of
// replaying something else.
func (sc *Scenario) ContentHash() string {
	h := sha256.Sum256(sc.data)
	return hex.EncodeToString(h[:6])
}

// Embedded reports whether the scenario comes from the embedded library
// (a replay token then names it by Name, not by Source).
func (sc *Scenario) Embedded() bool { return sc.embedded }

func (sc *Scenario) errAt(p Pos, format string, args ...any) error {
	return &Error{File: sc.Source, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

// ErrorAt makes an Error at l's position.
func (sc *Scenario) ErrorAt(l Line, format string, args ...any) error {
	return sc.errAt(l.Pos(), format, args...)
}

// at is the position of the value at path (keys of nested mappings from
// the top of the file), or of the deepest key of path the file has.
func (sc *Scenario) at(path ...string) Pos {
	n, p := sc.root, posOf(sc.root)
	for _, key := range path {
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
				next, p = n.Content[i+1], posOf(k)
			}
		}
		if next == nil {
			return p
		}
		for next.Kind == yaml.AliasNode && next.Alias != nil {
			next = next.Alias
		}
		n = next
	}
	if n.Kind == yaml.ScalarNode {
		return posOf(n)
	}
	return p
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

// Load reads a scenario file. Its Source is the file's absolute path, so
// that a replay token made from it works from any working directory.
func Load(path string) (*Scenario, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(abs, data)
}

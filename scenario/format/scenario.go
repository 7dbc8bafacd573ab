// Package format is the scenario file format without its models: the
// header every scenario file has (name, model, check settings, variables,
// variants, expectations per kernel profile), the strict YAML decoder that
// reports every mistake with its file, line and column, the value types
// the models' document types are built of, and the merge of a scenario's
// check settings with the command line's (Options, CompileFor).
//
// A model's part of the format (its keys, their checks, and the
// compilation into the model's Config) is a Model, in a package of its
// own; package scenario lists the models raceroute knows and embeds the
// library. docs/scenarios.md is the reference of the format.
package format

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"raceroute/explore"
	"raceroute/profile"
)

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

// Header is the part of a scenario file common to every model. A model's
// document type embeds it with `yaml:",inline"`.
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

// header makes every type that embeds Header a Doc.
func (h *Header) header() *Header { return h }

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
	// Expect is the `expect:` rules, in the file's order.
	Expect []Expectation
}

// Refused is the expectation that the model refuses a scenario on a
// kernel profile, as it refuses what the kernel has not got (nexthop
// objects before 5.3): the check reports the refusal instead of a
// verdict, and matches it.
const Refused explore.Verdict = "refused"

// Expectation is one rule of `expect:`: a verdict for a kernel profile
// named by Profile, for the profiles whose settings meet every one of
// Conds ("ipv6-cache=clone-on-lookup,ipv6-replace=ecmp-quirk"), or, with
// Default, for the rest ("*").
type Expectation struct {
	Key     string
	Profile string
	Conds   []Cond
	Default bool
	Verdict explore.Verdict
	At      Pos
}

// Cond is a condition switch=value on a profile's settings.
type Cond struct{ Switch, Value string }

// Expected returns the verdict variant v expects on profile p, and the
// rule that decides it: the rule naming p (or the profile p was resolved
// from), else the first rule whose conditions p meets, else "*". A
// condition on a setting p leaves unknown is an error: resolve p over
// Scenario.Switches first.
func (v Variant) Expected(p profile.Profile) (explore.Verdict, string, error) {
	base, _, _ := strings.Cut(p.Name, "[")
	for _, e := range v.Expect {
		if e.Profile != "" && (e.Profile == p.Name || e.Profile == base) {
			return e.Verdict, e.Key, nil
		}
	}
	for _, e := range v.Expect {
		if len(e.Conds) == 0 {
			continue
		}
		all := true
		for _, c := range e.Conds {
			ok, err := p.Is(c.Switch, c.Value)
			if err != nil {
				return "", "", fmt.Errorf("expect %s: %w", e.Key, err)
			}
			all = all && ok
		}
		if all {
			return e.Verdict, e.Key, nil
		}
	}
	for _, e := range v.Expect {
		if e.Default {
			return e.Verdict, e.Key, nil
		}
	}
	return "", "", fmt.Errorf("no expectation for kernel profile %s (give it, or \"*\" for the rest)", p.Name)
}

// expectAt returns the position of the rule named key.
func (v Variant) expectAt(key string) Pos {
	for _, e := range v.Expect {
		if e.Key == key {
			return e.At
		}
	}
	return Pos{}
}

// Doc is a model's document type: a pointer to a struct that embeds
// Header with `yaml:",inline"` (which gives it the method Doc asks for),
// and whose other exported fields with a `yaml:` tag are the model's keys.
type Doc interface{ header() *Header }

// Model is one model's part of the format, named by a file's `model:`.
type Model struct {
	// Name is what `model:` says.
	Name string
	// NewDoc returns a new empty document of the model.
	NewDoc func() Doc
	// Compile builds the checker of variant v on profile p from sc.Doc()
	// and sc.Header (which a caller may have adjusted on a copy of sc:
	// CompileFor sets the strategy). Its errors are *Error with the
	// position of what is wrong (Scenario.ErrorAt, Scenario.Errorf).
	Compile func(sc *Scenario, v Variant, p profile.Profile) (explore.Checker, error)
	// Switches names the profile switches the model reads: a profile's
	// unknown settings among them are resolved before a check.
	Switches []string
	// SwitchesOf, when set, names the switches the model reads for one
	// scenario instead (a switch of a capability the scenario does not
	// use is left out, so that kernels differing only there share one
	// search; switches some actors alone read are added for them).
	SwitchesOf func(sc *Scenario) []string
	// Words lists, by kind ("sysctl", "preset", ...), the words the
	// model's values may be: docs/scenarios.md names each, and a test of
	// package scenario checks that it does.
	Words map[string][]string
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
	model    Model      // the model `model:` names
	doc      Doc        // the whole file, decoded for its model
	embedded bool
}

// Parse reads a scenario from data; source names it in errors. models are
// the models `model:` may name, in the order messages list them. Every
// error is an *Error with the file and line.
func Parse(source string, data []byte, models []Model) (*Scenario, error) {
	root, err := readDocument(source, data)
	if err != nil {
		return nil, err
	}
	sc := &Scenario{Source: source, data: data, root: root}
	name, ok, err := sc.modelName()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, sc.Errorf(sc.At(), "missing `model:` (want %s)", modelNames(models, "model: "))
	}
	if sc.model, ok = modelNamed(models, name.Text); !ok {
		return nil, sc.ErrorAt(name, "unknown model %q (want %s)", name.Text, modelNames(models, ""))
	}
	doc := sc.model.NewDoc()
	if err := newDecoder(source).decode(root, PosOf(root), reflect.ValueOf(doc).Elem()); err != nil {
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
	// A variant that expects the model to refuse it on a profile
	// (Refused) must be refused there, and accepted elsewhere.
	for _, v := range sc.Variants {
		for _, p := range profile.All() {
			_, err := sc.Compile(v, p)
			want, rule, eerr := v.Expected(p)
			refused := eerr == nil && want == Refused
			switch {
			case err != nil && !refused:
				return nil, err
			case err == nil && refused:
				return nil, sc.Errorf(v.expectAt(rule), "%s expects the model to refuse it on %s (rule %s), but the model accepts it there", sc.whose(v.Name), p.Name, rule)
			}
		}
	}
	return sc, nil
}

func modelNamed(models []Model, name string) (Model, bool) {
	for _, m := range models {
		if m.Name == name {
			return m, true
		}
	}
	return Model{}, false
}

// modelNames lists the models' names for a message, each after prefix:
// "fib6 or neigh", "a, b or c".
func modelNames(models []Model, prefix string) string {
	var b strings.Builder
	for i, m := range models {
		switch {
		case i == 0:
		case i == len(models)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(prefix + m.Name)
	}
	return b.String()
}

// modelName reads `model:` before the rest, which is decoded for it.
func (sc *Scenario) modelName() (Line, bool, error) {
	for i := 0; i+1 < len(sc.root.Content); i += 2 {
		if k := sc.root.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "model" {
			var l Line
			err := newDecoder(sc.Source).decodeKey("model", sc.root.Content[i+1], PosOf(k), reflect.ValueOf(&l).Elem())
			return l, true, err
		}
	}
	return Line{}, false, nil
}

// Load reads a scenario file, as Parse does. Its Source is the file's
// absolute path, so that a replay token made from it works from any
// working directory.
func Load(file string, models []Model) (*Scenario, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", file, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return Parse(abs, data, models)
}

// ReadLibrary parses every *.yaml file of directory dir of fsys (an
// embedded library), sorted by name. Each one's Source is dir/FILE, and
// it is Embedded.
func ReadLibrary(fsys fs.FS, dir string, models []Model) ([]*Scenario, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read embedded library: %w", err)
	}
	var out []*Scenario
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		name := path.Join(dir, e.Name())
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read embedded %s: %w", e.Name(), err)
		}
		sc, err := Parse(name, data, models)
		if err != nil {
			return nil, err
		}
		sc.embedded = true
		out = append(out, sc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Compile builds the checker of variant v on profile p. It reads the
// check settings from sc.Check, so a caller may adjust them on a copy of
// sc (a strategy given on the command line).
func (sc *Scenario) Compile(v Variant, p profile.Profile) (explore.Checker, error) {
	return sc.model.Compile(sc, v, p)
}

// Doc is the whole file decoded into its model's document type (what
// the model's NewDoc returned).
func (sc *Scenario) Doc() Doc { return sc.doc }

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

// Switches names the profile switches a check of sc depends on: those its
// model reads and those its expectations test. A profile's unknown
// settings among them are resolved (profile.Resolve) into one check each.
func (sc *Scenario) Switches() []string {
	out := append([]string(nil), sc.model.Switches...)
	if sc.model.SwitchesOf != nil {
		out = sc.model.SwitchesOf(sc)
	}
	for _, v := range sc.Variants {
		for _, e := range v.Expect {
			for _, c := range e.Conds {
				if !slices.Contains(out, c.Switch) {
					out = append(out, c.Switch)
				}
			}
		}
	}
	return out
}

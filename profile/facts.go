package profile

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// factsYAML holds every fact the profiles are made of (facts.yaml).
//
//go:embed facts.yaml
var factsYAML []byte

// Facts is the content of facts.yaml: the switches with the history of
// their values, the distributions' kernels, and the kernels of the
// library matrix.
type Facts struct {
	Switches      []SwitchFacts  `yaml:"switches"`
	Distributions []Distribution `yaml:"distributions"`
	Ubuntu        []DistroSeries `yaml:"ubuntu"`
	Debian        []DistroSeries `yaml:"debian"`
	Kernels       []KernelEntry  `yaml:"kernels"`
}

// SwitchFacts is one switch and its values, in kernel history order.
type SwitchFacts struct {
	Name   string      `yaml:"name"`
	Doc    string      `yaml:"doc"`
	Values []ValueFact `yaml:"values"`
}

// ValueFact is one value of a switch: where it came from and where it was
// read. The first value of a switch is the original behaviour and has no
// Mainline.
type ValueFact struct {
	Value  string `yaml:"value"`
	Commit string `yaml:"commit"`
	Title  string `yaml:"title"`
	// Mainline is the first mainline release known to have it ("4.12");
	// Maybe, when set, an earlier release not read that may have it.
	Mainline  string     `yaml:"mainline"`
	Maybe     string     `yaml:"maybe"`
	Source    string     `yaml:"source"`
	Backports []Backport `yaml:"backports"`
	// After names an earlier value of the same switch that this one
	// changes: a kernel without it cannot have this one (a fix of a
	// quirk needs the quirk).
	After string `yaml:"after"`
	// Requires is "switch=value": this value exists only where that
	// setting holds (exception-table behaviours need the table).
	Requires string `yaml:"requires"`
}

// Backport is a value's arrival in a stable line before its mainline
// release: exactly at point release First, or somewhere in (Absent,
// Present].
type Backport struct {
	Line    string `yaml:"line"`
	First   int    `yaml:"first"`
	Absent  int    `yaml:"absent"`
	Present int    `yaml:"present"`
	Source  string `yaml:"source"`
}

// Distribution is a vendor kernel whose values were read in its own
// source (or, with Base, taken from an upstream release with Values
// overriding).
type Distribution struct {
	Name        string             `yaml:"name"`
	Description string             `yaml:"description"`
	Match       DistroMatch        `yaml:"match"`
	Base        string             `yaml:"base"`
	Source      string             `yaml:"source"`
	Values      map[string]Setting `yaml:"values"`
}

// DistroMatch selects releases "X.Y.Z-BUILD...el7" with BUILD in Builds.
type DistroMatch struct {
	Flavour string `yaml:"flavour"`
	Builds  [2]int `yaml:"builds"`
}

// DistroSeries maps a Debian or Ubuntu kernel series' ABI numbers to the
// upstream point releases they were built from.
type DistroSeries struct {
	Series    string         `yaml:"series"`
	Release   string         `yaml:"release"`
	Base      string         `yaml:"base"`
	ABI       map[int]int    `yaml:"abi"`
	Until     int            `yaml:"until"`
	Source    string         `yaml:"source"`
	Overrides []DistroChange `yaml:"overrides"`
}

// DistroChange is a distribution's own backport: Switch takes Value from
// ABI From on.
type DistroChange struct {
	Switch string `yaml:"switch"`
	Value  string `yaml:"value"`
	From   int    `yaml:"from"`
	Source string `yaml:"source"`
}

// KernelEntry is a kernel of the library matrix, named by a release
// string the matcher resolves.
type KernelEntry struct {
	Name        string `yaml:"name"`
	Release     string `yaml:"release"`
	Description string `yaml:"description"`
}

// Setting is one switch's value in one kernel, or the candidates when it
// is unknown, with the evidence.
type Setting struct {
	Value   string   `yaml:"value"`
	Unknown []string `yaml:"unknown"`
	Source  string   `yaml:"source"`
}

// Known reports whether the setting has one value.
func (s Setting) Known() bool { return len(s.Unknown) == 0 && s.Value != "" }

func (s Setting) String() string {
	if s.Known() {
		return s.Value
	}
	return "unknown (" + strings.Join(s.Unknown, " or ") + ")"
}

// version is a kernel version x.y (point releases apart).
type version struct{ major, minor int }

func parseVersion(s string) (version, error) {
	a, b, ok := strings.Cut(strings.TrimPrefix(s, "v"), ".")
	if !ok {
		return version{}, fmt.Errorf("version %q: want MAJOR.MINOR", s)
	}
	maj, err1 := strconv.Atoi(a)
	if i := strings.IndexByte(b, '.'); i >= 0 {
		b = b[:i]
	}
	min, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return version{}, fmt.Errorf("version %q: want MAJOR.MINOR", s)
	}
	return version{maj, min}, nil
}

func (v version) less(w version) bool {
	return v.major < w.major || v.major == w.major && v.minor < w.minor
}

func (v version) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

var loadFacts = sync.OnceValues(func() (*Facts, error) {
	var f Facts
	dec := yaml.NewDecoder(strings.NewReader(string(factsYAML)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("profile/facts.yaml: %w", err)
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("profile/facts.yaml: %w", err)
	}
	return &f, nil
})

// LoadFacts returns the facts the profiles are made of. The result is
// shared: callers must not change it.
func LoadFacts() (*Facts, error) { return loadFacts() }

// validate checks that every switch of facts.yaml is one the models
// know, with the same values in the same order, that every value cites
// where it was read, and that every distribution states every switch.
func (f *Facts) validate() error {
	if len(f.Switches) != len(switchDefs) {
		return fmt.Errorf("%d switches, the models know %d", len(f.Switches), len(switchDefs))
	}
	for i, s := range f.Switches {
		d := switchDefs[i]
		if s.Name != d.name {
			return fmt.Errorf("switch %d is %q, want %q (the order of switchDefs)", i, s.Name, d.name)
		}
		if len(s.Values) != len(d.values) {
			return fmt.Errorf("switch %s: %d values, want %d", s.Name, len(s.Values), len(d.values))
		}
		for j, v := range s.Values {
			if v.Value != d.values[j] {
				return fmt.Errorf("switch %s value %d is %q, want %q", s.Name, j, v.Value, d.values[j])
			}
			if v.Source == "" || v.Title == "" {
				return fmt.Errorf("switch %s value %s: no title or source", s.Name, v.Value)
			}
			if j > 0 && v.Mainline == "" && len(v.Backports) == 0 {
				return fmt.Errorf("switch %s value %s: neither a mainline release nor a backport", s.Name, v.Value)
			}
			for _, tag := range []string{v.Mainline, v.Maybe} {
				if tag == "" {
					continue
				}
				if _, err := parseVersion(tag); err != nil {
					return fmt.Errorf("switch %s value %s: %w", s.Name, v.Value, err)
				}
			}
			if v.After != "" {
				if k, err := d.index(v.After); err != nil || k >= j {
					return fmt.Errorf("switch %s value %s: after %q must name an earlier value", s.Name, v.Value, v.After)
				}
			}
			if v.Requires != "" {
				rs, rv, _ := strings.Cut(v.Requires, "=")
				rd, ri, err := switchByName(rs)
				if err != nil || ri >= i {
					return fmt.Errorf("switch %s value %s: requires %q must name an earlier switch", s.Name, v.Value, v.Requires)
				}
				if _, err := rd.index(rv); err != nil {
					return fmt.Errorf("switch %s value %s: %w", s.Name, v.Value, err)
				}
			}
			for _, b := range v.Backports {
				if _, err := parseVersion(b.Line); err != nil || b.Source == "" || (b.First == 0 && b.Present == 0) {
					return fmt.Errorf("switch %s value %s: backport %+v needs a line, a first (or present) point release and a source", s.Name, v.Value, b)
				}
			}
		}
	}
	for _, d := range f.Distributions {
		if d.Source == "" {
			return fmt.Errorf("distribution %s: no source", d.Name)
		}
		for name, st := range d.Values {
			def, _, err := switchByName(name)
			if err != nil {
				return fmt.Errorf("distribution %s: %w", d.Name, err)
			}
			if st.Source == "" {
				return fmt.Errorf("distribution %s: %s has no source", d.Name, name)
			}
			vals := st.Unknown
			if st.Value != "" {
				vals = append(vals, st.Value)
			}
			if len(vals) == 0 {
				return fmt.Errorf("distribution %s: %s has neither a value nor candidates", d.Name, name)
			}
			for _, v := range vals {
				if _, err := def.index(v); err != nil {
					return fmt.Errorf("distribution %s: %w", d.Name, err)
				}
			}
		}
		if d.Base == "" && len(d.Values) != len(switchDefs) {
			return fmt.Errorf("distribution %s states %d switches of %d: a distribution read in its own source states them all", d.Name, len(d.Values), len(switchDefs))
		}
	}
	return nil
}

package format

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"raceroute/explore"
	"raceroute/profile"
)

// names of scenarios and variants: they are selected as NAME/VARIANT on
// the command line.
var nameRE = regexp.MustCompile(`^[^/\s]+$`)

func (sc *Scenario) checkHeader() error {
	switch {
	case sc.Name == "":
		return sc.Errorf(sc.At(), "missing `name:` (want the scenario's name, e.g. name: babeld-route-modify)")
	case !nameRE.MatchString(sc.Name):
		return sc.Errorf(sc.At("name"), "name %q: want a name without / or spaces (a variant is selected as NAME/VARIANT)", sc.Name)
	}
	set := sc.Check
	if set.Strategy != "" {
		if _, err := explore.ParseStrategy(set.Strategy); err != nil {
			return sc.Errorf(sc.At("check", "strategy"), "check: %v", err)
		}
	}
	for _, d := range []struct {
		key string
		d   Duration
	}{{"horizon", set.Horizon}, {"budget", set.Budget}} {
		if d.d.D < 0 {
			return sc.Errorf(d.d.At, "check: %s: want a duration of 0 or more, got %s", d.key, d.d.D)
		}
	}
	if set.Runs < 0 {
		return sc.Errorf(sc.At("check", "runs"), "check: runs: want 0 (as many as the budget allows) or more, got %d", set.Runs)
	}
	if set.PreemptionBound != nil && *set.PreemptionBound < 0 {
		return sc.Errorf(sc.At("check", "preemption-bound"), "check: preemption-bound: want 0 or more (leave it out for no bound), got %d", *set.PreemptionBound)
	}
	return nil
}

// variants builds sc.Variants from the header.
func (sc *Scenario) variants() error {
	specs := sc.Header.Variants
	if len(specs) == 0 {
		specs = []VariantSpec{{At: sc.At(), Expect: sc.Expect}}
	} else if len(sc.Expect.List) > 0 {
		return sc.Errorf(sc.Expect.At, "top-level `expect:` and `variants:` both given: put expectations in each variant")
	}
	seen := map[string]bool{}
	for _, vs := range specs {
		if len(sc.Header.Variants) > 0 {
			switch {
			case vs.Name == "":
				return sc.Errorf(vs.At, "scenario %s: a variant without `name:`", sc.Name)
			case !nameRE.MatchString(vs.Name):
				return sc.Errorf(vs.At, "scenario %s: variant name %q: want a name without / or spaces (it is selected as NAME/VARIANT)", sc.Name, vs.Name)
			case seen[vs.Name]:
				return sc.Errorf(vs.At, "scenario %s: variant %q given twice", sc.Name, vs.Name)
			}
		}
		seen[vs.Name] = true
		v := Variant{Name: vs.Name, Description: vs.Description, Vars: map[string]string{}}
		for _, vars := range []Pairs{sc.Vars, vs.Vars} {
			for _, p := range vars.List {
				v.Vars[p.Key.Text] = p.Value.Text
			}
		}
		if err := sc.expectations(vs, &v.Expect); err != nil {
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

func (sc *Scenario) expectations(vs VariantSpec, out *[]Expectation) error {
	if len(vs.Expect.List) == 0 {
		at := vs.At
		if vs.Expect.At.Line > 0 {
			at = vs.Expect.At
		}
		return sc.Errorf(at, "%s has no `expect:`: want a verdict (holds or violated) per kernel profile, per condition on the kernel's settings (\"ipv6-cache=clone-on-lookup\": violated), or \"*\" for the rest, e.g. expect: {\"*\": holds}", sc.whose(vs.Name))
	}
	hasDefault := false
	for _, p := range vs.Expect.List {
		vd, err := explore.ParseVerdict(p.Value.Text)
		if p.Value.Text == string(Refused) {
			vd, err = Refused, nil
		}
		if err != nil {
			return sc.Errorf(p.Value.Pos(), "expect %s: %v (or refused, where the model refuses the scenario on the kernel)", p.Key.Text, err)
		}
		e := Expectation{Key: p.Key.Text, Verdict: vd, At: p.Key.Pos()}
		switch {
		case p.Key.Text == "*":
			e.Default, hasDefault = true, true
		case strings.Contains(p.Key.Text, "="):
			for _, c := range strings.Split(p.Key.Text, ",") {
				sw, val, _ := strings.Cut(strings.TrimSpace(c), "=")
				vals, err := profile.SwitchValues(sw)
				if err != nil {
					return sc.Errorf(p.Key.Pos(), "expect %s: %v (switches: %s)", p.Key.Text, err, strings.Join(profile.Switches(), ", "))
				}
				if !slices.Contains(vals, val) {
					return sc.Errorf(p.Key.Pos(), "expect %s: switch %s has no value %q (values: %s)", p.Key.Text, sw, val, strings.Join(vals, ", "))
				}
				e.Conds = append(e.Conds, Cond{Switch: sw, Value: val})
			}
		default:
			kp, err := profile.Lookup(p.Key.Text)
			if err != nil || kp.Name != p.Key.Text {
				if err == nil {
					err = fmt.Errorf("%q is a kernel release, not a profile name (expectations name profiles: raceroute kernels lists them)", p.Key.Text)
				}
				return sc.Errorf(p.Key.Pos(), "expect: %v", err)
			}
			e.Profile = kp.Name
		}
		*out = append(*out, e)
	}
	if hasDefault {
		return nil
	}
	v := Variant{Expect: *out}
	for _, p := range profile.All() {
		for _, q := range p.Resolve(sc.expectSwitches(*out)) {
			if _, _, err := v.Expected(q); err != nil {
				return sc.Errorf(vs.Expect.At, "%s has no expectation for kernel profile %s (give it, or \"*\" for the rest)", sc.whose(vs.Name), q.Name)
			}
		}
	}
	return nil
}

// expectSwitches names the switches rules test.
func (sc *Scenario) expectSwitches(rules []Expectation) []string {
	var out []string
	for _, e := range rules {
		for _, c := range e.Conds {
			if !slices.Contains(out, c.Switch) {
				out = append(out, c.Switch)
			}
		}
	}
	return out
}

package strategy

import (
	"context"
	"strings"
	"testing"

	"raceroute/explore"
	"raceroute/profile"
	"raceroute/scenario"
)

// verdicts checks library scenario variants with the model, once per
// distinct setting of the switches each depends on.
type verdicts struct {
	t    *testing.T
	seen map[string]explore.Verdict
	lib  map[string]*scenario.Scenario
}

// on returns the model's verdict and the library's expectation for
// variant NAME/VARIANT under every runnable candidate of p.
func (v *verdicts) on(name string, p profile.Profile) (got, want []explore.Verdict, cands []string) {
	v.t.Helper()
	base, variant, _ := strings.Cut(name, "/")
	sc := v.lib[base]
	if sc == nil || variant == "" {
		v.t.Fatalf("evidence %q: not a library scenario variant", name)
	}
	vr, err := sc.Variant(variant)
	if err != nil {
		v.t.Fatal(err)
	}
	for _, q := range p.Resolve(sc.Switches()) {
		key := name
		for _, sw := range sc.Switches() {
			st, _ := q.Setting(sw)
			key += "," + sw + "=" + st.Value
		}
		res, ok := v.seen[key]
		if !ok {
			c, err := sc.Compile(vr, q)
			if err != nil {
				// A refusal the scenario expects (nexthop objects before
				// 5.3) is its verdict there; any other is a broken test.
				if exp, _, _ := vr.Expected(q); exp != scenario.Refused {
					v.t.Fatal(err)
				}
				res = scenario.Refused
			} else {
				r := c.Check(context.Background(), explore.DefaultOptions())
				if r.Verdict == explore.Holds && !r.Exhaustive {
					v.t.Fatalf("%s on %s holds, but not exhaustively", name, q.Name)
				}
				res = r.Verdict
			}
			v.seen[key] = res
		}
		exp, _, err := vr.Expected(q)
		if err != nil {
			v.t.Fatal(err)
		}
		got, want, cands = append(got, res), append(want, exp), append(cands, q.Name)
	}
	return got, want, cands
}

// nexthopDeleteAdd is the move of a nexthop object's routes the writer
// avoids: delete the object (which deletes its routes) and make it again.
const nexthopDeleteAdd = "apply-nexthop-move/nexthop-delete-add"

func all(vs []explore.Verdict, x explore.Verdict) bool {
	for _, v := range vs {
		if v != x {
			return false
		}
	}
	return true
}

// The writer's choice on every kernel of the library agrees with the
// library's evidence: the scenarios a choice cites hold on every
// candidate setting of the kernel (by the model, and by the scenario's
// expectation), and where the writer chose more than the simplest
// strategy (make before break, a heal), the simplest one is violated on
// some candidate. A change of the writer or of a scenario that breaks
// this fails here.
func TestEvidenceAgreesWithChoice(t *testing.T) {
	lib, err := scenario.Library()
	if err != nil {
		t.Fatal(err)
	}
	v := &verdicts{t: t, seen: map[string]explore.Verdict{}, lib: map[string]*scenario.Scenario{}}
	for _, sc := range lib {
		v.lib[sc.Name] = sc
	}
	simpler := map[Class]string{ClassToNonECMP: "apply-retract/replace"}
	for _, p := range profile.All() {
		for _, c := range []Class{ClassNew, ClassSameKind, ClassToNonECMP, ClassMetric, ClassDelete} {
			ch := Choose(p, 6, c)
			if ch.Why == "" {
				t.Errorf("%s, class %d: no reason", p.Name, c)
			}
			for _, ev := range ch.Evidence {
				got, want, cands := v.on(ev, p)
				if !all(got, explore.Holds) || !all(want, explore.Holds) {
					t.Errorf("%s: %s (class %d) cites %s, which on %v the model finds %v and the library expects %v", p.Name, ch.Strategy, c, ev, cands, got, want)
				}
			}
			if s, ok := simpler[c]; ok {
				got, want, cands := v.on(s, p)
				chose := ch.Strategy != Replace
				if chose == all(got, explore.Holds) || chose == all(want, explore.Holds) {
					t.Errorf("%s: chose %s for class %d, but %s on %v is %v by the model, %v by the library", p.Name, ch.Strategy, c, s, cands, got, want)
				}
			}
			got, want, cands := v.on(noHealEvidence, p)
			if ch.Heal == all(got, explore.Holds) || ch.Heal == all(want, explore.Holds) {
				t.Errorf("%s: heal=%v for class %d, but %s on %v is %v by the model, %v by the library", p.Name, ch.Heal, c, noHealEvidence, cands, got, want)
			}
		}
		// A move of routes sharing a nexthop object is one nexthop replace
		// where the kernel has them: its evidence holds there, and the
		// delete and re-add of the object it avoids blackholes the routes;
		// before 5.3 the model refuses both, as the kernel has no objects
		// (and the writer's plan uses none: plan.Compute).
		ch := Choose(p, 6, ClassNexthopMove)
		if ch.Strategy != NexthopReplace || len(ch.Evidence) != 1 {
			t.Fatalf("%s: nexthop move chose %s citing %v", p.Name, ch.Strategy, ch.Evidence)
		}
		if has, _ := maybe(p, "nexthop-objects", "yes"); has {
			got, want, cands := v.on(ch.Evidence[0], p)
			if !all(got, explore.Holds) || !all(want, explore.Holds) {
				t.Errorf("%s: %s cites %s, which on %v the model finds %v and the library expects %v", p.Name, ch.Strategy, ch.Evidence[0], cands, got, want)
			}
			got, want, cands = v.on(nexthopDeleteAdd, p)
			if !all(got, explore.Violated) || !all(want, explore.Violated) {
				t.Errorf("%s: %s on %v is %v by the model, %v by the library; the writer avoids it because it blackholes the routes", p.Name, nexthopDeleteAdd, cands, got, want)
			}
		} else {
			got, want, cands := v.on(ch.Evidence[0], p)
			if !all(got, scenario.Refused) || !all(want, scenario.Refused) {
				t.Errorf("%s: no nexthop objects, but %s on %v is %v by the model, %v by the library", p.Name, ch.Evidence[0], cands, got, want)
			}
		}
		// The alternatives to add-delete for a metric change fail on every
		// kernel: the reason the writer never uses them.
		for _, alt := range []string{"apply-metric-change/replace", "apply-metric-change/delete-add", "apply-retract/delete-add"} {
			got, want, _ := v.on(alt, p)
			if !all(got, explore.Violated) || !all(want, explore.Violated) {
				t.Errorf("%s: %s is %v by the model, %v by the library; the writer avoids it because it fails", p.Name, alt, got, want)
			}
		}
	}
	// The evidence names in the writer's table are all library variants.
	for c, m := range evidenceFor {
		for s, name := range m {
			if !strings.HasPrefix(name, "apply-") {
				t.Errorf("class %d %s: evidence %s is not one of the apply scenarios", c, s, name)
			}
			v.on(name, profile.All()[0])
		}
	}
}

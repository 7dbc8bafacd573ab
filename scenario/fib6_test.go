package scenario

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"raceroute/explore"
	"raceroute/profile"
	"raceroute/trace"
)

func TestLibraryParses(t *testing.T) {
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	if len(lib) < 4 {
		t.Fatalf("library has %d scenarios", len(lib))
	}
	for _, sc := range lib {
		for _, v := range sc.Variants {
			for _, p := range profile.All() {
				for _, q := range p.Resolve(sc.Switches()) {
					if _, _, err := v.Expected(q); err != nil {
						t.Errorf("%s: %v", sc.FullName(v), err)
					}
				}
			}
		}
	}
}

// Every fib6 scenario of the library gives its expected verdict on every
// profile, and a holding verdict is exhaustive.
func TestFIB6LibraryVerdicts(t *testing.T) {
	lib, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range lib {
		if sc.Model != "fib6" {
			continue
		}
		for _, v := range sc.Variants {
			for _, p := range examplesProfiles(sc) {
				want, _, err := v.Expected(p)
				if err != nil {
					t.Fatal(err)
				}
				c, err := sc.Compile(v, p)
				switch {
				case err != nil && want == Refused:
					if !strings.Contains(err.Error(), "nexthop-objects=no") {
						t.Errorf("%s on %s: refused, but not for want of nexthop objects: %v", sc.FullName(v), p.Name, err)
					}
					continue
				case err != nil:
					t.Fatal(err)
				case want == Refused:
					t.Fatalf("%s on %s: expected refused, but the model accepts it", sc.FullName(v), p.Name)
				}
				res := c.Check(context.Background(), explore.DefaultOptions())
				if res.Verdict != want {
					t.Errorf("%s on %s: %s, expected %s", sc.FullName(v), p.Name, res.Verdict, want)
				}
				if res.Verdict == explore.Holds && !res.Exhaustive {
					t.Errorf("%s on %s holds but not exhaustively", sc.FullName(v), p.Name)
				}
			}
		}
	}
}

func story(t *testing.T, name, variant, prof string) (explore.Replayed, explore.Result) {
	t.Helper()
	sc, err := Find(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sc.Variant(variant)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := profile.Lookup(prof)
	c, err := sc.Compile(v, p)
	if err != nil {
		t.Fatal(err)
	}
	res := c.Check(context.Background(), explore.DefaultOptions())
	return c.Replay(res.Choices, explore.DefaultOptions()), res
}

// indexOf returns the index of the first event at or after from whose
// label, op and text match, or -1.
func indexOf(evs []trace.Event, from int, label trace.Label, op trace.Op, text string) int {
	for i := from; i < len(evs); i++ {
		if evs[i].Label == label && evs[i].Op == op && strings.Contains(evs[i].Text, text) {
			return i
		}
	}
	return -1
}

// The seed's bad scenario, as the shortest story: delete the /80, the
// lookup matches the /48 and drops the lock, the add prunes nothing, the
// unreachable clone goes in and shadows the /80.
func TestSeedStory(t *testing.T) {
	rep, _ := story(t, "babeld-route-modify", "delete-add", "linux-3.16")
	if rep.Verdict != explore.Violated {
		t.Fatalf("verdict %s", rep.Verdict)
	}
	if len(rep.Events) > 6 {
		t.Fatalf("story has %d events, want at most 6", len(rep.Events))
	}
	steps := []struct {
		label trace.Label
		op    trace.Op
		text  string
	}{
		{trace.LabelRoute, trace.OpDel, "2001:67c:1254:e:10::/80 via fe80::a8b6:97ff:fe99:8ca8"},
		{trace.LabelLookup, trace.OpNone, "-> unreachable 2001:67c:1254::/48"},
		{trace.LabelRoute, trace.OpAdd, "2001:67c:1254:e:10::/80 via fe80::f485:c1ff:feb4:f32a"},
		{trace.LabelCache, trace.OpAdd, "unreachable 2001:67c:1254:e:10::1 dev lo metric 0 cache error -101"},
	}
	at := 0
	for _, s := range steps {
		i := indexOf(rep.Events, at, s.label, s.op, s.text)
		if i < 0 {
			t.Fatalf("story lacks [%s]%c %s after event %d:\n%+v", s.label, s.op, s.text, at, rep.Events)
		}
		at = i + 1
	}
	if !strings.Contains(rep.Explanation, "contradicts") || !strings.Contains(rep.Explanation, "re6stnet-tcp") {
		t.Fatalf("explanation: %s", rep.Explanation)
	}
	if !strings.Contains(rep.Events[1].Reason, "releases the lock") {
		t.Fatalf("the lookup's reason does not say it drops the lock: %q", rep.Events[1].Reason)
	}
}

// Replace narrows the window but does not close it on 3.16: the lookup
// read the old route before the replace and inserts its clone after.
func TestReplaceStory(t *testing.T) {
	rep, _ := story(t, "babeld-route-modify", "replace", "linux-3.16")
	if rep.Verdict != explore.Violated {
		t.Fatalf("verdict %s", rep.Verdict)
	}
	look := indexOf(rep.Events, 0, trace.LabelLookup, trace.OpNone, "-> 2001:67c:1254:e:10::/80 via fe80::a8b6:97ff:fe99:8ca8")
	repl := indexOf(rep.Events, look+1, trace.LabelRoute, trace.OpAdd, "via fe80::f485:c1ff:feb4:f32a")
	ins := indexOf(rep.Events, repl+1, trace.LabelCache, trace.OpAdd, "2001:67c:1254:e:10::1 via fe80::a8b6:97ff:fe99:8ca8")
	if look < 0 || repl < 0 || ins < 0 {
		t.Fatalf("story does not show old lookup, replace, late insert: %+v", rep.Events)
	}
	if !strings.Contains(rep.Events[repl].Reason, "NLM_F_REPLACE") {
		t.Fatalf("replace reason: %q", rep.Events[repl].Reason)
	}
}

func TestRetractReplaceLeavesTwoRoutes(t *testing.T) {
	rep, _ := story(t, "babeld-retract-replace", "", "linux-4.12")
	if rep.Verdict != explore.Violated || !strings.Contains(rep.Explanation, "via fe80::a8b6:97ff:fe99:8ca8") || !strings.Contains(rep.Explanation, "unreachable") {
		t.Fatalf("%s: %s", rep.Verdict, rep.Explanation)
	}
}

func TestSameTokenSameStory(t *testing.T) {
	a, _ := story(t, "babeld-two-flows", "", "linux-3.16")
	b, _ := story(t, "babeld-two-flows", "", "linux-3.16")
	var sa, sb strings.Builder
	trace.WriteStory(&sa, a.Events, "")
	trace.WriteStory(&sb, b.Events, "")
	if sa.String() != sb.String() || sa.Len() == 0 {
		t.Fatalf("two checks gave different stories:\n%s\n---\n%s", sa.String(), sb.String())
	}
}

const goodFIB6 = `name: t
model: fib6
host:
  devices: [lo, eth0]
  routes: |
    unreachable 2001:db8::/48 dev lo
    2001:db8:0:10::/80 via fe80::1 dev eth0
actors:
  - name: agent
    ops: [del 2001:db8:0:10::/80 via fe80::1 dev eth0]
  - name: flow
    flow: {dst: "2001:db8:0:10::1"}
properties: [clones-agree]
expect: {"*": holds}
`

// FuzzParse: Parse (which compiles every variant on every profile) never
// panics, and every error it returns is an *Error naming the file and a
// line.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{goodFIB6, goodNeigh, goodVariants} {
		f.Add([]byte(seed))
	}
	entries, err := libraryFS.ReadDir("library")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		data, err := libraryFS.ReadFile("library/" + e.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse("fuzz.yaml", data)
		var se *Error
		if err != nil && (!errors.As(err, &se) || se.File != "fuzz.yaml" || se.Line < 1) {
			t.Fatalf("error %T %q is not an *Error with the file and a line", err, err)
		}
	})
}

// Only a scenario with nexthop objects depends on nexthop-objects, so
// that the others' searches are shared by kernels differing only there.
func TestNexthopSwitchOnlyWhereUsed(t *testing.T) {
	for name, want := range map[string]bool{"babeld-route-modify": false, "blackhole-window": false, "apply-nexthop-move": true, "nexthop-group-delete": true} {
		sc, err := Find(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(sc.Switches(), "nexthop-objects"); got != want {
			t.Errorf("%s depends on nexthop-objects: %v, want %v (switches %v)", name, got, want, sc.Switches())
		}
	}
}

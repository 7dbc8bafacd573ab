package selftests

import (
	"fmt"
	"sort"
	"strings"

	"raceroute/profile"
	"raceroute/selftests/cases"
	"raceroute/selftests/verdict"
)

// Run is a case file's results on one profile.
type Run struct {
	File    *cases.File
	Profile profile.Profile
	Results []verdict.Result
}

// Tally counts a run's verdicts.
type Tally struct {
	Cases, Agree, Disagree, NotExpressible, Vacuous int
	// Missing counts the not-expressible cases by what they lack (the
	// capabilities joined with " + ").
	Missing map[string]int
}

// Tally counts r's verdicts.
func (r *Run) Tally() Tally {
	t := Tally{Missing: map[string]int{}}
	for _, res := range r.Results {
		t.Cases++
		switch res.Verdict {
		case verdict.Agree:
			t.Agree++
		case verdict.Disagree:
			t.Disagree++
		case verdict.NotExpressible:
			t.NotExpressible++
			t.Missing[strings.Join(res.Missing, " + ")]++
		case verdict.Vacuous:
			t.Vacuous++
		}
	}
	return t
}

// MissingText lists t.Missing, most cases first.
func (t Tally) MissingText() string {
	type kv struct {
		k string
		n int
	}
	var l []kv
	for k, n := range t.Missing {
		l = append(l, kv{k, n})
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].n != l[j].n {
			return l[i].n > l[j].n
		}
		return l[i].k < l[j].k
	})
	parts := make([]string, len(l))
	for i, x := range l {
		parts[i] = fmt.Sprintf("%d %s", x.n, x.k)
	}
	return strings.Join(parts, "; ")
}

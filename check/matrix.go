package check

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"raceroute/explore"
	"raceroute/scenario"
)

// matrixView is the scenario x profile matrix, as both the text matrix
// and the HTML page show it.
type matrixView struct {
	rows   []string
	groups []matrixGroup
	// text is each cell's text, by row and by the first member of its
	// column; cells the reports it stands for.
	text  map[string]map[string]string
	cells map[string]map[string][]Report
	// bad are the reports whose verdict did not match; legend explains
	// the cells' notations, one line each.
	bad    []Report
	total  int
	legend []string
}

// matrixGroup is a column: one kernel, or several whose cells agree on
// every row.
type matrixGroup struct {
	label   string
	members []string
}

// buildMatrix lays out scenario x profile verdicts; a mismatch with the
// expectation is marked with !. With compact, kernels whose cells agree
// on every row share one column.
func buildMatrix(reports []Report, compact bool) matrixView {
	v := matrixView{text: map[string]map[string]string{}, cells: map[string]map[string][]Report{}, total: len(reports)}
	var cols []string
	for _, r := range reports {
		if v.cells[r.Scenario] == nil {
			v.cells[r.Scenario] = map[string][]Report{}
			v.rows = append(v.rows, r.Scenario)
		}
		if !slices.Contains(cols, r.Column) {
			cols = append(cols, r.Column)
		}
		v.cells[r.Scenario][r.Column] = append(v.cells[r.Scenario][r.Column], r)
	}
	sampledRuns := map[int64]float64{} // runs -> the largest 95 % upper bound among sampled holds cells
	bounded, mixed, refused := false, false, false
	one := func(r Report) string {
		s := string(r.Verdict)
		refused = refused || r.Verdict == scenario.Refused
		switch {
		case r.Runs > 0 && r.Verdict == explore.Violated:
			s = fmt.Sprintf("%.0f%%", 100**r.FailureRate)
		case r.Runs > 0 && r.Verdict == explore.Holds:
			s = "holds*"
			sampledRuns[r.Runs] = max(sampledRuns[r.Runs], *r.CIHigh)
		case r.Bound != nil && r.Verdict == explore.Holds:
			s = fmt.Sprintf("holds<=%dp", *r.Bound)
			bounded = true
		}
		return s
	}
	cell := func(rs []Report) string {
		if len(rs) == 0 {
			return "-"
		}
		s, ok := one(rs[0]), rs[0].Match
		for _, r := range rs[1:] {
			if one(r) != s {
				s = "either"
			}
			ok = ok && r.Match
		}
		if s == "either" {
			mixed = true
		}
		if !ok {
			s += "!"
		}
		return s
	}
	for _, row := range v.rows {
		v.text[row] = map[string]string{}
		for _, c := range cols {
			v.text[row][c] = cell(v.cells[row][c])
			for _, r := range v.cells[row][c] {
				if !r.Match {
					v.bad = append(v.bad, r)
				}
			}
		}
	}
	// Group columns whose cells agree on every row.
	sig := func(x string) string {
		var b strings.Builder
		for _, row := range v.rows {
			b.WriteString(v.text[row][x] + "|")
		}
		return b.String()
	}
	for _, c := range cols {
		placed := false
		if compact {
			for i := range v.groups {
				if sig(v.groups[i].members[0]) == sig(c) {
					v.groups[i].members = append(v.groups[i].members, c)
					placed = true
					break
				}
			}
		}
		if !placed {
			v.groups = append(v.groups, matrixGroup{members: []string{c}})
		}
	}
	for i := range v.groups {
		v.groups[i].label = strings.TrimPrefix(v.groups[i].members[0], "linux-")
		if n := len(v.groups[i].members); n > 1 {
			v.groups[i].label = fmt.Sprintf("%c:%s+%d", 'A'+i%26, v.groups[i].label, n-1)
		}
	}
	v.legend = []string{
		"holds:    the properties hold in every schedule (exhaustive search)",
		"violated: a counterexample exists (exhaustive search)",
	}
	if len(sampledRuns) > 0 {
		v.legend = append(v.legend, "N%:       violated in N % of seeded runs")
		for _, n := range slices.Sorted(maps.Keys(sampledRuns)) {
			v.legend = append(v.legend, fmt.Sprintf("holds*:   no violation in %d seeded runs: the failure rate is below %s (95 %% upper bound), not a proof", n, percent(sampledRuns[n])))
		}
	}
	if bounded {
		v.legend = append(v.legend, "holds<=Np: holds within a preemption bound of N: not a proof, and never matches an expected holds")
	}
	if refused {
		v.legend = append(v.legend, "refused:  the model refuses the scenario on the kernel, which lacks what it uses (nexthop objects before 5.3), as the scenario expects")
	}
	if mixed {
		v.legend = append(v.legend, "either:   the verdict differs between the candidate settings of a kernel whose settings could not all be pinned (raceroute check NAME --kernel K shows each)")
	}
	return v
}

// summary is the matrix's count of matching verdicts.
func (v matrixView) summary() string {
	return fmt.Sprintf("%d of %d verdicts match their expectation.", v.total-len(v.bad), v.total)
}

// WriteMatrix prints scenario x profile verdicts (buildMatrix), the
// column groups, the legend and the mismatches.
func WriteMatrix(w io.Writer, reports []Report, compact bool) {
	v := buildMatrix(reports, compact)
	width := len("scenario")
	for _, row := range v.rows {
		width = max(width, len(row))
	}
	colw := make([]int, len(v.groups))
	for i, g := range v.groups {
		colw[i] = len(g.label)
		for _, row := range v.rows {
			colw[i] = max(colw[i], len(v.text[row][g.members[0]]))
		}
	}
	fmt.Fprintf(w, "%-*s", width, "scenario")
	for i, g := range v.groups {
		fmt.Fprintf(w, "  %-*s", colw[i], g.label)
	}
	fmt.Fprintln(w)
	for _, row := range v.rows {
		fmt.Fprintf(w, "%-*s", width, row)
		for i, g := range v.groups {
			fmt.Fprintf(w, "  %-*s", colw[i], v.text[row][g.members[0]])
		}
		fmt.Fprintln(w)
	}
	if compact {
		fmt.Fprintln(w)
		for _, g := range v.groups {
			if len(g.members) > 1 {
				fmt.Fprintf(w, "%s: %s\n", strings.SplitN(g.label, ":", 2)[0], strings.Join(g.members, ", "))
			}
		}
		fmt.Fprintln(w, "(kernels whose verdicts agree on every scenario share a column; --kernel all shows each)")
	}
	fmt.Fprintf(w, "\n%s\n", v.summary())
	for _, l := range v.legend {
		fmt.Fprintf(w, "  %s\n", l)
	}
	for _, r := range v.bad {
		fmt.Fprintf(w, "  ! %s on %s: %s, expected %s (rule %s)\n", r.Scenario, r.Kernel, r.Verdict, r.Expected, r.ExpectRule)
	}
	if len(v.bad) == 0 {
		fmt.Fprintln(w, "Stories: raceroute check NAME --kernel PROFILE")
	}
}

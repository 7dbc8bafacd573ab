package check

import (
	"fmt"
	"strings"

	"raceroute/explore"
	"raceroute/timeline"
)

// Page is the HTML page of a check run as command typed it: every report,
// grouped by scenario variant, with each violated property's story as a
// timeline; with matrix, the matrix first (compact: kernels whose cells
// agree share a column), each cell linking to its report.
func Page(reports []Report, command string, matrix, compact bool) timeline.Page {
	p := timeline.Page{Title: "raceroute check", Command: command}
	ids := map[*Report]string{}
	groupOf := map[string]int{}
	for i := range reports {
		r := &reports[i]
		gi, ok := groupOf[r.Scenario]
		if !ok {
			gi = len(p.Groups)
			groupOf[r.Scenario] = gi
			p.Groups = append(p.Groups, timeline.Group{Name: r.Scenario, Description: strings.TrimSpace(r.description)})
		}
		g := &p.Groups[gi]
		id := fmt.Sprintf("r%d", i+1)
		ids[r] = id
		if r.Runs > 0 {
			g.Rates = append(g.Rates, timeline.Rate{Kernel: r.Kernel, Failures: r.Failures, Runs: r.Runs,
				Rate: *r.FailureRate, Low: *r.CILow, High: *r.CIHigh})
		}
		g.Reports = append(g.Reports, htmlReport(id, *r))
	}
	if !matrix {
		if len(reports) == 1 {
			p.Title = reports[0].Scenario + " on " + reports[0].Kernel
		}
		return p
	}
	p.Title = "raceroute: the library on every kernel"
	v := buildMatrix(reports, compact)
	m := &timeline.Matrix{Summary: v.summary()}
	for _, g := range v.groups {
		m.Columns = append(m.Columns, timeline.Column{Label: g.label, Kernels: g.members})
		if len(g.members) > 1 {
			m.Legend = append(m.Legend, fmt.Sprintf("%s: %s", strings.SplitN(g.label, ":", 2)[0], strings.Join(g.members, ", ")))
		}
	}
	m.Legend = append(m.Legend, v.legend...)
	// A cell links to the reports it stands for: each member kernel's,
	// one whose story shows a violation first.
	byKey := map[string]string{}
	for i := range reports {
		byKey[reports[i].Scenario+"\x00"+reports[i].Column+"\x00"+reports[i].Kernel] = ids[&reports[i]]
	}
	for _, row := range v.rows {
		mr := timeline.Row{Scenario: row}
		for _, g := range v.groups {
			c := timeline.Cell{Text: v.text[row][g.members[0]], Match: !strings.HasSuffix(v.text[row][g.members[0]], "!")}
			var first, rest []string
			for _, col := range g.members {
				for _, r := range v.cells[row][col] {
					id := byKey[r.Scenario+"\x00"+r.Column+"\x00"+r.Kernel]
					if r.Counterexample != nil && len(first) == 0 {
						first = append(first, id)
					} else {
						rest = append(rest, id)
					}
				}
			}
			c.Reports = append(first, rest...)
			mr.Cells = append(mr.Cells, c)
		}
		m.Rows = append(m.Rows, mr)
	}
	p.Matrix = m
	return p
}

// htmlReport is report r for the page.
func htmlReport(id string, r Report) timeline.Report {
	verdict := string(r.Verdict)
	if verdict != string(explore.Holds) && verdict != string(explore.Violated) {
		verdict = "unknown"
	}
	h := timeline.Report{ID: id, Title: r.Scenario + " on " + r.Kernel, Verdict: verdict, Headline: Headline(r), Match: r.Match,
		Scope: ScopeLine(r), Kernel: timeline.Kernel{Name: r.Kernel, Summary: r.kernelSummary, Settings: r.kernelSettings}}
	for _, p := range r.Properties {
		hp := timeline.Property{Name: p.Name, Kind: p.Kind.String(), Verdict: string(p.Verdict), Explanation: p.Explanation, Rate: propertyRate(r, p)}
		if p.Counterexample != nil {
			hp.Story, hp.Replay = p.Counterexample.events, p.Counterexample.Replay
		}
		h.Properties = append(h.Properties, hp)
	}
	return h
}

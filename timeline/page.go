package timeline

import (
	"fmt"

	"raceroute/trace"
)

// Page is one HTML document: the reports of a check or a replay, grouped
// by scenario, and optionally the matrix of a library check.
type Page struct {
	// Title heads the page and names it in the browser.
	Title string
	// Command is the command line that made the page, shown under the
	// title.
	Command string
	Groups  []Group
	// Matrix, when set, is drawn first; its cells link to the reports,
	// which the page then shows one at a time, on demand.
	Matrix *Matrix
}

// Group is one scenario (variant) checked on one or more kernels.
type Group struct {
	Name        string
	Description string
	// Rates are the failure rates of sampled runs, one per kernel
	// profile, drawn as a chart with their 95 % intervals; empty for
	// exhaustive checks.
	Rates   []Rate
	Reports []Report
}

// Rate is the failure rate of a scenario's seeded runs on one kernel.
type Rate struct {
	Kernel   string  `json:"kernel"`
	Failures int64   `json:"failures"`
	Runs     int64   `json:"runs"`
	Rate     float64 `json:"rate"`
	Low      float64 `json:"low"`  // 95 % interval, lower bound
	High     float64 `json:"high"` // 95 % interval, upper bound
}

// Report is one check of a scenario on one kernel, or one replayed run.
type Report struct {
	// ID is the report's anchor (#ID) for the matrix's links; New gives
	// one to each report that has none.
	ID    string `json:"id"`
	Title string `json:"title"`
	// Verdict is holds, violated or unknown (it colours the report);
	// Headline says it in words ("VIOLATED (matches expectation)").
	Verdict  string `json:"verdict"`
	Headline string `json:"headline"`
	Match    bool   `json:"match"`
	// Scope says what the verdict covers (states explored, or runs and
	// the failure rate).
	Scope      string     `json:"scope,omitempty"`
	Kernel     Kernel     `json:"kernel"`
	Properties []Property `json:"properties"`
}

// Kernel is the kernel profile a report ran on.
type Kernel struct {
	Name string `json:"name"`
	// Summary is the profile's description; Settings the behaviour
	// switches as name=value, those the scenario depends on first.
	Summary  string   `json:"summary,omitempty"`
	Settings []string `json:"settings,omitempty"`
}

// Property is one property's verdict in a report, with its story when it
// was violated.
type Property struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Verdict     string `json:"verdict"`
	Explanation string `json:"explanation"`
	// Rate says how often seeded runs violated it, when sampled.
	Rate string `json:"rate,omitempty"`
	// Story is the counterexample (nil: none); Replay its token.
	Story  []trace.Event `json:"-"`
	Replay string        `json:"replay,omitempty"`
}

// Matrix is scenario x kernel verdicts. Columns may stand for several
// kernels whose verdicts agree on every row.
type Matrix struct {
	Columns []Column `json:"columns"`
	Rows    []Row    `json:"rows"`
	// Summary and Legend are the lines printed under the text matrix.
	Summary string   `json:"summary"`
	Legend  []string `json:"legend"`
}

// Column is a matrix column: its label and the kernels it stands for.
type Column struct {
	Label   string   `json:"label"`
	Kernels []string `json:"kernels"`
}

// Row is one scenario variant's cells, one per column.
type Row struct {
	Scenario string `json:"scenario"`
	Cells    []Cell `json:"cells"`
}

// Cell is one verdict of the matrix.
type Cell struct {
	// Text is the cell as the text matrix prints it ("violated", "87%",
	// "holds*", "either", with "!" for a mismatch).
	Text  string `json:"text"`
	Match bool   `json:"match"`
	// Reports are the IDs of the reports the cell stands for, the one it
	// links to first.
	Reports []string `json:"reports"`
}

// validate checks what the script relies on: every cell's reports exist.
func (p *Page) validate() error {
	if p.Matrix == nil {
		return nil
	}
	ids := map[string]bool{}
	for _, g := range p.Groups {
		for _, r := range g.Reports {
			ids[r.ID] = true
		}
	}
	for _, row := range p.Matrix.Rows {
		if len(row.Cells) != len(p.Matrix.Columns) {
			return fmt.Errorf("matrix row %s: %d cells for %d columns", row.Scenario, len(row.Cells), len(p.Matrix.Columns))
		}
		for _, c := range row.Cells {
			for _, id := range c.Reports {
				if !ids[id] {
					return fmt.Errorf("matrix row %s: cell %q links to report %q, which the page lacks", row.Scenario, c.Text, id)
				}
			}
		}
	}
	return nil
}

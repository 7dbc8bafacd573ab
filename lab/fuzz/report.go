package fuzz

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// CasesPerSecond is the run's throughput.
func (r *Report) CasesPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Cases) / r.Elapsed.Seconds()
}

// Write prints the report as text (the agreement per category and
// overall, then every disagreement with its reproducer) or as one JSON
// object (format "json").
func (r *Report) Write(w io.Writer, format string) error {
	switch format {
	case "", "text":
		return r.writeText(w)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		v := struct {
			*Report
			Agreement      float64 `json:"agreement"`
			CasesPerSecond float64 `json:"cases_per_second"`
		}{r, r.Agreement(), r.CasesPerSecond()}
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("fuzz report: %w", err)
		}
		return nil
	}
	return fmt.Errorf("fuzz report: unknown format %q (want text or json)", format)
}

func pct(f float64) string { return fmt.Sprintf("%.2f %%", 100*f) }

func (r *Report) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "differential test of the models against the running kernel (model profile %s), seed %d\n", r.Kernel, r.Seed)
	for _, c := range r.Categories {
		fmt.Fprintf(&b, "  %-6s %4d of %4d cases agree (%s)", c.Name, c.Agree, c.Compared(), pct(c.Agreement()))
		var extra []string
		if c.Late > 0 {
			extra = append(extra, fmt.Sprintf("%d cases not compared (every run fell behind its schedule: a loaded machine)", c.Late))
		}
		if c.Redrawn > 0 {
			extra = append(extra, fmt.Sprintf("%d drafts redrawn as too close to a threshold", c.Redrawn))
		}
		if c.Reruns > 0 {
			extra = append(extra, fmt.Sprintf("%d live runs repeated as late", c.Reruns))
		}
		if len(extra) > 0 {
			fmt.Fprintf(&b, "; %s", strings.Join(extra, ", "))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "  all    %4d of %4d cases agree (%s) in %.1f s, %.1f cases/s\n", r.Agree, r.Cases-r.Late(), pct(r.Agreement()), r.Elapsed.Seconds(), r.CasesPerSecond())
	for _, d := range r.Disagreements {
		fmt.Fprintf(&b, "\ndisagreement: %s case %d (seed %d), shrunk from %d to %d steps:\n", d.Category, d.Case, r.Seed, d.Steps, d.ShrunkSteps)
		for _, x := range d.Differences {
			fmt.Fprintf(&b, "  %s\n", x)
		}
		b.WriteString("reproducer:\n")
		b.WriteString(d.Reproducer)
		if !strings.HasSuffix(d.Reproducer, "\n") {
			b.WriteByte('\n')
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

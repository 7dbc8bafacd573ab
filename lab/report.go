package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"raceroute/check"
	"raceroute/explore"
	"raceroute/scenario"
	"strings"
)

// Item is one scenario variant to run live, prepared or refused.
type Item struct {
	sc   *scenario.Scenario
	v    scenario.Variant
	live *Live
	// Name is the variant's full name (NAME/VARIANT); Err, when not nil,
	// says why it cannot run here (a *Refused, or an error of the
	// scenario itself).
	Name string
	Err  error
}

// NewItem prepares variant v of sc for a live run on h (Prepare).
func NewItem(sc *scenario.Scenario, v scenario.Variant, h Host) Item {
	it := Item{sc: sc, v: v, Name: sc.FullName(v)}
	it.live, it.Err = Prepare(sc, v, h)
	return it
}

// RefusedReport is the report of an item that cannot run here: the
// reasons, nothing run.
func RefusedReport(it Item, h Host) Report {
	return Report{Scenario: it.Name, Release: h.Release, Profile: h.Profile.Name, Refused: refusedReasons(it.Err)}
}

func refusedReasons(err error) []string {
	var r *Refused
	if errors.As(err, &r) {
		return r.Reasons
	}
	return []string{err.Error()}
}

// Report is one scenario variant's live verdict beside the model's,
// as `raceroute lab --format json` prints it.
type Report struct {
	Scenario     string   `json:"scenario"`
	Release      string   `json:"release"`
	Profile      string   `json:"profile"`
	ProfileNotes []string `json:"profile_notes,omitempty"`
	// Refused says why the scenario cannot run here (nothing ran).
	Refused []string `json:"refused,omitempty"`
	// Live is the live run's verdict, Model the model's check reports on
	// the running kernel's profile (one per candidate setting when the
	// profile could not pin one), Comparison the two side by side.
	Live       *Result        `json:"live,omitempty"`
	Model      []check.Report `json:"model,omitempty"`
	Comparison *Comparison    `json:"comparison,omitempty"`
	Error      string         `json:"error,omitempty"`
}

// RunItem checks the model on the running kernel's profile (with
// package check, as `raceroute check --seed seed` does), runs the
// scenario live and compares the two; prog is told how the live run
// goes.
func RunItem(ctx context.Context, it *Item, h Host, seed uint64, prog *Progress) (Report, error) {
	r := Report{Scenario: it.Name, Release: h.Release, Profile: h.Profile.Name, ProfileNotes: h.Profile.Notes}
	co := check.Settings{Seed: seed, Bound: -1}
	var models []ModelVerdict
	for _, q := range h.Profile.Resolve(it.sc.Switches()) {
		j := check.Job{Scenario: it.sc, Variant: it.v, Profile: q, Column: h.Profile.Name}
		d, err := check.Search(ctx, j, co, 0, check.NewProgress(io.Discard))
		if err != nil {
			return r, err
		}
		rep, err := check.ReportJob(j, co, d)
		if err != nil {
			return r, err
		}
		r.Model = append(r.Model, rep)
		mv, err := modelVerdict(ctx, j, co, rep)
		if err != nil {
			return r, err
		}
		models = append(models, mv)
	}
	prog.starting(it)
	res, err := it.live.Run(ctx, Options{Seed: seed, Progress: prog.update})
	prog.finished(it)
	r.Live = res
	if err != nil {
		return r, err
	}
	c := Compare(res, models)
	r.Comparison = &c
	return r, nil
}

// modelVerdict turns a check report into what Compare reads; for an
// exhaustive search that found a violation it samples random schedules
// for the share that violate, which one live run is judged against.
func modelVerdict(ctx context.Context, j check.Job, co check.Settings, rep check.Report) (ModelVerdict, error) {
	mv := ModelVerdict{Kernel: rep.Kernel, Sampled: rep.Runs > 0, Exhaustive: rep.Exhaustive, Runs: rep.Runs}
	var share map[string]float64
	for _, p := range rep.Properties {
		mp := ModelPropVerdict{Name: p.Name, Verdict: p.Verdict}
		switch {
		case p.FailureRate != nil:
			mp.Rate, mp.CIHigh, mp.RateKnown = *p.FailureRate, *p.CIHigh, true
		case p.Verdict == explore.Violated:
			if share == nil {
				ov := co.Overrides(0)
				c, err := j.Scenario.CompileFor(j.Variant, j.Profile, ov)
				if err != nil {
					return mv, check.InputError{Err: err}
				}
				opts := j.Scenario.Options(ov)
				opts.Seed = co.Seed
				share = SampleShare(ctx, c, opts)
			}
			mp.Rate, mp.RateKnown = share[p.Name], true
		}
		mv.Properties = append(mv.Properties, mp)
	}
	return mv, nil
}

// WriteHostHeader says which kernel runs and the profile chosen for it,
// with the profile's notes.
func WriteHostHeader(w io.Writer, h Host) {
	fmt.Fprintf(w, "running kernel %s: profile %s\n", h.Release, h.Profile.Name)
	for _, n := range h.Profile.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintln(w)
}

// WriteText prints one live run in check's text format, the model's
// check report after it, then the comparison.
func WriteText(w io.Writer, r Report) {
	if r.Live == nil {
		return
	}
	l := r.Live
	fmt.Fprintf(w, "%s live on %s (%s): %s\n", l.Scenario, l.Release, l.Profile, strings.ToUpper(string(l.Verdict)))
	fmt.Fprintf(w, "  one live run: %.1f s, seed %d", l.ElapsedMS/1000, l.Seed)
	if len(l.Draws) > 0 {
		var ds []string
		for _, d := range l.Draws {
			ds = append(ds, fmt.Sprintf("%s %.3f s (of %s)", d.What, d.At, d.Window))
		}
		fmt.Fprintf(w, "; drawn: %s", strings.Join(ds, ", "))
	}
	fmt.Fprintln(w)
	for _, p := range l.Properties {
		fmt.Fprintf(w, "  property %s (%s) %s live: %s\n", p.Name, p.Kind, p.Verdict, p.Explanation)
	}
	story := l.Story()
	fmt.Fprintf(w, "  story (%d of the %d events recorded; --events FILE writes them all):\n", len(story), len(l.Events))
	for _, e := range story {
		fmt.Fprintf(w, "    t=%.3f %-10s %-9s %s\n", e.T, e.Host, e.Label, e.Text)
	}
	for _, n := range l.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintf(w, "  namespaces (deleted): %s\n\n", strings.Join(l.Namespaces, " "))
	fmt.Fprintln(w, "model:")
	for _, m := range r.Model {
		check.WriteText(w, m)
	}
	if c := r.Comparison; c != nil {
		fmt.Fprintf(w, "comparison: %s\n", strings.ToUpper(string(c.Agreement)))
		for _, p := range c.Properties {
			fmt.Fprintf(w, "  %s on %s: live %s, model %s: %s: %s\n", p.Name, p.Kernel, p.Live, p.Model, p.Agreement, p.Why)
		}
		fmt.Fprintf(w, "  covers: %s\n\n", c.Covers)
	}
}

// modelCell is the model's verdict as check's matrix writes it.
func modelCell(rs []check.Report) string {
	if len(rs) == 0 {
		return "-"
	}
	cell := func(r check.Report) string {
		switch {
		case r.Runs > 0 && r.Verdict == explore.Violated:
			return fmt.Sprintf("%.0f%%", 100**r.FailureRate)
		case r.Runs > 0 && r.Verdict == explore.Holds:
			return "holds*"
		}
		return string(r.Verdict)
	}
	s := cell(rs[0])
	for _, r := range rs[1:] {
		if cell(r) != s {
			return "either"
		}
	}
	return s
}

// WriteMatrix prints `raceroute lab --all`'s matrix: model against live
// verdict per scenario variant, what disagrees or cannot be decided,
// what each comparison covers, and what could not run here.
func WriteMatrix(w io.Writer, reports []Report) {
	width := len("scenario")
	for _, r := range reports {
		width = max(width, len(r.Scenario))
	}
	fmt.Fprintf(w, "%-*s  %-8s  %-8s  %s\n", width, "scenario", "model", "live", "comparison")
	counts := map[Agreement]int{}
	covers := map[string]bool{}
	var coverOrder []string
	var refused, remarks []string
	for _, r := range reports {
		switch {
		case len(r.Refused) > 0:
			fmt.Fprintf(w, "%-*s  %-8s  %-8s  %s\n", width, r.Scenario, modelCell(r.Model), "-", "cannot run here")
			refused = append(refused, fmt.Sprintf("  %s: %s", r.Scenario, strings.Join(r.Refused, "; ")))
		case r.Error != "":
			fmt.Fprintf(w, "%-*s  %-8s  %-8s  %s\n", width, r.Scenario, modelCell(r.Model), "failed", "-")
			remarks = append(remarks, fmt.Sprintf("  %s: the live run failed: %s", r.Scenario, r.Error))
		default:
			c := r.Comparison
			counts[c.Agreement]++
			fmt.Fprintf(w, "%-*s  %-8s  %-8s  %s\n", width, r.Scenario, modelCell(r.Model), r.Live.Verdict, c.Agreement)
			for _, p := range c.Properties {
				if p.Agreement != Agree {
					remarks = append(remarks, fmt.Sprintf("  %s %s on %s: %s", r.Scenario, p.Name, p.Kernel, p.Why))
				}
			}
			for _, s := range strings.SplitAfter(c.Covers, ". ") {
				if s = strings.TrimSpace(s); s != "" && !covers[s] {
					covers[s] = true
					coverOrder = append(coverOrder, s)
				}
			}
		}
	}
	fmt.Fprintf(w, "\n%d agree, %d disagree, %d not decisive, of %d live runs; %d could not run here.\n",
		counts[Agree], counts[Disagree], counts[NotDecisive], counts[Agree]+counts[Disagree]+counts[NotDecisive]+counts[NoModel]+counts[NoLive], len(refused))
	fmt.Fprintln(w, "  model: check's verdict on the running kernel's profile (holds*: no violation in the seeded runs; N%: violated in N % of them)")
	fmt.Fprintln(w, "  live:  the verdict of one live run, judged on what the kernel did")
	for _, s := range coverOrder {
		fmt.Fprintf(w, "  %s\n", s)
	}
	if len(remarks) > 0 {
		fmt.Fprintln(w, "Not agreeing:")
		for _, s := range remarks {
			fmt.Fprintln(w, s)
		}
	}
	if len(refused) > 0 {
		fmt.Fprintln(w, "Could not run here:")
		for _, s := range refused {
			fmt.Fprintln(w, s)
		}
	}
}

// WriteEvents writes a run's events as JSON lines, each with its
// scenario.
func WriteEvents(w io.Writer, name string, events []Event) error {
	enc := json.NewEncoder(w)
	for _, e := range events {
		if err := enc.Encode(struct {
			Scenario string `json:"scenario"`
			Event
		}{name, e}); err != nil {
			return err
		}
	}
	return nil
}

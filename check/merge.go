package check

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"raceroute/explore"
)

// Merged says how a merged report was combined from its parts.
type Merged struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
	// Counting says in words how States was counted.
	Counting string `json:"counting"`
	// DistinctStates is the number of distinct states in the union of
	// the shards' fingerprint sets, when every shard wrote them.
	DistinctStates *int64 `json:"distinct_states,omitempty"`
	// ElapsedSumMS is the parts' elapsed time added up (ElapsedMS of the
	// merged report is the longest part's).
	ElapsedSumMS float64 `json:"elapsed_sum_ms"`
}

// PartsFile is one file of parts' reports, as check --format json wrote
// it (one report per line).
type PartsFile struct {
	Name    string
	Reports []Report
}

// ReadParts reads the reports of file name from r.
func ReadParts(name string, r io.Reader) (PartsFile, error) {
	f := PartsFile{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rep Report
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rep); err != nil {
			return f, fmt.Errorf("%s:%d: not a report of raceroute check --format json: %w", name, line, err)
		}
		if rep.Scenario == "" || rep.Kernel == "" {
			return f, fmt.Errorf("%s:%d: a report without scenario or kernel", name, line)
		}
		f.Reports = append(f.Reports, rep)
	}
	if err := sc.Err(); err != nil {
		return f, fmt.Errorf("%s: %w", name, err)
	}
	if len(f.Reports) == 0 {
		return f, fmt.Errorf("%s: no reports", name)
	}
	return f, nil
}

// partOf is one part's report and the file it came from.
type partOf struct {
	r    Report
	file string
}

// MergeParts combines the reports of the shards of a sharded check (or
// the members of a swarm) into one report per scenario and kernel. It
// refuses parts that do not belong together: reports that are not parts,
// parts of different searches (scenario content, variant, kernel
// settings, options), different kinds or counts, a part given twice, and
// missing parts.
func MergeParts(files []PartsFile) ([]Report, error) {
	groups := map[string][]partOf{}
	var order []string
	for _, f := range files {
		for _, r := range f.Reports {
			if r.Part == nil {
				return nil, fmt.Errorf("%s: %s on %s is the report of a whole check, not of a shard or swarm member (check --shard I/N or --swarm I/N writes those)", f.Name, r.Scenario, r.Kernel)
			}
			k := r.Scenario + " on " + r.Kernel
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], partOf{r, f.Name})
		}
	}
	var out []Report
	var errs []error
	for _, k := range order {
		m, err := mergeGroup(k, groups[k])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

// maxParts bounds the parts of one merge.
const maxParts = 1 << 16

func mergeGroup(key string, parts []partOf) (Report, error) {
	first := parts[0]
	p0 := first.r.Part
	for _, pt := range parts {
		if p := pt.r.Part; (p.Kind != shardKind && p.Kind != swarmKind) || p.Count < 1 || p.Count > maxParts {
			return Report{}, fmt.Errorf("%s: %s: part %q %d of %d: want a shard or swarm part of 1 to %d", key, pt.file, p.Kind, p.Index, p.Count, maxParts)
		}
	}
	seen := make([]*partOf, p0.Count)
	for i := range parts {
		pt := &parts[i]
		p := pt.r.Part
		switch {
		case p.Kind != p0.Kind || p.Count != p0.Count:
			return Report{}, fmt.Errorf("%s: %s is %s, %s is %s: parts of different checks", key, first.file, p0.name(), pt.file, p.name())
		case p.Search != p0.Search:
			return Report{}, fmt.Errorf("%s: %s and %s searched different spaces (search %s and %s: the scenario file, its kernel settings or the check options differ)", key, first.file, pt.file, p0.Search, p.Search)
		case p.Build != p0.Build:
			return Report{}, fmt.Errorf("%s: %s and %s come from different raceroute builds (%s, %s)", key, first.file, pt.file, p0.Build, p.Build)
		case p.Kind == shardKind && (p.SplitDepth != p0.SplitDepth || p.PrefixStates != p0.PrefixStates || p.Frontier != p0.Frontier):
			return Report{}, fmt.Errorf("%s: %s and %s split the space differently (depth %d, %d states; depth %d, %d states)", key, first.file, pt.file, p0.SplitDepth, p0.PrefixStates, p.SplitDepth, p.PrefixStates)
		case pt.r.Expected != first.r.Expected || pt.r.Profile != first.r.Profile:
			return Report{}, fmt.Errorf("%s: %s and %s disagree on the profile or the expected verdict", key, first.file, pt.file)
		case p.Index < 0 || p.Index >= p.Count:
			return Report{}, fmt.Errorf("%s: %s: %s is out of range", key, pt.file, p.name())
		case seen[p.Index] != nil:
			return Report{}, fmt.Errorf("%s: %s given twice (%s and %s)", key, p.name(), seen[p.Index].file, pt.file)
		}
		seen[p.Index] = pt
	}
	var missing []string
	for i, s := range seen {
		if s == nil {
			missing = append(missing, fmt.Sprint(i))
		}
	}
	if len(missing) > 0 {
		return Report{}, fmt.Errorf("%s: missing %s %s of %d: a merged verdict needs every part", key, p0.Kind, strings.Join(missing, ", "), p0.Count)
	}
	m := first.r
	m.Part, m.Counterexample, m.Explanation = nil, nil, ""
	m.Properties = nil
	m.States, m.Transitions, m.ElapsedMS = 0, 0, 0
	m.Exhaustive = p0.Kind == shardKind
	mg := &Merged{Kind: p0.Kind, Count: p0.Count}
	completed := false
	for _, s := range seen {
		r := s.r
		m.States += r.States
		m.Transitions += r.Transitions
		m.ElapsedMS = max(m.ElapsedMS, r.ElapsedMS)
		mg.ElapsedSumMS += r.ElapsedMS
		m.OmissionProbability = max(m.OmissionProbability, r.OmissionProbability)
		m.BytesPerState = max(m.BytesPerState, r.BytesPerState)
		if p0.Kind == shardKind {
			m.States -= r.Part.PrefixStates
			m.Exhaustive = m.Exhaustive && r.Exhaustive
		}
		completed = completed || r.Part.Completed
	}
	if p0.Kind == shardKind {
		m.States += p0.PrefixStates
		mg.Counting = fmt.Sprintf("the %d states up to the split depth %d once, plus each shard's states below it: a state reached from the frontier of several shards is counted once per shard, so this is at least the number of distinct states", p0.PrefixStates, p0.SplitDepth)
		if n, ok, err := distinct(seen); err != nil {
			return Report{}, fmt.Errorf("%s: %w", key, err)
		} else if ok {
			mg.DistinctStates = &n
			mg.Counting += fmt.Sprintf("; the union of the shards' fingerprint sets has %d distinct states", n)
		}
	} else {
		m.Exhaustive = completed
		mg.Counting = "each member's states added up: members overlap, so this counts visits, not distinct states"
	}
	m.Merged = mg
	// Each property: violated when a part violated it (that part's
	// counterexample, the lowest index first), holds when every shard, or
	// a swarm member that finished, found it holds; unknown otherwise.
	for pi, pr := range first.r.Properties {
		out := PropertyReport{Name: pr.Name, Kind: pr.Kind, Verdict: explore.Holds, Explanation: pr.Explanation}
		unknown := false
		for _, s := range seen {
			if pi >= len(s.r.Properties) || s.r.Properties[pi].Name != pr.Name {
				return Report{}, fmt.Errorf("%s: %s and %s list different properties", key, first.file, s.file)
			}
			q := s.r.Properties[pi]
			switch {
			case q.Verdict == explore.Violated && out.Verdict != explore.Violated:
				out.Verdict, out.Explanation, out.Counterexample = explore.Violated, q.Explanation, q.Counterexample
			case q.Verdict != explore.Holds:
				unknown = true
			}
		}
		if out.Verdict != explore.Violated && (unknown || (p0.Kind == swarmKind && !completed)) {
			out.Verdict = explore.Unknown
		}
		m.Properties = append(m.Properties, out)
	}
	m.Verdict = explore.Holds
	for _, pr := range m.Properties {
		switch {
		case pr.Verdict == explore.Violated && m.Verdict != explore.Violated:
			m.Verdict, m.Property, m.Explanation, m.Counterexample = explore.Violated, pr.Name, pr.Explanation, pr.Counterexample
		case pr.Verdict == explore.Unknown && m.Verdict == explore.Holds:
			m.Verdict = explore.Unknown
		}
	}
	if m.Counterexample == nil {
		names := make([]string, len(m.Properties))
		for i, pr := range m.Properties {
			names[i] = pr.Name
		}
		m.Property = strings.Join(names, ", ")
		m.Explanation = mergedScope(m, mg)
	}
	m.Match = Matches(m)
	return m, nil
}

// mergedScope says what a merged verdict without a counterexample covers.
func mergedScope(m Report, mg *Merged) string {
	if mg.Kind == swarmKind {
		if m.Exhaustive {
			return fmt.Sprintf("a swarm of %d randomised searches, one of which finished: every schedule covered", mg.Count)
		}
		return fmt.Sprintf("a swarm of %d randomised searches, NOT exhaustive: %d state visits in all (members overlap), no violation found; a bound on what was missed cannot be given", mg.Count, m.States)
	}
	if m.Verdict == explore.Unknown {
		return fmt.Sprintf("%d shards, not every one finished: no verdict", mg.Count)
	}
	return fmt.Sprintf("in every schedule (exhaustive, in %d shards)", mg.Count)
}

// distinct counts the union of the shards' fingerprint files; ok is false
// when some shard wrote none.
func distinct(parts []*partOf) (n int64, ok bool, err error) {
	var all []uint64
	for _, p := range parts {
		name := p.r.Part.Fingerprints
		if name == "" {
			return 0, false, nil
		}
		b, err := os.ReadFile(name)
		if errors.Is(err, os.ErrNotExist) {
			// Moved along with the reports: look beside them.
			b, err = os.ReadFile(filepath.Join(filepath.Dir(p.file), filepath.Base(name)))
		}
		if err != nil {
			return 0, false, fmt.Errorf("%s's fingerprints: %w", p.r.Part.name(), err)
		}
		if len(b)%8 != 0 {
			return 0, false, fmt.Errorf("%s's fingerprints %s: %d bytes, not a whole number of 8-byte fingerprints", p.r.Part.name(), name, len(b))
		}
		for i := 0; i < len(b); i += 8 {
			all = append(all, binary.LittleEndian.Uint64(b[i:]))
		}
	}
	slices.Sort(all)
	return int64(len(slices.Compact(all))), true, nil
}

// WriteMerged prints a merged report: its headline, what the parts
// covered and how the states were counted, and each property's verdict,
// with the replay token of a violation (raceroute replay tells its story).
func WriteMerged(w io.Writer, r Report) {
	fmt.Fprintf(w, "%s on %s: %s\n", r.Scenario, r.Kernel, Headline(r))
	if r.Counterexample == nil {
		fmt.Fprintf(w, "  merged from %d %ss: %s\n", r.Merged.Count, r.Merged.Kind, r.Explanation)
	}
	fmt.Fprintf(w, "  states: %d (%s); %d transitions; longest part %.1f ms, all parts %.1f ms\n",
		r.States, r.Merged.Counting, r.Transitions, r.ElapsedMS, r.Merged.ElapsedSumMS)
	for _, p := range r.Properties {
		fmt.Fprintf(w, "  property %s (%s) %s", p.Name, p.Kind, p.Verdict)
		if p.Counterexample != nil {
			fmt.Fprintf(w, ": %s\n    replay: raceroute replay %s", strings.ReplaceAll(p.Explanation, "\n", " "), p.Counterexample.Replay)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

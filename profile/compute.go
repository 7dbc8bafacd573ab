package profile

import (
	"fmt"
	"slices"
	"strings"
)

// presence is whether a kernel has a switch value.
type presence uint8

const (
	absent presence = iota
	present
	maybe
)

// unknownPoint stands for a point release the release string does not
// give (a Debian ABI without a table entry, an Ubuntu ABI past the last
// changelog read).
const unknownPoint = -1

// has says whether upstream line v at point release point (unknownPoint
// when not known; 0 for the mainline release itself) has value fact vf,
// and why.
func (vf *ValueFact) has(v version, point int) (presence, string) {
	if vf.Mainline == "" && len(vf.Backports) == 0 {
		return present, "the original behaviour"
	}
	if vf.Mainline != "" {
		m, _ := parseVersion(vf.Mainline)
		if !v.less(m) {
			return present, "in mainline since " + vf.Mainline
		}
		if vf.Maybe != "" {
			if mb, _ := parseVersion(vf.Maybe); !v.less(mb) {
				return maybe, fmt.Sprintf("%s may have it (in mainline by %s; %s not read)", v, vf.Mainline, vf.Maybe)
			}
		}
	}
	for _, b := range vf.Backports {
		if l, _ := parseVersion(b.Line); l != v {
			continue
		}
		first, lastAbsent := b.First, b.First-1
		if first == 0 {
			first, lastAbsent = b.Present, b.Absent
		}
		switch {
		case point == unknownPoint:
			return maybe, fmt.Sprintf("backported to %s.y from %s.%d (%s), and the point release is not known", b.Line, b.Line, first, b.Source)
		case point >= first:
			return present, fmt.Sprintf("backported to %s.y by %s.%d (%s)", b.Line, b.Line, first, b.Source)
		case point <= lastAbsent:
			return absent, fmt.Sprintf("backported to %s.y only from %s.%d", b.Line, b.Line, lastAbsent+1)
		}
		return maybe, fmt.Sprintf("backported to %s.y between %s.%d and %s.%d (%s)", b.Line, b.Line, lastAbsent+1, b.Line, first, b.Source)
	}
	if len(vf.Backports) > 0 && point == unknownPoint {
		// Backported to other stable lines, and the point release of this
		// one is not known.
		lines := make([]string, len(vf.Backports))
		for i, b := range vf.Backports {
			lines[i] = b.Line + ".y"
		}
		return maybe, fmt.Sprintf("backported to %s, and the %s.y point release is not known", strings.Join(lines, ", "), v)
	}
	return absent, ""
}

// upstreamSettings computes every switch of upstream line v at a point
// release: the last value the kernel has, with the later values it may
// have as candidates.
func (f *Facts) upstreamSettings(v version, point int) []Setting {
	out := make([]Setting, len(f.Switches))
	for i := range f.Switches {
		sw := &f.Switches[i]
		base, why := 0, ""
		var maybes []int
		var maybeWhy []string
		seen := make([]presence, len(sw.Values))
		for j := range sw.Values {
			vf := &sw.Values[j]
			p, w := vf.has(v, point)
			if vf.After != "" {
				k, _ := switchDefs[i].index(vf.After)
				if seen[k] == absent {
					p = absent // a fix needs what it fixes
				} else if seen[k] == maybe && p == present {
					p, w = maybe, w+", if it has "+vf.After
				}
			}
			if vf.Requires != "" && p != absent {
				rs, rv, _ := strings.Cut(vf.Requires, "=")
				_, ri, _ := switchByName(rs)
				req := out[ri]
				switch {
				case req.Known() && req.Value != rv:
					p = absent
				case !req.Known() && p == present:
					p, w = maybe, w+", if "+vf.Requires
				}
			}
			seen[j] = p
			switch p {
			case present:
				base, why, maybes, maybeWhy = j, w, nil, nil
			case maybe:
				maybes = append(maybes, j)
				maybeWhy = append(maybeWhy, sw.Values[j].Value+": "+w)
			}
		}
		vf := &sw.Values[base]
		src := fmt.Sprintf("%s (%s); %s", vf.Value, why, vf.Source)
		if vf.Commit != "" {
			src = fmt.Sprintf("%s: %s %q (%s); %s", vf.Value, vf.Commit, vf.Title, why, vf.Source)
		}
		if len(maybes) == 0 {
			out[i] = Setting{Value: vf.Value, Source: src}
			continue
		}
		cands := []string{vf.Value}
		for _, j := range maybes {
			cands = append(cands, sw.Values[j].Value)
		}
		out[i] = Setting{Unknown: cands, Source: "at least " + src + "; " + strings.Join(maybeWhy, "; ")}
	}
	return out
}

// settingsFor applies a distribution's own values over base settings.
func settingsFor(base []Setting, own map[string]Setting) []Setting {
	out := slices.Clone(base)
	for name, st := range own {
		_, i, _ := switchByName(name)
		out[i] = st
	}
	return out
}

// build turns settings into a profile: every known switch sets its field,
// unknown ones are listed.
func build(name, desc, release string, settings []Setting, notes []string) Profile {
	p := Profile{Name: name, Description: desc, Release: release, Settings: settings, Notes: notes}
	for i, st := range settings {
		if !st.Known() {
			continue
		}
		k, _ := switchDefs[i].index(st.Value)
		switchDefs[i].set(&p, k)
	}
	return p
}

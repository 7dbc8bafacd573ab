package profile

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Release is a kernel release string as `uname -r` prints it, read.
type Release struct {
	// Raw is the string as given.
	Raw string
	// Major, Minor and Point are the upstream version; Point is
	// unknownPoint when the string does not give it (Debian and Ubuntu
	// print x.y.0 and an ABI number).
	Major, Minor, Point int
	// Vendor is "rhel", "ubuntu", "debian", "" for an upstream kernel, or
	// "other" for a suffix no table here knows.
	Vendor string
	// Flavour is el7/el8/el9 for RHEL; Build its build number (514 of
	// 3.10.0-514.el7) or the ABI number of Debian and Ubuntu.
	Flavour string
	Build   int
	// Suffix is what follows x.y.z.
	Suffix string
}

var (
	reVersion = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?(.*)$`)
	reRHEL    = regexp.MustCompile(`^-(\d+)(?:\.[\d.]+)?\.(el[789])(?:_\d+)?(?:\.[a-z0-9_]+)*$`)
	reUbuntu  = regexp.MustCompile(`^-(\d+)-(generic|lowlatency|aws|azure|gcp|gke|gkeop|kvm|oracle|ibm|raspi|virtual|oem|nvidia|intel|realtime|fips)(?:-[a-z0-9]+)*$`)
	reDebian  = regexp.MustCompile(`^-(\d+)-(amd64|arm64|686|686-pae|cloud-amd64|cloud-arm64|rt-amd64|rt-arm64|armmp|armmp-lpae|powerpc64le|s390x|marvell|rpi)$`)
	// reDebianVersion finds the point release in `uname -v` ("#1 SMP
	// Debian 6.1.119-1 (2024-11-22)").
	reDebianVersion = regexp.MustCompile(`Debian (\d+)\.(\d+)\.(\d+)`)
	// reUbuntuSignature reads /proc/version_signature ("Ubuntu
	// 5.4.0-12.15-generic 5.4.8").
	reUbuntuSignature = regexp.MustCompile(`^Ubuntu \S+ (\d+)\.(\d+)\.(\d+)`)
)

// ParseRelease reads "3.10.0-514.22.1.el7.x86_64", "5.4.0-190-generic",
// "6.1.0-28-amd64", "6.18.44-fc-v1045", "5.15.0".
func ParseRelease(s string) (Release, error) {
	r := Release{Raw: s}
	m := reVersion.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return r, fmt.Errorf("kernel release %q: want one as uname -r prints it, such as 5.15.0-100-generic or 3.10.0-1160.el7.x86_64", s)
	}
	r.Major, _ = strconv.Atoi(m[1])
	r.Minor, _ = strconv.Atoi(m[2])
	r.Point = 0
	if m[3] != "" {
		r.Point, _ = strconv.Atoi(m[3])
	}
	r.Suffix = m[4]
	switch {
	case r.Suffix == "":
	case reRHEL.MatchString(r.Suffix):
		mm := reRHEL.FindStringSubmatch(r.Suffix)
		r.Vendor, r.Flavour = "rhel", mm[2]
		r.Build, _ = strconv.Atoi(mm[1])
	case r.Point == 0 && reUbuntu.MatchString(r.Suffix):
		mm := reUbuntu.FindStringSubmatch(r.Suffix)
		r.Vendor, r.Point = "ubuntu", unknownPoint
		r.Build, _ = strconv.Atoi(mm[1])
	case r.Point == 0 && reDebian.MatchString(r.Suffix):
		mm := reDebian.FindStringSubmatch(r.Suffix)
		r.Vendor, r.Point = "debian", unknownPoint
		r.Build, _ = strconv.Atoi(mm[1])
	default:
		r.Vendor = "other"
	}
	return r, nil
}

// WithVersionText refines r with what /proc/version (`uname -v`) or
// /proc/version_signature say of the upstream point release: Debian
// prints it in `uname -v`, Ubuntu in its version signature.
func (r Release) WithVersionText(text string) Release {
	for _, re := range []*regexp.Regexp{reDebianVersion, reUbuntuSignature} {
		m := re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		maj, _ := strconv.Atoi(m[1])
		min, _ := strconv.Atoi(m[2])
		pt, _ := strconv.Atoi(m[3])
		if maj == r.Major && min == r.Minor {
			r.Point = pt
		}
	}
	return r
}

func (r Release) version() version { return version{r.Major, r.Minor} }

// Match returns the profile of a kernel release: a distribution kernel's
// own facts, or an upstream line's computed at its point release, with
// notes that say how it was chosen and what could not be confirmed.
func Match(s string) (Profile, error) {
	r, err := ParseRelease(s)
	if err != nil {
		return Profile{}, err
	}
	return MatchRelease(r)
}

// MatchRelease is Match for a parsed release.
func MatchRelease(r Release) (Profile, error) {
	f, err := LoadFacts()
	if err != nil {
		return Profile{}, err
	}
	v := r.version()
	switch r.Vendor {
	case "rhel":
		for _, d := range f.Distributions {
			if d.Match.Flavour == r.Flavour && r.Build >= d.Match.Builds[0] && r.Build <= d.Match.Builds[1] {
				base := make([]Setting, len(switchDefs))
				if d.Base != "" {
					bv, _ := parseVersion(d.Base)
					base = f.upstreamSettings(bv, 0)
				}
				note := fmt.Sprintf("%s: %s build %d is %s (%s)", r.Raw, r.Flavour, r.Build, d.Name, d.Source)
				return build(d.Name, d.Description, r.Raw, settingsFor(base, d.Values), []string{note}), nil
			}
		}
		return Profile{}, fmt.Errorf("kernel release %q: no RHEL %s profile covers build %d", r.Raw, r.Flavour, r.Build)
	case "ubuntu", "debian":
		return f.matchSeries(r)
	}
	// An upstream release with its point release unknown (a Debian or
	// Ubuntu line no series table covers) is named by its line alone.
	ver := fmt.Sprintf("%d.%d.%d", r.Major, r.Minor, r.Point)
	if r.Point == unknownPoint {
		ver = fmt.Sprintf("%d.%d", r.Major, r.Minor)
	}
	notes := []string{fmt.Sprintf("%s: upstream %s, values computed from the commits and their stable backports", r.Raw, ver)}
	if r.Point == unknownPoint {
		notes[0] = fmt.Sprintf("%s: upstream %s, its point release unknown: values computed from the commits, and backports to the %s line that need a point release are unknown", r.Raw, ver, ver)
	}
	if r.Vendor == "other" {
		notes = append(notes, fmt.Sprintf("warning: %q is no vendor suffix raceroute knows (RHEL el7/el8/el9, Debian, Ubuntu): the values are upstream %s's, and what the vendor backported could not be confirmed", r.Suffix, ver))
	}
	name := "linux-" + ver
	return build(name, "upstream "+v.String()+" line", r.Raw, f.upstreamSettings(v, r.Point), notes), nil
}

// matchSeries resolves a Debian or Ubuntu release through its ABI table.
func (f *Facts) matchSeries(r Release) (Profile, error) {
	list, vendor := f.Debian, "Debian"
	if r.Vendor == "ubuntu" {
		list, vendor = f.Ubuntu, "Ubuntu"
	}
	v := r.version()
	for _, s := range list {
		if bv, _ := parseVersion(s.Base); bv != v {
			continue
		}
		label := s.Series
		if label == "" {
			label = s.Release
		}
		name := strings.ToLower(vendor) + "-" + label
		point := r.Point
		var notes []string
		if point == unknownPoint {
			point = s.point(r.Build)
			switch {
			case point == unknownPoint && s.Until > 0 && r.Build > s.Until:
				notes = append(notes, fmt.Sprintf("%s: ABI %d is after the last one read (%d): the upstream point release is not known", r.Raw, r.Build, s.Until))
			case point == unknownPoint:
				notes = append(notes, fmt.Sprintf("%s: ABI %d: the upstream point release is not known (%s); give it with uname -v or /proc/version_signature", r.Raw, r.Build, s.Source))
			default:
				notes = append(notes, fmt.Sprintf("%s: %s %s ABI %d, built from %d.%d.%d (%s)", r.Raw, vendor, label, r.Build, r.Major, r.Minor, point, s.Source))
			}
		} else {
			notes = append(notes, fmt.Sprintf("%s: %s %s, upstream %d.%d.%d as its version text says", r.Raw, vendor, label, r.Major, r.Minor, point))
		}
		settings := f.upstreamSettings(v, point)
		for _, o := range s.Overrides {
			if r.Build >= o.From {
				_, i, _ := switchByName(o.Switch)
				settings[i] = Setting{Value: o.Value, Source: fmt.Sprintf("%s (%s's own backport from ABI %d: %s)", o.Value, vendor, o.From, o.Source)}
			}
		}
		desc := fmt.Sprintf("%s %s (%s)", vendor, label, s.Source)
		return build(name, desc, r.Raw, settings, notes), nil
	}
	p, err := MatchRelease(Release{Raw: r.Raw, Major: r.Major, Minor: r.Minor, Point: unknownPoint})
	if err != nil {
		return Profile{}, err
	}
	p.Notes = append(p.Notes, fmt.Sprintf("warning: no %s series is based on %s: the values are the upstream line's, its point release unknown", vendor, v))
	return p, nil
}

// point maps an ABI number to the upstream point release through the
// table: the entry at or below it, unknownPoint when there is none (or
// the ABI is past the last read).
func (s DistroSeries) point(abi int) int {
	if s.Until > 0 && abi > s.Until {
		return unknownPoint
	}
	keys := make([]int, 0, len(s.ABI))
	for k := range s.ABI {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	best := unknownPoint
	for _, k := range keys {
		if k <= abi {
			best = s.ABI[k]
		}
	}
	return best
}

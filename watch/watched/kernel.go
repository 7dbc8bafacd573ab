// Package watched holds what the detectors know of the watched host's
// kernel: its profile, when the release string could be matched.
package watched

import "raceroute/profile"

// Kernel is what the detectors know of the watched host's kernel: its
// profile when the release string could be matched. The zero Kernel is
// an unknown one.
type Kernel struct {
	release string
	p       profile.Profile
	known   bool
}

// KernelOf matches a release string (uname -r) to its profile; an empty
// or unreadable one leaves the kernel unknown.
func KernelOf(release string) Kernel {
	k := Kernel{release: release}
	if release == "" {
		return k
	}
	if p, err := profile.Match(release); err == nil {
		k.p, k.known = p, true
	}
	return k
}

// ClonesOnLookup reports whether IPv6 lookups may clone routes into the
// cache (ip6_pol_route() before 4.2); true when not known.
func (k Kernel) ClonesOnLookup() bool {
	if !k.known {
		return true
	}
	if s, _ := k.p.Setting("ipv6-cache"); !s.Known() {
		return true
	}
	return k.p.ClonesOnLookup()
}

// GARPCandidates is the kernel's gratuitous-ARP recognition: one value,
// or the candidates its profile leaves open, or none when the kernel is
// not known.
func (k Kernel) GARPCandidates() []profile.GARPRecognition {
	if !k.known {
		return nil
	}
	var out []profile.GARPRecognition
	for _, q := range k.p.Resolve([]string{"garp"}) {
		out = append(out, q.GARP)
	}
	return out
}

// Name names the kernel in findings.
func (k Kernel) Name() string {
	if k.release == "" {
		return "this kernel"
	}
	return "Linux " + k.release
}

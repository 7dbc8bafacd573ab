package profile

import (
	"strconv"
	"strings"
)

// Release is a parsed kernel release, as `uname -r` prints it.
type Release struct {
	release      string
	major, minor int
	rhel7        bool // a RHEL/CentOS 7 kernel (3.10.0-NNN.el7)
	rhelBuild    int  // NNN of 3.10.0-NNN.el7
	known        bool
}

// rhel79Build is the build of RHEL 7.9's kernel (3.10.0-1160), which
// carries the 4.12 neighbour fixes and the 4.11 confirmation series as
// backports (read in 3.10.0-1160's net/ipv4/arp.c and net/core/neighbour.c).
const rhel79Build = 1160

// ParseRelease reads "3.10.0-514.22.1.el7.x86_64", "4.19.0-21-amd64",
// "6.1.0-18-cloud-amd64", "5.15.0"; an unreadable one is not Known.
func ParseRelease(s string) Release {
	v := Release{release: s}
	num, rest, _ := strings.Cut(s, "-")
	parts := strings.Split(num, ".")
	if len(parts) < 2 {
		return v
	}
	maj, err1 := strconv.Atoi(parts[0])
	min, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return v
	}
	v.major, v.minor, v.known = maj, min, true
	if maj == 3 && min == 10 && strings.Contains(rest, ".el7") {
		v.rhel7 = true
		b, _, _ := strings.Cut(rest, ".")
		v.rhelBuild, _ = strconv.Atoi(b)
	}
	return v
}

// Known reports whether the release could be read.
func (v Release) Known() bool { return v.known }

func (v Release) atLeast(maj, min int) bool {
	return v.major > maj || v.major == maj && v.minor >= min
}

// GARP is the release's gratuitous-ARP recognition in arp_process(), and
// false when the release is not known.
func (v Release) GARP() (GARPRecognition, bool) {
	switch {
	case !v.known:
		return 0, false
	case v.rhel7 && v.rhelBuild >= rhel79Build:
		return GARPAlways, true
	case v.rhel7, !v.atLeast(3, 14):
		return GARPNever, true
	case !v.atLeast(4, 12):
		return GARPRequestWithAccept, true
	}
	return GARPAlways, true
}

// ClonesOnLookup reports whether IPv6 lookups may clone routes into the
// cache (ip6_pol_route() before 4.2); true when the release is not known.
func (v Release) ClonesOnLookup() bool {
	return !v.known || !v.atLeast(4, 2)
}

// Name names the release in findings: "Linux 5.15.0", or "this kernel".
func (v Release) Name() string {
	if v.release == "" {
		return "this kernel"
	}
	return "Linux " + v.release
}

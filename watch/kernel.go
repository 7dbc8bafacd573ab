package watch

import (
	"strconv"
	"strings"
)

// garpClass is how a kernel release treats gratuitous ARP
// (kernel-behaviour.md §2.4, §2.6).
type garpClass int

const (
	garpUnknown  garpClass = iota // no or unreadable release
	garpNever                     // < 3.14, RHEL 7 before 7.9: never recognised
	garpRequests                  // 3.14 to 4.11: requests only, with arp_accept=1
	garpHonoured                  // 4.12 on (and RHEL 7.9): requests and replies always override
)

// kernelVersion is a parsed `uname -r`.
type kernelVersion struct {
	release      string
	major, minor int
	rhel7        bool // a RHEL/CentOS 7 kernel (3.10.0-NNN.el7)
	rhelBuild    int  // NNN of 3.10.0-NNN.el7
	known        bool
}

// rhel79Build is the build of RHEL 7.9's kernel (3.10.0-1160), which
// carries the 4.12 neighbour fixes and the 4.11 confirmation series as
// backports (kernel-behaviour.md §2.6).
const rhel79Build = 1160

// parseKernelRelease reads "3.10.0-514.22.1.el7.x86_64", "4.19.0-21-amd64",
// "6.1.0-18-cloud-amd64", "5.15.0".
func parseKernelRelease(s string) kernelVersion {
	v := kernelVersion{release: s}
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

func (v kernelVersion) atLeast(maj, min int) bool {
	return v.major > maj || v.major == maj && v.minor >= min
}

// garp classifies the release's gratuitous ARP handling.
func (v kernelVersion) garp() garpClass {
	switch {
	case !v.known:
		return garpUnknown
	case v.rhel7 && v.rhelBuild >= rhel79Build:
		return garpHonoured
	case v.rhel7, !v.atLeast(3, 14):
		return garpNever
	case !v.atLeast(4, 12):
		return garpRequests
	}
	return garpHonoured
}

// clonesOnLookup reports whether IPv6 lookups may clone routes into the
// cache (before 4.2, kernel-behaviour.md §1.1); true when unknown.
func (v kernelVersion) clonesOnLookup() bool {
	return !v.known || !v.atLeast(4, 2)
}

func (v kernelVersion) name() string {
	if v.release == "" {
		return "this kernel"
	}
	return "Linux " + v.release
}

// Package profile names the kernels raceroute models as sets of
// behaviour switches, composed of facts: each switch value with the commit
// that introduced it, the mainline release that first has it, the stable
// point releases that carry a backport, and where it was read
// (facts.yaml). A profile is a kernel identity plus its settings; the
// models branch on settings, never on version names. Adding a kernel is
// adding data to facts.yaml.
package profile

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"raceroute/kernel"
)

// Profile is one kernel as a set of behaviour switches.
type Profile struct {
	Name        string // e.g. "linux-4.14.336", "rhel-7.9"
	Description string
	// Release is the release string the profile stands for.
	Release string
	// Settings has every switch's setting, in the order of Switches(),
	// with its evidence; a switch whose value could not be pinned is
	// unknown and its field below is zero: Resolve makes runnable
	// profiles of each candidate.
	Settings []Setting
	// Notes say how the profile was chosen for a release, and what could
	// not be confirmed.
	Notes []string
	// Assumed lists, for a profile made by Resolve, the values it assumes
	// for switches that are unknown ("garp=always").
	Assumed []string
	// named is set on the kernels of the library matrix (All), whose
	// names Lookup knows.
	named bool

	IPv6Cache                IPv6Cache
	ExceptionGuard           ExceptionGuard
	FlushExceptionsOnReplace bool
	ExceptionsInDump         ExceptionsInDump
	IPv6Replace              IPv6Replace
	// UnreachableErr is dst.error of an RTN_UNREACHABLE route:
	// -ENETUNREACH (-101) in 3.x, -EHOSTUNREACH (-113) from 4.4.
	UnreachableErr kernel.Errno
	Updated        UpdatedTimestamps
	SameLLStale    SameLLStale
	GARP           GARPRecognition
	Confirmation   Confirmation
	// ArpAcceptSubnet: 6.1 arp_accept = 2 creates an entry only when the
	// sender IP is in a subnet of the interface.
	ArpAcceptSubnet bool
	// McastReprobes: neigh_max_probes() counts mcast_resolicit in PROBE.
	McastReprobes bool
	// TimerMinRearm is the shortest neigh_timer_handler() re-arm in ms.
	TimerMinRearm int32
	// TimerRaisesUsed: neigh_add_timer() raises used to confirmed.
	TimerRaisesUsed bool
	// DelSiblings: an IPv6 delete without a gateway removes every ECMP
	// sibling of the route it matches (ip6_route_del(), 4.11).
	DelSiblings bool
	// DropUnsolicitedNA: the kernel has conf/IFACE/drop_unsolicited_na
	// (ndisc_recv_na() drops an NA with S clear when it is set; 4.6).
	DropUnsolicitedNA bool
	// AcceptUntrackedNA is which values of conf/IFACE/accept_untracked_na
	// the kernel has (ndisc_recv_na() creating a STALE entry on a
	// forwarding interface, RFC 9131; 5.19, value 2 from 6.0).
	AcceptUntrackedNA AcceptUntrackedNA
	// NexthopObjects: the kernel has nexthop objects (RTM_NEWNEXTHOP,
	// net/ipv4/nexthop.c) and IPv6 routes that use one (RTA_NH_ID), 5.3.
	NexthopObjects bool
	// NeighDelRemoves: neigh_delete() unlinks the entry
	// (neigh_remove_one(), 4.14) instead of leaving it FAILED.
	NeighDelRemoves bool
	// NeighExtLearned: neighbour entries take NTF_EXT_LEARNED, which
	// exempts them from garbage collection (4.19; RHEL 8).
	NeighExtLearned bool
	// NeighGC is what forced GC counts and removes (neigh_forced_gc()).
	NeighGC NeighGC
	// NeighUseUpdate: NTF_USE runs __neigh_update() with
	// NEIGH_UPDATE_F_USE (PERMANENT dropped, admin flags applied) before
	// neigh_event_send() (5.16; 5.4.y, 5.10.y, 5.15.y backports).
	NeighUseUpdate bool
	// NeighManaged: neighbour entries take NTF_MANAGED (`ip neigh ...
	// managed`), which neigh_managed_work() keeps resolved without
	// traffic (5.16, commit 7482e3841d52).
	NeighManaged bool
}

// ID names p so that Lookup finds it again: the profile's name for a
// kernel of the library matrix, else its release string; with the values
// Resolve assumed in brackets ("rhel-7.4[garp=always]").
func (p Profile) ID() string {
	id := p.Release
	if p.named || id == "" {
		id, _, _ = strings.Cut(p.Name, "[")
	}
	if len(p.Assumed) > 0 {
		id += "[" + strings.Join(p.Assumed, ",") + "]"
	}
	return id
}

// assume sets the unknown switch name to value, as Resolve does.
func (p Profile) assume(name, value string) (Profile, error) {
	d, i, err := switchByName(name)
	if err != nil {
		return p, err
	}
	k, err := d.index(value)
	if err != nil {
		return p, err
	}
	if p.Settings[i].Known() {
		return p, fmt.Errorf("profile %s: %s is known (%s), nothing to assume", p.Name, name, p.Settings[i].Value)
	}
	if !slices.Contains(p.Settings[i].Unknown, value) {
		return p, fmt.Errorf("profile %s: %s=%s is not one of its candidates (%s)", p.Name, name, value, strings.Join(p.Settings[i].Unknown, ", "))
	}
	q := p
	q.Settings = slices.Clone(p.Settings)
	q.Settings[i] = Setting{Value: value, Source: "assumed, one of the candidates: " + p.Settings[i].Source}
	d.set(&q, k)
	q.Assumed = append(slices.Clone(p.Assumed), name+"="+value)
	base, _, _ := strings.Cut(p.Name, "[")
	q.Name = base + "[" + strings.Join(q.Assumed, ",") + "]"
	return q, nil
}

// ClonesOnLookup reports whether a route lookup inserts /128 clones.
func (p Profile) ClonesOnLookup() bool { return p.IPv6Cache == CloneOnLookup }

// Setting returns the setting of the switch called name.
func (p Profile) Setting(name string) (Setting, bool) {
	_, i, err := switchByName(name)
	if err != nil || i >= len(p.Settings) {
		return Setting{}, false
	}
	return p.Settings[i], true
}

// Unknown names the switches whose value is not known.
func (p Profile) Unknown() []string {
	var out []string
	for i, s := range p.Settings {
		if !s.Known() {
			out = append(out, switchDefs[i].name)
		}
	}
	return out
}

// Resolve returns runnable profiles: p itself when every switch in only
// (nil: all) is known, else one profile per combination of the unknown
// ones' candidates, named "p[switch=value,...]". Switches outside only
// that are unknown keep a zero field: a model that reads them must list
// them in only.
func (p Profile) Resolve(only []string) []Profile {
	var idx []int
	for i, s := range p.Settings {
		if !s.Known() && (only == nil || slices.Contains(only, switchDefs[i].name)) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return []Profile{p}
	}
	out := []Profile{p}
	for _, i := range idx {
		var next []Profile
		for _, q := range out {
			for _, v := range p.Settings[i].Unknown {
				r, err := q.assume(switchDefs[i].name, v)
				if err != nil {
					panic(err) // a candidate of an unknown setting: cannot fail
				}
				next = append(next, r)
			}
		}
		out = next
	}
	return out
}

// Is reports whether p's switch called name has value (both as in
// facts.yaml): "ipv6-cache=clone-on-lookup".
func (p Profile) Is(name, value string) (bool, error) {
	d, i, err := switchByName(name)
	if err != nil {
		return false, err
	}
	k, err := d.index(value)
	if err != nil {
		return false, err
	}
	if i < len(p.Settings) && !p.Settings[i].Known() {
		return false, fmt.Errorf("profile %s: %s is unknown", p.Name, name)
	}
	return d.get(&p) == k, nil
}

// All returns the kernels of the library matrix, oldest first, each
// resolved from its release string like any user's.
func All() []Profile {
	ps, err := all()
	if err != nil {
		panic(err) // facts.yaml is embedded and tested: this is a build defect
	}
	return ps
}

// allOnce computes the kernels of facts.yaml once; All hands out copies.
var allOnce = sync.OnceValues(computeAll)

func all() ([]Profile, error) {
	ps, err := allOnce()
	if err != nil {
		return nil, err
	}
	out := make([]Profile, len(ps))
	for i, p := range ps {
		p.Settings = append([]Setting(nil), p.Settings...)
		p.Notes = append([]string(nil), p.Notes...)
		out[i] = p
	}
	return out, nil
}

func computeAll() ([]Profile, error) {
	f, err := LoadFacts()
	if err != nil {
		return nil, err
	}
	out := make([]Profile, 0, len(f.Kernels))
	for _, k := range f.Kernels {
		p, err := Match(k.Release)
		if err != nil {
			return nil, fmt.Errorf("profile/facts.yaml: kernel %s: %w", k.Name, err)
		}
		p.Name, p.Description, p.named = k.Name, k.Description, true
		out = append(out, p)
	}
	return out, nil
}

// Names returns the profile names of All, oldest kernel first.
func Names() []string {
	ps := All()
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return names
}

// renamed are the profile names of earlier versions, for a clear error.
var renamed = map[string]string{
	"linux-3.10-rhel7.3": "rhel-7.3 (whose IPv6 cache was found to be 4.2's: no clones on lookup) or linux-3.10",
	"linux-6.x":          "linux-6.1, linux-6.6 or linux-6.12",
}

// Lookup returns the profile called name, or the profile of a kernel
// release string ("5.15.0-100-generic"); a suffix "[switch=value,...]"
// assumes values for unknown settings, as Resolve names them (Profile.ID).
func Lookup(name string) (Profile, error) {
	if base, rest, ok := strings.Cut(name, "["); ok && strings.HasSuffix(rest, "]") {
		p, err := Lookup(base)
		if err != nil {
			return p, err
		}
		for _, a := range strings.Split(strings.TrimSuffix(rest, "]"), ",") {
			sw, v, _ := strings.Cut(a, "=")
			if p, err = p.assume(sw, v); err != nil {
				return p, err
			}
		}
		return p, nil
	}
	ps := All()
	for _, p := range ps {
		if p.Name == name {
			return p, nil
		}
	}
	if to, ok := renamed[name]; ok {
		return Profile{}, fmt.Errorf("kernel profile %q was renamed: use %s", name, to)
	}
	if r, err := ParseRelease(name); err == nil {
		return MatchRelease(r)
	}
	known := Names()
	sort.Strings(known)
	return Profile{}, fmt.Errorf("unknown kernel profile %q: want a profile (%s) or a kernel release as uname -r prints it", name, strings.Join(known, ", "))
}

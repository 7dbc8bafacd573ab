package watch

import (
	"raceroute/watch/finding"
	"raceroute/watch/neigh"
	"raceroute/watch/nldrops"
	"raceroute/watch/overflow"
	"raceroute/watch/routechange"
	"raceroute/watch/view"
	"raceroute/watch/watched"
)

// newDetectors returns the detectors an engine runs over v, in the order
// their findings of one record come out; the overflow detector is among
// them, and is also returned alone, for it cautions what the others find
// while the view is stale. A new detector is one entry here.
func newDetectors(cfg Config, v *view.View) ([]Detector, *overflow.Detector) {
	k := watched.KernelOf(cfg.KernelRelease)
	ds := []Detector{
		routechange.New(v, routechange.Config{Window: cfg.NonAtomicWindow, Kernel: k}),
		neigh.New(v, neigh.Config{Locktime: cfg.Locktime, GARPMargin: cfg.GARPMargin, FrameWindow: cfg.FrameWindow, Kernel: k}),
		neigh.NewStates(neigh.StatesConfig{Timers: cfg.NeighTimers, Live: cfg.Live}),
	}
	lost := map[string]string{}
	for _, d := range ds {
		for _, kind := range d.Kinds() {
			lost[kind.Name] = kind.LostMeans
		}
	}
	stale := overflow.New(func(detector string) string { return lost[detector] })
	return append(ds, stale), stale
}

// Finding is one failure (or risk) a detector saw.
type Finding = finding.Finding

// Severity grades a finding.
type Severity = finding.Severity

// Severities, from the least to the most urgent.
const (
	SeverityInfo     = finding.SeverityInfo     // worth knowing, nothing is broken
	SeverityWarning  = finding.SeverityWarning  // a risk, or a loss the watcher recovered from
	SeverityCritical = finding.SeverityCritical // traffic is going wrong now
)

// Detector names: the Finding.Detector of each kind of finding.
const (
	DetectorNonAtomic    = routechange.NonAtomic
	DetectorKernelChurn  = routechange.KernelChurn
	DetectorCache        = routechange.Cache
	DetectorCacheAsRoute = routechange.CacheAsRoute
	DetectorGARPIgnored  = neigh.GARPIgnored
	DetectorMACChange    = neigh.MACChange
	DetectorNeighStuck   = neigh.StuckTransient
	DetectorNeighEvicted = neigh.EvictedInUse
	DetectorOverflow     = overflow.Name
	// DetectorNetlinkDrops is reported by the live watch alone, from
	// /proc/net/netlink (package nldrops): a recording has no such data.
	DetectorNetlinkDrops = nldrops.Name
)

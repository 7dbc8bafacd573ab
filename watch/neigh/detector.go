// Package neigh names the neighbour-table failures of seed 002 from the
// records the watch engine applies to its view and the ARP/NA frames it
// is given:
//
//   - garp-ignored: a gratuitous ARP or unsolicited NA announced a MAC
//     that the existing neighbour entry for that address still has not
//     taken Config.Locktime + Config.GARPMargin later, with the likely
//     reason for Config.Kernel (garp.go).
//   - neigh-mac-change-unannounced: a neighbour entry changed its MAC on a
//     device where frames are being captured, but no ARP or NA frame from
//     that address carrying the new MAC was seen around the change
//     (macchange.go).
package neigh

import (
	"slices"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/view"
	"raceroute/watch/watched"
)

// The names of the findings of this package (Finding.Detector).
const (
	GARPIgnored = "garp-ignored"
	MACChange   = "neigh-mac-change-unannounced"
)

// Config tunes the detectors.
type Config struct {
	// Locktime is the watched host's neighbour locktime
	// (net.ipv4.neigh.DEV.locktime).
	Locktime time.Duration
	// GARPMargin is waited beyond Locktime before concluding that a
	// gratuitous ARP was ignored; it is also the grace for a frame to
	// show up after the neighbour change it caused.
	GARPMargin time.Duration
	// FrameWindow is how long before a neighbour's MAC change an ARP or
	// NA frame announcing the new MAC may have been seen for the change
	// to count as announced.
	FrameWindow time.Duration
	// Kernel is the watched host's kernel, for the likely reason of an
	// ignored gratuitous ARP.
	Kernel watched.Kernel
}

// Detector runs the neighbour detectors over the records of one view.
// It is not safe for concurrent use.
type Detector struct {
	cfg  Config
	view *view.View

	frameDevs    map[string]int                // frames seen, by device
	frames       map[view.NeighKey][]frameSeen // recent frames, by device and sender
	garps        map[garpKey]*garpPending
	garpReported map[view.NeighKey]string // MAC already reported as ignored
	macChecks    []*macCheck
	next         time.Time // earliest deadline of garps and macChecks
}

// New returns the neighbour detectors over v.
func New(v *view.View, cfg Config) *Detector {
	return &Detector{
		cfg:          cfg,
		view:         v,
		frameDevs:    map[string]int{},
		frames:       map[view.NeighKey][]frameSeen{},
		garps:        map[garpKey]*garpPending{},
		garpReported: map[view.NeighKey]string{},
	}
}

// Kinds lists the findings the detectors report.
func (nd *Detector) Kinds() []finding.Kind {
	return []finding.Kind{
		{Name: GARPIgnored, LostMeans: "the neighbour update that took the new MAC may be among the lost events: the gratuitous ARP may have been honoured"},
		{Name: MACChange, LostMeans: "the neighbour events around the change may be among the lost ones"},
	}
}

// Observe looks at a record the view has just applied (ch: what else
// it did) and appends its findings to out.
func (nd *Detector) Observe(r *trace.Record, ch *view.Change, out []finding.Finding) []finding.Finding {
	switch r.Kind {
	case trace.KindNeigh:
		return nd.observeNeigh(r, ch, out)
	case trace.KindFrame:
		nd.observeFrame(r)
	case trace.KindLink:
		if ch.Gone {
			// The view dropped the link's entries: forget their reports.
			for k := range nd.garpReported {
				if _, ok := nd.view.Neigh(k); !ok {
					delete(nd.garpReported, k)
				}
			}
		}
	}
	return out
}

// Expire concludes the checks due before now.
func (nd *Detector) Expire(now time.Time, out []finding.Finding) []finding.Finding {
	if nd.next.IsZero() || !now.After(nd.next) {
		return out
	}
	out = nd.expireGARPs(now, out)
	out = nd.expireMACChecks(now, out)
	nd.next = time.Time{}
	for _, p := range nd.garps {
		nd.noteDeadline(p.deadline)
	}
	for _, c := range nd.macChecks {
		nd.noteDeadline(c.deadline)
	}
	return out
}

// noteDeadline keeps nd.next the earliest pending deadline.
func (nd *Detector) noteDeadline(t time.Time) {
	if nd.next.IsZero() || t.Before(nd.next) {
		nd.next = t
	}
}

// observeNeigh looks at a neighbour record: a new MAC honours the
// gratuitous ARPs that announced it, and a changed one must have been
// announced.
func (nd *Detector) observeNeigh(r *trace.Record, ch *view.Change, out []finding.Finding) []finding.Finding {
	n := r.Neigh
	k := view.NeighKeyOf(n)
	if r.Action == trace.ActionDel {
		delete(nd.garpReported, k)
		return out
	}
	old := ch.PrevNeigh
	had := old != nil
	changed := had && old.Neigh.LLAddr.IsValid() && n.LLAddr.IsValid() && old.Neigh.LLAddr != n.LLAddr
	if changed || !had || !old.Neigh.LLAddr.IsValid() {
		delete(nd.garpReported, k)
	}
	if n.LLAddr.IsValid() {
		// A gratuitous ARP for this MAC has been honoured.
		delete(nd.garps, garpKey{k, n.LLAddr.String()})
	}
	if changed && view.IsChange(r) {
		out = nd.macChanged(k, old.Neigh, n, r.Time, out)
	}
	return out
}

// frameSeen is a recent ARP/NDP frame from an address.
type frameSeen struct {
	t   time.Time
	mac kernel.MAC
	op  trace.FrameOp
}

// maxFramesPerSender bounds the recent frames kept per (device, address).
const maxFramesPerSender = 8

// frameDev names the device a frame was seen on.
func frameDev(f trace.Frame) string { return view.Dev(f.Dev, f.Ifindex) }

// observeFrame records an ARP/NDP frame, resolves MAC changes it
// explains and starts a check for a gratuitous one.
func (nd *Detector) observeFrame(r *trace.Record) {
	f := r.Frame
	dev := frameDev(f)
	nd.frameDevs[dev]++
	if !f.SenderIP.IsValid() || !f.SenderHW.IsValid() {
		return
	}
	k := view.NeighKey{Dev: dev, Addr: f.SenderIP}
	fs := append(nd.frames[k], frameSeen{t: r.Time, mac: f.SenderHW, op: f.Op})
	if len(fs) > maxFramesPerSender {
		fs = fs[len(fs)-maxFramesPerSender:]
	}
	nd.frames[k] = fs
	// A frame that announces the new MAC of a pending change explains it.
	nd.macChecks = slices.DeleteFunc(nd.macChecks, func(c *macCheck) bool {
		return c.key == k && c.new.LLAddr == f.SenderHW
	})
	if f.Gratuitous() && !r.Time.IsZero() {
		nd.noteGARP(r, dev)
	}
}

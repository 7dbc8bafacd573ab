package neigh

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"raceroute/kernel"
	"raceroute/profile"
	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/view"
)

// garpKey identifies a pending gratuitous-ARP check: the neighbour entry
// and the MAC announced for it.
type garpKey struct {
	view.NeighKey
	mac string
}

// garpPending is a gratuitous ARP (or unsolicited NA) waiting to be
// taken by its neighbour entry.
type garpPending struct {
	key         garpKey
	first, last time.Time
	deadline    time.Time
	frameDev    string    // where the frames were seen
	changed     time.Time // the entry's last announced change before the first frame
	requests    int
	replies     int
	nas         int
	override    bool // an NA carried the Override flag
}

func (p *garpPending) count() int { return p.requests + p.replies + p.nas }

// noteGARP starts or extends the check of a gratuitous ARP / unsolicited
// NA against the neighbour entry of its address. Only an existing entry
// is checked: a kernel creates none from a gratuitous ARP unless
// arp_accept allows it.
func (nd *Detector) noteGARP(r *trace.Record, dev string) {
	f := r.Frame
	k := view.NeighKey{Dev: dev, Addr: f.SenderIP}
	entry, ok := nd.view.Neigh(k)
	if !ok {
		// The entry may sit on another device (a bridge above the port
		// the frame was captured on): check that one.
		keys := nd.view.NeighsOf(f.SenderIP)
		if len(keys) == 0 {
			return
		}
		k = keys[0]
		entry, _ = nd.view.Neigh(k)
	}
	if entry.Neigh.LLAddr == f.SenderHW {
		return
	}
	mac := f.SenderHW.String()
	if nd.garpReported[k] == mac {
		return
	}
	gk := garpKey{k, mac}
	p, ok := nd.garps[gk]
	if !ok {
		p = &garpPending{key: gk, first: r.Time, frameDev: dev, changed: entry.Changed,
			deadline: r.Time.Add(nd.cfg.Locktime + nd.cfg.GARPMargin)}
		nd.garps[gk] = p
		nd.noteDeadline(p.deadline)
	}
	p.last = r.Time
	switch f.Op {
	case trace.FrameARPRequest:
		p.requests++
	case trace.FrameARPReply:
		p.replies++
	case trace.FrameNA:
		p.nas++
		p.override = p.override || f.Override
	}
}

// expireGARPs concludes the gratuitous-ARP checks due before now.
func (nd *Detector) expireGARPs(now time.Time, out []finding.Finding) []finding.Finding {
	var due []*garpPending
	for gk, p := range nd.garps {
		if now.After(p.deadline) {
			due = append(due, p)
			delete(nd.garps, gk)
		}
	}
	slices.SortFunc(due, func(a, b *garpPending) int {
		if c := a.deadline.Compare(b.deadline); c != 0 {
			return c
		}
		if c := cmp.Compare(a.key.Dev, b.key.Dev); c != 0 {
			return c
		}
		return a.key.Addr.Compare(b.key.Addr)
	})
	for _, p := range due {
		entry, ok := nd.view.Neigh(p.key.NeighKey)
		if !ok || !entry.Neigh.LLAddr.IsValid() || entry.Neigh.LLAddr.String() == p.key.mac {
			continue // gone or re-resolved: nothing to say
		}
		nd.garpReported[p.key.NeighKey] = p.key.mac
		out = append(out, nd.garpFinding(p, entry))
	}
	return out
}

// garpFinding explains an ignored gratuitous ARP.
func (nd *Detector) garpFinding(p *garpPending, entry *view.NeighEntry) finding.Finding {
	n := entry.Neigh
	what := nd.garpWhat(p)
	ev := fmt.Sprintf("%s for %s announced %s on %s from %s", what, n.Addr, p.key.mac, p.frameDev, finding.FmtTime(p.first))
	if p.count() > 1 {
		ev += fmt.Sprintf(" to %s", finding.FmtTime(p.last))
	}
	ev += fmt.Sprintf("; %s after the first (locktime %s + margin %s) the entry still has %s (%s)",
		finding.FmtGap(p.deadline.Sub(p.first)), finding.FmtGap(nd.cfg.Locktime), finding.FmtGap(nd.cfg.GARPMargin), n.LLAddr, n.State.String())
	if !entry.Since.IsZero() {
		ev += fmt.Sprintf(", its MAC since %s", finding.FmtTime(entry.Since))
	}
	ev += ": traffic to " + n.Addr.String() + " still goes to the old MAC"
	if !p.changed.IsZero() {
		d := p.first.Sub(p.changed)
		within := "more than locktime after it"
		if d <= nd.cfg.Locktime {
			within = "within locktime"
		}
		ev += fmt.Sprintf("; the first frame arrived %s after the entry's last announced change (%s)", finding.FmtGap(d), within)
	}
	reason, advice := nd.garpReason(p, n)
	ev += ". Likely reason: " + reason
	return finding.Finding{
		Detector: GARPIgnored,
		Severity: finding.SeverityCritical,
		Time:     p.deadline,
		Objects:  []string{n.String(), fmt.Sprintf("%s %s lladdr %s dev %s", what, n.Addr, p.key.mac, p.frameDev)},
		Evidence: ev,
		Advice:   advice,
	}
}

func (nd *Detector) garpWhat(p *garpPending) string {
	var parts []string
	plural := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	if p.requests > 0 {
		parts = append(parts, plural(p.requests, "gratuitous ARP request", "gratuitous ARP requests"))
	}
	if p.replies > 0 {
		parts = append(parts, plural(p.replies, "gratuitous ARP reply", "gratuitous ARP replies"))
	}
	if p.nas > 0 {
		parts = append(parts, plural(p.nas, "unsolicited NA", "unsolicited NAs"))
	}
	return strings.Join(parts, " and ")
}

// garpReason gives the likely reason an announcement was ignored on the
// watched kernel (neigh_update() and arp_process(), docs/kernel-notes-neigh.md; arp_process() in
// net/ipv4/arp.c, ndisc_recv_na() in net/ipv6/ndisc.c).
func (nd *Detector) garpReason(p *garpPending, n trace.Neigh) (reason, advice string) {
	heal := fmt.Sprintf("On this host, `ip neigh del %s dev %s` makes the next packet resolve the address again.", n.Addr, n.Dev)
	var extra []string
	if p.frameDev != p.key.Dev {
		extra = append(extra, fmt.Sprintf("the frames were seen on %s but the entry is on %s (device mismatch: the kernel updates only the entry of the device the frame arrived on)", p.frameDev, p.key.Dev))
	}
	if n.State&(kernel.NUDPermanent|kernel.NUDNoARP) != 0 {
		return fmt.Sprintf("the entry is %s: entries set by an administrator (or NOARP devices) are never changed by ARP or NA", n.State.String()),
			fmt.Sprintf("Replace the entry (`ip neigh replace %s lladdr %s dev %s`) or have whoever installed it update it.", n.Addr, p.key.mac, n.Dev)
	}
	if p.nas > 0 && p.requests+p.replies == 0 {
		if !p.override {
			return "the NAs had no Override flag: an NA without it only marks a differing entry STALE and keeps the old MAC (RFC 4861 §7.2.5, ndisc_recv_na())",
				"Send unsolicited NAs with the Override flag (as `raceroute announce` does). " + heal
		}
		r := "an unsolicited NA with the Override flag should replace the MAC at once; look for net.ipv6.conf.DEV.drop_unsolicited_na=1"
		if len(extra) > 0 {
			r += "; " + strings.Join(extra, "; ")
		}
		return r, heal
	}
	k := nd.cfg.Kernel
	name := k.Name()
	locktime := finding.FmtGap(nd.cfg.Locktime)
	window := fmt.Sprintf("an ordinary ARP may change the MAC only when it arrives more than locktime (%s) after the entry's last update, "+
		"and on kernels before 4.12 every ignored ARP and every STALE->DELAY->REACHABLE transition moves that last update forward "+
		"(neigh_update() sets `updated` before its override check; shared-route confirmations before 4.11 keep such entries cycling), so an entry in use can refuse every one", locktime)
	cands := k.GARPCandidates()
	if len(cands) == 0 {
		reason = "the watched kernel is unknown (give --kernel-release): before 3.14 (and RHEL 7 before 7.9) gratuitous ARPs are not recognised and " + window +
			"; from 3.14 to 4.11 only gratuitous requests with arp_accept=1 override; from 4.12 every gratuitous ARP overrides an existing entry"
		advice = "Find the receiving kernel's version (`uname -r`) and check net.ipv4.conf." + n.Dev + ".arp_accept and drop_gratuitous_arp. " + heal
	}
	var reasons, advices []string
	for _, g := range cands {
		r, a := garpReasonFor(g, name, n, p, window, heal)
		reasons, advices = append(reasons, r), append(advices, a)
	}
	switch len(cands) {
	case 0:
	case 1:
		reason, advice = reasons[0], advices[0]
	default:
		// The kernel's profile could not pin its gratuitous-ARP handling
		// (a backport not read): say each possibility.
		reason = fmt.Sprintf("%s may handle gratuitous ARP in %d ways (its profile cannot tell which backports it carries): either %s", name, len(cands), strings.Join(reasons, "; or "))
		advice = strings.Join(advices, " Or: ")
	}
	if len(extra) > 0 {
		reason += "; also, " + strings.Join(extra, "; ")
	}
	return reason, advice
}

// garpReasonFor is the reason and advice for a kernel that recognises
// gratuitous ARP as g.
func garpReasonFor(g profile.GARPRecognition, name string, n trace.Neigh, p *garpPending, window, heal string) (reason, advice string) {
	switch g {
	case profile.GARPNever:
		reason = fmt.Sprintf("%s does not recognise gratuitous ARP at all (recognition arrived in 3.14; RHEL 7 before 7.9 lacks it): each one was handled as an ordinary ARP, and %s", name, window)
		advice = "Upgrade to Linux 4.12 or later (or RHEL 7.9), where gratuitous ARPs always override an existing entry. Senders can spread announcements over more than locktime and keep sending for several seconds. " + heal
	case profile.GARPRequestOrReplyWithAccept:
		reason = fmt.Sprintf("%s lets a gratuitous ARP (request, or reply with the sender's MAC as target) override the entry only when net.ipv4.conf.%s.arp_accept=1 (the 4.4.y and 4.9.y stable lines took the 4.12 reply fix but not its always-override); otherwise it is an ordinary ARP, and %s", name, n.Dev, window)
		advice = fmt.Sprintf("Set `sysctl -w net.ipv4.conf.%s.arp_accept=1` on this host, or upgrade to Linux 4.12 or later. %s", n.Dev, heal)
	case profile.GARPRequestWithAccept:
		if p.replies > 0 && p.requests == 0 {
			reason = fmt.Sprintf("%s recognises only gratuitous ARP requests, and only with arp_accept=1; gratuitous replies (arping -A) are handled as ordinary ARPs until 4.12, and %s", name, window)
		} else {
			reason = fmt.Sprintf("%s lets a gratuitous request override the entry only when net.ipv4.conf.%s.arp_accept=1 (3.14 to 4.11); otherwise it is an ordinary ARP, and %s", name, n.Dev, window)
		}
		advice = fmt.Sprintf("Set `sysctl -w net.ipv4.conf.%s.arp_accept=1` on this host and have senders use gratuitous requests (arping -U), or upgrade to Linux 4.12 or later. %s", n.Dev, heal)
	case profile.GARPAlways:
		reason = fmt.Sprintf("%s should have honoured it (since 4.12 a gratuitous ARP overrides an existing entry whatever arp_accept and locktime): check net.ipv4.conf.%s.drop_gratuitous_arp, arp_accept, and whether a bridge or bond delivered the frames to another device", name, n.Dev)
		advice = "Check the sysctls named above and where the frames arrive (`ip neigh show " + n.Addr.String() + "`, `tcpdump -ni " + n.Dev + " arp`). " + heal
	}
	return reason, advice
}

// Package segment plays a neigh scenario live on one Ethernet segment:
// it checks that the lab can host the scenario (Prepare), builds its
// hosts as network namespaces around a bridge, plays its moves, ARP
// senders and flows in real time (actors.go), records what the kernels
// did and judges the scenario's properties on it. Package lab calls it.
package segment

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"sync"
	"time"

	"raceroute/explore"
	"raceroute/kernel"
	"raceroute/lab/liverun"
	"raceroute/lab/segment/keepalived"
	"raceroute/live/netns"
	"raceroute/live/nl"
	"raceroute/model/neigh"
	"raceroute/trace"
)

// A neigh scenario live: every host a namespace, every interface a veth
// whose other end is a port of one bridge in the segment's namespace;
// addresses, initial neighbour entries and per-interface sysctls set by
// netlink and /proc/sys; moves as address deletions and additions; ARP
// senders as iputils arping (the arping presets), keepalived itself (the
// keepalived preset: peers.go, lab/segment/keepalived) or frames over
// AF_PACKET (every other sender); flows as real TCP connections to an
// echo server, or ICMP echo requests, from the hosts' sockets.

// Plan is a neigh scenario prepared for the lab.
type Plan struct {
	cfg     *neigh.Config
	horizon time.Duration
	props   []string
	host    liverun.Host
	tags    []string // namespace tag of each host
	// settle is how long before t=0 the oldest initial entry is created.
	settle time.Duration
	// arping[i] runs sender i as iputils arping; keepalived[i] as
	// keepalived (peers.go).
	arping, keepalived []bool
	// synDiffers[i]: flow i is tcp and the kernel would retransmit an
	// unanswered SYN on another schedule than the flow's.
	synDiffers []bool
	// absent are the sysctl files (neighSysctl.file) this kernel lacks,
	// at their default in the scenario: not written.
	absent map[string]bool
	notes  []string
}

// labPort is the port of the echo servers TCP flows connect to.
const labPort = 7

// settleMargin is how much older than locktime an initial entry aged at
// least that much is made: time_after(now, updated + locktime) is then
// true for every ARP of the timeline, as for the model's older entry.
const settleMargin = 250 * time.Millisecond

// buildAllowance is what building the hosts adds to a run's duration.
const buildAllowance = 2 * time.Second

// Duration is how long a run takes: the initial entries' ageing, the
// horizon in real time, and building the hosts.
func (r *Plan) Duration() time.Duration { return r.settle + r.horizon + buildAllowance }

// Notes say where the live run departs from the model's reading of the
// scenario.
func (r *Plan) Notes() []string { return r.notes }

// neighSysctl is a neigh.Sysctl field as the kernel's file takes it:
// the file under ipv4/neigh/IFACE (or ipv4/conf/IFACE), its unit in
// milliseconds (the value must be a whole number of them), and the
// model's value.
type neighSysctl struct {
	file string
	unit int32
	v    int32
}

// Every setting is written, defaults included: a new device's
// neigh_parms are a copy of the global table's (neigh_parms_alloc(),
// kmemdup(&tbl->parms)), which the host's net.ipv4.neigh.default.* may
// have changed.
func sysctlsOf(s neigh.Sysctl) []neighSysctl {
	return []neighSysctl{
		// neigh_sysctl_template (net/core/neighbour.c, 6.12): locktime is
		// NEIGH_SYSCTL_USERHZ_JIFFIES_ENTRY (USER_HZ = 100: 10 ms),
		// delay_first_probe_time NEIGH_SYSCTL_JIFFIES_ENTRY (seconds),
		// base_reachable_time_ms and retrans_time_ms in milliseconds.
		{"neigh/%s/locktime", 10, s.Locktime},
		{"neigh/%s/base_reachable_time_ms", 1, s.BaseReachable},
		{"neigh/%s/delay_first_probe_time", 1000, s.DelayFirstProbe},
		{"neigh/%s/retrans_time_ms", 1, s.Retrans},
		{"neigh/%s/ucast_solicit", 0, int32(s.UcastSolicit)},
		{"neigh/%s/mcast_solicit", 0, int32(s.McastSolicit)},
		{"neigh/%s/app_solicit", 0, int32(s.AppSolicit)},
		{"neigh/%s/mcast_resolicit", 0, int32(s.McastReprobes)},
		{"conf/%s/arp_accept", 0, int32(s.ArpAccept)},
		// gc_stale_time: NEIGH_SYSCTL_JIFFIES_ENTRY (seconds).
		{"neigh/%s/gc_stale_time", 1000, s.GcStale},
	}
}

// value is the sysctl's value in the file's unit.
func (s neighSysctl) value() string {
	if s.unit == 0 {
		return fmt.Sprint(s.v)
	}
	return fmt.Sprint(s.v / s.unit)
}

// hostTag turns a host name into a namespace tag: letters, digits and
// dashes, made unique among used.
func hostTag(name string, used map[string]bool) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	t := b.String()
	if len(t) > 32 {
		t = t[:32]
	}
	if t == "" || t == "seg" {
		t = "host"
	}
	base := t
	for i := 2; used[t]; i++ {
		t = fmt.Sprintf("%s-%d", base, i)
	}
	used[t] = true
	return t
}

// kernelSynGaps are the gaps between a real connect()'s SYNs while
// unanswered, up to horizon: TCP_TIMEOUT_INIT (1 s) doubling, capped at
// TCP_RTO_MAX (120 s), for tcp_syn_retries (6) retransmissions
// (tcp_connect(), tcp_retransmit_timer(), include/net/tcp.h).
func kernelSynGaps(horizon time.Duration) []time.Duration {
	var out []time.Duration
	g, t := time.Second, time.Duration(0)
	for i := 0; i < 6 && t+g <= horizon; i++ {
		out = append(out, g)
		t += g
		g = min(2*g, 120*time.Second)
	}
	return out
}

// modelSynGaps are the model's gaps between unanswered transmissions of
// flow f, up to horizon (neigh.Flow's interval(k)).
func modelSynGaps(f neigh.Flow, horizon time.Duration) []time.Duration {
	var out []time.Duration
	iv, t := time.Duration(f.Every)*time.Millisecond, time.Duration(0)
	for k := 0; t+iv <= horizon && k < 64; k++ {
		out = append(out, iv)
		t += iv
		if f.Backoff > 1 {
			iv *= time.Duration(f.Backoff)
			if f.MaxEvery > 0 && iv >= time.Duration(f.MaxEvery)*time.Millisecond {
				iv = time.Duration(f.MaxEvery) * time.Millisecond
			}
		}
	}
	return out
}

func sameGaps(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// arpingPreset reports whether a preset is iputils arping run as the
// agents run it: count gratuitous replies (-A) or requests (-U) 1 s
// apart.
func arpingPreset(p string) bool { return p == "arping-A" || p == "arping-U" || p == "neutron-2017" }

// Prepare checks that the lab can host cfg on h, and says how: a Plan,
// or the reasons it cannot.
func Prepare(cfg *neigh.Config, horizon time.Duration, h liverun.Host, props []string) (*Plan, []string) {
	var why []string
	r := &Plan{cfg: cfg, horizon: horizon, host: h, props: props, absent: map[string]bool{}}
	if n := len(cfg.Hosts) + 1; n > liverun.MaxNamespaces {
		why = append(why, fmt.Sprintf("%d hosts: the lab builds at most %d namespaces (hosts and the segment's)", len(cfg.Hosts), liverun.MaxNamespaces-1))
	}
	used := map[string]bool{}
	for _, hs := range cfg.Hosts {
		r.tags = append(r.tags, hostTag(hs.Name, used))
	}
	for _, f := range cfg.Ifaces {
		where := cfg.Hosts[f.Host].Name + "/" + f.Name
		if f.V6() {
			why = append(why, fmt.Sprintf("interface %s is IPv6: the lab runs ARP segments only (neighbour discovery scenarios are checked by the model)", where))
		}
		if !liverun.ValidIfName(f.Name) || f.Name == "lo" {
			why = append(why, fmt.Sprintf("interface %s: the kernel takes names of 1 to %d characters without '/', ':' or spaces, other than lo (dev_valid_name())", where, liverun.IfNameMax))
		}
		mac := f.MAC
		if mac[0]&1 != 0 || mac == [6]byte{} {
			why = append(why, fmt.Sprintf("interface %s: MAC %s is not a unicast address, which an Ethernet interface must have (eth_prepare_mac_addr_change() refuses it)", where, kernel.MACFrom6(mac)))
		}
		defs := sysctlsOf(neigh.DefaultSysctl())
		for k, s := range sysctlsOf(f.Sysctl) {
			file := strings.Replace(s.file, "%s", "default", 1)
			if h.HasSysctl != nil && !h.HasSysctl("ipv4/"+file) {
				if s.v == defs[k].v {
					// The kernel has no such setting: its behaviour is the
					// default's (mcast_resolicit before 4.2: 0).
					r.absent[s.file] = true
					continue
				}
				why = append(why, fmt.Sprintf("interface %s: this kernel has no sysctl net.ipv4.%s", where, strings.ReplaceAll(file, "/", ".")))
				continue
			}
			if s.unit > 1 && s.v%s.unit != 0 {
				why = append(why, fmt.Sprintf("interface %s: %s is %d ms, but the kernel's sysctl %s counts in units of %d ms", where, sysctlName(s.file), s.v, sysctlName(s.file), s.unit))
			}
		}
		if f.Sysctl.ArpAccept == 2 && !h.Profile.ArpAcceptSubnet {
			why = append(why, fmt.Sprintf("interface %s: arp_accept=2 (create an entry only for a sender in the interface's subnet) needs Linux 6.1 (e68c5dcf0aac); the running kernel's profile %s has arp-accept-subnet=no", where, h.Profile.Name))
		}
	}
	for _, sl := range cfg.Slots {
		if sl.Init == nil {
			continue
		}
		switch sl.Init.State {
		case neigh.NUDStale, neigh.NUDReachable, neigh.NUDPermanent, neigh.NUDNoARP:
		default:
			why = append(why, fmt.Sprintf("initial entry %s on %s/%s is %s: the lab sets entries as an administrator does (neigh_add()), which gives stale, reachable, permanent or noarp; the others are states only the kernel's timers reach", cfg.IPs[sl.IP], cfg.Hosts[cfg.Ifaces[sl.Iface].Host].Name, cfg.Ifaces[sl.Iface].Name, neigh.StateName(sl.Init.State)))
		}
		age := time.Duration(sl.Init.Age) * time.Millisecond
		lock := time.Duration(cfg.Ifaces[sl.Iface].Sysctl.Locktime)*time.Millisecond + settleMargin
		r.settle = max(r.settle, min(age, lock))
		if age > lock {
			r.notes = append(r.notes, fmt.Sprintf("the initial entry %s on %s/%s (%s, %s old in the model) is created %.2f s before t=0: older than locktime, as the model's, but its `confirmed` is then 2 x base_reachable_time old (neigh_alloc()), not %s",
				cfg.IPs[sl.IP], cfg.Hosts[cfg.Ifaces[sl.Iface].Host].Name, cfg.Ifaces[sl.Iface].Name, neigh.StateName(sl.Init.State), age, lock.Seconds(), age))
		}
	}
	for _, s := range cfg.Senders {
		use := arpingPreset(s.Preset) && s.Unicast < 0
		r.arping = append(r.arping, use)
		if use && h.Arping == "" {
			why = append(why, fmt.Sprintf("ARP sender %s (preset %s) runs iputils arping, as the agents do: %s", s.Name, s.Preset, h.ArpingProblem))
		}
		why = append(why, r.prepareKeepalived(s, h)...)
	}
	for _, f := range cfg.Flows {
		differs := false
		if f.Proto == neigh.ProtoUDP {
			why = append(why, fmt.Sprintf("flow %s is UDP: the lab drives icmp and tcp flows only", f.Name))
		}
		if f.Proto == neigh.ProtoTCP {
			if f.Count > 0 {
				why = append(why, fmt.Sprintf("flow %s: a real TCP connection cannot be stopped after %d transmissions, retransmissions included (count: is for proto: icmp in the lab)", f.Name, f.Count))
			}
			differs = !sameGaps(modelSynGaps(f, horizon), kernelSynGaps(horizon))
			if differs {
				r.notes = append(r.notes, fmt.Sprintf("flow %s: the kernel retransmits an unanswered SYN after 1, 2, 4, 8 ... s (TCP_TIMEOUT_INIT doubling), not on the flow's schedule (every %s, backoff %d): if a SYN is lost the run says so", f.Name, time.Duration(f.Every)*time.Millisecond, f.Backoff))
			}
		}
		r.synDiffers = append(r.synDiffers, differs)
	}
	why = append(why, refuseAdmin(cfg)...)
	if cfg.Draws > 0 {
		r.notes = append(r.notes, "reachable-draws: the kernel draws each interface's reachable_time itself, from [base/2, 3 x base/2)")
	}
	if len(why) > 0 {
		return nil, why
	}
	return r, nil
}

func sysctlName(file string) string {
	_, n, _ := strings.Cut(strings.TrimPrefix(file, "neigh/%s/"), "%s/")
	if n == "" {
		n = strings.TrimPrefix(file, "neigh/%s/")
	}
	return n
}

// neighLive is one live run of a Plan.
type neighLive struct {
	*Plan
	rec   *liverun.Recorder
	rng   *rand.Rand
	ns    []*netns.NS // per host
	t0    time.Time
	draws []liverun.Draw

	mu sync.Mutex
	// movedAt[i] is when move i happened (zero before).
	movedAt []time.Time
	// moveAt and senderAt are the drawn times of the moves and of each
	// sender's frames (drawTimeline).
	moveAt   []time.Duration
	senderAt [][]time.Duration
	// readAt[w] is the watched entry read from the kernel at watch w's
	// deadline.
	readAt map[int]*trace.Neigh
	flows  []*flowLog
	// peers[i] is sender i's keepalived (peers.go), nil for the others.
	peers []*keepalived.Peer
}

// draw picks a time in [lo, hi] milliseconds, recording what it was for.
func (l *neighLive) draw(what string, w neigh.Window) time.Duration {
	ms := w.Min
	if w.Max > w.Min {
		ms += int32(l.rng.Int64N(int64(w.Max-w.Min) + 1))
		l.draws = append(l.draws, liverun.Draw{What: what, At: float64(ms) / 1000, Window: fmt.Sprintf("%.3f..%.3f s", float64(w.Min)/1000, float64(w.Max)/1000)})
	}
	return time.Duration(ms) * time.Millisecond
}

func (l *neighLive) ifaceWhere(i int) string {
	return l.cfg.Hosts[l.cfg.Ifaces[i].Host].Name + "/" + l.cfg.Ifaces[i].Name
}

func (l *neighLive) addrOf(i, ip int) netip.Prefix {
	return netip.PrefixFrom(l.cfg.IPs[ip], l.cfg.Ifaces[i].Prefix.Bits())
}

// Run builds the segment in run, plays the timeline and judges the
// properties into res.
func (r *Plan) Run(ctx context.Context, run *netns.Run, o liverun.Options, res *liverun.Result) (err error) {
	l := &neighLive{Plan: r, rec: liverun.NewRecorder(), rng: rand.New(rand.NewPCG(o.Seed, 0x6c6162)), readAt: map[int]*trace.Neigh{}}
	l.movedAt = make([]time.Time, len(r.cfg.Moves))
	defer func() { res.Events, res.Draws = l.rec.List(), l.draws }()
	l.drawTimeline()
	stop, err := l.build(ctx, run)
	if err != nil {
		return err
	}
	defer func() {
		if e := stop(); e != nil && err == nil {
			err = e
		}
	}()
	if err := l.play(ctx, o); err != nil {
		return err
	}
	res.Properties = l.judge()
	res.Notes = append(res.Notes, l.keepalivedNotes()...)
	res.Watched = map[string]bool{}
	for _, w := range r.cfg.Watches {
		if w.Kind == neigh.WatchConverges {
			res.Watched[r.cfg.Hosts[r.cfg.Ifaces[w.Iface].Host].Name] = true
		}
	}
	for _, f := range r.cfg.Flows {
		res.Watched[r.cfg.Hosts[r.cfg.Ifaces[f.Iface].Host].Name] = true
	}
	for i, f := range l.flows {
		if r.synDiffers[i] && f.synLost {
			res.Notes = append(res.Notes, fmt.Sprintf("flow %s lost a SYN in this run: the kernel retransmitted it on its own schedule, not the flow's", r.cfg.Flows[i].Name))
		}
	}
	return nil
}

// build creates the namespaces, the bridge and the veths, sets the
// sysctls, addresses and initial entries, and starts the recorders and
// echo servers. It ends at t=0 of the timeline. stop ends the recorders
// and servers.
func (l *neighLive) build(ctx context.Context, run *netns.Run) (stop func() error, err error) {
	cfg := l.cfg
	var stops []func() error
	stop = func() error {
		var errs []error
		for i := len(stops) - 1; i >= 0; i-- {
			errs = append(errs, stops[i]())
		}
		return errors.Join(errs...)
	}
	fail := func(err error) (func() error, error) {
		stop()
		return nil, err
	}
	seg, err := run.Create("seg")
	if err != nil {
		return fail(err)
	}
	for _, ns := range []*netns.NS{seg} {
		if err := noIPv6(ns); err != nil {
			return fail(err)
		}
	}
	if err := seg.Bridge("br0", kernel.MAC{}); err != nil {
		return fail(err)
	}
	for hi := range cfg.Hosts {
		ns, err := run.Create(l.tags[hi])
		if err != nil {
			return fail(err)
		}
		l.ns = append(l.ns, ns)
		if err := noIPv6(ns); err != nil {
			return fail(err)
		}
	}
	for i, f := range cfg.Ifaces {
		ns := l.ns[f.Host]
		port := fmt.Sprintf("p%d", i)
		if err := ns.VethMAC(f.Name, kernel.MACFrom6(f.MAC), seg, port); err != nil {
			return fail(err)
		}
		if err := seg.SetMaster(port, "br0"); err != nil {
			return fail(err)
		}
		for _, s := range sysctlsOf(f.Sysctl) {
			if l.absent[s.file] {
				continue
			}
			if err := ns.Sysctl("net/ipv4/"+fmt.Sprintf(s.file, f.Name), s.value()); err != nil {
				return fail(err)
			}
		}
		for ip, own := range cfg.Owner {
			if own == i {
				if err := ns.AddrAdd(f.Name, l.addrOf(i, ip)); err != nil {
					return fail(err)
				}
			}
		}
	}
	for hi, ns := range l.ns {
		st, err := l.rec.WatchNS(ctx, ns, cfg.Hosts[hi].Name, []int{4}, 0, true)
		if err != nil {
			return fail(err)
		}
		stops = append(stops, st)
		st, err = echoServer(ns, l.rec, cfg.Hosts[hi].Name)
		if err != nil {
			return fail(err)
		}
		stops = append(stops, st)
	}
	// The initial entries, oldest first, each created its age (at most
	// settle) before t=0.
	built := time.Now()
	l.t0 = built.Add(l.settle)
	if err := l.startKeepalived(ctx, &stops); err != nil {
		return fail(err)
	}
	type initial struct {
		slot int
		at   time.Time
	}
	var inits []initial
	for si, sl := range cfg.Slots {
		if sl.Init != nil {
			age := min(time.Duration(sl.Init.Age)*time.Millisecond, l.settle)
			inits = append(inits, initial{si, l.t0.Add(-age)})
		}
	}
	for len(inits) > 0 {
		next := 0
		for i := range inits {
			if inits[i].at.Before(inits[next].at) {
				next = i
			}
		}
		in := inits[next]
		inits = append(inits[:next], inits[next+1:]...)
		if err := liverun.SleepUntil(ctx, in.at); err != nil {
			return fail(err)
		}
		sl := cfg.Slots[in.slot]
		f := cfg.Ifaces[sl.Iface]
		var mac kernel.MAC
		if sl.Init.LL >= 0 {
			mac = kernel.MACFrom6(cfg.Ifaces[sl.Init.LL].MAC)
		}
		if err := l.ns[f.Host].NeighSet(f.Name, cfg.IPs[sl.IP], mac, sl.Init.State); err != nil {
			return fail(err)
		}
		l.rec.Act(time.Now(), cfg.Hosts[f.Host].Name, "[LAB]", "ip neigh replace %s dev %s lladdr %s nud %s (initial entry, %s old in the model)",
			cfg.IPs[sl.IP], f.Name, mac, strings.ToLower(neigh.StateName(sl.Init.State)), time.Duration(sl.Init.Age)*time.Millisecond)
	}
	if err := liverun.SleepUntil(ctx, l.t0); err != nil {
		return fail(err)
	}
	l.rec.Start(l.t0)
	return stop, nil
}

// noIPv6 turns IPv6 off for the namespace's interfaces to come, so that
// the segment carries only what the scenario sends (and ARP).
func noIPv6(ns *netns.NS) error {
	for _, k := range []string{"net/ipv6/conf/all/disable_ipv6", "net/ipv6/conf/default/disable_ipv6"} {
		if err := ns.Sysctl(k, "1"); err != nil {
			return err
		}
	}
	return nil
}

// drawTimeline draws every time of the timeline before the hosts are
// built (a keepalived peer starts then, timed to its sender's start).
func (l *neighLive) drawTimeline() {
	cfg := l.cfg
	// Draw every time first, in a fixed order, so that a seed gives the
	// same timeline whatever the goroutines do.
	l.moveAt = make([]time.Duration, len(cfg.Moves))
	for i, mv := range cfg.Moves {
		l.moveAt[i] = l.draw(fmt.Sprintf("move %s", cfg.IPs[mv.IP]), mv.At)
	}
	l.senderAt = make([][]time.Duration, len(cfg.Senders))
	for i, s := range cfg.Senders {
		var t time.Duration
		for k, p := range s.Packets {
			what := fmt.Sprintf("%s frame %d", s.Name, k+1)
			if k == 0 {
				what = s.Name + " start"
			}
			t += l.draw(what, p.After)
			l.senderAt[i] = append(l.senderAt[i], t)
			if l.arping[i] {
				break // arping keeps its own time after its start
			}
		}
	}
	l.flows = make([]*flowLog, len(cfg.Flows))
	for i, f := range cfg.Flows {
		l.flows[i] = &flowLog{start: l.draw(f.Name+" start", f.Start)}
	}
}

// play runs the timeline: moves, senders, flows and the deadline reads,
// until the horizon.
func (l *neighLive) play(ctx context.Context, o liverun.Options) error {
	cfg := l.cfg
	end := l.t0.Add(l.horizon)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	spawn := func(name string, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					errc <- fmt.Errorf("%s: panic: %v", name, p)
				}
			}()
			if err := fn(); err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	for i := range cfg.Moves {
		spawn("move", func() error { return l.move(ctx, i, l.moveAt[i]) })
	}
	for i := range cfg.Senders {
		spawn("ARP sender "+cfg.Senders[i].Name, func() error { return l.sender(ctx, i, l.senderAt[i]) })
	}
	for i := range cfg.Flows {
		spawn("flow "+cfg.Flows[i].Name, func() error { return l.flow(ctx, i) })
	}
	for wi, w := range cfg.Watches {
		if w.Kind != neigh.WatchConverges {
			continue
		}
		at := time.Duration(w.Limit) * time.Millisecond
		if w.Move >= 0 {
			at += l.moveAt[w.Move]
		}
		spawn("deadline read", func() error { return l.readDeadline(ctx, wi, at) })
	}
	if o.Progress != nil {
		spawn("progress", func() error {
			tk := time.NewTicker(time.Second)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case t := <-tk.C:
					o.Progress(t.Sub(l.t0), l.horizon)
				}
			}
		})
	}
	<-ctx.Done()
	wg.Wait()
	close(errc)
	var errs []error
	for e := range errc {
		errs = append(errs, e)
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// move moves an address at its time: deleted from one interface, added
// to the other (a failover: keepalived's or Neutron's `ip addr`).
func (l *neighLive) move(ctx context.Context, i int, at time.Duration) error {
	mv := l.cfg.Moves[i]
	if err := liverun.SleepUntil(ctx, l.t0.Add(at)); err != nil {
		return err
	}
	from, to := l.cfg.Ifaces[mv.From], l.cfg.Ifaces[mv.To]
	now := time.Now()
	if err := l.ns[from.Host].AddrDel(from.Name, l.addrOf(mv.From, mv.IP)); err != nil {
		return err
	}
	if err := l.ns[to.Host].AddrAdd(to.Name, l.addrOf(mv.To, mv.IP)); err != nil {
		return err
	}
	l.mu.Lock()
	l.movedAt[i] = now
	l.mu.Unlock()
	l.rec.Act(now, l.cfg.Hosts[to.Host].Name, "[MOVE]", "%s moved from %s to %s (ip addr del, ip addr add)", l.cfg.IPs[mv.IP], l.ifaceWhere(mv.From), l.ifaceWhere(mv.To))
	return nil
}

// readDeadline reads the watched entry of watch wi from the kernel at
// its deadline.
func (l *neighLive) readDeadline(ctx context.Context, wi int, at time.Duration) error {
	if err := liverun.SleepUntil(ctx, l.t0.Add(at)); err != nil {
		return err
	}
	w := l.cfg.Watches[wi]
	n, err := l.readEntry(ctx, w.Iface, w.IP)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.readAt[wi] = n
	l.mu.Unlock()
	f := l.cfg.Ifaces[w.Iface]
	text := fmt.Sprintf("no entry for %s on %s", l.cfg.IPs[w.IP], f.Name)
	if n != nil {
		text = n.String()
	}
	l.rec.Act(time.Now(), l.cfg.Hosts[f.Host].Name, "[READ]", "at the deadline of %s: %s", l.props[wi], text)
	return nil
}

// readEntry dumps the neighbour table of iface's host and returns the
// entry of ip on iface (nil when there is none).
func (l *neighLive) readEntry(ctx context.Context, iface, ip int) (*trace.Neigh, error) {
	f := l.cfg.Ifaces[iface]
	recs, err := nl.Dump(ctx, nl.Options{Netns: l.ns[f.Host].Name, Families: []int{4}})
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Kind == trace.KindNeigh && r.Neigh.Dev == f.Name && r.Neigh.Addr == l.cfg.IPs[ip] {
			n := r.Neigh
			return &n, nil
		}
	}
	return nil, nil
}

// ownerMAC is the MAC of the interface that owns ip at time t.
func (l *neighLive) ownerAt(ip int, t time.Time) int {
	own := l.cfg.Owner[ip]
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, mv := range l.cfg.Moves {
		if mv.IP == ip && !l.movedAt[i].IsZero() && !t.Before(l.movedAt[i]) {
			own = mv.To
		}
	}
	return own
}

// judge evaluates the properties on what the kernel did.
func (l *neighLive) judge() []liverun.PropertyResult {
	events := l.rec.List()
	end := l.t0.Add(l.horizon)
	var out []liverun.PropertyResult
	for wi, w := range l.cfg.Watches {
		pr := liverun.PropertyResult{Name: l.props[wi], Kind: explore.Final}
		switch w.Kind {
		case neigh.WatchConverges:
			pr.Verdict, pr.Explanation = l.judgeConverges(wi, events, end)
		case neigh.WatchBlackhole:
			pr.Verdict, pr.Explanation = l.judgeBlackhole(wi, end)
		case neigh.WatchAnnounced:
			pr.Verdict, pr.Explanation = l.judgeAnnounced(wi, events, end)
		default:
			// refuseAdmin refuses the others; a kind added later without
			// a judge here must not pass for a verdict
			pr.Verdict, pr.Explanation = explore.Unknown, "the lab does not judge this property live"
		}
		out = append(out, pr)
	}
	return out
}

// judgeConverges mirrors the model's converged(): the entry holds the
// owner's MAC in a valid state from some time no later than the
// deadline until the end. The stretch is read from the entry's netlink
// events; the kernel's own table, read at the deadline and at the end,
// must say the same.
func (l *neighLive) judgeConverges(wi int, events []liverun.Event, end time.Time) (explore.Verdict, string) {
	w := l.cfg.Watches[wi]
	f := l.cfg.Ifaces[w.Iface]
	hostName := l.cfg.Hosts[f.Host].Name
	ip := l.cfg.IPs[w.IP]
	deadline := l.t0.Add(time.Duration(w.Limit) * time.Millisecond)
	movedAt := l.t0
	if w.Move >= 0 {
		l.mu.Lock()
		movedAt = l.movedAt[w.Move]
		l.mu.Unlock()
		if movedAt.IsZero() {
			return explore.Holds, fmt.Sprintf("%s never moved: nothing to converge", ip)
		}
		deadline = movedAt.Add(time.Duration(w.Limit) * time.Millisecond)
	}
	good := func(n *trace.Neigh, at time.Time) bool {
		if n == nil || n.State&kernel.NUDValid == 0 {
			return false
		}
		own := l.ownerAt(w.IP, at)
		return own >= 0 && n.LLAddr == kernel.MACFrom6(l.cfg.Ifaces[own].MAC)
	}
	// Replay the entry's events, re-judging at the move.
	var cur *trace.Neigh
	var since time.Time // zero: not good
	check := func(at time.Time) {
		g := good(cur, at)
		switch {
		case g && since.IsZero():
			since = at
		case !g:
			since = time.Time{}
		}
	}
	movedDone := false
	for i := range events {
		e := &events[i]
		if !movedDone && !e.At().Before(movedAt) && w.Move >= 0 {
			check(movedAt)
			movedDone = true
		}
		rec := e.Record()
		if rec == nil || rec.Kind != trace.KindNeigh || e.Host != hostName || rec.Neigh.Dev != f.Name || rec.Neigh.Addr != ip || e.At().After(end) {
			continue
		}
		if rec.Action == trace.ActionDel {
			cur = nil
		} else {
			n := rec.Neigh
			cur = &n
		}
		check(e.At())
	}
	if !movedDone && w.Move >= 0 {
		check(movedAt)
	}
	own := l.ownerAt(w.IP, end)
	ownName := l.ifaceWhere(own)
	ownMAC := kernel.MACFrom6(l.cfg.Ifaces[own].MAC)
	t := func(x time.Time) string { return fmt.Sprintf("t=%.3f", x.Sub(l.t0).Seconds()) }
	l.mu.Lock()
	read := l.readAt[wi]
	l.mu.Unlock()
	readText := "no entry"
	if read != nil {
		readText = fmt.Sprintf("%s %s", read.LLAddr, read.State)
	}
	switch {
	case !since.IsZero() && !since.After(deadline) && good(read, deadline):
		return explore.Holds, fmt.Sprintf("%s learnt %s's MAC %s for %s at %s (netlink event), %.3f s after it moved at %s (limit %s); the kernel's entry at the deadline %s: %s",
			hostName, ownName, ownMAC, ip, t(since), since.Sub(movedAt).Seconds(), t(movedAt), time.Duration(w.Limit)*time.Millisecond, t(deadline), readText)
	case !since.IsZero() && !since.After(deadline):
		return explore.Violated, fmt.Sprintf("the netlink events say %s held %s's MAC for %s from %s, but the kernel's entry read at the deadline %s says %s", hostName, ownName, ip, t(since), t(deadline), readText)
	case !since.IsZero():
		return explore.Violated, fmt.Sprintf("%s learnt %s's MAC for %s only at %s; the deadline was %s (the kernel's entry then: %s)", hostName, ownName, ip, t(since), t(deadline), readText)
	}
	now := "no entry"
	if cur != nil {
		now = fmt.Sprintf("%s %s", cur.LLAddr, cur.State)
	}
	return explore.Violated, fmt.Sprintf("%s %s still does not hold %s's MAC %s for %s at the end (%s): its entry says %s; at the deadline %s the kernel's entry said %s",
		hostName, f.Name, ownName, ownMAC, ip, t(end), now, t(deadline), readText)
}

// announceSettle is how long after an announcement frame the lab reads
// the entry's netlink events for what the frame did: arp_process() and
// ndisc_recv_na() update the entry, and neigh_update() notifies, in the
// softirq that received the frame, but the frame and the event come to
// the lab on two sockets.
const announceSettle = 20 * time.Millisecond

// judgeAnnounced mirrors the model's noteAnnounced(): after the last
// announcement of the watched address (a gratuitous ARP or an
// unsolicited NA of the address, from the interface of one of its
// senders) seen on the watched interface, the entry holds that sender's
// MAC in a valid state, or there is no entry (nothing to update); it is
// violated when the entry holds another MAC, or none valid. The entry is
// replayed from its netlink events up to announceSettle after the frame.
func (l *neighLive) judgeAnnounced(wi int, events []liverun.Event, end time.Time) (explore.Verdict, string) {
	w := l.cfg.Watches[wi]
	f := l.cfg.Ifaces[w.Iface]
	hostName := l.cfg.Hosts[f.Host].Name
	ip := l.cfg.IPs[w.IP]
	senderOf := map[kernel.MAC]int{}
	for _, sd := range l.cfg.Senders {
		if sd.IP == w.IP && sd.Iface != w.Iface && (sd.Unicast < 0 || sd.Unicast == w.Iface) {
			senderOf[kernel.MACFrom6(l.cfg.Ifaces[sd.Iface].MAC)] = sd.Iface
		}
	}
	var last time.Time
	from := -1
	for i := range events {
		e := &events[i]
		rec := e.Record()
		if rec == nil || rec.Kind != trace.KindFrame || e.Host != hostName || rec.Frame.Dev != f.Name || e.At().After(end) {
			continue
		}
		fr := rec.Frame
		if !fr.Gratuitous() || fr.SenderIP != ip {
			continue
		}
		if sd, ok := senderOf[fr.SrcMAC]; ok {
			last, from = e.At(), sd
		}
	}
	t := func(x time.Time) string { return fmt.Sprintf("t=%.3f", x.Sub(l.t0).Seconds()) }
	if from < 0 {
		return explore.Holds, fmt.Sprintf("no announcement of %s reached %s %s", ip, hostName, f.Name)
	}
	var cur *trace.Neigh
	for i := range events {
		e := &events[i]
		rec := e.Record()
		if e.At().After(last.Add(announceSettle)) {
			break
		}
		if rec == nil || rec.Kind != trace.KindNeigh || e.Host != hostName || rec.Neigh.Dev != f.Name || rec.Neigh.Addr != ip {
			continue
		}
		if rec.Action == trace.ActionDel {
			cur = nil
		} else {
			n := rec.Neigh
			cur = &n
		}
	}
	want := kernel.MACFrom6(l.cfg.Ifaces[from].MAC)
	switch {
	case cur == nil:
		return explore.Holds, fmt.Sprintf("%s had no entry for %s when the last announcement came (%s): nothing to update", hostName, ip, t(last))
	case cur.State&kernel.NUDValid != 0 && cur.LLAddr == want:
		return explore.Holds, fmt.Sprintf("%s's entry for %s held the announced MAC %s after the last announcement (%s; netlink events)", hostName, ip, want, t(last))
	}
	return explore.Violated, fmt.Sprintf("%s's entry for %s did not take the announcement of %s: after the last one (%s) it held %s %s (netlink events)", hostName, ip, want, t(last), cur.LLAddr, cur.State)
}

// refuseAdmin names what of the ip neigh agents, neigh tables and their
// properties the lab cannot play yet: it would run the scenario without
// them and compare a different case with the model.
func refuseAdmin(cfg *neigh.Config) []string {
	var why []string
	if len(cfg.Admins) > 0 {
		why = append(why, "`admin:` (ip neigh agents): the lab does not run them yet")
	}
	if len(cfg.Tables) > 0 {
		why = append(why, "`neigh-table:` (table sizes and garbage collection): the lab does not fill tables yet")
	}
	for _, mv := range cfg.Moves {
		if mv.From < 0 {
			why = append(why, fmt.Sprintf("move of %s from none: the lab moves addresses between interfaces only", cfg.IPs[mv.IP]))
		}
	}
	for _, w := range cfg.Watches {
		if w.Kind == neigh.WatchStuck || w.Kind == neigh.WatchEvicted {
			why = append(why, "no-stuck-entry and not-evicted-in-use: the lab does not judge them yet")
			break
		}
	}
	return why
}

package neigh

import (
	"fmt"

	"raceroute/explore"
	"raceroute/model/neigh/arp"
	"raceroute/model/neigh/nud"
	"raceroute/profile"
	"raceroute/trace"
)

// Actor kinds.
const (
	actDraw uint8 = iota + 1
	actMove
	actSender
	actFlow
	actTimer
	actAdmin   // an ip neigh agent (admin.go)
	actGC      // a table's neigh_periodic_work() (gc.go)
	actManaged // the managed table's neigh_managed_work() (managed.go)
)

type actor struct {
	kind uint8
	idx  int
	name string
}

// Model is the executable neighbour model of one compiled scenario on one
// kernel profile. It implements explore.Model[State].
type Model struct {
	cfg      *Config
	actors   []actor
	names    []string
	slotOf   [MaxIfaces][MaxIPs]int8
	flowSlot [MaxFlows]int
	ifaceIP  [MaxIfaces]int // an own address of each interface (ARP source), -1
	draws    [MaxIfaces]int // outcomes of each interface's reachable_time draw
	// inSubnet: IP j is in interface i's subnet (6.x arp_accept = 2).
	inSubnet [MaxIfaces][MaxIPs]bool
}

// New builds the model of cfg; cfg must not change afterwards.
func New(cfg *Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("neigh model: %w", err)
	}
	m := &Model{cfg: cfg}
	for i := range m.slotOf {
		for j := range m.slotOf[i] {
			m.slotOf[i][j] = -1
		}
	}
	for i, s := range cfg.Slots {
		m.slotOf[s.Iface][s.IP] = int8(i)
	}
	for i := range m.ifaceIP {
		m.ifaceIP[i] = -1
	}
	for ip, own := range cfg.Owner {
		if own >= 0 && m.ifaceIP[own] < 0 {
			m.ifaceIP[own] = ip
		}
	}
	for fi, f := range cfg.Flows {
		m.flowSlot[fi] = cfg.slot(f.Iface, f.IP)
	}
	for i, f := range cfg.Ifaces {
		for j, ip := range cfg.IPs {
			m.inSubnet[i][j] = f.Prefix.Contains(ip)
		}
	}
	add := func(k uint8, i int, name string) {
		m.actors = append(m.actors, actor{k, i, name})
		m.names = append(m.names, name)
	}
	for i, f := range cfg.Ifaces {
		if f.Draw {
			add(actDraw, i, fmt.Sprintf("kernel:%s/%s neigh_parms", cfg.Hosts[f.Host].Name, f.Name))
			m.draws[i] = nud.ReachDraws(f.Sysctl.BaseReachable, cfg.Draws)
		}
	}
	for i, mv := range cfg.Moves {
		add(actMove, i, "move:"+cfg.IPs[mv.IP].String())
	}
	for i, s := range cfg.Senders {
		kind := "arp:"
		if cfg.Ifaces[s.Iface].V6() {
			kind = "ndisc:"
		}
		add(actSender, i, kind+s.Name)
	}
	for i, f := range cfg.Flows {
		add(actFlow, i, "flow:"+f.Name)
	}
	for i, s := range cfg.Slots {
		add(actTimer, i, fmt.Sprintf("timer:%s/%s", cfg.Hosts[cfg.Ifaces[s.Iface].Host].Name, cfg.IPs[s.IP]))
	}
	for i, a := range cfg.Admins {
		add(actAdmin, i, "ip-neigh:"+a.Name)
	}
	for i, t := range cfg.Tables {
		tbl := ""
		if t.V6 {
			tbl = " nd_tbl"
		}
		add(actGC, i, fmt.Sprintf("kernel:%s%s neigh_periodic_work", cfg.Hosts[t.Host].Name, tbl))
	}
	if w := cfg.Managed; w != nil {
		tbl := ""
		if w.V6 {
			tbl = " nd_tbl"
		}
		add(actManaged, 0, fmt.Sprintf("kernel:%s%s neigh_managed_work", cfg.Hosts[w.Host].Name, tbl))
	}
	if len(m.actors) > 64 {
		return nil, fmt.Errorf("neigh model: %d actors, at most 64", len(m.actors))
	}
	return m, nil
}

// Config returns the model's configuration.
func (m *Model) Config() *Config { return m.cfg }

// Init returns the state at t=0.
func (m *Model) Init() State {
	var s State
	for i := range s.Entries {
		s.Entries[i].Timer = nud.NoTimer
	}
	for i, sl := range m.cfg.Slots {
		e := &s.Entries[i]
		if sl.Init == nil {
			continue
		}
		t := -sl.Init.Age
		e.State, e.Confirmed, e.Updated, e.Used = sl.Init.State, t, t, t
		e.UpdBy = nud.ByInit
		e.Flags = nud.FlagLive
		if sl.Init.LL >= 0 {
			e.LL = uint8(sl.Init.LL + 1)
		}
		// An entry a scenario starts valid is one the host has been
		// sending through: its header is cached (nud.Entry.HH).
		if e.State&NUDValid != 0 {
			e.HH = 1
		}
		if e.State&NUDInTimer != 0 && e.State != NUDReachable {
			e.Timer = 0 // re-evaluated at once
		}
	}
	for i := range m.cfg.Ifaces {
		s.Ifs[i].Reach = m.cfg.Ifaces[i].Sysctl.BaseReachable
		if !m.cfg.Ifaces[i].Draw {
			s.Ifs[i].Drawn = 1
			m.armReachable(&s, i)
		}
	}
	for i, f := range m.cfg.Flows {
		s.Flows[i] = FlowState{Next: f.Start.Min, LastTx: -1, LossSince: -1}
	}
	for i := range s.MoveAt {
		s.MoveAt[i] = -1
	}
	for i := range m.cfg.Owner {
		s.Owner[i] = int8(m.cfg.Owner[i])
	}
	for i := range s.MovedAt {
		s.MovedAt[i] = -1
	}
	for i := range s.GoodSince {
		s.GoodSince[i] = -1
		s.AnnAt[i] = -1
	}
	m.initAdmin(&s)
	m.watch(&s)
	return s
}

// armReachable arms the timers of the initial REACHABLE entries of iface
// once its reachable_time is known.
func (m *Model) armReachable(s *State, iface int) {
	for i, sl := range m.cfg.Slots {
		e := &s.Entries[i]
		if sl.Iface == iface && e.State == NUDReachable && e.Timer == nud.NoTimer {
			e.Timer = max(e.Confirmed+s.Ifs[iface].Reach, 0)
		}
	}
}

// Actors names the actors.
func (m *Model) Actors() []string { return m.names }

// Clock returns the time of s.
func (m *Model) Clock(s *State) explore.Time { return explore.Time(s.Now) }

var allFootprint = explore.Footprint{Read: ^uint64(0), Write: ^uint64(0)}

// Pending appends the next step of every actor that has one.
func (m *Model) Pending(s *State, buf []explore.Step) []explore.Step {
	for a := range m.actors {
		ac := &m.actors[a]
		st := explore.Step{Actor: a, Footprint: allFootprint}
		switch ac.kind {
		case actDraw:
			if s.Ifs[ac.idx].Drawn != 0 {
				continue
			}
			st.Earliest, st.Latest, st.Outcomes = 0, 0, m.draws[ac.idx]
			st.Footprint = explore.Footprint{Write: 1 << 63}
		case actMove:
			if s.MovedAt[ac.idx] >= 0 {
				continue
			}
			w := m.cfg.Moves[ac.idx].At
			if m.cfg.DrawTimes {
				if at := s.MoveAt[ac.idx]; at >= 0 {
					w = Window{at, at}
				} else {
					w.Max, st.Outcomes = w.Min, int(w.Max-w.Min)+1
				}
			}
			st.Earliest, st.Latest = explore.Time(w.Min), explore.Time(w.Max)
		case actSender:
			ss := &s.Senders[ac.idx]
			pk := m.cfg.Senders[ac.idx].Packets
			if int(ss.Idx) >= len(pk) {
				continue
			}
			w := pk[ss.Idx].After
			if m.cfg.DrawTimes {
				if ss.Armed == 0 {
					st.Outcomes = int(w.Max-w.Min) + 1
					st.Earliest, st.Latest = explore.Time(w.Min), explore.Time(w.Min)
				} else {
					st.Earliest, st.Latest = explore.Time(ss.Next), explore.Time(ss.Next)
					if int(ss.Idx)+1 < len(pk) {
						nw := pk[ss.Idx+1].After
						st.Outcomes = int(nw.Max-nw.Min) + 1
					}
				}
				break
			}
			st.Earliest, st.Latest = explore.Time(ss.Last+w.Min), explore.Time(ss.Last+w.Max)
		case actFlow:
			fs := &s.Flows[ac.idx]
			f := &m.cfg.Flows[ac.idx]
			switch {
			case fs.AckPending != 0:
				if m.cfg.DrawTimes {
					st.Earliest, st.Latest = explore.Time(fs.AckAt), explore.Time(fs.AckAt)
				} else {
					st.Earliest, st.Latest = explore.Time(fs.AckAt), explore.Time(fs.AckAt+f.RTT.Max-f.RTT.Min)
				}
			case fs.Done != 0:
				continue
			case m.cfg.DrawTimes && fs.Armed == 0:
				st.Earliest, st.Latest = explore.Time(f.Start.Min), explore.Time(f.Start.Min)
				st.Outcomes = int(f.Start.Max-f.Start.Min) + 1
			case m.cfg.DrawTimes:
				st.Earliest, st.Latest = explore.Time(fs.Next), explore.Time(fs.Next)
				st.Outcomes = int(f.Jitter+1) * int(f.RTT.Max-f.RTT.Min+1)
			default:
				j := f.Jitter
				if fs.Sent == 0 {
					j = f.Start.Max - f.Start.Min
				}
				st.Earliest, st.Latest = explore.Time(fs.Next), explore.Time(fs.Next+j)
			}
		case actTimer:
			t := s.Entries[ac.idx].Timer
			if t == nud.NoTimer {
				continue
			}
			st.Earliest, st.Latest = explore.Time(t), explore.Time(t)
		case actAdmin, actGC:
			if !m.pendingAdmin(s, ac, &st) {
				continue
			}
		case actManaged:
			m.pendingManaged(s, &st)
		}
		buf = append(buf, st)
	}
	return buf
}

// Fire executes st at time at with outcome.
func (m *Model) Fire(s *State, st explore.Step, at explore.Time, outcome int, rec trace.Recorder) {
	if int32(at) != s.Now {
		s.Managed = s.Managed.later()
	}
	s.Now = int32(at)
	ac := &m.actors[st.Actor]
	v := env{s: s, now: s.Now, rec: rec}
	if rec != nil {
		v.actor = ac.name
	}
	switch ac.kind {
	case actDraw:
		m.fireDraw(&v, ac.idx, outcome)
	case actMove:
		if m.cfg.DrawTimes && s.MoveAt[ac.idx] < 0 {
			s.MoveAt[ac.idx] = s.Now + int32(outcome)
			break
		}
		m.fireMove(&v, ac.idx)
	case actSender:
		if ss := &s.Senders[ac.idx]; m.cfg.DrawTimes && ss.Armed == 0 {
			ss.Armed, ss.Next = 1, s.Now+int32(outcome)
			break
		}
		m.fireSender(&v, ac.idx, outcome)
	case actFlow:
		if fs := &s.Flows[ac.idx]; m.cfg.DrawTimes && fs.Armed == 0 && fs.AckPending == 0 {
			fs.Armed, fs.Next = 1, s.Now+int32(outcome)
			break
		}
		m.fireFlow(&v, ac.idx, outcome)
	case actTimer:
		m.timer(&v, ac.idx)
	case actAdmin:
		m.fireAdmin(&v, ac.idx, outcome)
	case actGC:
		m.fireGC(&v, ac.idx, outcome)
	case actManaged:
		m.fireManaged(&v, outcome)
	}
	m.watch(s)
}

// Encode appends the canonical encoding of s.
func (m *Model) Encode(s *State, buf []byte) []byte { return m.encode(s, buf) }

// fireDraw is interface iface's neigh_parms_alloc(): its reachable_time
// drawn (nud.RandReach).
func (m *Model) fireDraw(v *env, iface, outcome int) {
	r := nud.RandReach(m.cfg.Ifaces[iface].Sysctl.BaseReachable, m.draws[iface], outcome)
	v.s.Ifs[iface].Reach, v.s.Ifs[iface].Drawn = r, 1
	m.armReachable(v.s, iface)
	if v.rec != nil {
		m.describeDraw(v, iface, r)
	}
}

func (m *Model) fireMove(v *env, i int) {
	mv := &m.cfg.Moves[i]
	v.s.Owner[mv.IP] = int8(mv.To)
	v.s.MovedAt[i] = v.now
	if v.rec != nil {
		m.describeMove(v, i)
	}
}

func (m *Model) fireSender(v *env, i int, outcome int) {
	sd := &m.cfg.Senders[i]
	ss := &v.s.Senders[i]
	pk := sd.Packets[ss.Idx]
	ss.Idx++
	ss.Last = v.now
	if m.cfg.DrawTimes && int(ss.Idx) < len(sd.Packets) {
		ss.Next = v.now + sd.Packets[ss.Idx].After.Min + int32(outcome)
	}
	if v.rec != nil {
		m.describeSender(v, i, pk)
	}
	defer m.noteAnnounced(v, i)
	if pk.Op == OpNA {
		m.announceNA(v, i, pk)
		return
	}
	f := arp.Frame{Op: pk.Op, SHA: uint8(sd.Iface + 1), SIP: sd.IP, TIP: sd.IP, THA: pk.THA, THAIface: uint8(sd.Iface + 1)}
	if sd.Unicast >= 0 {
		m.arpProcess(v, sd.Unicast, f, true)
		return
	}
	for rx := range m.cfg.Ifaces {
		if rx != sd.Iface && !m.cfg.Ifaces[rx].V6() {
			m.arpProcess(v, rx, f, false)
		}
	}
}

// interval is the flow's gap after k unanswered transmissions.
func (f *Flow) interval(k uint8) int32 {
	const day = 86400000
	iv := f.Every
	for j := uint8(0); j < k && f.Backoff > 1; j++ {
		iv = min(iv*f.Backoff, day) // both <= 1 day: no overflow
		if f.MaxEvery > 0 && iv >= f.MaxEvery {
			return f.MaxEvery
		}
	}
	return iv
}

func (m *Model) fireFlow(v *env, fi int, outcome int) {
	f := &m.cfg.Flows[fi]
	fs := &v.s.Flows[fi]
	if fs.AckPending != 0 {
		fs.AckPending = 0
		// tcp_ack() (net/ipv4/tcp_input.c): on FLAG_FORWARD_PROGRESS,
		// dst_confirm() before 4.11, sk_dst_confirm() from 4.11. A UDP
		// answer confirms nothing (UDP's receive path has no
		// confirmation): the application sends its next datagram with
		// MSG_CONFIRM (confirm()).
		switch {
		case f.Proto == ProtoUDP:
			fs.SkPending = 1
		case m.cfg.Profile.Confirmation != profile.ConfirmSharedDst:
			fs.SkPending = 1
		case m.perDestDst(f.Iface):
			v.s.DstSlot |= 1 << m.flowSlot[fi]
		default:
			v.s.Ifs[f.Iface].DstPending = 1
			v.s.Ifs[f.Iface].PendingBy = uint8(fi + 1)
		}
		if v.rec != nil {
			m.describeAck(v, fi)
		}
		return
	}
	fs.Sent++
	fs.LastTx = v.now
	jit, rtt := int32(0), int32(0)
	if m.cfg.DrawTimes {
		jit, rtt = int32(outcome%int(f.Jitter+1)), int32(outcome/int(f.Jitter+1))
	}
	delivered, queued := m.transmit(v, fi)
	if !queued {
		m.account(v, fi, v.now, delivered)
	}
	if delivered && fs.AckPending != 0 {
		fs.AckAt += rtt
	}
	// The next transmission: every, or the retransmission timeout doubled
	// per unanswered try (tcp_retransmit_timer()'s backoff, as SYNs do).
	fs.Next = v.now + f.interval(fs.K) + jit
	if delivered {
		fs.K = 0
		fs.Next = v.now + f.Every + jit
	} else if fs.K < 30 {
		fs.K++
	}
	if f.Count > 0 && fs.Sent >= f.Count {
		fs.Done = 1
	}
}

// watch updates the converges trackers and the no-stuck-entry streaks.
func (m *Model) watch(s *State) {
	for i, w := range m.cfg.Watches {
		if w.Kind == WatchStuck {
			m.watchStuck(s, i)
		}
		if w.Kind != WatchConverges {
			continue
		}
		e := &s.Entries[m.slotOf[w.Iface][w.IP]]
		good := e.State&NUDValid != 0 && int(e.LL)-1 == int(s.Owner[w.IP]) && s.Owner[w.IP] >= 0
		switch {
		case good && s.GoodSince[i] < 0:
			s.GoodSince[i] = s.Now
		case !good:
			s.GoodSince[i] = -1
		}
	}
}

// Switches names the profile switches the model reads (profile/facts.yaml):
// a profile's unknown settings among them are resolved before a check.
func Switches() []string {
	return []string{"neigh-updated", "same-lladdr-stale", "garp", "confirmation", "arp-accept-subnet", "mcast-reprobes", "timer-min-rearm", "timer-raises-used",
		"ipv6-cache", "drop-unsolicited-na", "accept-untracked-na",
		"neigh-del-removes", "neigh-ext-learned", "neigh-gc", "neigh-managed", "neigh-use-update"}
}

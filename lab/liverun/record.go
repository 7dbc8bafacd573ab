package liverun

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"raceroute/iproute2"
	"raceroute/live/frame"
	"raceroute/live/netns"
	"raceroute/live/nl"
	"raceroute/live/nl/monitor"
	"raceroute/trace"
)

// Event is one thing that happened in a live run: a netlink event or a
// frame the kernel's namespaces saw, or an action of the lab's actors,
// with its time.
type Event struct {
	// T is the time in seconds from the start of the timeline (negative
	// while the hosts were being built).
	T float64 `json:"t"`
	// Host is the scenario host (or lab namespace) it happened on.
	Host string `json:"host"`
	// Source is netlink, frame or lab.
	Source string `json:"source"`
	// Label is the story label: [ROUTE], [RTCAH], [NEIGH], [ARP], ...
	Label string `json:"label"`
	Text  string `json:"text"`
	// Initial marks the state a recorder's subscription found when it
	// started (its first dump), not a change.
	Initial bool `json:"initial,omitempty"`

	at     time.Time
	record *trace.Record // netlink and frame events
}

// At is when the event happened.
func (e Event) At() time.Time { return e.at }

// Record is the netlink event or frame as recorded (nil for the lab's
// actions).
func (e Event) Record() *trace.Record { return e.record }

// Recorder collects a run's events from its goroutines.
type Recorder struct {
	mu     sync.Mutex
	t0     time.Time
	events []Event
}

func NewRecorder() *Recorder { return &Recorder{t0: time.Now()} }

// Start sets the timeline's origin.
func (r *Recorder) Start(t0 time.Time) {
	r.mu.Lock()
	r.t0 = t0
	r.mu.Unlock()
}

// Act records an action of the lab at time t.
func (r *Recorder) Act(t time.Time, host, label, format string, args ...any) {
	r.add(Event{at: t, Host: host, Source: "lab", Label: label, Text: fmt.Sprintf(format, args...)})
}

// Kernel records a netlink event or a sniffed frame.
func (r *Recorder) Kernel(host string, rec trace.Record) {
	e := Event{at: rec.Time, Host: host, Source: "netlink", Initial: rec.Initial, record: &rec}
	if e.at.IsZero() {
		e.at = time.Now()
	}
	e.Label, e.Text = describe(&rec)
	if rec.Kind == trace.KindFrame {
		e.Source = "frame"
	}
	r.add(e)
}

func (r *Recorder) add(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// List returns the events in time order with their times set.
func (r *Recorder) List() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Event, len(r.events))
	copy(out, r.events)
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	for i := range out {
		out[i].T = out[i].at.Sub(r.t0).Seconds()
	}
	return out
}

// describe splits a record as `ip -ts monitor label` prints it
// (iproute2.FormatMonitor, with its markers: Replaced, Deleted,
// Polled...) into its label and the rest.
func describe(rec *trace.Record) (label, text string) {
	r := *rec
	r.Netns, r.Initial = "", false
	line := iproute2.FormatMonitor(r, false) + routeExtra(rec)
	if i := strings.IndexByte(line, ']'); i >= 0 {
		return line[:i+1], line[i+1:]
	}
	return "", line
}

// routeExtra is what a route record holds beyond `ip monitor`'s one
// line as formatted: the nexthop object it uses and every next hop of an
// RTA_MULTIPATH message (an ECMP set, or the object's group).
func routeExtra(rec *trace.Record) string {
	if rec.Kind != trace.KindRoute {
		return ""
	}
	var b strings.Builder
	if rec.Route.NHID != 0 {
		fmt.Fprintf(&b, " nhid %d", rec.Route.NHID)
	}
	if len(rec.Multipath) > 1 {
		fmt.Fprintf(&b, " (RTA_MULTIPATH, %d next hops:", len(rec.Multipath))
		for i, h := range rec.Multipath {
			if i > 0 {
				b.WriteByte(',')
			}
			if h.Gateway.IsValid() {
				fmt.Fprintf(&b, " via %s", h.Gateway)
			}
			fmt.Fprintf(&b, " dev if%d", h.Ifindex)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// WatchNS subscribes to the rtnetlink events of ns (families fams,
// the IPv6 route cache polled every cachePoll if positive) and sniffs
// its ARP frames when arp is set, recording all of it as host's. The
// returned stop ends both and waits for them.
func (r *Recorder) WatchNS(ctx context.Context, ns *netns.NS, host string, fams []int, cachePoll time.Duration, arp bool) (stop func() error, err error) {
	ctx, cancel := context.WithCancel(ctx)
	sub, err := monitor.Subscribe(ctx, monitor.Options{
		Options:     nl.Options{Netns: ns.Name, Families: fams},
		Handler:     func(rec trace.Record) { r.Kernel(host, rec) },
		EmitInitial: true,
		CachePoll:   cachePoll,
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("record %s: %w", host, err)
	}
	wait := func() error { return nil }
	if arp {
		wait, err = frame.Sniff(ctx, frame.SniffOptions{Netns: ns.Name, IPv4: true}, func(rec trace.Record) { r.Kernel(host, rec) })
		if err != nil {
			cancel()
			sub.Close()
			return nil, fmt.Errorf("record %s: %w", host, err)
		}
	}
	return func() error {
		cancel()
		err := wait()
		sub.Close()
		<-sub.Done()
		return err
	}, nil
}

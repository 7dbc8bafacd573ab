// Package livewatch runs `raceroute watch` on a live namespace: it feeds
// a resyncing netlink subscription, polls of the IPv6 route cache and,
// optionally, sniffed ARP/NA frames to the detectors of package watch,
// prints events and findings, serves Prometheus metrics, and heals
// contradicting route-cache entries on request.
package livewatch

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sys/unix"

	"raceroute/iproute2"
	"raceroute/live/frame"
	"raceroute/live/netns"
	"raceroute/live/nl"
	"raceroute/live/nl/monitor"
	"raceroute/live/nl/write"
	"raceroute/trace"
	"raceroute/watch"
)

// DefaultCachePoll is how often the IPv6 route cache is dumped.
const DefaultCachePoll = 3 * time.Second

// DefaultNeighPoll is how often the neighbour tables are dumped.
const DefaultNeighPoll = 2 * time.Second

// ErrNoSuchDev is the error (wrapped) of a Run whose Config.Dev names no
// interface of the watched namespace.
var ErrNoSuchDev = errors.New("no such interface")

// Config configures a watch.
type Config struct {
	// Netns is the namespace to watch (name or path; "" for our own).
	Netns string
	// JSON prints JSON lines instead of `ip -ts monitor` text; they start
	// with the tables as the watch found them (records marked initial),
	// so that a replay of the output begins from the same view.
	JSON bool
	// Families restricts to IPv4 (4) and/or IPv6 (6); empty: both.
	Families []int
	// Dev, if set, prints only events about this interface, which must
	// exist in the namespace when the watch starts (else ErrNoSuchDev).
	Dev string
	// Prefix, if valid, prints only route, address and neighbour events
	// inside it.
	Prefix netip.Prefix
	// Metrics, if set, is the address to serve /metrics on.
	Metrics string
	// Sniff captures ARP/NA frames on the namespace's interfaces.
	Sniff bool
	// SniffDevs limits sniffing to these interfaces (default: all up).
	SniffDevs []string
	// Heal deletes the route-cache entry a cache-contradicts-route
	// finding names (that entry only).
	Heal bool
	// CachePoll is the IPv6 cache poll interval (DefaultCachePoll if 0;
	// negative disables polling).
	CachePoll time.Duration
	// NeighPoll is how often the neighbour tables are dumped for entries
	// that changed unannounced (DefaultNeighPoll if 0; negative
	// disables): the kernel announces neither an entry going INCOMPLETE
	// nor one written so administratively.
	NeighPoll time.Duration
	// DropsPoll is how often other processes' netlink sockets are
	// checked for drops (DefaultDropsPoll if 0; negative disables).
	DropsPoll time.Duration
	// RcvBuf is the netlink receive buffer (monitor.DefaultRcvBuf if 0).
	RcvBuf int
	// Engine configures the detectors; KernelRelease is filled from
	// uname when empty.
	Engine watch.Config
	// Out receives events and findings.
	Out io.Writer
	// Status, if set, receives a one-line progress display, rewritten
	// in place every second (use it only on a terminal).
	Status io.Writer
	// Quiet prints findings only, not events.
	Quiet bool
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
	// OnFinding, if set, sees every finding, under the watch's lock (on
	// the goroutine that delivered the record or ran the timer).
	OnFinding func(watch.Finding)
	// OnRecord, if set, sees every record that passes the filters
	// (initial-dump records excluded), under the watch's lock.
	OnRecord func(trace.Record)
	// OnHeal, if set, learns the outcome of each --heal deletion.
	OnHeal func(entry trace.Record, err error)
	// OnMetricsListen, if set, is told the address metrics are served on
	// (useful with port 0).
	OnMetricsListen func(addr string)
	// Ready, if set, is closed once the subscription (and sniffer) run.
	Ready chan<- struct{}
}

// Metrics are the Prometheus collectors of one watch, on their own
// registry.
type Metrics struct {
	// Registry holds the collectors; serve it with promhttp.HandlerFor.
	Registry *prometheus.Registry
	events   *prometheus.CounterVec
	findings *prometheus.CounterVec
	drops    prometheus.CounterFunc
	resyncs  prometheus.CounterFunc
	heals    *prometheus.CounterVec
}

// newMetrics registers the collectors; stats reads the subscription.
func newMetrics(stats func() monitor.Stats) *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry()}
	m.events = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "raceroute_watch_events_total", Help: "Records handled, by kind (route, cache, neigh, link, addr, frame, overflow, resync).",
	}, []string{"kind"})
	m.findings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "raceroute_watch_findings_total", Help: "Findings reported, by detector.",
	}, []string{"detector"})
	m.drops = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "raceroute_watch_netlink_drops_total", Help: "Netlink receive overflows (ENOBUFS).",
	}, func() float64 { return float64(stats().Drops) })
	m.resyncs = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "raceroute_watch_resyncs_total", Help: "Resynchronisations after overflows.",
	}, func() float64 { return float64(stats().Resyncs) })
	m.heals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "raceroute_watch_heals_total", Help: "Route-cache deletions tried by --heal, by result (ok, failed).",
	}, []string{"result"})
	m.Registry.MustRegister(m.events, m.findings, m.drops, m.resyncs, m.heals)
	for _, d := range []string{watch.DetectorNonAtomic, watch.DetectorKernelChurn, watch.DetectorCache, watch.DetectorCacheAsRoute, watch.DetectorNetlinkDrops, watch.DetectorNeighStuck, watch.DetectorNeighEvicted, watch.DetectorGARPIgnored, watch.DetectorMACChange, watch.DetectorOverflow} {
		m.findings.WithLabelValues(d)
	}
	return m
}

// kindLabels are the metrics' names of the kinds of records, indexed by
// kindIndex.
var kindLabels = [...]string{"route", "cache", "neigh", "link", "addr", "frame", "overflow", "resync", "other"}

// kindIndex indexes a record's kind in kindLabels.
func kindIndex(r *trace.Record) int {
	switch r.Kind {
	case trace.KindRoute:
		if r.Route.Cloned {
			return 1
		}
		return 0
	case trace.KindNeigh:
		return 2
	case trace.KindLink:
		return 3
	case trace.KindAddr:
		return 4
	case trace.KindFrame:
		return 5
	case trace.KindOverflow:
		return 6
	case trace.KindResync:
		return 7
	}
	return 8
}

// kindLabel names a record's kind for metrics.
func kindLabel(r *trace.Record) string { return kindLabels[kindIndex(r)] }

// Run watches until ctx is done. It returns nil on a clean stop.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Engine == (watch.Config{}) {
		cfg.Engine = watch.DefaultConfig()
	}
	if cfg.Engine.KernelRelease == "" {
		var u unix.Utsname
		if err := unix.Uname(&u); err == nil {
			cfg.Engine.KernelRelease = unix.ByteSliceToString(u.Release[:])
		}
	}
	poll := cfg.CachePoll
	if poll == 0 {
		poll = DefaultCachePoll
	}
	if poll < 0 {
		poll = 0
	}
	neighPoll := cfg.NeighPoll
	if neighPoll == 0 {
		neighPoll = DefaultNeighPoll
	}
	if neighPoll < 0 {
		neighPoll = 0
	}
	var ns *netns.NS
	if cfg.Netns != "" {
		var err error
		if ns, err = netns.Open(cfg.Netns); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		defer ns.Close()
	}
	cfg.Engine.Live = true
	if cfg.Engine.NeighTimers == nil {
		cfg.Engine.NeighTimers = &sysctlTimers{ns: ns}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The subscription hands each record to the watcher on its own
	// goroutine (no channel hop per record: on a storm that hop, with the
	// wake-ups it costs, was a large part of the watch's CPU). Output is
	// buffered and flushed whenever the subscription has delivered every
	// record received so far, so a storm costs one write per burst while
	// a quiet host sees each event at once. The timers, the sniffer and
	// the status line reach the watcher under its lock.
	out, closeOut := pipeOut(cfg.Out, log)
	defer closeOut()
	bw := bufio.NewWriterSize(out, 64<<10)
	cfg.Out = bw
	var sub *monitor.Subscription
	w := &watcher{cfg: cfg, log: log, engine: watch.NewEngine(cfg.Engine), enc: json.NewEncoder(bw), bw: bw, cancel: cancel}
	w.metrics = newMetrics(func() monitor.Stats { return sub.Stats() })
	defer func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		bw.Flush()
	}()
	sub, err := monitor.Subscribe(ctx, monitor.Options{
		Options: nl.Options{Netns: cfg.Netns, Families: cfg.Families},
		RcvBuf:  cfg.RcvBuf, CachePoll: poll, NeighPoll: neighPoll, EmitInitial: true, Logger: log,
		Handler: func(r trace.Record) { w.deliver(ctx, &r) },
		Routes:  w,
		Idle:    w.flush,
	})
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer sub.Close()
	if cfg.Dev != "" {
		if err := checkDev(ctx, sub, cfg.Dev, cfg.Netns); err != nil {
			return err
		}
	}
	w.start(ctx)
	metrics := w.metrics

	var srvErr chan error
	if cfg.Metrics != "" {
		ln, err := net.Listen("tcp", cfg.Metrics)
		if err != nil {
			return fmt.Errorf("watch: metrics listener on %s: %w", cfg.Metrics, err)
		}
		srv := &http.Server{
			Handler:           metricsMux(metrics.Registry),
			ReadHeaderTimeout: 5 * time.Second,
		}
		srvErr = make(chan error, 1)
		go func() { srvErr <- srv.Serve(ln) }()
		defer func() {
			sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
			defer c()
			srv.Shutdown(sctx)
		}()
		log.Info("serving metrics", "addr", ln.Addr().String())
		if cfg.OnMetricsListen != nil {
			cfg.OnMetricsListen(ln.Addr().String())
		}
	}

	frames := make(chan trace.Record, 1024)
	var waitSniff func() error
	if cfg.Sniff {
		fams := map[int]bool{}
		for _, f := range cfg.Families {
			fams[f] = true
		}
		waitSniff, err = frame.Sniff(ctx, frame.SniffOptions{
			Netns: cfg.Netns, Devs: cfg.SniffDevs, IPv4: fams[4], IPv6: fams[6], Logger: log,
		}, func(r trace.Record) {
			select {
			case frames <- r:
			case <-ctx.Done():
			}
		})
		if err != nil {
			return fmt.Errorf("watch: %w", err)
		}
	}

	if cfg.Heal {
		writer, err := write.NewRouteWriter(nl.Options{Netns: cfg.Netns})
		if err != nil {
			return fmt.Errorf("watch --heal: %w", err)
		}
		defer writer.Close()
		w.mu.Lock()
		w.writer = writer
		w.mu.Unlock()
	}
	if cfg.DropsPoll >= 0 {
		interval := cfg.DropsPoll
		if interval == 0 {
			interval = DefaultDropsPoll
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.pollDrops(ctx, ns, interval)
		}()
		defer func() { cancel(); <-done }()
	}
	if cfg.Ready != nil {
		close(cfg.Ready)
	}

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var status <-chan time.Time
	if cfg.Status != nil {
		st := time.NewTicker(time.Second)
		defer st.Stop()
		status = st.C
	}
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-sub.Done():
			// The subscription ends with the context's error when the
			// watch is stopped: that is a clean stop.
			if err := sub.Err(); err != nil && ctx.Err() == nil {
				runErr = fmt.Errorf("watch: %w", err)
			}
			break loop
		case err := <-srvErr:
			runErr = fmt.Errorf("watch: metrics server: %w", err)
			break loop
		case r := <-frames:
			w.deliver(ctx, &r)
			w.flush()
		case now := <-tick.C:
			w.mu.Lock()
			if w.err == nil {
				w.err = w.findings(ctx, w.engine.Tick(now))
			}
			w.mu.Unlock()
			w.flush()
		case <-status:
			st := sub.Stats()
			w.mu.Lock()
			fmt.Fprintf(cfg.Status, "\r\033[Kevents %d  drops %d  resyncs %d  findings %d  routes %d  neighbours %d",
				st.Events, st.Drops, st.Resyncs, w.nfindings, len(w.engine.Routes()), len(w.engine.Neighs()))
			w.mu.Unlock()
		}
	}
	cancel()
	// Stop the subscription before reading the watcher's error: its
	// goroutine may still be delivering.
	sub.Close()
	w.mu.Lock()
	if w.err != nil && runErr == nil {
		runErr = w.err
	}
	w.mu.Unlock()
	if errors.Is(runErr, syscall.EPIPE) {
		// The output's reader went (`watch | head`): the watch ends
		// there, as a write to a closed pipe on fd 1 would end it by
		// SIGPIPE, without an error of its own.
		log.Debug("output closed by its reader")
		runErr = nil
	}
	if cfg.Status != nil {
		fmt.Fprint(cfg.Status, "\r\033[K")
	}
	if waitSniff != nil {
		if err := waitSniff(); err != nil && runErr == nil {
			runErr = fmt.Errorf("watch: %w", err)
		}
	}
	return runErr
}

// checkDev fails with ErrNoSuchDev when the namespace has no interface
// named dev.
func checkDev(ctx context.Context, sub *monitor.Subscription, dev, netns string) error {
	v, err := sub.View(ctx)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	var names []string
	for _, l := range v.LinkList() {
		if l.Name == dev {
			return nil
		}
		names = append(names, l.Name)
	}
	where := "this network namespace"
	if netns != "" {
		where = "network namespace " + strconv.Quote(netns)
	}
	return fmt.Errorf("watch: --dev %q: %w in %s (it has %s)", dev, ErrNoSuchDev, where, strings.Join(names, ", "))
}

// metricsMux serves the registry on /metrics.
func metricsMux(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// watcher holds the state of Run's loop. Its methods that take mu are
// safe on any goroutine; the others need mu held.
type watcher struct {
	mu        sync.Mutex
	cfg       Config
	log       *slog.Logger
	engine    *watch.Engine
	metrics   *Metrics
	writer    *write.RouteWriter
	enc       *json.Encoder
	bw        *bufio.Writer
	cancel    context.CancelFunc
	buf       []byte
	times     timeCache // formats the times of JSON lines
	nfindings int
	kinds     [len(kindLabels)]prometheus.Counter // by kindIndex, made on first use
	// started is set once Run's checks passed; records delivered before
	// are observed (the engine keeps the subscription's routes) but
	// their output is held in early, in order, so that a watch refused
	// for a bad --dev prints nothing.
	started bool
	early   []observed
	// err is the first error of handling or writing; it stops the watch.
	err error
}

// deliver handles one record under the lock; the first error stops the
// watch (Run returns it).
func (w *watcher) deliver(ctx context.Context, r *trace.Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.started {
		w.early = append(w.early, observed{*r, w.observe(r)})
		return
	}
	w.handleOrStop(ctx, r)
}

// observed is a record the engine observed and what it found, its
// output held back (watcher.early).
type observed struct {
	rec trace.Record
	fs  []watch.Finding
}

// handleOrStop handles r unless the watch already failed; it needs mu.
func (w *watcher) handleOrStop(ctx context.Context, r *trace.Record) {
	if w.err != nil {
		return
	}
	w.stopOn(w.handle(ctx, r))
}

// stopOn stops the watch on the first error; it needs mu.
func (w *watcher) stopOn(err error) {
	if w.err = err; err != nil {
		w.cancel()
	}
}

// RoutesOn gives the subscription the engine's routes
// (monitor.RouteKeeper): the engine's view is the watch's one route
// table.
func (w *watcher) RoutesOn(ifindex int) []trace.Route {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.engine.RoutesOn(ifindex)
}

// start handles the records held back until Run's checks passed.
func (w *watcher) start(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started = true
	for i := range w.early {
		if w.err == nil {
			w.stopOn(w.output(ctx, &w.early[i].rec, w.early[i].fs))
		}
	}
	w.early = nil
	w.flushLocked()
}

// flush writes the buffered output out.
func (w *watcher) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

func (w *watcher) flushLocked() {
	if w.err != nil || w.bw.Buffered() == 0 {
		return
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("watch: write: %w", err)
		w.cancel()
	}
}

// handle feeds one record to the engine and prints it if it passes the
// filters. It may change *r (its time loses the monotonic reading).
func (w *watcher) handle(ctx context.Context, r *trace.Record) error {
	return w.output(ctx, r, w.observe(r))
}

// observe counts r and has the engine observe it; it returns the
// engine's findings.
func (w *watcher) observe(r *trace.Record) []watch.Finding {
	k := kindIndex(r)
	c := w.kinds[k]
	if c == nil {
		c = w.metrics.events.WithLabelValues(kindLabels[k])
		w.kinds[k] = c
	}
	c.Inc()
	// The detectors measure on the wall-clock times the output carries,
	// without the monotonic reading, so that a replay of the output
	// measures the same gaps to the nanosecond.
	r.Time = r.Time.Round(0)
	return w.engine.Observe(*r)
}

// output prints r (as the filters and --quiet allow) and the findings
// observing it made.
func (w *watcher) output(ctx context.Context, r *trace.Record, fs []watch.Finding) error {
	if (!r.Initial || w.cfg.JSON) && Match(r, w.cfg.Dev, w.cfg.Prefix) {
		if w.cfg.OnRecord != nil && !r.Initial {
			w.cfg.OnRecord(*r)
		}
		if !w.cfg.Quiet {
			if err := w.print(r); err != nil {
				return err
			}
		}
	}
	return w.findings(ctx, fs)
}

// findings prints, counts and (with --heal) acts on findings.
func (w *watcher) findings(ctx context.Context, fs []watch.Finding) error {
	for _, f := range fs {
		w.nfindings++
		w.metrics.findings.WithLabelValues(f.Detector).Inc()
		if w.cfg.OnFinding != nil {
			w.cfg.OnFinding(f)
		}
		var err error
		if w.cfg.JSON {
			err = w.enc.Encode(struct {
				Finding watch.Finding `json:"finding"`
			}{f})
		} else {
			_, err = fmt.Fprintln(w.cfg.Out, "finding: "+f.String())
		}
		if err != nil {
			return fmt.Errorf("watch: write finding: %w", err)
		}
		if w.writer != nil && f.Heal != nil && f.Heal.Kind == trace.KindRoute && f.Heal.Route.Cloned {
			herr := w.heal(ctx, f.Heal.Route)
			if err := w.printHeal(*f.Heal, herr); err != nil {
				return err
			}
		}
	}
	return nil
}

// errStillThere is a heal the kernel acknowledged without doing it.
var errStillThere = errors.New("the kernel acknowledged the delete but the entry is still there: " +
	"ip6_del_cached_rt() (net/ipv6/route.c) reports success when the first route of the node it searches has no such " +
	"exception, which is the case for an exception left under a less specific prefix once a more specific route covers its " +
	"destination; it goes when it expires, or with its parent route (a replace of the parent flushes the parent's exceptions)")

// heal deletes one route-cache entry and checks, with a cache dump, that
// it is gone: the kernel's ACK does not prove it.
func (w *watcher) heal(ctx context.Context, entry trace.Route) error {
	if _, err := w.writer.Write(ctx, write.OpDelete, []trace.Route{entry}); err != nil {
		return err
	}
	left, err := nl.DumpCache(ctx, nl.Options{Netns: w.cfg.Netns})
	if err != nil {
		return fmt.Errorf("verify heal: %w", err)
	}
	for _, r := range left {
		if r.Dst == entry.Dst && r.Table == entry.Table && r.Gateway == entry.Gateway && r.Ifindex == entry.Ifindex {
			return errStillThere
		}
	}
	return nil
}

// printHeal reports a heal's outcome.
func (w *watcher) printHeal(entry trace.Record, herr error) error {
	line := iproute2.FormatMonitor(entry, false)
	result := "ok"
	if herr != nil {
		result = "failed"
		w.log.Warn("heal failed", "entry", line, "err", herr)
	}
	w.metrics.heals.WithLabelValues(result).Inc()
	if w.cfg.OnHeal != nil {
		w.cfg.OnHeal(entry, herr)
	}
	var err error
	switch {
	case w.cfg.JSON:
		h := struct {
			Entry string `json:"entry"`
			OK    bool   `json:"ok"`
			Error string `json:"error,omitempty"`
		}{Entry: strings.TrimSpace(line), OK: herr == nil}
		if herr != nil {
			h.Error = herr.Error()
		}
		err = w.enc.Encode(struct {
			Heal any `json:"heal"`
		}{h})
	case herr != nil:
		_, err = fmt.Fprintf(w.cfg.Out, "heal failed: %s: %v\n", strings.TrimSpace(line), herr)
	default:
		_, err = fmt.Fprintf(w.cfg.Out, "heal: deleted %s\n", strings.TrimSpace(line))
	}
	if err != nil {
		return fmt.Errorf("watch: write heal result: %w", err)
	}
	return nil
}

// print writes one event.
func (w *watcher) print(r *trace.Record) error {
	var err error
	if w.cfg.JSON {
		w.buf = w.times.appendJSON(w.buf[:0], r)
	} else {
		// iproute2.AppendMonitor's timestamp, from the watcher's cache.
		b := w.buf[:0]
		if !r.Time.IsZero() {
			b = append(w.times.appendMonitorTime(append(b, '['), r.Time), "] "...)
		}
		w.buf = append(iproute2.AppendMonitor(b, r, false), '\n')
	}
	_, err = w.cfg.Out.Write(w.buf)
	if err != nil {
		return fmt.Errorf("watch: write event: %w", err)
	}
	return nil
}

// Match reports whether a record passes the --dev and --prefix filters.
// Frames, overflows and resyncs pass the prefix filter; routes pass it
// when their destination lies inside the prefix.
func Match(r *trace.Record, dev string, prefix netip.Prefix) bool {
	var d string
	var addr netip.Prefix
	switch r.Kind {
	case trace.KindRoute:
		d, addr = r.Route.Dev, r.Route.Dst
	case trace.KindNeigh:
		d = r.Neigh.Dev
		if r.Neigh.Addr.IsValid() {
			addr = netip.PrefixFrom(r.Neigh.Addr, r.Neigh.Addr.BitLen())
		}
	case trace.KindAddr:
		d, addr = r.Addr.Dev, r.Addr.Prefix
	case trace.KindLink:
		d = r.Link.Name
	case trace.KindFrame:
		d = r.Frame.Dev
	default:
		return true
	}
	if dev != "" && d != dev {
		return false
	}
	if prefix.IsValid() && addr.IsValid() {
		return prefix.Bits() <= addr.Bits() && prefix.Contains(addr.Addr())
	}
	if prefix.IsValid() && r.Kind == trace.KindLink {
		return false
	}
	return true
}

// Package kselftest runs the kernel selftests' cases (selftests/cases) on
// the running kernel, in network namespaces of its own: every command of
// a case runs as the script runs it, `ip` with an argument vector (never
// a shell) inside the case's namespace, and each assertion is judged as
// the script judges it. The namespaces are removed when the run ends,
// also when it fails.
//
// Two departures from the scripts, reported with every run (Adapted):
// a dummy device is a veth pair whose peer stays up in a namespace of
// its own (machines without the dummy module), and `ip link set DEV
// carrier on|off` on such a device sets that peer up or down (the veth's
// carrier follows its peer). Commands the script runs in its own
// namespace (the host's) are not run: such a case is reported as not run.
package kselftest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"raceroute/live/netns"
	"raceroute/selftests/cases"
)

// Options steer a live run.
type Options struct {
	// Tag starts every namespace name (default "rrst"); a random part
	// follows, so that runs never share a namespace.
	Tag string
	// CommandTimeout bounds each command (default 30 s).
	CommandTimeout time.Duration
	Log            *slog.Logger
}

// Outcome is what a step gave on the running kernel.
type Outcome struct {
	Step *cases.Step
	Exit int
	// Out is the output as a command substitution keeps it.
	Out string
}

// Result is one case on the running kernel.
type Result struct {
	Case *cases.Case
	// NotRun says why the case was not run ("" when it was).
	NotRun string
	// Broken names the set-up step that failed, when one did: the
	// script would have stopped there.
	Broken string
	// Outcomes are the steps' results that the case asserts something
	// of, in order.
	Outcomes []Outcome
	// Agree: every assertion of the script held.
	Agree bool
	// Why names the first assertion that did not.
	Why string
}

// Report is a file's cases on the running kernel.
type Report struct {
	File    *cases.File
	Results []Result
	// Adapted says how the run departs from the script.
	Adapted []string
	Elapsed time.Duration
}

// Run runs f's cases in order on the running kernel.
func Run(ctx context.Context, f *cases.File, opts Options) (rep *Report, err error) {
	if opts.Tag == "" {
		opts.Tag = "rrst"
	}
	if opts.CommandTimeout == 0 {
		opts.CommandTimeout = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("random namespace names: %w", err)
	}
	r := &runner{ctx: ctx, opts: opts, tag: opts.Tag + "-" + hex.EncodeToString(b[:]), file: f}
	r.reset()
	defer func() {
		if cerr := r.teardown(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	start := time.Now()
	rep = &Report{File: f}
	for i := range f.Cases {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rep.Results = append(rep.Results, r.runCase(&f.Cases[i]))
	}
	rep.Elapsed = time.Since(start)
	if r.dummies > 0 {
		rep.Adapted = append(rep.Adapted, fmt.Sprintf("%d dummy devices were made as veth pairs, NOARP and not multicast as a dummy is, whose peer is up in a namespace of its own (this run does not use the dummy module); `carrier on|off` on one sets its peer up|down; after each link change the run waits for the operstate a dummy has at once", r.dummies))
	}
	return rep, nil
}

type runner struct {
	ctx  context.Context
	opts Options
	tag  string
	file *cases.File
	// real maps the script's namespace names to this run's.
	real    map[string]string
	created []string
	// spare holds the peers of dummy devices; peers maps (namespace,
	// device) to its peer's name there.
	spare string
	peers map[[2]string]*dummy
	// settle are the dummies whose link just changed; settleAddr the
	// IPv6 addresses just added on dummies that are up (namespace,
	// address).
	settle     [][2]string
	settleAddr [][2]string
	npeer      int
	n          int
	dummies    int
	// unknown is set when a case was not run or broke: the cases after
	// it, until a fresh environment, do not see the state the script's
	// do.
	unknown string
	ping6   string
}

func (r *runner) reset() {
	r.real = map[string]string{}
	r.peers = map[[2]string]*dummy{}
	r.spare = ""
}

// teardown deletes every namespace of the run.
func (r *runner) teardown() error {
	var errs []error
	for _, n := range r.created {
		if err := netns.Delete(n); err != nil {
			errs = append(errs, err)
		}
	}
	r.created = nil
	r.reset()
	return errors.Join(errs...)
}

// newNS makes a namespace of this run.
func (r *runner) newNS() (string, error) {
	r.n++
	real := fmt.Sprintf("%s-%d", r.tag, r.n)
	ns, err := netns.Create(real)
	if err != nil {
		return "", err
	}
	r.created = append(r.created, real)
	return real, ns.Close()
}

// netns makes a fresh namespace for the script's name.
func (r *runner) netns(name string) (string, error) {
	real, err := r.newNS()
	if err != nil {
		return "", err
	}
	if old, ok := r.real[name]; ok {
		if err := netns.Delete(old); err != nil {
			return "", err
		}
	}
	r.real[name] = real
	return real, nil
}

func (r *runner) runCase(c *cases.Case) Result {
	res := Result{Case: c}
	for i := range c.Steps {
		s := &c.Steps[i]
		if s.Role == cases.RoleEnv || s.Role == cases.RoleNetns {
			continue
		}
		if why := r.unsupported(s); why != "" {
			res.NotRun = why
			r.unknown = "was not run"
			return res
		}
	}
	if r.unknown != "" && !startsFresh(c) {
		res.NotRun = "it continues from a case that " + r.unknown
		return res
	}
	broke := func(why string) Result {
		res.Broken, res.Agree = why, false
		r.unknown = "broke"
		return res
	}
	res.Agree = true
	for i := range c.Steps {
		s := &c.Steps[i]
		switch s.Role {
		case cases.RoleEnv:
			if err := r.env(s.Env); err != nil {
				return broke(err.Error())
			}
			r.unknown = ""
			continue
		case cases.RoleNetns:
			if _, err := r.netns(s.NS); err != nil {
				return broke(err.Error())
			}
			r.unknown = ""
			continue
		}
		exit, out, err := r.exec(s)
		if err != nil {
			return broke(fmt.Sprintf("line %d (%s): %v", s.Line, s.Cmd, err))
		}
		if s.Want.Kind == cases.WantNone {
			continue
		}
		o := Outcome{Step: s, Exit: exit, Out: out}
		res.Outcomes = append(res.Outcomes, o)
		if s.Want.Met(exit, out) {
			continue
		}
		if s.Role == cases.RoleSetup {
			return broke(fmt.Sprintf("the set-up step at line %d (%s) wants %s, got exit %d, output %q", s.Line, s.Cmd, s.Want, exit, cases.Collapse(out)))
		}
		if res.Agree {
			res.Agree = false
			res.Why = fmt.Sprintf("the assertion at line %d (%s) wants %s, got exit %d, output %q", s.Line, s.Cmd, s.Want, exit, cases.Collapse(out))
		}
	}
	return res
}

// startsFresh reports whether c begins in a fresh environment.
func startsFresh(c *cases.Case) bool {
	for _, s := range c.Steps {
		if s.Role == cases.RoleEnv || s.Role == cases.RoleNetns {
			return true
		}
	}
	return false
}

// env tears everything down and runs the environment's steps.
func (r *runner) env(name string) error {
	e, ok := r.file.Env(name)
	if !ok {
		return fmt.Errorf("no env %s", name)
	}
	if err := r.teardown(); err != nil {
		return err
	}
	for i := range e.Steps {
		s := &e.Steps[i]
		if s.Role == cases.RoleNetns {
			if _, err := r.netns(s.NS); err != nil {
				return err
			}
			continue
		}
		if why := r.unsupported(s); why != "" {
			return fmt.Errorf("env %s, line %d: %s", name, s.Line, why)
		}
		exit, out, err := r.exec(s)
		switch {
		case err != nil:
			return fmt.Errorf("env %s, line %d (%s): %w", name, s.Line, s.Cmd, err)
		case s.Role == cases.RoleSetup && (s.Want.Kind == cases.WantNone && exit != 0 || !s.Want.Met(exit, out)):
			return fmt.Errorf("env %s, line %d (%s): exit %d", name, s.Line, s.Cmd, exit)
		}
	}
	return nil
}

// unsupported says why a step cannot run here ("" when it can).
func (r *runner) unsupported(s *cases.Step) string {
	pipe, err := s.Pipeline()
	if err != nil {
		return err.Error()
	}
	w := pipe[0]
	if len(w) == 0 {
		return "an empty command"
	}
	for _, f := range pipe[1:] {
		if _, err := cases.ParseFilter(f); err != nil {
			return err.Error()
		}
	}
	if w[0] == "sleep" && len(pipe) == 1 {
		if _, err := strconv.ParseFloat(strings.Join(w[1:], ""), 64); err != nil {
			return "sleep " + strings.Join(w[1:], " ")
		}
		return ""
	}
	if _, err := exec.LookPath(r.binary(w[0])); err != nil {
		return fmt.Sprintf("%s is not a program here (a function of the script's lib.sh?)", w[0])
	}
	if s.NS == "" && !(len(w) >= 2 && w[0] == "ip" && w[1] == "netns") {
		return fmt.Sprintf("the script runs `%s` in its own namespace: here that would be this host's", s.Cmd)
	}
	return ""
}

func (r *runner) binary(name string) string {
	if name != "ping6" {
		return name
	}
	if r.ping6 == "" {
		// the script's `which ping6 || which ping`
		r.ping6 = "ping6"
		if _, err := exec.LookPath("ping6"); err != nil {
			r.ping6 = "ping"
		}
	}
	return r.ping6
}

// substitute puts this run's namespace names for the script's.
func (r *runner) substitute(w []string) []string {
	out := make([]string, len(w))
	for i, x := range w {
		if real, ok := r.real[x]; ok && nsPosition(w, i) {
			x = real
		}
		out[i] = x
	}
	return out
}

// nsPosition reports whether word i of an ip command is a namespace's
// name: after -netns or -n, after `netns` (ip link set DEV netns NS),
// and after `ip netns exec|add|del|delete`. Elsewhere a word that equals
// a namespace's name is the script's own (`peer` in `type veth peer
// name veth2`, a namespace the scripts call "peer").
func nsPosition(w []string, i int) bool {
	if i == 0 {
		return false
	}
	switch w[i-1] {
	case "-netns", "-n", "netns":
		return true
	case "exec", "add", "del", "delete":
		return i >= 2 && w[i-2] == "netns"
	}
	return false
}

// exec runs a step's command and returns its exit status and output
// after the pipeline's filters. An error means it could not be run.
func (r *runner) exec(s *cases.Step) (int, string, error) {
	pipe, err := s.Pipeline()
	if err != nil {
		return 0, "", err
	}
	w := pipe[0]
	if w[0] == "sleep" {
		sec, _ := strconv.ParseFloat(strings.Join(w[1:], ""), 64)
		t := time.NewTimer(time.Duration(sec * float64(time.Second)))
		defer t.Stop()
		select {
		case <-r.ctx.Done():
			return 0, "", r.ctx.Err()
		case <-t.C:
		}
		return 0, "", nil
	}
	var filters []cases.Filter
	for _, seg := range pipe[1:] {
		f, err := cases.ParseFilter(seg)
		if err != nil {
			return 0, "", err
		}
		filters = append(filters, f)
	}
	real := ""
	if s.NS != "" {
		var ok bool
		if real, ok = r.real[s.NS]; !ok {
			return 0, "", fmt.Errorf("namespace %s was not made", s.NS)
		}
	}
	argv, err := r.adapt(real, r.substitute(w))
	if err != nil {
		return 0, "", err
	}
	var exit int
	var out string
	for _, a := range argv {
		if exit, out, err = r.run(a); err != nil {
			return 0, "", err
		}
		if exit != 0 {
			break
		}
	}
	if exit == 0 {
		if err := r.settleAll(); err != nil {
			return 0, "", err
		}
	}
	r.settle, r.settleAddr = r.settle[:0], r.settleAddr[:0]
	out, exit = cases.RunPipeline(filters, out, exit)
	return exit, cases.Output(out), nil
}

// adapt turns a command into the argument vectors to run: in its
// namespace, with a dummy device made as a veth pair and its carrier
// set through the peer.
func (r *runner) adapt(ns string, w []string) ([][]string, error) {
	in := func(w []string) []string {
		if ns == "" {
			return w
		}
		if w[0] == "ip" {
			return append([]string{"ip", "-netns", ns}, w[1:]...)
		}
		return append([]string{"ip", "netns", "exec", ns, r.binary(w[0])}, w[1:]...)
	}
	if w[0] != "ip" || ns == "" {
		return [][]string{in(w)}, nil
	}
	obj, verb, args := ipParts(w)
	switch {
	case obj == "link" && verb == "add" && len(args) >= 3 && args[len(args)-2] == "type" && args[len(args)-1] == "dummy":
		name := args[0]
		if name == "name" {
			name = args[1]
		}
		if r.spare == "" {
			real, err := r.newNS()
			if err != nil {
				return nil, err
			}
			r.spare = real
		}
		r.npeer++
		r.dummies++
		peer := fmt.Sprintf("rrpeer%d", r.npeer)
		r.peers[[2]string{ns, name}] = &dummy{peer: peer, peerUp: true}
		// A dummy is NOARP (no DAD: its addresses and their routes are
		// there at once) and not multicast (dummy_setup()).
		return [][]string{
			{"ip", "-netns", ns, "link", "add", "name", name, "type", "veth", "peer", "name", peer, "netns", r.spare},
			{"ip", "-netns", r.spare, "link", "set", peer, "up"},
			{"ip", "-netns", ns, "link", "set", "dev", name, "arp", "off", "multicast", "off"},
		}, nil
	case obj == "address" && (verb == "delete" || verb == "flush"):
		dev, addr := devAddr(args)
		if d, ok := r.peers[[2]string{ns, dev}]; ok {
			d.addrs = slices.DeleteFunc(d.addrs, func(a string) bool { return verb == "flush" || a == addr })
		}
	case obj == "address" && verb == "add":
		// addrconf inserts an address's local route from its DAD work
		// (addrconf_dad_work -> addrconf_dad_completed ->
		// ipv6_ifa_notify(RTM_NEWADDR) -> ip6_ins_rt(), net/ipv6/addrconf.c,
		// 6.12), queued by inet6_addr_add() and run after the request's
		// ACK, even on a NOARP device: on a loaded machine a command right
		// after `ip -6 address add` can run before it. A dummy's run
		// waits for the local route, as the script's authors saw it.
		dev, addr := devAddr(args)
		if d, ok := r.peers[[2]string{ns, dev}]; ok && addr != "" {
			d.addrs = append(d.addrs, addr)
			if d.up && d.peerUp {
				r.settleAddr = append(r.settleAddr, [2]string{ns, addr})
			}
		}
	case obj == "link" && verb == "set":
		a := args
		if len(a) > 0 && a[0] == "dev" {
			a = a[1:]
		}
		if len(a) == 3 && a[1] == "carrier" {
			if d, ok := r.peers[[2]string{ns, a[0]}]; ok {
				state := map[string]string{"on": "up", "off": "down"}[a[2]]
				if state == "" {
					return nil, fmt.Errorf("carrier %s", a[2])
				}
				d.peerUp = state == "up"
				r.settle = append(r.settle, [2]string{ns, a[0]})
				r.settleAddrs(ns, d)
				return [][]string{{"ip", "-netns", r.spare, "link", "set", d.peer, state}}, nil
			}
		}
		if len(a) == 2 && (a[1] == "up" || a[1] == "down") {
			if d, ok := r.peers[[2]string{ns, a[0]}]; ok {
				d.up = a[1] == "up"
				r.settle = append(r.settle, [2]string{ns, a[0]})
				r.settleAddrs(ns, d)
			}
		}
	}
	return [][]string{in(w)}, nil
}

// devAddr finds the device and the IPv6 address (without its length) of
// an `ip address` command's arguments.
func devAddr(args []string) (dev, addr string) {
	for i, a := range args {
		switch {
		case a == "dev" && i+1 < len(args):
			dev = args[i+1]
		case addr == "" && strings.Contains(a, ":"):
			addr, _, _ = strings.Cut(a, "/")
		}
	}
	return dev, addr
}

// sleep waits d, or until the run is cancelled.
func (r *runner) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.ctx.Done():
		return r.ctx.Err()
	case <-t.C:
		return nil
	}
}

// dummy is a dummy device made as a veth pair.
type dummy struct {
	peer       string
	up, peerUp bool
	addrs      []string // the IPv6 addresses added on it
}

// settleAddrs has the run wait for the local routes of d's addresses
// once d is up with carrier (addrconf inserts them from its DAD work
// after NETDEV_UP or NETDEV_CHANGE, too).
func (r *runner) settleAddrs(ns string, d *dummy) {
	if !d.up || !d.peerUp {
		return
	}
	for _, a := range d.addrs {
		r.settleAddr = append(r.settleAddr, [2]string{ns, a})
	}
}

// settleAll waits until the kernel has seen the link changes of the
// dummies just changed: a veth's operstate (and with it what addrconf
// does at NETDEV_CHANGE) follows its carrier through linkwatch, later;
// a dummy's is there at once.
func (r *runner) settleAll() error {
	defer func() { r.settle, r.settleAddr = r.settle[:0], r.settleAddr[:0] }()
	for _, k := range r.settleAddr {
		// Best effort: a kernel that never inserts the route (what a
		// case may test) is left to the case's own assertion.
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
			_, out, err := r.run([]string{"ip", "-netns", k[0], "-6", "route", "show", "table", "local", k[1]})
			if err != nil {
				return err
			}
			if strings.TrimSpace(out) != "" {
				break
			}
			if err := r.sleep(5 * time.Millisecond); err != nil {
				return err
			}
		}
	}
	for _, k := range r.settle {
		d := r.peers[k]
		// a veth without carrier is DOWN (NO-CARRIER), as a dummy with
		// carrier off is
		want := "DOWN"
		if d.up && d.peerUp {
			want = "UP"
		}
		deadline := time.Now().Add(2 * time.Second)
		for {
			_, out, err := r.run([]string{"ip", "-netns", k[0], "-o", "link", "show", "dev", k[1]})
			if err != nil {
				return err
			}
			if m := reState.FindStringSubmatch(out); m != nil && m[1] == want {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the dummy %s (a veth pair here) did not reach operstate %s within 2 s: %s", k[1], want, strings.TrimSpace(out))
			}
			if err := r.sleep(5 * time.Millisecond); err != nil {
				return err
			}
		}
	}
	return nil
}

var reState = regexp.MustCompile(` state (\S+) `)

// ipParts returns an ip command's object, verb and arguments, spelled
// out.
func ipParts(w []string) (string, string, []string) {
	i := 1
	for i < len(w) && strings.HasPrefix(w[i], "-") {
		i++
	}
	if i+1 >= len(w) {
		return "", "", nil
	}
	obj, _ := cases.Abbrev(w[i], "route", "address", "link", "neighbour", "rule", "netns")
	verb, _ := cases.Abbrev(w[i+1], "add", "append", "prepend", "replace", "change", "delete", "flush", "get", "list", "show", "set")
	return obj, verb, w[i+2:]
}

// run executes one argument vector and returns its exit status and
// standard output.
func (r *runner) run(argv []string) (int, string, error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.opts.CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	exit := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ctx.Err() != nil {
			return 0, "", fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
		}
		exit = ee.ExitCode()
	}
	r.opts.Log.Debug("ran", "argv", argv, "exit", exit, "stdout", stdout.String(), "stderr", stderr.String())
	return exit, stdout.String(), nil
}

// Package keepalived runs keepalived itself as an ARP sender of the
// lab's segment (package lab/segment): an ARP sender of preset
// keepalived is Debian's /usr/sbin/keepalived, run in the sender's
// namespace as the only VRRP router of its instance, so that it becomes
// MASTER for the sender's address at the sender's start and sends its
// own gratuitous ARPs (vrrp_garp_master_repeat 5 at once, 5 more
// vrrp_garp_master_delay 5 s later: its defaults, which the preset
// models).
//
// Timing: keepalived starts while the hosts are built, before the move
// gives the sender's interface the address, held in FAULT by a tracked
// file (track_file, weight 0: a non-zero value is a fault). At the
// sender's start minus its master-down interval (Down) the lab writes 0
// to the file: keepalived leaves FAULT for BACKUP, hears no master, and
// becomes MASTER when its master-down timer expires (3 x advert_int +
// skew, RFC 5798 6.4.2; advert_int 0.1 s, VRRPv3: 300 ms), at the
// sender's start. What is left between the scenario's time and its
// first frame is keepalived's reaction to the file (inotify) and its
// timer's resolution: the run's notes say how much it was, and the
// properties are judged on the frames as they came. On becoming MASTER
// keepalived adds its virtual address, which the move already added
// (the address stays; keepalived sends its frames).
package keepalived

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"raceroute/kernel"
	"raceroute/lab/liverun"
	"raceroute/live/netns"
	"raceroute/trace"
)

// priority is the VRRP priority the lab's keepalived runs with: the
// highest a non-owner may have (255 is the address owner's, RFC 5798).
const priority = 254

// advert is its advert_int, and Down its master-down interval:
// 3 x advert_int + (256 - priority) x advert_int / 256 in whole
// centiseconds (keepalived's VRRP_TIMER_SKEW for VRRPv3: 0 here).
const (
	advert = 100 * time.Millisecond
	Down   = 3*advert + (256-priority)*(advert/(10*time.Millisecond))/256*(10*time.Millisecond)
)

// ready is how long keepalived gets to start and enter FAULT.
const ready = 10 * time.Second

// stopWait is how long keepalived gets to leave MASTER and exit after
// SIGTERM before it is killed.
const stopWait = 5 * time.Second

// label is the story label of the peer's actions.
const label = "[KEEPALIVED]"

// ValidName reports whether a name (an interface's) can go into
// keepalived's configuration as it is: its parser splits on white space
// and braces and takes '#' and '!' for comments.
func ValidName(n string) bool {
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return n != ""
}

// validPath reports whether a path can go into keepalived's
// configuration as it is.
func validPath(p string) bool {
	return ValidName(strings.ReplaceAll(p, "/", "_"))
}

// Config is one keepalived to run.
type Config struct {
	// Binary is keepalived's path (liverun.Host.Keepalived).
	Binary string
	// NS is the namespace it runs in, Host the scenario host that is.
	NS   *netns.NS
	Host string
	// Sender is the scenario's ARP sender it plays.
	Sender string
	// Iface is the interface it sends on, Addr the virtual address it
	// takes over.
	Iface string
	Addr  netip.Prefix
	// VRID is its virtual router id (1 to 255): one of its own per
	// sender, since two keepalived senders of one segment are two VRRP
	// instances, not one election.
	VRID int
	// Rec records its actions.
	Rec *liverun.Recorder
}

// Peer is one keepalived the lab runs.
type Peer struct {
	c    Config
	cmd  *exec.Cmd
	dir  string
	out  *lockedBuffer
	done chan struct{}
	// gate is the tracked file that holds it in FAULT until opened.
	gate string

	mu sync.Mutex
	// target is when the scenario's sender starts (OpenAt); opened when
	// the gate was opened (zero before).
	target, opened time.Time
	timer          *time.Timer
}

// lockedBuffer is a goroutine-safe output buffer.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

const conf = `# raceroute lab: ARP sender %[1]s (preset keepalived)
track_file gate {
	file %[6]s
}
global_defs {
	router_id raceroute-lab
	# keepalived's defaults, written out: the preset's frames
	vrrp_garp_master_repeat 5
	vrrp_garp_master_delay 5
	vrrp_garp_interval 0
	vrrp_garp_master_refresh 0
}
vrrp_instance lab {
	state BACKUP
	interface %[2]s
	virtual_router_id %[7]d
	priority %[3]d
	version 3
	advert_int %.2[4]f
	track_file {
		gate weight 0
	}
	virtual_ipaddress {
		%[5]s dev %[2]s
	}
}
`

// Start starts keepalived for c, held in FAULT. Stop ends it, whatever
// happens after.
func Start(c Config) (*Peer, error) {
	if !ValidName(c.Iface) {
		return nil, fmt.Errorf("keepalived for %s: interface name %q cannot be written into its configuration", c.Sender, c.Iface)
	}
	p := &Peer{c: c, out: &lockedBuffer{}, done: make(chan struct{})}
	dir, err := tempDir()
	if err != nil {
		return nil, fmt.Errorf("keepalived for %s: %w", c.Sender, err)
	}
	fail := func(err error) (*Peer, error) {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("keepalived for %s: %w", c.Sender, err)
	}
	if !validPath(dir) {
		return fail(fmt.Errorf("temporary directory %q: keepalived's configuration takes paths of letters, digits, '/', '-', '_' and '.' only (set TMPDIR)", dir))
	}
	p.dir, p.gate = dir, filepath.Join(dir, "gate")
	if err := os.WriteFile(p.gate, []byte("1\n"), 0o600); err != nil {
		return fail(err)
	}
	confPath := filepath.Join(dir, "keepalived.conf")
	text := fmt.Sprintf(conf, c.Sender, c.Iface, priority, advert.Seconds(), c.Addr, p.gate, c.VRID)
	if err := os.WriteFile(confPath, []byte(text), 0o600); err != nil {
		return fail(err)
	}
	// -n: no daemon; -l: log to the console; -D: detailed log; -P: VRRP
	// only; its own pid files, so that it runs beside any other.
	args := []string{"-n", "-l", "-D", "-P", "-f", confPath, "-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid")}
	// Not CommandContext: Stop ends it (SIGTERM, so that it leaves
	// MASTER as it does), whatever ended the run.
	p.cmd = exec.Command(c.Binary, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// A PID namespace of its own, keepalived its init: when keepalived
	// dies the kernel kills its VRRP process too (zap_pid_ns_processes()),
	// so that Pdeathsig (netns.Start) leaves nothing of it behind when the
	// lab is killed outright; its VRRP process would else outlive it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	if err := c.NS.Start(p.cmd); err != nil {
		return fail(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	c.Rec.Act(time.Now(), c.Host, label, "%s: keepalived (pid %d) started on %s for %s, held in FAULT by %s: %s %s",
		c.Sender, p.cmd.Process.Pid, c.Iface, c.Addr, p.gate, c.Binary, strings.Join(args, " "))
	return p, nil
}

// WaitFault waits until keepalived says it entered FAULT (it has read
// its configuration and the tracked file), or exited.
func (p *Peer) WaitFault(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ready)
	defer cancel()
	tk := time.NewTicker(5 * time.Millisecond)
	defer tk.Stop()
	for {
		if strings.Contains(p.out.String(), "entering FAULT state") {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("keepalived for %s exited before it was ready: %v: %s", p.c.Sender, p.cmd.ProcessState, strings.TrimSpace(p.out.String()))
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("keepalived for %s did not enter FAULT (held by %s) within %s: %s", p.c.Sender, p.gate, ready, strings.TrimSpace(p.out.String()))
			}
			return ctx.Err()
		case <-tk.C:
		}
	}
}

// OpenAt lets keepalived out of FAULT Down before the sender's start,
// start after t0, so that it becomes MASTER then.
func (p *Peer) OpenAt(t0 time.Time, start time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = t0.Add(start)
	p.timer = time.AfterFunc(time.Until(p.target.Add(-Down)), func() {
		if err := p.open(); err != nil {
			p.c.Rec.Act(time.Now(), p.c.Host, label, "%s: %v", p.c.Sender, err)
			return
		}
		p.c.Rec.Act(time.Now(), p.c.Host, label, "%s: tracked file set to 0: keepalived leaves FAULT, MASTER expected %s later, at the sender's start t=%.3f", p.c.Sender, Down, start.Seconds())
	})
}

// open writes 0 to the tracked file (a rename, so that keepalived reads
// it whole).
func (p *Peer) open() error {
	tmp := p.gate + ".new"
	if err := os.WriteFile(tmp, []byte("0\n"), 0o600); err != nil {
		return err
	}
	now := time.Now()
	if err := os.Rename(tmp, p.gate); err != nil {
		return err
	}
	p.mu.Lock()
	p.opened = now
	p.mu.Unlock()
	return nil
}

// Times are when the sender was to start (OpenAt) and when the gate was
// opened (zero before).
func (p *Peer) Times() (target, opened time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.target, p.opened
}

// Stop ends keepalived: SIGTERM (it sends a priority-0 advertisement
// and removes its address, as on a real failover), SIGKILL to it and its
// VRRP process if it has not exited after stopWait; then removes its
// files.
func (p *Peer) Stop() error {
	p.mu.Lock()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	var errs []error
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		errs = append(errs, err)
	}
	select {
	case <-p.done:
	case <-time.After(stopWait):
		if b, err := os.ReadFile(filepath.Join(p.dir, "vrrp.pid")); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		p.cmd.Process.Kill()
		<-p.done
		errs = append(errs, fmt.Errorf("keepalived (pid %d) did not exit %s after SIGTERM: killed", p.cmd.Process.Pid, stopWait))
	}
	if err := os.RemoveAll(p.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Log is keepalived's state changes and announcements, from its output.
func (p *Peer) Log() []string {
	var out []string
	for _, line := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(line, "Entering") || strings.Contains(line, "gratuitous ARPs") || strings.Contains(line, "VIPs") {
			// keepalived prefixes its console lines with a date.
			if _, rest, ok := strings.Cut(line, ": "); ok {
				line = rest
			}
			out = append(out, strings.TrimSpace(line))
		}
	}
	return out
}

// RecordLog records what keepalived logged, as an action of the lab.
func (p *Peer) RecordLog() {
	p.c.Rec.Act(time.Now(), p.c.Host, label, "%s: keepalived logged: %s", p.c.Sender, strings.Join(p.Log(), "; "))
}

// Frames are the gratuitous ARPs for the peer's address with mac (its
// interface's), in time order, as host seer received them (the sender's
// own sniffer does not see what keepalived's packet socket sends).
func (p *Peer) Frames(events []liverun.Event, seer string, mac kernel.MAC) []time.Time {
	var out []time.Time
	for _, e := range events {
		r := e.Record()
		if r == nil || r.Kind != trace.KindFrame || e.Host != seer {
			continue
		}
		if r.Frame.Gratuitous() && r.Frame.SenderIP == p.c.Addr.Addr() && r.Frame.SenderHW == mac {
			out = append(out, e.At())
		}
	}
	return out
}

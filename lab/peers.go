package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"raceroute/kernel"
	"raceroute/model/neigh"
	"raceroute/trace"
)

// Real peers: an ARP sender of preset keepalived is keepalived itself
// (Debian's /usr/sbin/keepalived), run in the sender's namespace as the
// only VRRP router of its instance, so that it becomes MASTER for the
// sender's address at the sender's start and sends its own gratuitous
// ARPs (vrrp_garp_master_repeat 5 at once, 5 more vrrp_garp_master_delay
// 5 s later: its defaults, which the preset models).
//
// Timing: keepalived starts while the hosts are built, before the move
// gives the sender's interface the address, held in FAULT by a tracked
// file (track_file, weight 0: a non-zero value is a fault). At the
// sender's start minus its master-down interval the lab writes 0 to
// the file: keepalived leaves FAULT for BACKUP, hears no master, and
// becomes MASTER when its master-down timer expires (3 x advert_int +
// skew, RFC 5798 6.4.2; advert_int 0.1 s, VRRPv3: 300 ms), at the
// sender's start. What is left between the scenario's time and its
// first frame is keepalived's reaction to the file (inotify) and its
// timer's resolution: the run's notes say how much it was, and the
// properties are judged on the frames as they came. On becoming MASTER
// keepalived adds its virtual address, which the move already added
// (the address stays; keepalived sends its frames).

// kaPriority is the VRRP priority the lab's keepalived runs with: the
// highest a non-owner may have (255 is the address owner's, RFC 5798).
const kaPriority = 254

// kaAdvert is its advert_int, and kaDown its master-down interval:
// 3 x advert_int + (256 - priority) x advert_int / 256 in whole
// centiseconds (keepalived's VRRP_TIMER_SKEW for VRRPv3: 0 here).
const (
	kaAdvert = 100 * time.Millisecond
	kaDown   = 3*kaAdvert + (256-kaPriority)*(kaAdvert/(10*time.Millisecond))/256*(10*time.Millisecond)
)

// kaReady is how long keepalived gets to start and enter FAULT.
const kaReady = 10 * time.Second

// findKeepalived returns the path of keepalived.
func findKeepalived() (path, problem string) {
	if p, err := exec.LookPath("keepalived"); err == nil {
		return p, ""
	}
	const deb = "/usr/sbin/keepalived" // root's PATH may lack /usr/sbin
	if fi, err := os.Stat(deb); err == nil && fi.Mode().IsRegular() {
		return deb, ""
	}
	return "", "keepalived is not installed (install keepalived; raceroute install-deps does)"
}

// kaIfName reports whether an interface name can go into keepalived's
// configuration as it is: its parser splits on white space and braces
// and takes '#' and '!' for comments.
func kaIfName(n string) bool {
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return n != ""
}

// prepareKeepalived says whether sender s runs as keepalived on h, and
// why it cannot.
func (r *neighRun) prepareKeepalived(s neigh.Sender, h Host) []string {
	use := s.Preset == "keepalived" && s.Unicast < 0
	r.keepalived = append(r.keepalived, use)
	if !use {
		return nil
	}
	var why []string
	if h.Keepalived == "" {
		why = append(why, fmt.Sprintf("ARP sender %s (preset keepalived) runs keepalived itself: %s", s.Name, h.KeepalivedProblem))
	}
	if f := r.cfg.Ifaces[s.Iface]; !kaIfName(f.Name) {
		why = append(why, fmt.Sprintf("ARP sender %s (preset keepalived): interface name %q cannot be written into keepalived's configuration (letters, digits, '-', '_' and '.' only)", s.Name, f.Name))
	}
	return why
}

// kaPeer is one keepalived the lab runs.
type kaPeer struct {
	sender int
	host   string
	cmd    *exec.Cmd
	dir    string
	out    *lockedBuffer
	done   chan struct{}
	// gate is the tracked file that holds it in FAULT until opened.
	gate string
	// target is when the scenario's sender starts; opened when the gate
	// was opened (zero before).
	target time.Time
	mu     sync.Mutex
	opened time.Time
	timer  *time.Timer
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

const kaConf = `# raceroute lab: ARP sender %[1]s (preset keepalived)
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

// startKeepalived starts a keepalived for every keepalived sender,
// waits until each is held in FAULT, and sets the time each is let go
// (its sender's start minus kaDown); each is stopped by the function it
// appends to stops. It moves t=0 later when a sender starts too soon
// for that.
func (l *neighLive) startKeepalived(ctx context.Context, stops *[]func() error) error {
	var peers []*kaPeer
	for i, use := range l.keepalived {
		if !use {
			continue
		}
		p, err := l.startKA(i)
		if err != nil {
			return err
		}
		peers = append(peers, p)
		l.peers = append(l.peers, p)
		*stops = append(*stops, p.stop)
	}
	for _, p := range peers {
		if err := p.waitFault(ctx); err != nil {
			return err
		}
	}
	// The initial entries are made after this, up to settle before t=0.
	if t := time.Now().Add(l.settle); t.After(l.t0) {
		l.t0 = t
	}
	const margin = 20 * time.Millisecond
	for _, p := range peers {
		if soonest := time.Now().Add(margin + kaDown); l.t0.Add(l.senderAt[p.sender][0]).Before(soonest) {
			l.t0 = soonest.Add(-l.senderAt[p.sender][0])
		}
	}
	for _, p := range peers {
		p.target = l.t0.Add(l.senderAt[p.sender][0])
		s := l.cfg.Senders[p.sender]
		p.mu.Lock()
		p.timer = time.AfterFunc(time.Until(p.target.Add(-kaDown)), func() {
			if err := p.open(); err != nil {
				l.rec.act(time.Now(), p.host, "[KEEPALIVED]", "%s: %v", s.Name, err)
				return
			}
			l.rec.act(time.Now(), p.host, "[KEEPALIVED]", "%s: tracked file set to 0: keepalived leaves FAULT, MASTER expected %s later, at the sender's start t=%.3f", s.Name, kaDown, l.senderAt[p.sender][0].Seconds())
		})
		p.mu.Unlock()
	}
	return nil
}

// startKA starts keepalived for sender i, held in FAULT.
func (l *neighLive) startKA(i int) (*kaPeer, error) {
	s := l.cfg.Senders[i]
	f := l.cfg.Ifaces[s.Iface]
	p := &kaPeer{sender: i, host: l.cfg.Hosts[f.Host].Name, out: &lockedBuffer{}, done: make(chan struct{})}
	dir, err := os.MkdirTemp("", "raceroute-keepalived-")
	if err != nil {
		return nil, fmt.Errorf("keepalived for %s: %w", s.Name, err)
	}
	fail := func(err error) (*kaPeer, error) {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("keepalived for %s: %w", s.Name, err)
	}
	if !kaPath(dir) {
		return fail(fmt.Errorf("temporary directory %q: keepalived's configuration takes paths of letters, digits, '/', '-', '_' and '.' only (set TMPDIR)", dir))
	}
	p.dir, p.gate = dir, filepath.Join(dir, "gate")
	if err := os.WriteFile(p.gate, []byte("1\n"), 0o600); err != nil {
		return fail(err)
	}
	conf := filepath.Join(dir, "keepalived.conf")
	// A virtual router id of its own per sender (1 to neigh.MaxSenders):
	// two keepalived senders of one segment are two VRRP instances, not
	// one election.
	text := fmt.Sprintf(kaConf, s.Name, f.Name, kaPriority, kaAdvert.Seconds(), l.addrOf(s.Iface, s.IP), p.gate, 1+i)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return fail(err)
	}
	// -n: no daemon; -l: log to the console; -D: detailed log; -P: VRRP
	// only; its own pid files, so that it runs beside any other.
	args := []string{"-n", "-l", "-D", "-P", "-f", conf, "-p", filepath.Join(dir, "keepalived.pid"), "-r", filepath.Join(dir, "vrrp.pid")}
	// Not CommandContext: stop ends it (SIGTERM, so that it leaves
	// MASTER as it does), whatever ended the run.
	p.cmd = exec.Command(l.host.Keepalived, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// A PID namespace of its own, keepalived its init: when keepalived
	// dies the kernel kills its VRRP process too (zap_pid_ns_processes()),
	// so that Pdeathsig (netns.Start) leaves nothing of it behind when the
	// lab is killed outright; its VRRP process would else outlive it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}
	if err := l.ns[f.Host].Start(p.cmd); err != nil {
		return fail(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	l.rec.act(time.Now(), p.host, "[KEEPALIVED]", "%s: keepalived (pid %d) started on %s for %s, held in FAULT by %s: %s %s",
		s.Name, p.cmd.Process.Pid, f.Name, l.addrOf(s.Iface, s.IP), p.gate, l.host.Keepalived, strings.Join(args, " "))
	return p, nil
}

// kaPath reports whether a path can go into keepalived's configuration
// as it is.
func kaPath(p string) bool {
	return kaIfName(strings.ReplaceAll(p, "/", "_"))
}

// waitFault waits until keepalived says it entered FAULT (it has read
// its configuration and the tracked file), or exited.
func (p *kaPeer) waitFault(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, kaReady)
	defer cancel()
	tk := time.NewTicker(5 * time.Millisecond)
	defer tk.Stop()
	for {
		if strings.Contains(p.out.String(), "entering FAULT state") {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("keepalived exited before it was ready: %v: %s", p.cmd.ProcessState, strings.TrimSpace(p.out.String()))
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("keepalived did not enter FAULT (held by %s) within %s: %s", p.gate, kaReady, strings.TrimSpace(p.out.String()))
			}
			return ctx.Err()
		case <-tk.C:
		}
	}
}

// open writes 0 to the tracked file (a rename, so that keepalived reads
// it whole).
func (p *kaPeer) open() error {
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

// kaStopWait is how long keepalived gets to leave MASTER and exit after
// SIGTERM before it is killed.
const kaStopWait = 5 * time.Second

// stop ends keepalived: SIGTERM (it sends a priority-0 advertisement
// and removes its address, as on a real failover), SIGKILL to it and its
// VRRP process if it has not exited after kaStopWait; then removes its
// files, and records what it logged.
func (p *kaPeer) stop() error {
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
	case <-time.After(kaStopWait):
		if b, err := os.ReadFile(filepath.Join(p.dir, "vrrp.pid")); err == nil {
			var pid int
			if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 1 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		p.cmd.Process.Kill()
		<-p.done
		errs = append(errs, fmt.Errorf("keepalived (pid %d) did not exit %s after SIGTERM: killed", p.cmd.Process.Pid, kaStopWait))
	}
	if err := os.RemoveAll(p.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// log is keepalived's state changes and announcements, from its output.
func (p *kaPeer) log() []string {
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

// kaFrames are the gratuitous ARPs for the sender's address with its
// MAC, in time order, as another host of the segment received them (the
// sender's own sniffer does not see what keepalived's packet socket
// sends).
func (l *neighLive) kaFrames(p *kaPeer, events []Event) []time.Time {
	s := l.cfg.Senders[p.sender]
	mac := kernel.MACFrom6(l.cfg.Ifaces[s.Iface].MAC)
	seer := ""
	for _, h := range l.cfg.Hosts {
		if h.Name != p.host {
			seer = h.Name
			break
		}
	}
	var out []time.Time
	for _, e := range events {
		r := e.record
		if r == nil || r.Kind != trace.KindFrame || e.Host != seer {
			continue
		}
		if r.Frame.Gratuitous() && r.Frame.SenderIP == l.cfg.IPs[s.IP] && r.Frame.SenderHW == mac {
			out = append(out, e.at)
		}
	}
	return out
}

// keepalivedNotes say, for each keepalived, when its first frame came
// against the scenario's time, and what it sent and logged.
func (l *neighLive) keepalivedNotes() []string {
	var notes []string
	events := l.rec.list()
	end := l.t0.Add(l.horizon)
	for _, p := range l.peers {
		s := l.cfg.Senders[p.sender]
		frames := l.kaFrames(p, events)
		n := 0
		for _, at := range frames {
			if !at.After(end) {
				n++
			}
		}
		model := len(s.Packets)
		if len(frames) == 0 {
			notes = append(notes, fmt.Sprintf("ARP sender %s is keepalived: it sent no gratuitous ARP for %s before the horizon (the scenario: %d from t=%.3f); keepalived logged: %s",
				s.Name, l.cfg.IPs[s.IP], model, p.target.Sub(l.t0).Seconds(), strings.Join(p.log(), "; ")))
			continue
		}
		first := frames[0]
		p.mu.Lock()
		opened := p.opened
		p.mu.Unlock()
		notes = append(notes, fmt.Sprintf("ARP sender %s is keepalived: its first gratuitous ARP for %s came at t=%.3f, %+.1f ms from the scenario's t=%.3f (let out of FAULT at t=%.3f, its master-down interval %s before the scenario's time; the rest is keepalived's reaction and timer); %d of its frames came before the horizon (the scenario's: %d of %d)",
			s.Name, l.cfg.IPs[s.IP], first.Sub(l.t0).Seconds(), float64(first.Sub(p.target))/float64(time.Millisecond), p.target.Sub(l.t0).Seconds(), opened.Sub(l.t0).Seconds(), kaDown,
			n, l.modelFramesBefore(p.sender, end), model))
	}
	return notes
}

// modelFramesBefore counts the scenario's frames of sender i before end.
func (l *neighLive) modelFramesBefore(i int, end time.Time) int {
	n := 0
	for _, at := range l.senderAt[i] {
		if !l.t0.Add(at).After(end) {
			n++
		}
	}
	return n
}

// keepalivedSender is the sender goroutine of a keepalived sender:
// keepalived sends on its own timer (let go by startKeepalived); at the
// horizon this records what keepalived logged.
func (l *neighLive) keepalivedSender(ctx context.Context, i int) error {
	s := l.cfg.Senders[i]
	host := l.cfg.Hosts[l.cfg.Ifaces[s.Iface].Host].Name
	<-ctx.Done()
	for _, p := range l.peers {
		if p.sender == i {
			l.rec.act(time.Now(), host, "[KEEPALIVED]", "%s: keepalived logged: %s", s.Name, strings.Join(p.log(), "; "))
		}
	}
	return nil
}

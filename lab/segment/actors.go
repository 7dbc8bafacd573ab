package segment

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"raceroute/explore"
	"raceroute/kernel"
	"raceroute/lab/liverun"
	"raceroute/live/frame"
	"raceroute/live/netns"
	"raceroute/model/neigh"
	"raceroute/trace"
)

// The actors of a neigh scenario, live: ARP senders, flows, and the
// echo servers the TCP flows talk to.

// sender plays ARP sender i at its times (offsets from t=0): iputils
// arping for an arping preset, keepalived's own timer for the keepalived
// preset (peers.go), else its frames over AF_PACKET.
func (l *neighLive) sender(ctx context.Context, i int, at []time.Duration) error {
	s := l.cfg.Senders[i]
	f := l.cfg.Ifaces[s.Iface]
	ns := l.ns[f.Host]
	hostName := l.cfg.Hosts[f.Host].Name
	ip := l.cfg.IPs[s.IP]
	if l.keepalived[i] {
		return l.keepalivedSender(ctx, i)
	}
	if l.arping[i] {
		mode := "-A" // gratuitous replies, target MAC = sender MAC
		if s.Preset == "arping-U" {
			mode = "-U" // gratuitous requests
		}
		args := []string{mode, "-I", f.Name, "-c", fmt.Sprint(len(s.Packets)), ip.String()}
		if err := liverun.SleepUntil(ctx, l.t0.Add(at[0])); err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, l.host.Arping, args...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		l.rec.Act(time.Now(), hostName, "[ARPING]", "%s: arping %s (preset %s)", s.Name, strings.Join(args, " "), s.Preset)
		if err := ns.Start(cmd); err != nil {
			return err
		}
		err := cmd.Wait()
		status := "exited"
		if err != nil {
			status = err.Error()
		}
		l.rec.Act(time.Now(), hostName, "[ARPING]", "%s: arping %s: %s", s.Name, status, strings.Join(strings.Fields(out.String()), " "))
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("arping %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
		}
		return nil
	}
	snd, err := frame.NewSender(ns.Name, f.Name)
	if err != nil {
		return err
	}
	defer snd.Close()
	mac := kernel.MACFrom6(f.MAC)
	eth := frame.Broadcast
	if s.Unicast >= 0 {
		eth = kernel.MACFrom6(l.cfg.Ifaces[s.Unicast].MAC)
	}
	for k, p := range s.Packets {
		var b []byte
		switch p.Op {
		case neigh.OpRequest:
			b, err = frame.ARP(trace.FrameARPRequest, eth, mac, ip, kernel.MAC{}, ip)
		default:
			tha := mac
			switch p.THA {
			case neigh.THABroadcast:
				tha = frame.Broadcast
			case neigh.THAZero:
				tha = kernel.MAC{}
			}
			b, err = frame.ARP(trace.FrameARPReply, eth, mac, ip, tha, ip)
		}
		if err != nil {
			return err
		}
		if err := liverun.SleepUntil(ctx, l.t0.Add(at[k])); err != nil {
			return err
		}
		if err := snd.Send(b); err != nil {
			return err
		}
		l.rec.Act(time.Now(), hostName, "[SEND]", "%s: frame %d of %d sent on %s", s.Name, k+1, len(s.Packets), f.Name)
	}
	return nil
}

// flowLog is what a flow sent and what came back.
type flowLog struct {
	start time.Duration
	rng   *rand.Rand

	mu    sync.Mutex
	sends []flowSend
	// synLost: a SYN went unanswered (the connection took 1 s or more).
	synLost bool
}

// flowSend is one transmission of a flow: when it left, whether and
// when its reply came.
type flowSend struct {
	at       time.Time
	answered bool
	// delivered: the transmission itself reached the owner (its reply
	// came without a retransmission); at is then the time it was sent,
	// else the time the retransmission that got through was answered.
	delivered bool
}

func (fl *flowLog) add(s flowSend) {
	fl.mu.Lock()
	fl.sends = append(fl.sends, s)
	fl.mu.Unlock()
}

// A connect() that takes TCP_TIMEOUT_INIT (1 s, include/net/tcp.h) or
// more was answered only after the kernel retransmitted its SYN.
const synRetransmit = time.Second

// retransmits reads the kernel's count of the connection's
// retransmitted segments (TCP_INFO tcpi_total_retrans).
func retransmits(c net.Conn) (uint32, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0, fmt.Errorf("not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n uint32
	var gerr error
	err = rc.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil {
			gerr = err
			return
		}
		n = info.Total_retrans
	})
	return n, errors.Join(err, gerr)
}

// interval is flow f's gap after k unanswered transmissions (the
// model's Flow.interval), plus a drawn jitter.
func (l *neighLive) interval(fi, k int) time.Duration {
	f := l.cfg.Flows[fi]
	iv := time.Duration(f.Every) * time.Millisecond
	for j := 0; j < k && f.Backoff > 1; j++ {
		iv *= time.Duration(f.Backoff)
		if f.MaxEvery > 0 && iv >= time.Duration(f.MaxEvery)*time.Millisecond {
			iv = time.Duration(f.MaxEvery) * time.Millisecond
			break
		}
	}
	if f.Jitter > 0 {
		iv += time.Duration(l.flows[fi].rng.Int64N(int64(f.Jitter)+1)) * time.Millisecond
	}
	return iv
}

// source is flow fi's source address: an address its interface owns at
// the start, or none (the kernel chooses).
func (l *neighLive) source(fi int) netip.Addr {
	f := l.cfg.Flows[fi]
	for ip, own := range l.cfg.Owner {
		if own == f.Iface {
			return l.cfg.IPs[ip]
		}
	}
	return netip.Addr{}
}

// flow plays flow fi until the horizon.
func (l *neighLive) flow(ctx context.Context, fi int) error {
	f := l.cfg.Flows[fi]
	fl := l.flows[fi]
	fl.rng = rand.New(rand.NewPCG(uint64(fi), uint64(fl.start)))
	if err := liverun.SleepUntil(ctx, l.t0.Add(fl.start)); err != nil {
		return err
	}
	if f.Proto == neigh.ProtoTCP {
		return l.tcpFlow(ctx, fi)
	}
	return l.icmpFlow(ctx, fi)
}

// tcpFlow connects to the echo server at the flow's address (the
// kernel sends and retransmits the SYNs), then writes an 8-byte message
// every interval and reads its echo.
func (l *neighLive) tcpFlow(ctx context.Context, fi int) error {
	f := l.cfg.Flows[fi]
	fl := l.flows[fi]
	iface := l.cfg.Ifaces[f.Iface]
	ns := l.ns[iface.Host]
	hostName := l.cfg.Hosts[iface.Host].Name
	dst := netip.AddrPortFrom(l.cfg.IPs[f.IP], labPort)
	tries := 0
	var conn net.Conn
	for conn == nil {
		start := time.Now()
		l.rec.Act(start, hostName, "[TCP]", "%s: connect to %s (SYN)", f.Name, dst)
		c, err := dialIn(ctx, ns, l.source(fi), dst)
		now := time.Now()
		switch {
		case err == nil:
			conn = c
			took := now.Sub(start)
			re, rerr := retransmits(c)
			if rerr != nil {
				c.Close()
				return rerr
			}
			if re == 0 && took < synRetransmit {
				fl.add(flowSend{at: start, answered: true, delivered: true})
			} else {
				fl.synLost = true
				fl.add(flowSend{at: start})
				fl.add(flowSend{at: now, answered: true, delivered: true})
			}
			l.rec.Act(now, hostName, "[TCP]", "%s: connected to %s after %.3f s (%d SYN retransmissions)", f.Name, dst, took.Seconds(), re)
		case ctx.Err() != nil:
			fl.add(flowSend{at: start})
			if now.Sub(start) >= synRetransmit {
				fl.synLost = true
			}
			return nil
		case errors.Is(err, syscall.ECONNREFUSED):
			// A RST is a reply: the segment reached a host that owns the
			// address but has no server on the port.
			fl.add(flowSend{at: start, answered: true, delivered: true})
			l.rec.Act(now, hostName, "[TCP]", "%s: %s refused the connection (RST)", f.Name, dst)
		default:
			fl.add(flowSend{at: start})
			fl.synLost = fl.synLost || now.Sub(start) >= synRetransmit
			l.rec.Act(now, hostName, "[TCP]", "%s: connect to %s failed: %v", f.Name, dst, err)
			tries++
		}
		if conn == nil {
			if err := liverun.SleepUntil(ctx, now.Add(l.interval(fi, tries))); err != nil {
				return nil
			}
		}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	// The echo reader: each message's echo, by sequence number. A message
	// whose echo came after the kernel retransmitted a segment of the
	// connection (TCP_INFO) was lost on its first transmission; its echo
	// closes the loss at its arrival.
	type pending struct {
		at      time.Time
		retrans uint32
	}
	var mu sync.Mutex
	sent := map[uint64]pending{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b [8]byte
		for {
			if _, err := io.ReadFull(conn, b[:]); err != nil {
				return
			}
			now := time.Now()
			re, err := retransmits(conn)
			if err != nil {
				return
			}
			seq := binary.BigEndian.Uint64(b[:])
			mu.Lock()
			p, ok := sent[seq]
			delete(sent, seq)
			mu.Unlock()
			if !ok {
				continue
			}
			if re == p.retrans {
				fl.add(flowSend{at: p.at, answered: true, delivered: true})
				continue
			}
			fl.add(flowSend{at: p.at})
			fl.add(flowSend{at: now, answered: true, delivered: true})
			l.rec.Act(now, hostName, "[TCP]", "%s: message %d echoed after %.3f s, after %d retransmissions (TCP_INFO)", f.Name, seq, now.Sub(p.at).Seconds(), re-p.retrans)
		}
	}()
	next := time.Now().Add(l.interval(fi, 0))
	for seq := uint64(1); ; seq++ {
		if err := liverun.SleepUntil(ctx, next); err != nil {
			break
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], seq)
		re, err := retransmits(conn)
		if err != nil {
			break
		}
		now := time.Now()
		mu.Lock()
		sent[seq] = pending{now, re}
		mu.Unlock()
		if _, err := conn.Write(b[:]); err != nil {
			if ctx.Err() == nil {
				l.rec.Act(time.Now(), hostName, "[TCP]", "%s: write: %v", f.Name, err)
			}
			break
		}
		next = now.Add(l.interval(fi, 0))
	}
	conn.Close()
	<-done
	mu.Lock()
	for _, p := range sent {
		fl.add(flowSend{at: p.at}) // never echoed
	}
	mu.Unlock()
	return nil
}

// dialIn connects to dst from a socket of namespace ns (source src if
// valid), as the kernel does it: its SYNs and their retransmissions.
func dialIn(ctx context.Context, ns *netns.NS, src netip.Addr, dst netip.AddrPort) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() error {
		d := net.Dialer{KeepAlive: -1}
		if src.IsValid() {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
		}
		var err error
		c, err = d.DialContext(ctx, "tcp4", dst.String())
		return err
	})
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) {
			return nil, se.Err
		}
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	return c, nil
}

// icmpFlow sends echo requests at the flow's times from a raw ICMP
// socket of the host and counts each one answered.
func (l *neighLive) icmpFlow(ctx context.Context, fi int) error {
	f := l.cfg.Flows[fi]
	fl := l.flows[fi]
	iface := l.cfg.Ifaces[f.Iface]
	ns := l.ns[iface.Host]
	hostName := l.cfg.Hosts[iface.Host].Name
	dst := l.cfg.IPs[f.IP]
	var pc *icmp.PacketConn
	err := ns.Do(func() error {
		var err error
		src := "0.0.0.0"
		if s := l.source(fi); s.IsValid() {
			src = s.String()
		}
		pc, err = icmp.ListenPacket("ip4:icmp", src)
		return err
	})
	if err != nil {
		return fmt.Errorf("icmp socket in %s: %w", ns.Name, err)
	}
	defer pc.Close()
	id := (os.Getpid() + fi) & 0xffff
	var mu sync.Mutex
	sent := map[int]time.Time{}
	answered := map[int]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, peer, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
				continue
			}
			e, ok := m.Body.(*icmp.Echo)
			if !ok || e.ID != id || peer.String() != dst.String() {
				continue
			}
			mu.Lock()
			if _, ok := sent[e.Seq]; ok {
				answered[e.Seq] = true
			}
			mu.Unlock()
		}
	}()
	k := 0
	for seq := 1; f.Count == 0 || seq <= int(f.Count); seq++ {
		b, err := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq & 0xffff, Data: []byte("raceroute lab")}}).Marshal(nil)
		if err != nil {
			return err
		}
		now := time.Now()
		mu.Lock()
		sent[seq&0xffff] = now
		mu.Unlock()
		if _, err := pc.WriteTo(b, &net.IPAddr{IP: net.IP(dst.AsSlice())}); err != nil {
			l.rec.Act(now, hostName, "[PING]", "%s: echo request %d: %v", f.Name, seq, err)
		}
		if f.Backoff > 1 {
			// Without replies the interval grows as the model's does.
			mu.Lock()
			if seq > 1 && !answered[(seq-1)&0xffff] {
				k++
			} else {
				k = 0
			}
			mu.Unlock()
		}
		if err := liverun.SleepUntil(ctx, now.Add(l.interval(fi, k))); err != nil {
			break
		}
	}
	// Replies in flight at the horizon: a grace of what a reply takes.
	time.Sleep(100 * time.Millisecond)
	pc.Close()
	<-done
	mu.Lock()
	defer mu.Unlock()
	lost := 0
	for seq, at := range sent {
		fl.add(flowSend{at: at, answered: answered[seq], delivered: answered[seq]})
		if !answered[seq] {
			lost++
		}
	}
	l.rec.Act(time.Now(), hostName, "[PING]", "%s: %d echo requests to %s, %d unanswered", f.Name, len(sent), dst, lost)
	return nil
}

// judgeBlackhole mirrors the model's longestLoss(): the longest stretch
// from a transmission that did not reach the owner to the next that
// did, the one still open at the end included.
func (l *neighLive) judgeBlackhole(wi int, end time.Time) (explore.Verdict, string) {
	w := l.cfg.Watches[wi]
	f := l.cfg.Flows[w.Flow]
	fl := l.flows[w.Flow]
	host := l.cfg.Hosts[l.cfg.Ifaces[f.Iface].Host].Name
	limit := time.Duration(w.Limit) * time.Millisecond
	fl.mu.Lock()
	sends := append([]flowSend(nil), fl.sends...)
	fl.mu.Unlock()
	sort.Slice(sends, func(i, j int) bool { return sends[i].at.Before(sends[j].at) })
	var since, worstFrom time.Time
	var worst time.Duration
	for _, s := range sends {
		if s.at.After(end) {
			break
		}
		if s.delivered {
			if !since.IsZero() && s.at.Sub(since) > worst {
				worst, worstFrom = s.at.Sub(since), since
			}
			since = time.Time{}
			continue
		}
		if since.IsZero() {
			since = s.at
		}
	}
	open := !since.IsZero() && end.Sub(since) > worst
	if open {
		worst, worstFrom = end.Sub(since), since
	}
	t := func(x time.Time) float64 { return x.Sub(l.t0).Seconds() }
	answered := 0
	for _, s := range sends {
		if s.answered {
			answered++
		}
	}
	seen := fmt.Sprintf("%d transmissions recorded, %d answered", len(sends), answered)
	switch {
	case worst <= limit && worst == 0:
		return explore.Holds, fmt.Sprintf("traffic from %s to %s (%s) was never lost: every transmission was answered without a retransmission (%s)", host, l.cfg.IPs[f.IP], f.Name, seen)
	case worst <= limit:
		return explore.Holds, fmt.Sprintf("traffic from %s to %s (%s) was lost for at most %.3f s in a row, from t=%.3f (limit %s; %s)", host, l.cfg.IPs[f.IP], f.Name, worst.Seconds(), t(worstFrom), limit, seen)
	case open:
		return explore.Violated, fmt.Sprintf("traffic from %s to %s (%s) has been lost since t=%.3f (%.3f s, limit %s) and still is at the end (%s)", host, l.cfg.IPs[f.IP], f.Name, t(worstFrom), worst.Seconds(), limit, seen)
	}
	return explore.Violated, fmt.Sprintf("traffic from %s to %s (%s) was lost for %.3f s in a row from t=%.3f (limit %s; %s)", host, l.cfg.IPs[f.IP], f.Name, worst.Seconds(), t(worstFrom), limit, seen)
}

// echoServer serves TCP echo on labPort in ns until stop.
func echoServer(ns *netns.NS, rec *liverun.Recorder, host string) (stop func() error, err error) {
	var ln net.Listener
	err = ns.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", labPort))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("echo server in %s: %w", ns.Name, err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			rec.Act(time.Now(), host, "[TCP]", "echo server: connection from %s", c.RemoteAddr())
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				io.Copy(c, c)
			}()
		}
	}()
	return func() error {
		err := ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		return err
	}, nil
}

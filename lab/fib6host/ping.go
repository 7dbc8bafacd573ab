package fib6host

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"raceroute/live/netns"
)

// pinger sends ICMPv6 echo requests from a raw socket of a fib6 host:
// each one a route lookup by the kernel, whose error (a reject route)
// comes back from sendto, and whose reply tells by its arrival
// interface which peer the route led to.
type pinger struct {
	t  *Topology
	pc *net.IPConn
	p6 *ipv6.PacketConn
	id int

	mu      sync.Mutex
	seq     int
	waiting map[int]chan pingReply
	done    chan struct{}
}

type pingReply struct {
	at  time.Time
	dev string
}

// pingResult is what became of one echo request.
type pingResult struct {
	sent  time.Time
	err   error // sendto's error: the lookup's verdict
	reply *pingReply
	wait  time.Duration
}

func (r pingResult) describe() string {
	switch {
	case r.err != nil:
		return "sendto: " + errnoText(r.err)
	case r.reply != nil:
		return fmt.Sprintf("reply through %s after %.3f ms", r.reply.dev, float64(r.reply.at.Sub(r.sent).Microseconds())/1000)
	}
	return fmt.Sprintf("no reply within %s", r.wait)
}

// RawICMPv6 opens a raw ICMPv6 socket in ns bound to src, with a
// receive buffer large enough for a stream's replies (8 MiB, forced
// past net.core.rmem_max: we are root).
func RawICMPv6(ns *netns.NS, src netip.Addr) (*net.IPConn, error) {
	var c *net.IPConn
	err := ns.Do(func() error {
		pc, err := net.ListenPacket("ip6:58", src.String())
		if err != nil {
			return err
		}
		c = pc.(*net.IPConn)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("icmpv6 socket in %s: %w", ns.Name, err)
	}
	rc, err := c.SyscallConn()
	if err == nil {
		var serr error
		err = rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20) })
		err = errors.Join(err, serr)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("icmpv6 socket in %s: receive buffer: %w", ns.Name, err)
	}
	return c, nil
}

// ErrnoName is a syscall error's name as the kernel has it
// (EHOSTUNREACH), or the error's text when it is not an errno.
func ErrnoName(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) {
		if n := unix.ErrnoName(en); n != "" {
			return n
		}
	}
	return err.Error()
}

// errnoText is ErrnoName with the errno's text: "EHOSTUNREACH (no route
// to host)".
func errnoText(err error) string {
	var en syscall.Errno
	if errors.As(err, &en) && unix.ErrnoName(en) != "" {
		return fmt.Sprintf("%s (%v)", ErrnoName(err), en)
	}
	return err.Error()
}

func newPinger(t *Topology) (*pinger, error) {
	p := &pinger{t: t, id: os.Getpid() & 0xffff, waiting: map[int]chan pingReply{}, done: make(chan struct{})}
	var err error
	if p.pc, err = RawICMPv6(t.Host, t.src); err != nil {
		return nil, err
	}
	p.p6 = ipv6.NewPacketConn(p.pc)
	if err := p.p6.SetControlMessage(ipv6.FlagInterface, true); err != nil {
		p.pc.Close()
		return nil, fmt.Errorf("icmpv6 socket in %s: %w", t.Host.Name, err)
	}
	go p.read()
	return p, nil
}

func (p *pinger) read() {
	defer close(p.done)
	buf := make([]byte, 1500)
	for {
		n, cm, _, err := p.p6.ReadFrom(buf)
		if err != nil {
			return
		}
		now := time.Now()
		m, err := icmp.ParseMessage(58, buf[:n])
		if err != nil || m.Type != ipv6.ICMPTypeEchoReply {
			continue
		}
		e, ok := m.Body.(*icmp.Echo)
		if !ok || e.ID != p.id {
			continue
		}
		dev := "?"
		if cm != nil {
			dev = p.t.byIdx[cm.IfIndex]
		}
		p.mu.Lock()
		ch := p.waiting[e.Seq]
		delete(p.waiting, e.Seq)
		p.mu.Unlock()
		if ch != nil {
			ch <- pingReply{at: now, dev: dev}
		}
	}
}

// ping sends one echo request to dst and waits up to wait for its reply.
func (p *pinger) ping(dst netip.Addr, wait time.Duration) pingResult {
	p.mu.Lock()
	p.seq = (p.seq + 1) & 0xffff
	seq := p.seq
	ch := make(chan pingReply, 1)
	p.waiting[seq] = ch
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.waiting, seq)
		p.mu.Unlock()
	}()
	b, _ := (&icmp.Message{Type: ipv6.ICMPTypeEchoRequest, Body: &icmp.Echo{ID: p.id, Seq: seq, Data: []byte("raceroute lab")}}).Marshal(nil)
	res := pingResult{sent: time.Now(), wait: wait}
	if _, err := p.pc.WriteTo(b, &net.IPAddr{IP: net.IP(dst.AsSlice())}); err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) {
			err = se.Err
		}
		res.err = err
		return res
	}
	select {
	case r := <-ch:
		res.reply = &r
	case <-time.After(wait):
	}
	return res
}

func (p *pinger) close() {
	p.pc.Close()
	<-p.done
}

package arpcase

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/kernel"
	"raceroute/lab/fuzz/fuzzcase"
	"raceroute/live/frame"
	"raceroute/live/netns"
	"raceroute/live/nl"
	"raceroute/model/neigh"
	"raceroute/trace"
)

// rtnetlink neighbour-table attributes (include/uapi/linux/neighbour.h),
// which golang.org/x/sys/unix does not name.
const (
	ndtaName               = 1
	ndtaParms              = 6
	ndtpaIfindex           = 1
	ndtpaBaseReachable     = 4
	ndtpaRetransTime       = 5
	ndtpaDelayProbeTime    = 7
	ndtpaUcastProbes       = 10
	ndtpaMcastProbes       = 11
	ndtpaLocktime          = 15
	rtmSetNeighTbl         = unix.RTM_SETNEIGHTBL
	sizeofNdtmsg           = 4
	arpTableName           = "arp_cache"
	udpDiscardPort         = 9
	arpPeerDev, arpRecvDev = "peer", "eth0"
)

// arpLab is one ARP case's two namespaces: recv with eth0, and the peer
// whose end of the veth sends the frames.
type arpLab struct {
	recv, peer *netns.NS
	c          *netlink.Conn // rtnetlink in recv
	ifindex    uint32
	tx         *frame.Sender
	udp        int // a UDP socket of recv's namespace, -1 when not open
}

func newARPLab(name string, c *arpCase) (l *arpLab, err error) {
	l = &arpLab{udp: -1}
	defer func() {
		if err != nil {
			err = errors.Join(err, l.close())
			l = nil
		}
	}()
	if l.recv, err = fuzzcase.NewNamespace(name + "-r"); err != nil {
		return l, err
	}
	if l.peer, err = fuzzcase.NewNamespace(name + "-p"); err != nil {
		return l, err
	}
	if err = l.recv.Veth(arpRecvDev, l.peer, arpPeerDev); err != nil {
		return l, err
	}
	if err = l.recv.SetMAC(arpRecvDev, recvMAC); err != nil {
		return l, err
	}
	if err = l.recv.AddrAdd(arpRecvDev, recvAddr); err != nil {
		return l, err
	}
	if err = l.recv.Sysctl("net/ipv4/conf/"+arpRecvDev+"/arp_accept", strconv.Itoa(int(c.sys.ArpAccept))); err != nil {
		return l, err
	}
	i, err := l.recv.LinkIndex(arpRecvDev)
	if err != nil {
		return l, err
	}
	l.ifindex = uint32(i)
	if l.c, err = fuzzcase.DialRoute(l.recv); err != nil {
		return l, err
	}
	if err = l.setParms(c); err != nil {
		return l, err
	}
	if l.tx, err = frame.NewSender(l.peer.Name, arpPeerDev); err != nil {
		return l, err
	}
	err = l.recv.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("netns %s: UDP socket: %w", l.recv.Name, err)
		}
		l.udp = fd
		return nil
	})
	return l, err
}

// setParms sets eth0's neigh_parms through RTM_SETNEIGHTBL (as `ip
// ntable change name arp_cache dev eth0 ...`), whose times are in
// milliseconds where the /proc files of locktime and
// delay_first_probe_time are in 1/100 s and seconds. neightbl_set()
// redraws reachable_time when base_reachable_time is set.
func (l *arpLab) setParms(c *arpCase) error {
	s := c.sys
	pe := netlink.NewAttributeEncoder()
	pe.Uint32(ndtpaIfindex, l.ifindex)
	pe.Uint64(ndtpaBaseReachable, uint64(s.BaseReachable))
	pe.Uint64(ndtpaRetransTime, uint64(s.Retrans))
	pe.Uint64(ndtpaDelayProbeTime, uint64(s.DelayFirstProbe))
	pe.Uint64(ndtpaLocktime, uint64(s.Locktime))
	pe.Uint32(ndtpaUcastProbes, uint32(s.UcastSolicit))
	pe.Uint32(ndtpaMcastProbes, uint32(s.McastSolicit))
	parms, err := pe.Encode()
	if err != nil {
		return fmt.Errorf("neigh parms: %w", err)
	}
	ae := netlink.NewAttributeEncoder()
	ae.String(ndtaName, arpTableName)
	ae.Bytes(ndtaParms|unix.NLA_F_NESTED, parms)
	attrs, err := ae.Encode()
	if err != nil {
		return fmt.Errorf("neigh table: %w", err)
	}
	body := append([]byte{unix.AF_INET, 0, 0, 0}, attrs...)
	_, err = l.c.Execute(netlink.Message{Header: netlink.Header{Type: rtmSetNeighTbl, Flags: netlink.Request | netlink.Acknowledge}, Data: body})
	if err != nil {
		return fmt.Errorf("netns %s: set %s parameters of %s: %w", l.recv.Name, arpTableName, arpRecvDev, err)
	}
	return nil
}

func (l *arpLab) close() error {
	var errs []error
	if l.udp >= 0 {
		errs = append(errs, unix.Close(l.udp))
	}
	if l.tx != nil {
		errs = append(errs, l.tx.Close())
	}
	if l.c != nil {
		errs = append(errs, l.c.Close())
	}
	for _, ns := range []*netns.NS{l.recv, l.peer} {
		if ns != nil {
			errs = append(errs, fuzzcase.CloseNamespace(ns))
		}
	}
	return errors.Join(errs...)
}

// send puts a frame on the wire from the peer.
func (l *arpLab) send(e arpEvent) error {
	dst := frame.Broadcast
	if e.unicast {
		dst = recvMAC
	}
	var tha kernel.MAC
	op := trace.FrameARPRequest
	if e.op == neigh.OpReply {
		op = trace.FrameARPReply
		switch e.tha {
		case neigh.THASelf:
			tha = arpMACs[e.mac]
		case neigh.THABroadcast:
			tha = frame.Broadcast
		}
	}
	if !tha.IsValid() {
		tha = kernel.MACFrom6([6]byte{})
	}
	b, err := frame.ARP(op, dst, arpMACs[e.mac], arpIPs[e.ip], tha, arpIPs[e.ip])
	if err != nil {
		return err
	}
	return l.tx.Send(b)
}

// packet sends one UDP datagram from recv to the event's address. What
// the kernel does with it (queue, resolve, drop) is its neighbour
// table's business; an error of an earlier datagram's failed resolution
// may come back here and is not the case's concern.
func (l *arpLab) packet(e arpEvent) {
	a := arpIPs[e.ip].As4()
	_ = unix.Sendto(l.udp, []byte("raceroute"), unix.MSG_DONTWAIT, &unix.SockaddrInet4{Port: udpDiscardPort, Addr: a})
}

// observe dumps recv's IPv4 neighbours and renders its entries for the
// case's addresses.
func (l *arpLab) observe(at int32) ([]string, error) {
	body := make([]byte, unix.SizeofNdMsg)
	body[0] = unix.AF_INET
	msgs, err := l.c.Execute(netlink.Message{Header: netlink.Header{Type: unix.RTM_GETNEIGH, Flags: netlink.Request | netlink.Dump}, Data: body})
	if err != nil {
		return nil, fmt.Errorf("netns %s: dump neighbours: %w", l.recv.Name, err)
	}
	classes := make([]string, len(arpIPs))
	for i := range classes {
		classes[i] = "none"
	}
	for _, m := range msgs {
		r, ok, err := nl.Decode(uint16(m.Header.Type), m.Data)
		if err != nil {
			return nil, fmt.Errorf("netns %s: dump neighbours: %w", l.recv.Name, err)
		}
		if !ok || r.Kind != trace.KindNeigh || uint32(r.Neigh.Ifindex) != l.ifindex {
			continue
		}
		for i, a := range arpIPs {
			if r.Neigh.Addr == a {
				classes[i] = stateClass(r.Neigh.State, r.Neigh.LLAddr)
			}
		}
	}
	out := make([]string, len(arpIPs))
	for i, c := range classes {
		out[i] = observation(at, i, c)
	}
	return out, nil
}

// live runs the case on the kernel: the events at their times from the
// start, checkpoints as neighbour dumps. An event more than arpLateness
// behind its time makes the run fuzzcase.ErrLate.
func (c *arpCase) live(ctx context.Context, name string) (out []string, err error) {
	l, err := newARPLab(name, c)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, l.close()) }()
	stop := context.AfterFunc(ctx, func() { l.c.SetDeadline(time.Now()) })
	defer stop()
	t0 := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for _, e := range c.events {
		due := t0.Add(time.Duration(e.at) * time.Millisecond)
		timer.Reset(time.Until(due))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
		}
		if late := time.Since(due); late > arpLateness*time.Millisecond {
			return nil, fmt.Errorf("%w (%s at %s was %s late)", fuzzcase.ErrLate, kindName(e.kind), secs(e.at), late.Round(time.Millisecond))
		}
		switch e.kind {
		case evFrame:
			err = l.send(e)
		case evPacket:
			l.packet(e)
		case evCheck:
			var obs []string
			obs, err = l.observe(e.at)
			out = append(out, obs...)
		}
		if err != nil {
			return nil, err
		}
		if late := time.Since(due); late > arpLateness*time.Millisecond {
			return nil, fmt.Errorf("%w (%s at %s took until %s)", fuzzcase.ErrLate, kindName(e.kind), secs(e.at), late.Round(time.Millisecond))
		}
	}
	return out, nil
}

func kindName(k uint8) string {
	return map[uint8]string{evFrame: "frame", evPacket: "packet", evCheck: "checkpoint"}[k]
}

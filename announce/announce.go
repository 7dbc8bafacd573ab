package announce

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"raceroute/kernel"
	"raceroute/live/frame"
	"raceroute/live/netns"
	"raceroute/trace"
)

// Options say what to announce where.
type Options struct {
	// Netns is the network namespace of Dev (a name under /run/netns or
	// a path; "" for the caller's).
	Netns string
	// Dev is the interface the address moved to.
	Dev string
	// Addr is the moved address, IPv4 or IPv6.
	Addr netip.Addr
	// MAC is the address announced; zero: Dev's own.
	MAC kernel.MAC
	// Preset is the schedule (Presets); its Count and Interval are
	// overridden by Count and Interval when not zero.
	Preset   Preset
	Count    int
	Interval time.Duration
	// OnSend, when set, is called after each frame is sent.
	OnSend func(Sent)
}

// Sent is one frame sent.
type Sent struct {
	At    time.Time
	Frame Frame
	// Bytes is the Ethernet frame as sent.
	Bytes []byte
}

// Report is what Announce sent.
type Report struct {
	MAC  kernel.MAC
	Sent []Sent
}

// Announce sends the preset's frames for opts.Addr out of opts.Dev, in
// order, waiting each frame's After; it returns when the last is sent or
// ctx ends (with what was sent so far). Every frame is built before the
// first is sent: a bad address or device sends nothing.
func Announce(ctx context.Context, opts Options) (*Report, error) {
	if !opts.Addr.IsValid() {
		return nil, errors.New("announce: no address")
	}
	if opts.Dev == "" {
		return nil, errors.New("announce: no interface")
	}
	sched := opts.Preset.Schedule(opts.Count, opts.Interval)
	if len(sched) == 0 {
		return nil, fmt.Errorf("announce %v: preset %q sends nothing", opts.Addr, opts.Preset.Name)
	}
	s, err := frame.NewSender(opts.Netns, opts.Dev)
	if err != nil {
		return nil, fmt.Errorf("announce %v: %w", opts.Addr, err)
	}
	defer s.Close()
	mac := opts.MAC
	if !mac.IsValid() {
		mac = s.MAC()
	}
	var src netip.Addr
	if opts.Addr.Unmap().Is6() {
		if src, err = linkLocal(opts.Netns, opts.Dev); err != nil {
			return nil, fmt.Errorf("announce %v: %w", opts.Addr, err)
		}
	}
	frames := make([][]byte, len(sched))
	for i, f := range sched {
		if frames[i], err = Build(f, mac, opts.Addr, src); err != nil {
			return nil, fmt.Errorf("announce %v on %s: %w", opts.Addr, opts.Dev, err)
		}
		// The Ethernet source is the sending interface's (a switch
		// learns the port from it); the payload carries mac.
		copy(frames[i][6:12], s.MAC().AsSlice())
	}
	rep := &Report{MAC: mac}
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for i, f := range sched {
		if f.After > 0 {
			t.Reset(f.After)
			select {
			case <-ctx.Done():
				return rep, fmt.Errorf("announce %v: stopped after %d of %d frames: %w", opts.Addr, i, len(sched), ctx.Err())
			case <-t.C:
			}
		}
		if err := s.Send(frames[i]); err != nil {
			return rep, fmt.Errorf("announce %v: frame %d of %d: %w", opts.Addr, i+1, len(sched), err)
		}
		sent := Sent{At: time.Now(), Frame: f, Bytes: frames[i]}
		rep.Sent = append(rep.Sent, sent)
		if opts.OnSend != nil {
			opts.OnSend(sent)
		}
	}
	return rep, nil
}

// Build builds one frame announcing that addr is at mac: for IPv4 the
// gratuitous request or reply f says; for IPv6 an unsolicited NA from
// src (the interface's link-local address) to ff02::1, Override set.
func Build(f Frame, mac kernel.MAC, addr, src netip.Addr) ([]byte, error) {
	addr = addr.Unmap()
	if addr.Is4() {
		switch f.Op {
		case Request:
			tha := frame.Broadcast
			if f.THA == THAZero {
				tha = kernel.MAC{}
			}
			return frame.ARP(trace.FrameARPRequest, frame.Broadcast, mac, addr, tha, addr)
		case Reply:
			tha := mac
			switch f.THA {
			case THABroadcast:
				tha = frame.Broadcast
			case THAZero:
				tha = kernel.MAC{}
			}
			return frame.ARP(trace.FrameARPReply, frame.Broadcast, mac, addr, tha, addr)
		}
		return nil, fmt.Errorf("frame op %v", f.Op)
	}
	if !src.IsValid() {
		return nil, fmt.Errorf("unsolicited NA for %v: no source address", addr)
	}
	return frame.NA(frame.AllNodesMAC, mac, src, frame.AllNodes, addr, false, true, false)
}

// linkLocal returns dev's IPv6 link-local address in namespace ns.
func linkLocal(ns, dev string) (netip.Addr, error) {
	var out netip.Addr
	find := func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return fmt.Errorf("interface %q: %w", dev, err)
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return fmt.Errorf("interface %q: addresses: %w", dev, err)
		}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Is6() && ip.IsLinkLocalUnicast() {
					out = ip
					return nil
				}
			}
		}
		return fmt.Errorf("interface %q has no IPv6 link-local address to send the NA from", dev)
	}
	if ns == "" {
		return out, find()
	}
	h, err := netns.Open(ns)
	if err != nil {
		return out, err
	}
	defer h.Close()
	return out, h.Do(find)
}

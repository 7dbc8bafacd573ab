package frame

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mdlayher/packet"
	"golang.org/x/net/bpf"

	"raceroute/kernel"
	"raceroute/live/netns"
	"raceroute/trace"
)

// inNetns runs fn inside the namespace named by name (a name under
// /run/netns or a path), or in the caller's when name is empty. Sockets
// opened by fn stay in that namespace.
func inNetns(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	ns, err := netns.Open(name)
	if err != nil {
		return err
	}
	defer ns.Close()
	return ns.Do(fn)
}

// Sender sends hand-built frames out of one interface.
type Sender struct {
	c   *packet.Conn
	ifi *net.Interface
}

// NewSender opens an AF_PACKET socket on interface dev of namespace
// netnsName ("" for the caller's).
func NewSender(netnsName, dev string) (*Sender, error) {
	s := &Sender{}
	err := inNetns(netnsName, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return fmt.Errorf("interface %q: %w", dev, err)
		}
		c, err := packet.Listen(ifi, packet.Raw, EtherTypeARP, nil)
		if err != nil {
			return fmt.Errorf("interface %q: AF_PACKET socket: %w", dev, err)
		}
		s.c, s.ifi = c, ifi
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("frame sender in netns %q: %w", netnsName, err)
	}
	return s, nil
}

// MAC returns the interface's hardware address.
func (s *Sender) MAC() kernel.MAC {
	m, _ := kernel.MACFrom(s.ifi.HardwareAddr)
	return m
}

// Send writes one Ethernet frame (header included) to the wire.
func (s *Sender) Send(frame []byte) error {
	if len(frame) < ethHeaderLen {
		return fmt.Errorf("send on %s: frame of %d bytes", s.ifi.Name, len(frame))
	}
	if _, err := s.c.WriteTo(frame, &packet.Addr{HardwareAddr: net.HardwareAddr(frame[0:6])}); err != nil {
		return fmt.Errorf("send on %s: %w", s.ifi.Name, err)
	}
	return nil
}

// Close closes the socket.
func (s *Sender) Close() error { return s.c.Close() }

// ndpFilter keeps IPv6 frames carrying ICMPv6 (no extension headers)
// of type 135 or 136: neighbour solicitations and advertisements.
var ndpFilter = mustAssemble([]bpf.Instruction{
	bpf.LoadAbsolute{Off: ethHeaderLen + 6, Size: 1},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: icmpv6Proto, SkipTrue: 4},
	bpf.LoadAbsolute{Off: ethHeaderLen + ipv6HdrLen, Size: 1},
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: icmpv6NS, SkipTrue: 1},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: icmpv6NA, SkipTrue: 1},
	bpf.RetConstant{Val: 1 << 16},
	bpf.RetConstant{Val: 0},
})

func mustAssemble(ins []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(ins)
	if err != nil {
		panic(fmt.Sprintf("frame: bad BPF program: %v", err))
	}
	return raw
}

// SniffOptions select what Sniff listens to.
type SniffOptions struct {
	// Netns is the namespace (name or path; "" for the caller's).
	Netns string
	// Devs are the interfaces; empty means every interface that is up,
	// except loopback.
	Devs []string
	// IPv4 and IPv6 select ARP and NDP; both false means both.
	IPv4, IPv6 bool
	// Logger receives warnings about malformed frames; nil discards.
	Logger *slog.Logger
}

// Sniff captures ARP and NDP frames until ctx is done and hands each
// to fn as a trace.KindFrame record (fn is called from one goroutine
// per socket, serialised). It returns once its sockets are open; the
// returned wait function blocks until capture stopped and returns the
// first error.
func Sniff(ctx context.Context, opts SniffOptions, fn func(trace.Record)) (wait func() error, err error) {
	if !opts.IPv4 && !opts.IPv6 {
		opts.IPv4, opts.IPv6 = true, true
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	type sock struct {
		c   *packet.Conn
		ifi net.Interface
	}
	var socks []sock
	closeAll := func() {
		for _, s := range socks {
			s.c.Close()
		}
	}
	err = inNetns(opts.Netns, func() error {
		var ifis []net.Interface
		if len(opts.Devs) == 0 {
			all, err := net.Interfaces()
			if err != nil {
				return fmt.Errorf("list interfaces: %w", err)
			}
			for _, ifi := range all {
				if ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagLoopback == 0 {
					ifis = append(ifis, ifi)
				}
			}
		} else {
			for _, d := range opts.Devs {
				ifi, err := net.InterfaceByName(d)
				if err != nil {
					return fmt.Errorf("interface %q: %w", d, err)
				}
				ifis = append(ifis, *ifi)
			}
		}
		for _, ifi := range ifis {
			if opts.IPv4 {
				c, err := packet.Listen(&ifi, packet.Raw, EtherTypeARP, nil)
				if err != nil {
					return fmt.Errorf("interface %q: ARP socket: %w", ifi.Name, err)
				}
				socks = append(socks, sock{c, ifi})
			}
			if opts.IPv6 {
				c, err := packet.Listen(&ifi, packet.Raw, EtherTypeIPv6, &packet.Config{Filter: ndpFilter})
				if err != nil {
					return fmt.Errorf("interface %q: NDP socket: %w", ifi.Name, err)
				}
				socks = append(socks, sock{c, ifi})
			}
		}
		return nil
	})
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("sniff in netns %q: %w", opts.Netns, err)
	}
	if len(socks) == 0 {
		return nil, fmt.Errorf("sniff in netns %q: no interface to listen on", opts.Netns)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	stop := context.AfterFunc(ctx, func() {
		for _, s := range socks {
			s.c.SetReadDeadline(time.Now())
		}
	})
	for _, s := range socks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 2048)
			for {
				n, _, err := s.c.ReadFrom(buf)
				if err != nil {
					if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("sniff on %s: %w", s.ifi.Name, err)
						}
						mu.Unlock()
					}
					return
				}
				t := time.Now()
				f, ok, err := Decode(buf[:n])
				if err != nil {
					log.Warn("malformed frame", "dev", s.ifi.Name, "err", err)
					continue
				}
				if !ok {
					continue
				}
				f.Dev, f.Ifindex = s.ifi.Name, s.ifi.Index
				mu.Lock()
				fn(trace.Record{Time: t, Kind: trace.KindFrame, Action: trace.ActionNew, Netns: opts.Netns, Frame: f})
				mu.Unlock()
			}
		}()
	}
	return func() error {
		wg.Wait()
		stop()
		closeAll()
		return firstErr
	}, nil
}

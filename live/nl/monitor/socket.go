package monitor

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/live/nl"
)

// The subscription's two seams, as jsimonetti/rtnetlink swaps its conn
// and mdlayher/netlink's nltest stands in for a socket: in production
// the kernel's sockets, in tests live/nl/internal/nlfake's scripted
// kernel, which needs no root.

// socket is what the reader needs of the multicast socket.
type socket interface {
	// Read calls fill with a non-blocking receive, and again each time
	// the socket becomes readable, until fill returns true. The receive
	// returns unix.EAGAIN when the queue is empty and unix.ENOBUFS once
	// after the kernel dropped notifications. Read fails once the
	// deadline has passed or the socket is closed.
	Read(fill func(recv func(p []byte) (int, error)) bool) error
	// SetDeadline makes a blocked or later Read fail once t has passed.
	SetDeadline(t time.Time) error
	Close() error
}

// dumper reads the tables, for the initial dump, resyncs, link checks
// and cache polls: an *nl.Dumper on the kernel's socket or on nltest's.
type dumper interface {
	Dump(ctx context.Context, t nl.Tables, prev *nl.View) (*nl.View, error)
	Retries() uint64
	SetDeadline(t time.Time) error
	Close() error
}

// rtnetlink multicast groups (RTNLGRP_*).
const (
	grpLink       = 1
	grpNeigh      = 3
	grpIPv4Ifaddr = 5
	grpIPv4Route  = 7
	grpIPv6Ifaddr = 9
	grpIPv6Route  = 11
)

// groups lists the rtnetlink groups a subscription with opts joins.
func groups(opts *nl.Options) []uint32 {
	g := []uint32{grpLink}
	if opts.Wants(4) {
		g = append(g, grpIPv4Ifaddr, grpIPv4Route)
	}
	if opts.Wants(6) {
		g = append(g, grpIPv6Ifaddr, grpIPv6Route)
	}
	return append(g, grpNeigh)
}

// netlinkSocket is the kernel's multicast socket, read straight with
// recvfrom (no copy, no allocation per datagram).
type netlinkSocket struct {
	c  *netlink.Conn
	rc syscall.RawConn
}

func newNetlinkSocket(c *netlink.Conn) (netlinkSocket, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return netlinkSocket{}, fmt.Errorf("receive: %w", err)
	}
	return netlinkSocket{c: c, rc: rc}, nil
}

func (s netlinkSocket) Read(fill func(recv func(p []byte) (int, error)) bool) error {
	return s.rc.Read(func(fd uintptr) bool {
		return fill(func(p []byte) (int, error) {
			n, _, err := unix.Recvfrom(int(fd), p, unix.MSG_DONTWAIT)
			return n, err
		})
	})
}

func (s netlinkSocket) SetDeadline(t time.Time) error { return s.c.SetDeadline(t) }

func (s netlinkSocket) Close() error { return s.c.Close() }

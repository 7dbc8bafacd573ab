package announce_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"time"

	"raceroute/announce"
	"raceroute/kernel"
	"raceroute/live/frame"
)

// The safe preset's frames: its spacing follows the receivers' locktime.
func ExamplePreset_Schedule() {
	p := announce.Safe(announce.DefaultLocktime)
	var at time.Duration
	for _, f := range p.Schedule(0, 0) {
		at += f.After
		fmt.Println(at, f.Op)
	}
	fmt.Println("evidence: library scenario", p.Evidence)
	// Output:
	// 0s request
	// 0s reply
	// 2s request
	// 2s reply
	// 4s request
	// 4s reply
	// evidence: library scenario announce-safe
}

// Build makes one frame; here an unsolicited NA, decoded back.
func ExampleBuild() {
	mac, _ := kernel.ParseMAC("02:00:00:00:bb:bb")
	b, err := announce.Build(announce.Frame{Op: announce.Request}, mac,
		netip.MustParseAddr("2001:db8::10"), netip.MustParseAddr("fe80::bb"))
	if err != nil {
		log.Fatal(err)
	}
	f, _, err := frame.Decode(b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(b), "bytes:", f.SenderIP, "is at", f.SenderHW, "override", f.Override, "solicited", f.Solicited)
	// Output:
	// 86 bytes: 2001:db8::10 is at 02:00:00:00:bb:bb override true solicited false
}

// A VIP manager that just took over 192.0.2.10 tells the link, on the
// schedule the model shows every kernel takes.
func ExampleAnnounce() {
	rep, err := announce.Announce(context.Background(), announce.Options{
		Dev:    "eth0",
		Addr:   netip.MustParseAddr("192.0.2.10"),
		Preset: announce.Safe(announce.DefaultLocktime),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sent", len(rep.Sent), "frames for", rep.MAC)
}

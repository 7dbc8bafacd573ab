// Package longstory makes a long, real story for the timeline's tests
// and benchmark: the neighbour model's run of a Neutron-like failover (a
// floating IP moving between routers, gratuitous ARP replies, TCP flows
// confirming through the shared dst) on RHEL 7.3, told for as long as it
// takes to have the number of events asked for.
package longstory

import (
	"fmt"

	"raceroute/profile"
	"raceroute/scenario"
	"raceroute/trace"
)

// scenarioFile is the story's scenario; %d is its horizon in seconds.
const scenarioFile = `name: long-story
model: neigh
description: a long Neutron-like failover, for the timeline benchmark
check:
  strategy: random
  horizon: %ds
hosts:
  - name: tempest
    interfaces:
      - name: eth2
        mac: fa:16:3e:00:00:05
        addrs: [172.24.4.5/24]
    neigh:
      - 172.24.4.10 dev eth2 lladdr fa:16:3e:aa:aa:aa STALE age 120s
      - 172.24.4.11 dev eth2 lladdr fa:16:3e:cc:cc:cc REACHABLE
  - name: router-a
    interfaces:
      - name: qg-a
        mac: fa:16:3e:aa:aa:aa
        addrs: [172.24.4.2/24, 172.24.4.10/24]
  - name: router-b
    interfaces:
      - name: qg-b
        mac: fa:16:3e:bb:bb:bb
        addrs: [172.24.4.3/24]
  - name: router-c
    interfaces:
      - name: qg-c
        mac: fa:16:3e:cc:cc:cc
        addrs: [172.24.4.4/24, 172.24.4.11/24]
moves:
  - {ip: 172.24.4.10, from: router-a, to: router-b, at: 0s}
arp:
  - name: l3-agent-b
    from: router-b
    ip: 172.24.4.10
    preset: neutron-2017
    start: 400ms
flows:
  - name: ssh-other-fip
    from: tempest
    to: 172.24.4.11
    proto: tcp
    start: 100ms
    every: 200ms
    rtt: 2ms
  - name: ssh-moved-fip
    from: tempest
    to: 172.24.4.10
    proto: tcp
    start: 150ms
    every: 300ms
properties:
  - converges: {host: tempest, ip: 172.24.4.10, within: 30s}
expect: {"*": violated}
`

// Story returns the first n events of the story (fewer only if the
// model's run ends first).
func Story(n int) ([]trace.Event, error) {
	p, err := profile.Lookup("rhel-7.3")
	if err != nil {
		return nil, err
	}
	var events []trace.Event
	// About 9 events a simulated second: start there, and lengthen the
	// run until it tells enough.
	for secs := n/8 + 10; ; secs *= 2 {
		sc, err := scenario.Parse("longstory.yaml", fmt.Appendf(nil, scenarioFile, secs))
		if err != nil {
			return nil, err
		}
		c, err := sc.Compile(sc.Variants[0], p)
		if err != nil {
			return nil, err
		}
		rep, err := c.ReplayUntil(nil, "", sc.Options(scenario.Overrides{}))
		if err != nil {
			return nil, err
		}
		events = rep.Events
		if len(events) >= n || secs > 1<<20 {
			break
		}
	}
	return events[:min(n, len(events))], nil
}

package extract

// Suites are the scripts raceroute reads, by name.
var Suites = map[string]*Suite{
	"fib_tests":                   FibTests,
	"arp_ndisc_untracked_subnets": ArpNdiscUntrackedSubnets,
	"ndisc_unsolicited_na_test":   NdiscUnsolicitedNA,
	"arp_ndisc_evict_nocarrier":   ArpNdiscEvictNocarrier,
}

// FibTests is tools/testing/selftests/net/fib_tests.sh, its IPv6 route
// tests: unregister, down, carrier (fib_unreg_test, fib_down_test,
// fib_carrier_test), ipv6_rt (ipv6_route_test: route_setup, then
// ipv6_rt_add, ipv6_rt_replace_single, ipv6_rt_replace_mpath,
// ipv6_rt_dsfield), ipv6_addr_metric and ipv6_route_metrics. The
// others (nexthop, ipv6_del_addr, fib6_gc_test, notify, mpath_list)
// are not read.
var FibTests = &Suite{
	Name:   "fib_tests",
	Script: "tools/testing/selftests/net/fib_tests.sh",
	Groups: []Group{
		{Name: "unregister", Funcs: []string{"fib_unreg_unicast_test", "fib_unreg_multipath_test"}},
		{Name: "down", Funcs: []string{"fib_down_unicast_test", "fib_down_multipath_test"}},
		{Name: "carrier", Funcs: []string{"fib_carrier_local_test", "fib_carrier_unicast_test"}},
		{Name: "ipv6_rt", Pre: []string{"route_setup"}, Funcs: []string{"ipv6_rt_add", "ipv6_rt_replace_single", "ipv6_rt_replace_mpath", "ipv6_rt_dsfield"}},
		{Name: "ipv6_addr_metric", Funcs: []string{"ipv6_addr_metric_test"}},
		{Name: "ipv6_route_metrics", Funcs: []string{"ipv6_route_metrics_test"}},
	},
	Envs:     []string{"setup", "route_setup"},
	Teardown: []string{"cleanup", "route_cleanup"},
	Ignore:   []string{"ip_addr_metric_check"},
	Why:      "ip_addr_metric_check asks iproute2 (ip addr help) whether it knows `metric`; it is a check of the tool, not of the kernel",
	DropIPv4: true,
	Defaults: map[string]string{"VERBOSE": "0", "PAUSE": "no", "PAUSE_ON_FAIL": "no", "ping6": "ping6"},
}

// ArpNdiscUntrackedSubnets is
// tools/testing/selftests/net/arp_ndisc_untracked_subnets.sh: arp_accept
// 0, 1, 2 and accept_untracked_na 0, 1, 2 on a router receiving a host's
// gratuitous ARP or unsolicited NA.
var ArpNdiscUntrackedSubnets = &Suite{
	Name:   "arp_ndisc_untracked_subnets",
	Script: "tools/testing/selftests/net/arp_ndisc_untracked_subnets.sh",
	Groups: []Group{
		{Name: "arp", Funcs: []string{"arp_test_gratuitous_combinations"}, Callee: true},
		{Name: "ndisc", Funcs: []string{"ndisc_test_untracked_combinations"}, Callee: true},
	},
	Teardown: []string{"cleanup", "cleanup_v6", "cleanup_tcpdump"},
	External: []string{"slowwait_for_counter"},
}

// NdiscUnsolicitedNA is tools/testing/selftests/net/ndisc_unsolicited_na_test.sh:
// drop_unsolicited_na, accept_untracked_na and forwarding on a router
// receiving a host's unsolicited NA.
var NdiscUnsolicitedNA = &Suite{
	Name:   "ndisc_unsolicited_na_test",
	Script: "tools/testing/selftests/net/ndisc_unsolicited_na_test.sh",
	Groups: []Group{
		{Name: "unsolicited_na", Funcs: []string{"test_unsolicited_na_combinations"}, Callee: true},
	},
	Teardown: []string{"cleanup", "cleanup_tcpdump"},
}

// ArpNdiscEvictNocarrier is tools/testing/selftests/net/arp_ndisc_evict_nocarrier.sh:
// arp_evict_nocarrier and ndisc_evict_nocarrier when the carrier goes.
var ArpNdiscEvictNocarrier = &Suite{
	Name:   "arp_ndisc_evict_nocarrier",
	Script: "tools/testing/selftests/net/arp_ndisc_evict_nocarrier.sh",
	Groups: []Group{
		{Name: "evict_nocarrier", Funcs: []string{"run_all_tests"}, Callee: true},
	},
	Teardown: []string{"cleanup_v4", "cleanup_v6"},
}

/*
 * fib6.pml -- Promela twin of raceroute's BenchmarkExhaustive family
 * (model/fib6/bench_test.go, family(); kernel profile linux-3.16).
 *
 * Scenario: k packet flows (2 packets each) to the hosts
 * 2001:db8:0:10::1 .. ::k, all under the /80 2001:db8:0:10::/80, while
 * one agent ("babeld") changes the /80 m times by `ip route del` then
 * `ip route add`, alternating between two gateways (fe80::1 dev eth0,
 * fe80::2 dev eth1), under `unreachable 2001:db8::/48`.  Property (final):
 * once every actor is done, the /80 holds exactly the last gateway.
 *
 * The state is laid out exactly as raceroute's fib6.State, restricted to
 * the nodes and actors the scenario uses (which is what Model.Encode
 * hashes):
 *   slots[node*4 + i]  route ids of each node, in kernel list order
 *                      (MaxSlots = 4 per node, 0 = empty)
 *   pc/reg/tries/sent  per actor (actor 0 = the agent, 1..K = flows)
 * and the routes are numbered as fib6.New numbers them:
 *   node 0 = 2001:db8::/48, node 1 = the /80, node 2+d = the /128 of
 *   flow d's destination;
 *   route 1 = unreachable /48 (dev lo), 2 = /80 via fe80::1 dev eth0,
 *   3 = /80 via fe80::2 dev eth1, 4 + (p-1)*K + d = RTF_CACHE clone of
 *   route p for destination d (at node 2+d, metric 0, nexthop of p).
 * Every process sits on a single control location (a do loop whose
 * options are each one d_step), and scratch variables are `hidden`, so
 * Spin's state vector carries exactly the information of raceroute's
 * encoding and the two reachable-state counts are comparable one to one.
 *
 * Steps (one d_step each, as one explore.Step each):
 *   agent: op pc[0]: even ops `del` the current gateway (fib6_del after
 *          fib6_prune_clones), odd ops `add` the other one with
 *          NLM_F_CREATE|NLM_F_EXCL (fib6_add_rt2node, then
 *          fib6_prune_clones: pre-4.2).
 *   flow:  pc 0: match under the read lock (deepest node on the path
 *          with a route, its first route); a cache hit, the null entry or
 *          a /128 route finishes the packet, anything else is cloned;
 *          pc 1: allocate the clone outside the lock (reg := clone id);
 *          pc 2: insert under the write lock (fib6_add, NLM_F_CREATE);
 *          -EEXIST restarts the lookup, up to 3 tries, then the packet
 *          uses the uninserted copy.
 * The final property is checked inside the step that reaches a state
 * where no actor has a step left (raceroute checks Final properties at
 * exactly those states), so it adds no state of its own.
 *
 * Build: spin -DK=4 -DM=3 -a fib6.pml (bench/explorer-vs-spin.sh does it).
 */

#ifndef K
#define K 2
#endif
#ifndef M
#define M 2
#endif
#define PACKETS  2
#define MAXSLOTS 4
#define NNODES   (K + 2)
#define NACT     (K + 1)
#define NOPS     (2 * M)

/* fib6_add / fib6_del results */
#define OK      0
#define EEXIST  1
#define ESRCH   2

/* Static route attributes, computed from the id (fib6.rinfo). */
#define ISCACHE(id)  ((id) >= 4)
#define PARENT(id)   (((id) - 4) / K + 1)
#define CLONE(p, d)  (4 + ((p) - 1) * K + (d))
#define METRIC(id)   (ISCACHE(id) -> 0 : 1024)
/* nexthop (dev, gateway): 1 = lo, 2 = eth0 fe80::1, 3 = eth1 fe80::2;
 * a clone copies its parent's (ip6_rt_copy). */
#define NH(id)       (ISCACHE(id) -> PARENT(id) : (id))
#define NODE(id)     (ISCACHE(id) -> 2 + ((id) - 4) % K : ((id) == 1 -> 0 : 1))
#define BITS(id)     (ISCACHE(id) -> 128 : ((id) == 1 -> 48 : 80))
#define S(xn, xi)      slots[(xn) * MAXSLOTS + (xi)]

/* The initial table, as fib6.New adds it (no warm-up lookups):
 * node 0: unreachable 2001:db8::/48 dev lo metric 1024 (route 1),
 * node 1: 2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024 (route 2).
 * (Spin fills the rest of an array with the last initialiser, 0.) */
byte slots[NNODES * MAXSLOTS] = { 1, 0, 0, 0, 2, 0 };
byte pc[NACT];
byte reg[NACT];
byte tries[NACT];
byte sent[NACT];

/* scratch, not part of the state vector */
hidden byte xid, xi, xj, xn, xq, xins, xit, xrt, xerr, xdone, xocc, xw;

/* removeCache(): drop every RTF_CACHE route of node nn, keeping order */
inline remove_cache(nn) {
	xi = 0;
	do
	:: xi < MAXSLOTS && S(nn, xi) != 0 ->
		if
		:: ISCACHE(S(nn, xi)) ->
			xj = xi;
			do
			:: xj < MAXSLOTS - 1 -> S(nn, xj) = S(nn, xj + 1); xj++
			:: else -> break
			od;
			S(nn, MAXSLOTS - 1) = 0
		:: else -> xi++
		fi
	:: else -> break
	od
}

/* pruneClones(): fib6_prune_clones() before 4.2.  The walk from root
 * visits root and every node below it, but not below a non-root node
 * that holds routes.  Tree: /48 -> /80 -> each /128. */
inline prune(root) {
	xocc = (S(1, 0) != 0);	/* is the /80 (between /48 and a /128) occupied */
	remove_cache(root);
	if
	:: root == 0 ->
		remove_cache(1);
		if
		:: !xocc ->
			xq = 2;
			do
			:: xq < NNODES -> remove_cache(xq); xq++
			:: else -> break
			od
		:: else -> skip
		fi
	:: root == 1 ->
		xq = 2;
		do
		:: xq < NNODES -> remove_cache(xq); xq++
		:: else -> break
		od
	:: else -> skip
	fi
}

/* (Inline parameters are substituted textually: callers pass a hidden
 * variable that the body does not modify.) */

/* fib6Add(): fib6_add_rt2node() without NLM_F_REPLACE (the family uses
 * add = CREATE|EXCL, clone insert = CREATE). */
inline fib6_add(id, excl) {
	xn = NODE(id); xi = 0; xins = 0; xerr = OK;
	do
	:: xi < MAXSLOTS && S(xn, xi) != 0 ->
		xit = S(xn, xi);
		if
		:: METRIC(xit) == METRIC(id) && (excl || NH(xit) == NH(id)) ->
			xerr = EEXIST; break
		:: METRIC(xit) > METRIC(id) -> break
		:: else -> xins = xi + 1; xi++
		fi
	:: else -> break
	od;
	if
	:: xerr == OK ->
		assert(S(xn, MAXSLOTS - 1) == 0);	/* capacity, as New checks */
		xj = MAXSLOTS - 1;
		do
		:: xj > xins -> S(xn, xj) = S(xn, xj - 1); xj--
		:: else -> break
		od;
		S(xn, xins) = id;
		if
		:: !ISCACHE(id) -> prune(xn)
		:: else -> skip
		fi
	:: else -> skip
	fi
}

/* fib6Del(): ip6_route_del() + fib6_del() on 3.16: the first route of the
 * node with the wanted device, gateway and metric (clones not skipped);
 * a non-cache route prunes the clones below first. */
inline fib6_del(want) {
	xn = NODE(want); xi = 0; xerr = ESRCH;
	do
	:: xi < MAXSLOTS && S(xn, xi) != 0 ->
		xit = S(xn, xi);
		if
		:: NH(xit) == NH(want) && METRIC(xit) == METRIC(want) ->
			xerr = OK; break
		:: else -> xi++
		fi
	:: else -> break
	od;
	if
	:: xerr == OK ->
		if
		:: !ISCACHE(xit) -> prune(xn)
		:: else -> skip
		fi;
		xi = 0;
		do
		:: xi < MAXSLOTS && S(xn, xi) != xit -> xi++
		:: xi < MAXSLOTS && S(xn, xi) == xit ->
			do
			:: xi < MAXSLOTS - 1 -> S(xn, xi) = S(xn, xi + 1); xi++
			:: else -> break
			od;
			S(xn, MAXSLOTS - 1) = 0;
			break
		:: else -> break
		od
	:: else -> skip
	fi
}

/* Final property (fib6 RoutesAt "converges"), checked when no actor has
 * a step left: the /80 holds exactly the last gateway's route (no other
 * non-cache metric-1024 route). */
inline check_final() {
	xdone = (pc[0] >= NOPS);
	xw = 1;
	do
	:: xw <= K ->
		if
		:: !(pc[xw] == 0 && sent[xw] >= PACKETS) -> xdone = 0
		:: else -> skip
		fi;
		xw++
	:: else -> break
	od;
	if
	:: xdone ->
		assert(S(1, 0) == 2 + (M % 2) && S(1, 1) == 0)
	:: else -> skip
	fi
}

active proctype Agent() {
end:	do
	:: d_step {
		pc[0] < NOPS ->
		xj = pc[0];
		pc[0]++;
		if
		:: xj % 2 == 0 -> xid = 2 + (xj / 2) % 2; fib6_del(xid)	/* del gw[i%2] */
		:: else -> xid = 2 + (xj / 2 + 1) % 2; fib6_add(xid, 1)	/* add gw[(i+1)%2] */
		fi;
		check_final()
	   }
	od
}

active [K] proctype Flow() {
	/* flow d = _pid - 1 is actor _pid; its /128 is node 2 + d */
end:	do
	:: d_step {	/* pc 0: match under read_lock_bh */
		pc[_pid] == 0 && sent[_pid] < PACKETS ->
		xrt = S(2 + _pid - 1, 0);
		if
		:: xrt == 0 -> xrt = S(1, 0);
			if
			:: xrt == 0 -> xrt = S(0, 0)
			:: else -> skip
			fi
		:: else -> skip
		fi;
		if
		:: xrt == 0 || ISCACHE(xrt) || BITS(xrt) == 128 ->
			sent[_pid]++
		:: else ->
			reg[_pid] = xrt; pc[_pid] = 1
		fi;
		check_final()
	   }
	:: d_step {	/* pc 1: rt6_alloc_clone / rt6_alloc_cow, no lock */
		pc[_pid] == 1 ->
		reg[_pid] = CLONE(reg[_pid], _pid - 1);
		pc[_pid] = 2
	   }
	:: d_step {	/* pc 2: ip6_ins_rt -> fib6_add under write_lock_bh */
		pc[_pid] == 2 ->
		xid = reg[_pid]; fib6_add(xid, 0);
		if
		:: xerr == OK ->
			sent[_pid]++; pc[_pid] = 0; reg[_pid] = 0; tries[_pid] = 0
		:: else ->
			tries[_pid]++;
			if
			:: tries[_pid] < 3 -> pc[_pid] = 0; reg[_pid] = 0
			:: else ->
				sent[_pid]++; pc[_pid] = 0; reg[_pid] = 0; tries[_pid] = 0
			fi
		fi;
		check_final()
	   }
	od
}

/* SPDX-License-Identifier: MIT */
/*
 * bench/restore.c - vdpastate_dev_restore() of a 4099-command state on a
 * simulated device running on a thread of its own: the command list
 * pipelined (as many commands in flight as the control ring holds, the
 * default) against one command in flight (cvq_max_inflight 1, the
 * baseline), with no control latency and with 2 us per command.  Prints
 * the commands, the CVQ round trips, the best and median time, the ratio
 * one-in-flight / pipelined per latency and whether the target is met;
 * timing is never a pass/fail criterion, a restore that leaves the device
 * in another state than the blob's is.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libvdpastate/libvdpastate.h>

#include "bench.h"

#define FB(b) VDPASTATE_NET_FBIT(VDPASTATE_NET_F_##b)
#define RB(b) (UINT64_C(1) << VDPASTATE_F_##b)

#define NCMDS 4099
#define PAIRS 4
/* The sim's largest ring and the handle's control ring: 128 in flight. */
#define RING 256
/*
 * Alternating turns: one turn is the 4 restores, ~0.6 s on this machine
 * (the 2 us cases dominate).  Turns stop early past BUDGET_S seconds, so
 * that a slow host still ends in about a minute.
 */
#define TURNS 20
#define MAX_TURNS 64
#define BUDGET_S 45.0
#define TARGET 3.0

static const uint64_t latencies_ns[] = { 0, 2000 };
#define NLAT (sizeof(latencies_ns) / sizeof(latencies_ns[0]))

enum { PIPELINED, ONE_IN_FLIGHT, NMODES };
static const char *const mode_name[NMODES] = { "pipelined", "one-in-flight" };

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x56, 0x44, 0x01 };
static const uint8_t MAC2[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };

static uint64_t features(void)
{
	return RB(VERSION_1) | RB(ACCESS_PLATFORM) | RB(EVENT_IDX) |
	       RB(INDIRECT_DESC) | FB(CTRL_VQ) | FB(CTRL_RX) | FB(CTRL_VLAN) |
	       FB(CTRL_MAC_ADDR) | FB(MQ);
}

static void apply(struct vdpastate_netstate *s, struct vdpastate_cvq_cmd *c)
{
	if (!c || vdpastate_netstate_apply(s, c))
		bench_die("apply");
	vdpastate_cvq_cmd_free(c);
}

/*
 * MAC_ADDR_SET + VQ_PAIRS_SET + PROMISC + ALLMULTI + MAC_TABLE_SET + 4094
 * VLAN_ADDs = 4099 commands (CTRL_RX sends both of its RX modes always).
 */
static struct vdpastate_blob *large_blob(void)
{
	VDPASTATE_OPTS(vdpastate_netstate_config, cfg, .features = features(),
		       .status = VDPASTATE_NET_S_LINK_UP,
		       .max_virtqueue_pairs = PAIRS, .mtu = 1500,
		       .rss_max_indirection_table_length = 128,
		       .rss_max_key_size = 40,
		       .supported_hash_types = VDPASTATE_NET_HASH_ALL);
	static const uint8_t multi[2 * 6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01,
					      0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
	struct vdpastate_netstate *s;
	struct vdpastate_cvq_cmdlist *l;
	struct vdpastate_blob *b = vdpastate_blob_new();
	uint16_t v;
	size_t n;

	/* No VIRTIO_NET_F_MAC: no config-space MAC, as the device has none
	 * (only MAC_ADDR_SET gives it one). */
	s = vdpastate_netstate_new(&cfg);
	if (!s || !b)
		bench_die("netstate_new");
	apply(s, vdpastate_cvq_cmd_mac_addr_set(MAC2));
	apply(s, vdpastate_cvq_cmd_mq_vq_pairs_set(PAIRS));
	apply(s, vdpastate_cvq_cmd_rx_promisc(false));
	apply(s, vdpastate_cvq_cmd_rx_allmulti(true));
	apply(s, vdpastate_cvq_cmd_mac_table_set(MAC2, 1, multi, 2));
	for (v = 1; v <= 4094; v++)
		apply(s, vdpastate_cvq_cmd_vlan_add(v));
	if (vdpastate_netstate_to_cmds(s, features(), &l))
		bench_die("to_cmds");
	n = vdpastate_cvq_cmdlist_count(l);
	vdpastate_cvq_cmdlist_free(l);
	if (n != NCMDS) {
		fprintf(stderr, "bench: the state makes %zu commands, not %d\n", n,
			NCMDS);
		exit(1);
	}
	if (vdpastate_blob_set_netstate(b, s))
		bench_die("blob_set_netstate");
	vdpastate_netstate_free(s);
	return b;
}

/* A device on its own thread and a handle on it. */
struct side {
	struct vdpastate_transport *t;
	struct vdpastate_sim *sim;
	struct vdpastate_dev *dev;
	double t_ms[NLAT][MAX_TURNS];
	uint64_t cmds[NLAT], batches[NLAT];
};

static void side_open(struct side *s, uint16_t max_inflight)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, so, .device_features = features(),
		       .max_queue_pairs = PAIRS, .max_ring_size = RING,
		       .flags = VDPASTATE_SIM_F_THREAD);
	VDPASTATE_OPTS(vdpastate_dev_opts, dopts, .cvq_ring_size = RING,
		       .cvq_max_inflight = max_inflight);

	memcpy(so.mac, MAC, 6);
	s->t = vdpastate_sim_new(&so);
	if (!s->t || !(s->sim = vdpastate_sim_from_transport(s->t)))
		bench_die("sim_new");
	s->dev = vdpastate_dev_open(s->t, &dopts);
	if (!s->dev)
		bench_die("dev_open");
}

/* One measured restore; the device must end in the blob's state. */
static void run(struct side *s, const struct vdpastate_blob *b, size_t lat,
		unsigned int turn)
{
	VDPASTATE_OPTS(vdpastate_dev_stats, st0);
	VDPASTATE_OPTS(vdpastate_dev_stats, st1);
	struct vdpastate_netstate *got;
	double t0, t;

	if (vdpastate_sim_cvq_latency(s->sim, latencies_ns[lat]) ||
	    vdpastate_dev_get_stats(s->dev, &st0))
		bench_die("setup");
	t0 = bench_now();
	if (vdpastate_dev_restore(s->dev, b))
		bench_die("restore");
	t = bench_now() - t0;
	if (vdpastate_dev_get_stats(s->dev, &st1))
		bench_die("get_stats");
	got = vdpastate_sim_netstate(s->sim);
	if (!got || !vdpastate_netstate_equal(got, vdpastate_blob_netstate(b))) {
		fprintf(stderr, "bench: the device's state after restore is not "
			"the blob's\n");
		exit(1);
	}
	vdpastate_netstate_free(got);
	s->t_ms[lat][turn] = t * 1e3;
	s->cmds[lat] = st1.cvq_commands - st0.cvq_commands;
	s->batches[lat] = st1.cvq_batches - st0.cvq_batches;
	if (s->cmds[lat] != NCMDS) {
		fprintf(stderr, "bench: the restore posted %llu commands, not %d\n",
			(unsigned long long)s->cmds[lat], NCMDS);
		exit(1);
	}
}

int main(void)
{
	struct vdpastate_blob *b = large_blob();
	static struct side sd[NMODES];
	double best[NLAT][NMODES], med[NLAT][NMODES], r2, dev_us, start;
	unsigned int n = bench_turns(TURNS, MAX_TURNS), turn, m, k;
	size_t lat;

	side_open(&sd[PIPELINED], 0);
	side_open(&sd[ONE_IN_FLIGHT], 1);
	/*
	 * The machine's speed drifts (shared host): the four cases run in
	 * alternating turns, in reverse order every other turn, and each
	 * keeps its best and median turn.
	 */
	start = bench_now();
	for (turn = 0; turn < n; turn++) {
		for (k = 0; k < NLAT * NMODES; k++) {
			unsigned int i = turn % 2 ? NLAT * NMODES - 1 - k : k;

			run(&sd[i % NMODES], b, i / NMODES, turn);
		}
		if (turn >= 2 && bench_now() - start > BUDGET_S)
			n = turn + 1;
	}

	printf("%-8s %-14s %9s %12s %10s %10s\n", "latency", "mode", "commands",
	       "round trips", "best ms", "median ms");
	for (lat = 0; lat < NLAT; lat++)
		for (m = 0; m < NMODES; m++) {
			double *t = sd[m].t_ms[lat];

			bench_best_median(t, n, &best[lat][m], &med[lat][m]);
			printf("%-8s %-14s %9llu %12llu %10.2f %10.2f\n",
			       latencies_ns[lat] ? "2 us" : "0 us", mode_name[m],
			       (unsigned long long)sd[m].cmds[lat],
			       (unsigned long long)sd[m].batches[lat], best[lat][m],
			       med[lat][m]);
		}
	printf("bench: sim on its own thread, control ring %d entries (%d in "
	       "flight when pipelined); best of %u alternating turns each\n",
	       RING, RING / 2, n);
	for (lat = 0; lat < NLAT; lat++)
		printf("bench: %s per command: one-in-flight / pipelined = %.2fx "
		       "(medians %.2fx)\n", latencies_ns[lat] ? "2 us" : "0 us",
		       best[lat][ONE_IN_FLIGHT] / best[lat][PIPELINED],
		       med[lat][ONE_IN_FLIGHT] / med[lat][PIPELINED]);
	/*
	 * What the device spent per command beyond the 0 us case: the
	 * latency the sim really applied (its spin, plus any time the host
	 * took its thread away).
	 */
	dev_us = (best[1][PIPELINED] - best[0][PIPELINED]) * 1e3 / NCMDS;
	printf("bench: pipelined, 2 us vs 0 us: %.1f us more per command (the "
	       "latency the device really applied)\n", dev_us);
	r2 = best[1][ONE_IN_FLIGHT] / best[1][PIPELINED];
	printf("bench: target pipelined >= %.0fx faster than one-in-flight at "
	       "2 us: %.2fx: %s\n", TARGET, r2, r2 >= TARGET ? "met" : "NOT met");

	for (m = 0; m < NMODES; m++) {
		vdpastate_dev_free(sd[m].dev);
		vdpastate_transport_free(sd[m].t);
	}
	vdpastate_blob_free(b);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vm_restore_batch.c - VM case 6: a long control command list
 * batched against one at a time, through the handle's own posting path,
 * on the kernel's vdpa_sim_net.
 *
 * vdpastate_dev_send_list() posts a list the way a restore does: as many
 * commands in flight as cvq_max_inflight allows (0: what the control ring
 * holds, 32 with the default ring of 64; 1: one at a time), one kick and
 * one wait per batch.  The simulator answers OK only to MAC_ADDR_SET, so
 * the list is N MAC_ADDR_SET of distinct MACs.  Each run opens a handle
 * on the device with one of the two settings, starts it with the features
 * the simulator offers and times send_list alone: it must return 0 with
 * every command answered, in the expected number of batches, and the
 * tracked state and netlink must show the last MAC.  The MACs change from
 * run to run, so a run that set nothing cannot pass on the one before.
 * The two alternate, best of ROUNDS each.  The times and their ratio are
 * a measurement, not a check: under software emulation on a shared
 * machine they move with the host's load.
 *
 * Usage: vm_restore_batch [DEVICE_NAME [COMMANDS [ROUNDS]]]  (vdpa0, 2048, 5)
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "vmtest.h"

/* Commands in flight with cvq_max_inflight 0: half the default ring of 64
 * (two descriptors a command). */
#define PER 32u

static const char *const mode_name[2] = { "batched", "one-at-a-time" };

struct bench {
	const char *name; /* the vdpa device */
	struct vdpastate_transport *t;
	struct vdpastate_cvq_cmd **cmds;
	unsigned int n;
	char why[1024];
};

/* Locally administered unicast: command i of run r. */
static void mac_of(unsigned int r, unsigned int i, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = (uint8_t)r;
	mac[2] = 0x5e;
	mac[3] = (uint8_t)(i >> 16);
	mac[4] = (uint8_t)(i >> 8);
	mac[5] = (uint8_t)i;
}

/* On a started handle: the list of run r timed into *secs, then checked. */
static int send_checked(struct bench *b, struct vdpastate_dev *dev,
			unsigned int r, unsigned int mode, double *secs)
{
	VDPASTATE_OPTS(vdpastate_dev_stats, s0);
	VDPASTATE_OPTS(vdpastate_dev_stats, s1);
	uint64_t want = mode ? b->n : (b->n + PER - 1) / PER;
	uint8_t last[6], tracked[6] = { 0 }, nl[6] = { 0 };
	const struct vdpastate_netstate *ns;
	size_t answered = 0;
	char m[18], x[18], y[18];
	double t0;

	VMT_TRY(b->why, sizeof(b->why), vdpastate_dev_get_stats(dev, &s0));
	t0 = vmt_now();
	VMT_TRY(b->why, sizeof(b->why),
		vdpastate_dev_send_list(
			dev, (const struct vdpastate_cvq_cmd *const *)b->cmds,
			b->n, &answered));
	*secs = vmt_now() - t0;
	VMT_TRY(b->why, sizeof(b->why), vdpastate_dev_get_stats(dev, &s1));
	if (answered != b->n || s1.cvq_batches - s0.cvq_batches != want ||
	    s1.cvq_commands - s0.cvq_commands != b->n) {
		snprintf(b->why, sizeof(b->why),
			 "%zu of %u commands answered, %" PRIu64 " posted in %"
			 PRIu64 " batches (expected %" PRIu64 ")",
			 answered, b->n, s1.cvq_commands - s0.cvq_commands,
			 s1.cvq_batches - s0.cvq_batches, want);
		return -1;
	}
	mac_of(r, b->n - 1, last);
	ns = vdpastate_dev_netstate(dev);
	if (vmt_dev_mac(b->name, nl, b->why, sizeof(b->why)))
		return -1;
	if (!ns || vdpastate_netstate_mac(ns, tracked) || memcmp(tracked, last, 6) ||
	    memcmp(nl, last, 6)) {
		snprintf(b->why, sizeof(b->why), "the last command set %s; the "
						 "handle tracks %s, netlink "
						 "reports %s",
			 vmt_mac_str(last, m), vmt_mac_str(tracked, x),
			 vmt_mac_str(nl, y));
		return -1;
	}
	return 0;
}

/* Run r in mode (0 batched, 1 one at a time) on a handle of its own. */
static int run(struct bench *b, unsigned int r, unsigned int mode,
	       double *secs)
{
	VDPASTATE_OPTS(vdpastate_dev_opts, o,
		       .cvq_max_inflight = (uint16_t)mode);
	struct vdpastate_dev *dev;
	unsigned int i;
	int ret;

	for (i = 0; i < b->n; i++) {
		uint8_t mac[6];

		mac_of(r, i, mac);
		vdpastate_cvq_cmd_free(b->cmds[i]);
		b->cmds[i] = vdpastate_cvq_cmd_mac_addr_set(mac);
		if (!b->cmds[i]) {
			snprintf(b->why, sizeof(b->why), "MAC_ADDR_SET %u: %s",
				 i, vdpastate_last_error());
			return -1;
		}
	}
	dev = vdpastate_dev_open(b->t, &o);
	if (!dev) {
		snprintf(b->why, sizeof(b->why), "dev_open: %s",
			 vdpastate_last_error());
		return -1;
	}
	ret = vdpastate_dev_start(dev, VMT_SIM_F);
	if (ret)
		snprintf(b->why, sizeof(b->why), "start with features 0x%llx: "
						 "%d (%s)",
			 (unsigned long long)VMT_SIM_F, ret,
			 vdpastate_last_error());
	else
		ret = send_checked(b, dev, r, mode, secs);
	vdpastate_dev_free(dev);
	return ret ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const uint8_t mac0[6] = VMT_MAC0;
	struct bench b = { .name = argc > 1 ? argv[1] : "vdpa0" };
	unsigned int rounds = argc > 3 ? (unsigned int)strtoul(argv[3], NULL, 0)
				       : 5;
	double best[2] = { 1e9, 1e9 }, worst[2] = { 0, 0 };
	char path[64], why[512];
	unsigned int i, r;

	vmt_case("restore_batch");
	b.n = argc > 2 ? (unsigned int)strtoul(argv[2], NULL, 0) : 2048;
	b.cmds = calloc(b.n ? b.n : 1, sizeof(*b.cmds));
	if (!b.cmds || b.n == 0 || rounds == 0) {
		vmt_fail("setup", "bad arguments or out of memory");
		free(b.cmds);
		return vmt_exit();
	}
	if (vmt_dev_create(b.name, mac0, path, sizeof(path), why, sizeof(why))) {
		vmt_fail("setup", "%s", why);
		goto out;
	}
	b.t = vdpastate_transport_open_vhost_vdpa(path, NULL);
	if (!b.t) {
		vmt_fail("setup", "%s: %s", path, vdpastate_last_error());
		goto destroy;
	}
	/* Alternate the two so that both see the same machine. */
	for (r = 0; r < rounds; r++)
		for (i = 0; i < 2; i++) {
			double secs = 0;

			if (run(&b, 2 * r + i, i, &secs)) {
				vmt_fail(mode_name[i], "round %u: %s", r + 1,
					 b.why);
				goto destroy;
			}
			if (secs < best[i])
				best[i] = secs;
			if (secs > worst[i])
				worst[i] = secs;
		}
	vmt_pass("batched", "%u MAC_ADDR_SET through send_list in %u batches "
			    "of up to %u, all answered OK, the tracked state and "
			    "netlink show the last MAC; best of %u: %.1f ms "
			    "(worst %.1f)",
		 b.n, (b.n + PER - 1) / PER, PER, rounds, best[0] * 1e3,
		 worst[0] * 1e3);
	vmt_pass("one-at-a-time", "%u MAC_ADDR_SET through send_list with "
				  "cvq_max_inflight 1 in %u batches, all answered "
				  "OK, the last MAC shown; best of %u: %.1f ms "
				  "(worst %.1f)",
		 b.n, b.n, rounds, best[1] * 1e3, worst[1] * 1e3);
	vmt_pass("ratio", "batched %.1f ms, one-at-a-time %.1f ms, ratio %.1f "
			  "(measured, not checked)",
		 best[0] * 1e3, best[1] * 1e3, best[1] / best[0]);
destroy:
	vdpastate_transport_free(b.t);
	if (vmt_dev_destroy(b.name, why, sizeof(why)))
		vmt_fail("teardown", "%s", why);
out:
	for (i = 0; i < b.n; i++)
		vdpastate_cvq_cmd_free(b.cmds[i]);
	free(b.cmds);
	return vmt_exit();
}

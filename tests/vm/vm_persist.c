/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vm_persist.c - VM case: what a reset costs in IOTLB messages.
 * Guest memory of 64 regions is mapped into a vdpa_sim_net device before
 * the handle starts it, as a VMM maps guest RAM; then the transport's
 * message counts (vdpastate_transport_get_stats()) are read around
 * vdpastate_dev_start(), vdpastate_dev_switch() and vdpastate_dev_restore()
 * of a saved state onto the same device, each of which resets it.
 *
 * Where the kernel offers VHOST_BACKEND_F_IOTLB_PERSIST (6.12) the handle
 * acks it before its first reset and the mappings survive every reset:
 * no replay, no guest-memory message after the initial maps.  Where it
 * does not (6.1) each reset clears the device's mappings and the
 * transport sends them again, per address space in one batch: one replay
 * per operation, at least the 64 regions each, one batch each.  The
 * counts are printed per operation; every map must still be in place
 * afterwards (mapping the first region again is refused as an overlap).
 *
 * Usage: vm_persist [DEVICE-NAME]   (vdpap)
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "vmtest.h"

#define REGIONS 64u
#define REGION 0x10000ull /* 64 KiB each, 64 KiB apart */
#define GPA 0x1000000ull

static char why[512];

struct counts {
	uint64_t maps, unmaps, batches, replays, replayed;
};

static int counts(struct vdpastate_transport *t, struct counts *c)
{
	VDPASTATE_OPTS(vdpastate_transport_stats, st);

	if (vdpastate_transport_get_stats(t, &st))
		return -1;
	c->maps = st.dma_maps;
	c->unmaps = st.dma_unmaps;
	c->batches = st.batches;
	c->replays = st.replays;
	c->replayed = st.replayed_maps;
	return 0;
}

/* Run op, check the counts it added against the kernel's offer. */
static void measure(const char *check, struct vdpastate_transport *t,
		    struct vdpastate_dev *dev, struct vdpastate_blob *blob,
		    bool persist, int op)
{
	struct counts a, b;
	uint64_t replays, replayed, batches;
	int r;

	if (counts(t, &a)) {
		vmt_fail(check, "get_stats: %s", vdpastate_last_error());
		return;
	}
	r = op == 0 ? vdpastate_dev_start(dev, VMT_SIM_F)
	    : op == 1 ? vdpastate_dev_switch(dev)
		      : vdpastate_dev_restore(dev, blob);
	if (r || counts(t, &b)) {
		vmt_fail(check, "%d: %s", r, vdpastate_last_error());
		return;
	}
	replays = b.replays - a.replays;
	replayed = b.replayed - a.replayed;
	batches = b.batches - a.batches;
	if (persist ? replays || replayed || b.maps - a.maps >= REGIONS
		    : replays < 1 || replayed < REGIONS || batches < replays)
		vmt_fail(check, "IOTLB_PERSIST %s: %" PRIu64 " replays, %" PRIu64
			 " maps replayed, %" PRIu64 " maps, %" PRIu64 " unmaps, %"
			 PRIu64 " batches", persist ? "acked" : "not offered",
			 replays, replayed, b.maps - a.maps, b.unmaps - a.unmaps,
			 batches);
	else
		vmt_pass(check, "IOTLB_PERSIST %s: %" PRIu64 " replays, %" PRIu64
			 " maps replayed, %" PRIu64 " maps, %" PRIu64 " unmaps, %"
			 PRIu64 " batches (%u regions of guest memory)",
			 persist ? "acked" : "not offered", replays, replayed,
			 b.maps - a.maps, b.unmaps - a.unmaps, batches, REGIONS);
}

int main(int argc, char **argv)
{
	static const uint8_t mac0[6] = VMT_MAC0;
	const char *name = argc > 1 ? argv[1] : "vdpap";
	const struct vmt_kernel *k;
	struct vdpastate_transport *t = NULL;
	struct vdpastate_dev *dev = NULL;
	struct vdpastate_blob *blob = vdpastate_blob_new();
	uint8_t *mem = vmt_shared_alloc(REGIONS * REGION);
	bool persist, created = false;
	char path[64], w[512];
	unsigned int i;
	int r;

	vmt_case("persist");
	if (!(k = vmt_kernel(why, sizeof(why))) || !mem || !blob) {
		vmt_fail("setup", "%s", k ? "out of memory" : why);
		goto out;
	}
	persist = k->backend & ((uint64_t)1 << VDPASTATE_BACKEND_F_IOTLB_PERSIST);
	if (vmt_dev_create(name, mac0, path, sizeof(path), why, sizeof(why))) {
		vmt_fail("setup", "%s", why);
		goto out;
	}
	created = true;
	if (!(t = vdpastate_transport_open_vhost_vdpa(path, NULL)) ||
	    !(dev = vdpastate_dev_open(t, NULL))) {
		vmt_fail("setup", "%s: %s", path, vdpastate_last_error());
		goto out;
	}
	/* Guest RAM in 64 pieces, every other 64 KiB of IOVA. */
	for (i = 0; i < REGIONS; i++)
		if ((r = vdpastate_transport_dma_map(t, 0, GPA + 2 * i * REGION,
						     REGION, mem + i * REGION,
						     VDPASTATE_DMA_READ |
							     VDPASTATE_DMA_WRITE))) {
			vmt_fail("setup", "map %u: %s", i, vdpastate_last_error());
			goto out;
		}
	measure("start", t, dev, blob, persist, 0);
	measure("switch", t, dev, blob, persist, 1);
	if ((r = vdpastate_dev_save(dev, blob))) {
		vmt_fail("save", "%d: %s", r, vdpastate_last_error());
		goto out;
	}
	measure("restore", t, dev, blob, persist, 2);
	/* The regions are all still mapped: a second map of one overlaps. */
	r = vdpastate_transport_dma_map(t, 0, GPA, REGION, mem,
					VDPASTATE_DMA_READ);
	if (r == -EEXIST)
		vmt_pass("still-mapped", "mapping region 0 again: EEXIST (%s)",
			 vdpastate_last_error());
	else
		vmt_fail("still-mapped", "mapping region 0 again gave %d, not "
			 "-EEXIST", r);
out:
	vdpastate_dev_free(dev);
	vdpastate_transport_free(t);
	vdpastate_blob_free(blob);
	if (mem)
		vmt_shared_free(mem, REGIONS * REGION);
	if (created && vmt_dev_destroy(name, w, sizeof(w)))
		vmt_fail("teardown", "%s", w);
	return vmt_exit();
}

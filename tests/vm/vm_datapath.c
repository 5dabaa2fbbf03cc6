/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vm_datapath.c - VM case 3: the SVQ datapath against the
 * kernel's vdpa_sim_net through vhost-vdpa.  A guest driver (the
 * library's own driver half) posts frames on its TX ring and buffers on
 * its RX ring in "guest memory"; two shadow virtqueues relay them to the
 * device, which reads and writes only through its IOTLB (guest memory
 * and the shadow rings are DMA-mapped); vdpa_sim_net loops every frame
 * addressed to its MAC back into RX.  Every frame must come back once,
 * in order, byte-exact, and the ring indexes must wrap (more than 65,536
 * frames through rings of 64).
 *
 * Usage: vm_datapath [DEVICE_NAME [FRAMES]]   (vdpa0, 70000)
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libvdpastate/cvq.h>
#include <libvdpastate/libvdpastate.h>

#include "ring.h"
#include "vmtest.h"

#define RING 64u
#define PAGE 4096ull
#define GPA 0x100000ull
#define MEM_SIZE (512 * 1024ull)
#define F(b) ((uint64_t)1 << (b))
#define GUEST_F F(VDPASTATE_F_VERSION_1)
#define DEVICE_F                                                         \
	(F(VDPASTATE_F_VERSION_1) | F(VDPASTATE_F_ACCESS_PLATFORM) |     \
	 F(VDPASTATE_NET_F_MAC))

/* The SVQ between the guest's ring and the device. */
struct q {
	struct vdpastate_svq *svq;
	int kick, call;          /* eventfds between the SVQ and the device */
};

struct dp {
	uint8_t *mem_host;
	struct vdpastate_mem *mem;
	struct vdpastate_iova *iova;
	uint64_t mem_iova;
	struct vdpastate_transport *t;
	struct vmt_guest g;      /* the guest's driver on its rings */
	struct q q[2];
	char why[1024];
};

#define TRY(d, call) VMT_TRY((d)->why, sizeof((d)->why), call)

static int q_setup(struct dp *d, unsigned int idx)
{
	VDPASTATE_OPTS(vdpastate_svq_opts, so, .guest_features = GUEST_F,
		       .device_features = DEVICE_F, .shadow_num = RING);
	VDPASTATE_OPTS(vdpastate_svq_shadow, sh);
	struct q *q = &d->q[idx];
	uint64_t ring = d->g.q[idx].ring_gpa;

	q->svq = vdpastate_svq_new(RING, d->mem, d->iova, &so);
	if (!q->svq) {
		snprintf(d->why, sizeof(d->why), "svq_new: %s",
			 vdpastate_last_error());
		return -1;
	}
	TRY(d, vdpastate_svq_set_guest_ring(q->svq, ring, ring + 0x800,
					    ring + 0x1000));
	q->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->kick < 0 || q->call < 0) {
		snprintf(d->why, sizeof(d->why), "eventfd: %s", strerror(errno));
		return -1;
	}
	TRY(d, vdpastate_svq_set_fds(q->svq, -1, -1, q->kick, q->call));
	TRY(d, vdpastate_svq_get_shadow(q->svq, &sh));
	TRY(d, vdpastate_transport_map_svq(d->t, 0, q->svq));
	TRY(d, vdpastate_transport_set_vring_num(d->t, idx, (uint32_t)sh.num));
	TRY(d, vdpastate_transport_set_vring_addr(d->t, idx, sh.desc_iova,
						  sh.avail_iova, sh.used_iova));
	TRY(d, vdpastate_transport_set_vring_base(d->t, idx, 0));
	TRY(d, vdpastate_transport_set_vring_kick(d->t, idx, q->kick));
	TRY(d, vdpastate_transport_set_vring_call(d->t, idx, q->call));
	TRY(d, vdpastate_transport_set_vring_enable(d->t, idx, true));
	return 0;
}

static int setup(struct dp *d, const char *path)
{
	uint64_t first = 0, last = 0;
	const uint8_t st = VDPASTATE_STATUS_ACKNOWLEDGE | VDPASTATE_STATUS_DRIVER;
	unsigned int i;

	d->mem_host = vmt_shared_alloc(MEM_SIZE);
	d->mem = vdpastate_mem_new();
	d->t = vdpastate_transport_open_vhost_vdpa(path, NULL);
	if (!d->mem_host || !d->mem || !d->t) {
		snprintf(d->why, sizeof(d->why), "setup: %s",
			 d->t ? "out of memory" : vdpastate_last_error());
		return -1;
	}
	memset(d->mem_host, 0, MEM_SIZE);
	if (vmt_guest_init(&d->g, d->mem_host, GPA, RING, GUEST_F, d->why,
			   sizeof(d->why)))
		return -1;
	TRY(d, vdpastate_transport_get_config(d->t, 0, d->g.mac, 6));
	if (vmt_negotiate(d->t, DEVICE_F, d->why, sizeof(d->why)))
		return -1;
	TRY(d, vdpastate_transport_get_iova_range(d->t, &first, &last));
	d->iova = vdpastate_iova_new(first < PAGE ? PAGE : first, last);
	if (!d->iova) {
		snprintf(d->why, sizeof(d->why), "iova_new: %s",
			 vdpastate_last_error());
		return -1;
	}
	TRY(d, vdpastate_mem_add(d->mem, GPA, MEM_SIZE, d->mem_host, 0));
	TRY(d, vdpastate_iova_map(d->iova, VDPASTATE_IOVA_GPA, GPA, MEM_SIZE,
				  NULL, &d->mem_iova));
	TRY(d, vdpastate_transport_dma_map(d->t, 0, d->mem_iova, MEM_SIZE,
					   d->mem_host,
					   VDPASTATE_DMA_READ | VDPASTATE_DMA_WRITE));
	for (i = 0; i < 2; i++)
		if (q_setup(d, i))
			return -1;
	TRY(d, vdpastate_transport_set_status(d->t,
					      st | VDPASTATE_STATUS_FEATURES_OK |
						      VDPASTATE_STATUS_DRIVER_OK));
	for (i = 0; i < 2; i++)
		TRY(d, vdpastate_svq_start(d->q[i].svq));
	return 0;
}

static int svq_kick(void *arg, unsigned int q)
{
	return vdpastate_svq_handle_guest_kick(((struct dp *)arg)->q[q].svq);
}

static int svq_collect(void *arg, unsigned int q)
{
	return vdpastate_svq_handle_device_call(((struct dp *)arg)->q[q].svq);
}

static void teardown(struct dp *d)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		struct q *q = &d->q[i];

		if (q->svq) {
			if (d->t)
				vdpastate_transport_unmap_svq(d->t, 0, q->svq);
			vdpastate_svq_free(q->svq);
		}
		if (q->kick >= 0)
			close(q->kick);
		if (q->call >= 0)
			close(q->call);
	}
	if (d->t) {
		vdpastate_transport_reset(d->t);
		if (d->mem_iova)
			vdpastate_transport_dma_unmap(d->t, 0, d->mem_iova,
						      MEM_SIZE);
		vdpastate_transport_free(d->t);
	}
	vmt_guest_fini(&d->g);
	vdpastate_iova_free(d->iova);
	vdpastate_mem_free(d->mem);
	vmt_shared_free(d->mem_host, MEM_SIZE);
}

int main(int argc, char **argv)
{
	static const uint8_t mac[6] = VMT_MAC0;
	const char *dev = argc > 1 ? argv[1] : "vdpa0";
	uint64_t frames = argc > 2 ? strtoull(argv[2], NULL, 0) : 70000;
	struct dp d = { .q = { { .kick = -1, .call = -1 },
			       { .kick = -1, .call = -1 } } };
	struct vmt_link link = { .kick = svq_kick, .collect = svq_collect,
				 .arg = &d };
	char path[64], why[512];
	double secs = 0;
	uint32_t base_rx = 0, base_tx = 0;

	vmt_case("datapath");
	if (vmt_dev_create(dev, mac, path, sizeof(path), why, sizeof(why))) {
		vmt_fail("setup", "%s", why);
		return vmt_exit();
	}
	if (setup(&d, path)) {
		vmt_fail("setup", "%s", d.why);
		goto out;
	}
	link.call_fd[VMT_RXQ] = d.q[VMT_RXQ].call;
	link.call_fd[VMT_TXQ] = d.q[VMT_TXQ].call;
	vmt_pass("setup", "%s: rx and tx through SVQs, rings of %u, guest "
			  "memory at IOVA 0x%" PRIx64,
		 path, RING, d.mem_iova);
	if (vmt_traffic(&d.g, &link, 0, frames, &secs, d.why, sizeof(d.why))) {
		vmt_fail("loopback", "%s", d.why);
		goto out;
	}
	vmt_pass("loopback",
		 "%" PRIu64 " frames to %02x:%02x:%02x:%02x:%02x:%02x back "
		 "byte-exact in order, %.1f s (%.0f frames/s)",
		 frames, d.g.mac[0], d.g.mac[1], d.g.mac[2], d.g.mac[3], d.g.mac[4],
		 d.g.mac[5], secs, frames / (secs > 0 ? secs : 1));
	/* The device's own indexes: 16 bits, wrapped with the guest's. */
	if (vdpastate_transport_suspend(d.t) ||
	    vdpastate_transport_get_vring_base(d.t, VMT_RXQ, &base_rx) ||
	    vdpastate_transport_get_vring_base(d.t, VMT_TXQ, &base_tx)) {
		vmt_fail("wrap", "suspend/get_vring_base: %s",
			 vdpastate_last_error());
	} else {
		uint16_t lai_rx = 0, lai_tx = 0, ui = 0;

		vdpastate_svq_get_state(d.q[VMT_TXQ].svq, &lai_tx, &ui);
		vdpastate_svq_get_state(d.q[VMT_RXQ].svq, &lai_rx, &ui);
		if (frames <= 65536 || base_tx != (frames & 0xffff) ||
		    lai_tx != (uint16_t)frames)
			vmt_fail("wrap",
				 "%" PRIu64 " frames: device TX base %u, guest "
				 "TX avail %u (expected %u for both, after a "
				 "wrap)",
				 frames, base_tx, lai_tx,
				 (unsigned int)(frames & 0xffff));
		else
			vmt_pass("wrap",
				 "indexes wrapped: TX base %u = %" PRIu64
				 " mod 65536; RX base %u, guest RX avail %u",
				 base_tx, frames, base_rx, lai_rx);
	}
out:
	teardown(&d);
	if (vmt_dev_destroy(dev, why, sizeof(why)))
		vmt_fail("teardown", "%s", why);
	return vmt_exit();
}

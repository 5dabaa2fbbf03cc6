/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_guest_cvq.c - a malicious guest on its control queue.
 * The input scribbles on guest memory (descriptors, avail ring, command
 * bytes), posts well-formed and ill-formed command chains, and moves the
 * avail index, between calls to vdpastate_dev_handle_guest_cvq() on a
 * handle over the simulated device, which the input also makes refuse
 * whole command classes.  Whatever the guest does, nothing may
 * crash, a broken ring stays refused until it is set again, and the
 * tracked state must always equal the device's own state: the handle
 * applies a command only when the device acknowledged it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "bytes.h"
#include "fuzz_input.h"

#define GPA 0x10000ull
#define RAM (64u << 10)
#define NUM 8u
#define DESC 0x0u
#define AVAIL 0x100u
#define USED 0x200u
#define CMDS 0x1000u /* per head: 0x400 bytes of command */
#define ACKS 0x4000u /* per head: 16 bytes of answer */
#define F_(b) (1ULL << (b))

/* Descriptor i: addr, len, flags, next (little-endian, as a guest). */
static void desc(uint8_t *ram, unsigned int i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	uint8_t *d = ram + DESC + 16 * (i % NUM);

	vds_put_le64(d, addr);
	vds_put_le32(d + 8, len);
	vds_put_le16(d + 12, flags);
	vds_put_le16(d + 14, next);
}

static void check_same(struct vdpastate_dev *dev, struct vdpastate_sim *sim)
{
	struct vdpastate_netstate *x = vdpastate_sim_netstate(sim);

	if (!x || !vdpastate_netstate_equal(x, vdpastate_dev_netstate(dev))) {
		fprintf(stderr, "tracked state differs from the device's\n");
		abort();
	}
	vdpastate_netstate_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, so, .max_queue_pairs = 2);
	VDPASTATE_OPTS(vdpastate_dev_guest_cvq, gc, .desc = GPA + DESC,
		       .avail = GPA + AVAIL, .used = GPA + USED, .num = NUM,
		       .kick_fd = -1, .call_fd = -1);
	struct in in = { data, size };
	struct vdpastate_transport *t;
	struct vdpastate_sim *sim;
	struct vdpastate_dev *dev;
	struct vdpastate_mem *mem;
	uint8_t *ram, cfgb = 0, op;
	uint16_t avail_idx = 0;
	uint64_t offered, ring_off;
	bool broken = false;
	int steps = 0;

	if (take(&in, &cfgb, 1))
		return 0;
	/* Ring features the guest may or may not use. */
	ring_off = (cfgb & 1 ? 0 : F_(VDPASTATE_F_EVENT_IDX)) |
		   (cfgb & 2 ? 0 : F_(VDPASTATE_F_INDIRECT_DESC));
	ring_off = ~ring_off;
	ram = calloc(1, RAM);
	mem = vdpastate_mem_new();
	t = vdpastate_sim_new(&so);
	sim = vdpastate_sim_from_transport(t);
	dev = vdpastate_dev_open(t, NULL);
	if (!ram || !mem || !t || !sim || !dev ||
	    vdpastate_mem_add(mem, GPA, RAM, ram, 0) ||
	    vdpastate_transport_get_device_features(t, &offered) ||
	    vdpastate_dev_start(dev, offered & ring_off)) {
		fprintf(stderr, "setup: %s\n", vdpastate_last_error());
		abort();
	}
	gc.mem = mem;
	if (vdpastate_dev_set_guest_cvq(dev, &gc))
		abort();
	while (!take(&in, &op, 1) && steps++ < 64) {
		switch (op % 4) {
		case 0: { /* scribble: offset, length, bytes */
			uint8_t h[3];
			size_t off, len;

			if (take(&in, h, 3))
				break;
			off = (h[0] | (size_t)h[1] << 8) % RAM;
			len = h[2];
			if (len > in.n)
				len = in.n;
			if (len > RAM - off)
				len = RAM - off;
			memcpy(ram + off, in.p, len);
			in.p += len;
			in.n -= len;
			break;
		}
		case 1: { /* a command chain: class, command, data length, data */
			uint8_t h[3];
			unsigned int head = avail_idx % NUM;
			size_t len;

			if (take(&in, h, 3))
				break;
			len = h[2];
			if (len > in.n)
				len = in.n;
			ram[CMDS + 0x400 * head] = h[0];
			ram[CMDS + 0x400 * head + 1] = h[1];
			memcpy(ram + CMDS + 0x400 * head + 2, in.p, len);
			in.p += len;
			in.n -= len;
			desc(ram, head, GPA + CMDS + 0x400 * head, (uint32_t)(2 + len),
			     1 /* NEXT */, (uint16_t)((head + 4) % NUM));
			desc(ram, (head + 4) % NUM, GPA + ACKS + 16 * head,
			     op & 4 ? 16 : 1, 2 /* WRITE */, 0);
			vds_put_le16(ram + AVAIL + 4 + 2 * (avail_idx % NUM),
				     (uint16_t)head);
			vds_put_le16(ram + AVAIL + 2, ++avail_idx);
			break;
		}
		case 2: { /* move the avail index anywhere */
			uint8_t b[2];

			if (take(&in, b, 2))
				break;
			avail_idx = (uint16_t)(b[0] | b[1] << 8);
			vds_put_le16(ram + AVAIL + 2, avail_idx);
			break;
		}
		default: {
			int r;

			/* The device refuses a class, or stops refusing. */
			if (op & 0x80)
				vdpastate_sim_cvq_err(sim, op & 0x40, (op >> 3) & 7,
						      VDPASTATE_SIM_ANY);
			r = vdpastate_dev_handle_guest_cvq(dev);

			if (broken && r != -VDPASTATE_EGUEST) {
				fprintf(stderr, "a broken ring was served again\n");
				abort();
			}
			if (r == -VDPASTATE_EGUEST)
				broken = true;
			else if (r < 0) {
				fprintf(stderr, "handle: %d %s\n", r,
					vdpastate_last_error());
				abort();
			}
			check_same(dev, sim);
			break;
		}
		}
	}
	if (!broken && vdpastate_dev_handle_guest_cvq(dev) < 0 &&
	    vdpastate_dev_handle_guest_cvq(dev) != -VDPASTATE_EGUEST)
		abort();
	check_same(dev, sim);
	vdpastate_dev_free(dev);
	vdpastate_transport_free(t);
	vdpastate_mem_free(mem);
	free(ram);
	return 0;
}

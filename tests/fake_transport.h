/* SPDX-License-Identifier: MIT */
/*
 * tests/fake_transport.h - a small virtio-net device modelled in the test,
 * offered to the library as a custom ops table: what a VMM bringing its
 * own transport would write.  Its state is open to the tests.
 */
#ifndef VDS_TEST_FAKE_TRANSPORT_H
#define VDS_TEST_FAKE_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <libvdpastate/transport.h>

#include "ring.h"
#include "transport_conformance.h"

#define FAKE_DEVICE_ID 1u /* virtio-net */
#define FAKE_VQS 5u       /* rx0 tx0 rx1 tx1 cvq */
#define FAKE_GROUPS 2u    /* data queues in group 0, the cvq in group 1 */
#define FAKE_AS 2u
#define FAKE_NUM_MAX 256u
#define FAKE_CONFIG_LEN 12u /* mac, status, max_virtqueue_pairs, mtu */
#define FAKE_IOVA_FIRST 0x1000ULL
#define FAKE_IOVA_LAST ((1ULL << 48) - 1)
#define FAKE_MAPS 64u
/* VERSION_1, ACCESS_PLATFORM, MAC, STATUS, CTRL_VQ, MQ */
#define FAKE_FEATURES                                                \
	((1ULL << 32) | (1ULL << 33) | (1ULL << 5) | (1ULL << 16) |  \
	 (1ULL << 17) | (1ULL << 22))

struct fake_vq {
	uint32_t num, base;
	uint64_t desc, avail, used;
	int kick, call;
	bool enabled;
};

struct fake_map {
	uint32_t asid, perm;
	uint64_t iova, size;
	void *hva;
};

struct fake_dev {
	uint8_t status;
	uint64_t drv_features;
	uint64_t backend_acked;
	uint8_t config[FAKE_CONFIG_LEN];
	struct fake_vq vq[FAKE_VQS];
	uint32_t group_asid[FAKE_GROUPS];
	struct fake_map map[FAKE_MAPS];
	unsigned int nmaps;
	bool in_batch, suspended;
	uint32_t batch_asid;
	unsigned int *closed; /* incremented by close, if set */
};

/* The fake's ops table (every member set). */
extern const struct vdpastate_transport_ops fake_ops;

/* A fresh fake device in reset state; NULL on ENOMEM. */
struct fake_dev *fake_dev_new(void);

/*
 * The fake's control queue run by a test as its device, once a handle
 * has set it up: chains taken in the ring's order, answered in any order.
 */
#define FAKE_CVQ_TAKE 4
struct fake_cvq {
	struct vds_as as; /* first: the ring code's address space */
	struct fake_dev *d;
	uint32_t asid;
	struct vds_vdev vd;
	struct vds_seg seg[FAKE_CVQ_TAKE][2];
	uint16_t head[FAKE_CVQ_TAKE];
};

/* The device half on the control queue's ring; 0 or a negative errno. */
int fake_cvq_attach(struct fake_cvq *c, struct fake_dev *d);
void fake_cvq_detach(struct fake_cvq *c);
/* Take the n (<= FAKE_CVQ_TAKE) chains waiting, each a command and an ack
 * slot; 0, or -EAGAIN when not exactly n are waiting, or -EPROTO. */
int fake_cvq_take(struct fake_cvq *c, unsigned int n);
/* Answer taken chain k with ack (< 0: used, but no byte written). */
void fake_cvq_answer(struct fake_cvq *c, unsigned int k, int ack);

/* A custom transport over a fresh fake device (arg: unsigned int *closed,
 * may be NULL).  Conformance factory. */
struct vdpastate_transport *fake_transport_open(void *arg);

#endif

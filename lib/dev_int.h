/* SPDX-License-Identifier: MIT */
/*
 * lib/dev_int.h - what the files of the device handle share: the handle
 * itself, its control ring's constants, the saved vring records, and the
 * functions one file calls in another.  lib/dev.c holds the handle and
 * its control ring, lib/restore.c the restore sequence, save, switch and
 * early restore, lib/guest_cvq.c the guest's control queue, lib/check.c
 * the compatibility check.  Never installed.
 */
#ifndef VDS_DEV_INT_H
#define VDS_DEV_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <libvdpastate/dev.h>

#include "ring.h"

#define FB(bit) (UINT64_C(1) << VDPASTATE_NET_F_##bit)
#define BB(bit) (UINT64_C(1) << VDPASTATE_BACKEND_F_##bit)
#define DEF_TIMEOUT_MS 5000
#define DEF_RING 64
#define BUF_SIZE (256u * 1024) /* command bytes one batch may carry */
#define ACK_SLOT 16
#define PAGE 4096u
#define NET_OK 0
#define VRING_REC_ENT 8
/* Flags of a vring record entry. */
#define VR_F_CONFIGURED 1 /* a data queue the VMM configured */
#define VR_F_GUEST_CVQ 2  /* the guest's control queue: its position */
#define VR_F_BROKEN 4     /* the guest broke this ring: keep it disabled */
/* Backend features the handle uses when offered. */
#define WANT_BACKEND                                                   \
	(BB(IOTLB_MSG_V2) | BB(IOTLB_BATCH) | BB(IOTLB_ASID) | BB(SUSPEND) | \
	 BB(RESUME) | BB(ENABLE_AFTER_DRIVER_OK) | BB(IOTLB_PERSIST))
/* Offsets in struct virtio_net_config. */
#define CFG_MAX_PAIRS 8
#define CFG_SHORT 12 /* mac, status, max_virtqueue_pairs, mtu */
#define CFG_LONG 24  /* ... up to supported_hash_types */

struct dev_vq {
	struct vdpastate_dev_vring cfg; /* num 0: not configured */
	/* The SVQ the device is to be given instead (NULL: none). */
	struct vdpastate_svq *svq;
	int32_t svq_kick, svq_call;
	/* The SVQ the handle started and has not stopped. */
	struct vdpastate_svq *running;
	/* The queue does not run and its guest ring stands at parked_pos:
	 * its SVQ was stopped by a save or switch, or it is broken (kept
	 * disabled by a restore or switch).  Cleared by the next reset. */
	bool parked, broken;
	uint16_t parked_pos;
};

/* The device's answer to one command: the bytes it wrote (ack first). */
struct reply {
	uint8_t b[ACK_SLOT];
	uint32_t len;
};

/*
 * A batch the device did not answer within the timeout.  Its chains stay
 * in flight: their descriptors, buffers and ack slots are not reused
 * until every one has come back (vds_dev_late_collect()), and the
 * commands answered OK are then applied to the tracked state, because
 * the device did apply them.  A reset of the device ends the batch.
 */
struct late {
	unsigned int n; /* commands in the batch (batch slots 0..n); 0: none */
	struct vdpastate_cvq_cmd **cmds; /* copies, n */
	bool guest; /* the guest's command: its answer goes to the guest */
};

/* The guest's control queue, the handle being its device. */
struct guest_cvq {
	bool on;     /* configured */
	bool broken; /* the guest broke the ring: disabled until set again */
	bool live;   /* vd set up for the current features */
	struct vdpastate_dev_guest_cvq cfg; /* indexes kept current */
	struct vds_as_mem as;
	struct vds_vdev vd;
	struct vds_seg *segs;
	unsigned int segs_max;
	uint8_t *buf; /* a command copied out of guest memory */
	/* The command at the head of the guest ring is on the device and
	 * not answered yet (a late batch); the chain stays unanswered. */
	bool held;
	bool late_ready;       /* ... and its answer arrived: late_rep */
	struct reply late_rep;
};

struct vdpastate_dev {
	struct vdpastate_transport *t;
	struct vdpastate_sim *sim; /* set when t is the simulated device */
	uint64_t cvq_iova_opt;
	uint32_t timeout_ms;
	uint16_t ring_opt;
	uint16_t inflight_opt;
	/* the control ring: one allocation, read-only part then writable */
	uint8_t *mem;
	size_t ro_size, rw_size, avail_off, buf_off, used_off, ack_off;
	uint16_t ring; /* entries allocated */
	uint64_t iova; /* where mem is mapped */
	uint32_t mapped_asid;
	unsigned int mapped; /* bit 0: read-only part, bit 1: writable part */
	int kick_fd, call_fd;
	struct vds_vdrv drv;
	bool drv_live;
	/* per ring entry: its batch slot; per batch slot: answered, length */
	uint16_t *slot_of;
	bool *done;
	uint32_t *len_of;
	struct late late;
	uint32_t flags; /* VDPASTATE_DEV_F_* */
	/* the device as last set up */
	bool up;
	bool saved; /* suspended and stopped by a save (resume undoes) */
	uint64_t features, backend;
	uint32_t nvq, cvq; /* cvq == nvq: no control queue */
	uint32_t ndata;
	uint16_t cvq_num;
	uint32_t cvq_asid;
	uint64_t offered;
	struct dev_vq *vq; /* what set_vring configured */
	uint32_t ncfg;
	struct guest_cvq g;
	struct vdpastate_netstate *ns; /* tracked state */
	struct vdpastate_netstate *begun; /* early restore in progress */
	struct vdpastate_dev_stats st;
};

/* Saved vring state per data queue. */
struct vr_ent {
	uint16_t idx, num, base, flags;
};

struct vr_set {
	struct vr_ent *e;
	size_t n;
};

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* lib/dev.c */
const char *vds_dev_feature_list(uint64_t mask, char *buf, size_t len);
void vds_dev_drv_drop(struct vdpastate_dev *dev);
int vds_dev_ring_alloc(struct vdpastate_dev *dev, uint16_t ring);
int vds_dev_map_cvq(struct vdpastate_dev *dev, uint32_t asid);
int vds_dev_late_collect(struct vdpastate_dev *dev, const char *what);
void vds_dev_late_drop(struct vdpastate_dev *dev);
int vds_dev_post_cmds(struct vdpastate_dev *dev, const char *what,
	      const struct vdpastate_cvq_cmd *const *cmds, size_t n,
	      struct reply *rep, size_t *answered);

/* lib/restore.c */
int vds_dev_blob_input(const struct vdpastate_blob *blob, const char *what,
	       const struct vdpastate_netstate **ns, struct vr_set *vr);

/* lib/guest_cvq.c */
void vds_dev_guest_drop(struct guest_cvq *g);
void vds_dev_guest_free(struct guest_cvq *g);
void vds_dev_guest_flush(struct vdpastate_dev *dev);

#endif

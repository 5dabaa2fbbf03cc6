/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/svq.h - the split-ring shadow virtqueue (SVQ).  An SVQ sits
 * between a guest's virtqueue and a vDPA device: it is a device toward the
 * guest and a driver toward the device.  It validates every chain the guest
 * makes available, translates it from guest-physical addresses to IOVAs,
 * posts it on a shadow ring the device reads, and returns the device's used
 * entries to the guest, marking in a dirty log every guest page the device
 * wrote.  Neither the guest nor the device is trusted.
 */
#ifndef LIBVDPASTATE_SVQ_H
#define LIBVDPASTATE_SVQ_H

#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/common.h>
#include <libvdpastate/iova.h>
#include <libvdpastate/mem.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vdpastate_svq;

struct vdpastate_svq_opts {
	size_t sz;
	/* Features negotiated with the guest (ring bits are used). */
	uint64_t guest_features;
	/* Features negotiated with the device (ring bits are used). */
	uint64_t device_features;
	/* Entries of the shadow ring (power of two); 0: same as the guest. */
	uint64_t shadow_num;
};

/* Where the shadow ring lives; the device must be given these. */
struct vdpastate_svq_shadow {
	size_t sz;
	uint64_t num;        /* shadow ring size */
	uint64_t desc_iova;  /* descriptor table */
	uint64_t avail_iova; /* driver area */
	uint64_t used_iova;  /* device area */
	/* Two host ranges to DMA-map at the IOVAs above: */
	uint64_t ro_iova;    /* desc + avail: device reads only */
	uint64_t ro_size;
	void *ro_hva;
	uint64_t rw_iova;    /* used: device writes */
	uint64_t rw_size;
	void *rw_hva;
};

struct vdpastate_svq_stats {
	size_t sz;
	uint64_t guest_chains;   /* chains taken from the guest */
	uint64_t shadow_descs;   /* descriptors posted on the shadow ring */
	uint64_t used;           /* used entries returned to the guest */
	uint64_t device_kicks;   /* kicks sent to the device */
	uint64_t guest_signals;  /* interrupts signalled to the guest */
	uint64_t ring_full;      /* times the shadow ring was full */
	uint64_t clamped_len;    /* used lengths clamped to the posted space */
	uint64_t dirty_bytes;    /* bytes reported to the dirty log */
	uint64_t dirty_dropped;  /* dirty pages beyond the bitmap (see man) */
};

/* Called for every guest range the device wrote, when no bitmap is set. */
typedef void (*vdpastate_svq_dirty_fn)(uint64_t gpa, uint64_t len, void *arg);

/* vdpastate_svq_stop() flags */
#define VDPASTATE_SVQ_STOP_KEEP 0u     /* leave in-flight chains in flight */
#define VDPASTATE_SVQ_STOP_REWIND 1u   /* offer tail chains to the guest again */
#define VDPASTATE_SVQ_STOP_COMPLETE 2u /* return in-flight chains, length 0 */

/*
 * Create an SVQ for a guest ring of num entries (a power of two, 1 ..
 * 32768).  The shadow ring is allocated page-aligned and mapped into iova
 * as HVA ranges; read where with vdpastate_svq_get_shadow() and DMA-map
 * those ranges on the device.  mem and iova must outlive the SVQ; while it
 * runs they may only grow (removing or remapping memory needs stop, then
 * start, which takes a new snapshot).  NULL with errno set on failure: EINVAL (bad num or options),
 * EOPNOTSUPP (VIRTIO_F_RING_PACKED), ENOMEM, or what vdpastate_iova_map()
 * returned for the shadow ring (ENOSPC, ...).
 */
VDPASTATE_API struct vdpastate_svq *
vdpastate_svq_new(unsigned int num, struct vdpastate_mem *mem,
		  struct vdpastate_iova *iova,
		  const struct vdpastate_svq_opts *opts);

/* Free the SVQ and unmap its shadow ring from iova; NULL is a no-op. */
VDPASTATE_API void vdpastate_svq_free(struct vdpastate_svq *svq);

/* The shadow ring's IOVAs and host ranges (out->sz set by the caller). */
VDPASTATE_API int vdpastate_svq_get_shadow(const struct vdpastate_svq *svq,
					   struct vdpastate_svq_shadow *out);

/*
 * Set the guest ring's guest-physical addresses.  Each area must be
 * aligned (16/2/4) and lie in one guest memory region; used must be
 * writable.  -EINVAL misaligned, -EFAULT not guest memory (or crosses a
 * region boundary), -EROFS used area read-only, -EBUSY while running,
 * -ENOMEM (the guest ring then counts as not set).
 */
VDPASTATE_API int vdpastate_svq_set_guest_ring(struct vdpastate_svq *svq,
					       uint64_t desc_gpa,
					       uint64_t avail_gpa,
					       uint64_t used_gpa);

/*
 * Notification file descriptors (eventfds), each -1 for none: guest_kick
 * is read (drained) by handle_guest_kick, guest_call is signalled when the
 * guest wants an interrupt, device_kick is signalled when the device wants
 * a kick, device_call is read by handle_device_call.  The SVQ does not
 * take ownership.  -EBUSY while running, -EBADF an fd is not open,
 * -EINVAL guest_kick or device_call is blocking (use EFD_NONBLOCK).
 */
VDPASTATE_API int vdpastate_svq_set_fds(struct vdpastate_svq *svq,
					int guest_kick, int guest_call,
					int device_kick, int device_call);

/*
 * Report device writes: into a bitmap in the vhost log layout (bit n of
 * little-endian 64-bit word n/64 stands for the 4 KiB guest page n), set
 * atomically so several SVQs may share it, or through fn when bitmap is
 * NULL.  Both NULL: no logging.  bitmap_bytes must be a non-zero
 * multiple of 8.  The SVQ's own writes to the guest's used ring are
 * logged too (the hypervisor's tracking does not see them).
 */
VDPASTATE_API int vdpastate_svq_set_dirty_log(struct vdpastate_svq *svq,
					      uint64_t *bitmap,
					      uint64_t bitmap_bytes,
					      vdpastate_svq_dirty_fn fn,
					      void *arg);

/* Ring positions of the guest ring (for save/restore). */
VDPASTATE_API int vdpastate_svq_get_state(const struct vdpastate_svq *svq,
					  uint16_t *last_avail_idx,
					  uint16_t *used_idx);
/* Set them before start; -EBUSY while running. */
VDPASTATE_API int vdpastate_svq_set_state(struct vdpastate_svq *svq,
					  uint16_t last_avail_idx,
					  uint16_t used_idx);

/*
 * Start relaying: the guest ring must be set.  Takes a snapshot of the
 * memory table and the IOVA tree's GPA mappings, then relays what the
 * guest has already made available.  Returns chains relayed (>= 0), or
 * -EINVAL (guest ring not set), -EBUSY (running), -ENOMEM,
 * -VDPASTATE_EDISABLED, or an error from relaying as below (the SVQ is then
 * running but disabled: stop and free it).
 */
VDPASTATE_API int vdpastate_svq_start(struct vdpastate_svq *svq);

/*
 * Stop relaying (the device should be suspended first).  Used entries the
 * device already wrote are returned to the guest; what is still in flight
 * is handled per flags (VDPASTATE_SVQ_STOP_*).  With REWIND or COMPLETE the
 * shadow ring is emptied and restarts at index 0 (give the device vring
 * base 0); with KEEP it is left as it is.  Returns the number of chains
 * still in flight (always 0 with REWIND/COMPLETE), or, if the SVQ is
 * disabled, its error (it is stopped all the same).  -EINVAL: not
 * running, unknown flags.
 */
VDPASTATE_API int vdpastate_svq_stop(struct vdpastate_svq *svq,
				     unsigned int flags);

/*
 * Guest head ids of the chains in flight, in the order they were made
 * available; returns how many there are (may exceed max; only max are
 * written), or -EINVAL (NULL svq, or NULL heads with max > 0), -ENOMEM.
 */
VDPASTATE_API int vdpastate_svq_inflight(const struct vdpastate_svq *svq,
					 uint16_t *heads, unsigned int max);

/*
 * Relay chains the guest made available (drains guest_kick if set).
 * Returns chains relayed, or a negative error that disables the SVQ for
 * good (later calls: -VDPASTATE_EDISABLED; free it and create a new one):
 * -VDPASTATE_EGUEST the guest broke the ring, -VDPASTATE_EDEVICE the
 * device did, -ENXIO a buffer lies in guest memory that has no IOVA
 * mapping, -E2BIG a chain needs more pieces than the shadow ring has.
 * A used length above the writable space posted is clamped and counted,
 * not an error.
 */
VDPASTATE_API int vdpastate_svq_handle_guest_kick(struct vdpastate_svq *svq);

/*
 * Return used entries to the guest (drains device_call if set), then relay
 * chains that waited for room.  Returns used entries returned, or a
 * negative error as above.
 */
VDPASTATE_API int vdpastate_svq_handle_device_call(struct vdpastate_svq *svq);

/* Both directions; returns used + relayed, or a negative error. */
VDPASTATE_API int vdpastate_svq_poll(struct vdpastate_svq *svq);

/* 0, or the error that disabled the SVQ; -EINVAL for a NULL svq. */
VDPASTATE_API int vdpastate_svq_error(const struct vdpastate_svq *svq);

/* Counters (out->sz set by the caller). */
VDPASTATE_API int vdpastate_svq_get_stats(const struct vdpastate_svq *svq,
					  struct vdpastate_svq_stats *out);

/*
 * Threading: one SVQ is used by one thread at a time; distinct SVQs may
 * run on distinct threads at once, sharing mem, iova (read-only while
 * they run) and the dirty bitmap.
 */

#ifdef __cplusplus
}
#endif

#endif /* LIBVDPASTATE_SVQ_H */

/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/transport.h - how the library talks to a vDPA device: an
 * opaque transport handle over an ops table.  Built in: the kernel's
 * vhost-vdpa character device and the in-process simulated virtio-net
 * device (libvdpastate/sim.h); a VMM may bring its own table.
 *
 * Every call returns >= 0 or a negative errno; a callback the table does
 * not provide makes the call return -EOPNOTSUPP ("not supported").  The
 * message of a failure names the operation (for vhost-vdpa, the ioctl).
 */
#ifndef LIBVDPASTATE_TRANSPORT_H
#define LIBVDPASTATE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vdpastate_transport;

/*
 * Backend feature bits (bit numbers, as vhost's VHOST_BACKEND_F_*, so a
 * VMM that also holds a raw vhost fd needs no translation).
 */
#define VDPASTATE_BACKEND_F_IOTLB_MSG_V2 1
#define VDPASTATE_BACKEND_F_IOTLB_BATCH 2
#define VDPASTATE_BACKEND_F_IOTLB_ASID 3
#define VDPASTATE_BACKEND_F_SUSPEND 4
#define VDPASTATE_BACKEND_F_RESUME 5
/*
 * The device enables a virtqueue also after DRIVER_OK, as a restore does
 * with its data queues (vdpastate_dev_restore(3) says what the handle does
 * on a device that does not offer it).
 */
#define VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK 6
/*
 * Named so that transports and VMMs share one numbering; the library does
 * not ack these yet, and a transport must not assume it does.
 */
#define VDPASTATE_BACKEND_F_DESC_ASID 7
#define VDPASTATE_BACKEND_F_IOTLB_PERSIST 8

/* Device status bits (virtio). */
#define VDPASTATE_STATUS_ACKNOWLEDGE 1
#define VDPASTATE_STATUS_DRIVER 2
#define VDPASTATE_STATUS_DRIVER_OK 4
#define VDPASTATE_STATUS_FEATURES_OK 8
#define VDPASTATE_STATUS_NEEDS_RESET 64
#define VDPASTATE_STATUS_FAILED 128

/* DMA permissions. */
#define VDPASTATE_DMA_READ 1  /* the device reads */
#define VDPASTATE_DMA_WRITE 2 /* the device writes */

/*
 * The operations a transport implements.  ctx is the pointer given to
 * vdpastate_transport_new().  Each returns 0 (or a documented
 * non-negative value) or a negative errno.  Queue indexes count from 0;
 * for virtio-net: rx0, tx0, rx1, tx1, ..., then the control queue.
 * New members are only ever added at the end; pass sizeof(your table).
 */
struct vdpastate_transport_ops {
	/* Identity and features. */
	int (*get_device_id)(void *ctx, uint32_t *id);
	int (*get_device_features)(void *ctx, uint64_t *features);
	int (*set_driver_features)(void *ctx, uint64_t features);
	int (*get_backend_features)(void *ctx, uint64_t *features);
	int (*set_backend_features)(void *ctx, uint64_t features);
	/* Config space: len bytes at offset. */
	int (*get_config)(void *ctx, uint32_t offset, void *buf, uint32_t len);
	/* Status; writing 0 resets the device. */
	int (*get_status)(void *ctx, uint8_t *status);
	int (*set_status)(void *ctx, uint8_t status);
	/* Queues. */
	int (*get_vq_count)(void *ctx, uint32_t *count);
	int (*get_vring_num_max)(void *ctx, uint16_t *num);
	int (*set_vring_num)(void *ctx, uint32_t idx, uint32_t num);
	int (*set_vring_addr)(void *ctx, uint32_t idx, uint64_t desc,
			      uint64_t avail, uint64_t used);
	/* Split ring: base = the next avail index the device will read. */
	int (*set_vring_base)(void *ctx, uint32_t idx, uint32_t base);
	int (*get_vring_base)(void *ctx, uint32_t idx, uint32_t *base);
	int (*set_vring_kick)(void *ctx, uint32_t idx, int fd);
	int (*set_vring_call)(void *ctx, uint32_t idx, int fd);
	int (*set_vring_enable)(void *ctx, uint32_t idx, bool enable);
	/* Virtqueue groups and address spaces. */
	int (*get_group_num)(void *ctx, uint32_t *groups);
	int (*get_as_num)(void *ctx, uint32_t *as_num);
	int (*get_vring_group)(void *ctx, uint32_t idx, uint32_t *group);
	int (*set_group_asid)(void *ctx, uint32_t group, uint32_t asid);
	/* DMA mappings of address space asid; perm is VDPASTATE_DMA_*. */
	int (*dma_map)(void *ctx, uint32_t asid, uint64_t iova, uint64_t size,
		       void *hva, uint32_t perm);
	int (*dma_unmap)(void *ctx, uint32_t asid, uint64_t iova, uint64_t size);
	/* Group the maps/unmaps between begin and end (IOTLB batching). */
	int (*dma_batch_begin)(void *ctx, uint32_t asid);
	int (*dma_batch_end)(void *ctx, uint32_t asid);
	int (*get_iova_range)(void *ctx, uint64_t *first, uint64_t *last);
	/* Stop/restart processing, keeping the state (vring bases). */
	int (*suspend)(void *ctx);
	int (*resume)(void *ctx);
	/* Called once by vdpastate_transport_free(). */
	void (*close)(void *ctx);
};

/*
 * Wrap an ops table.  The library copies min(ops_size, its own size) bytes
 * of *ops; members beyond what the caller's table has count as missing.
 * NULL with errno EINVAL (ops NULL, ops_size 0 or not a multiple of a
 * callback pointer's size) or ENOMEM.
 */
VDPASTATE_API struct vdpastate_transport *
vdpastate_transport_new(const struct vdpastate_transport_ops *ops,
			size_t ops_size, void *ctx);

/* Free the handle, calling ops->close(ctx); NULL is a no-op. */
VDPASTATE_API void vdpastate_transport_free(struct vdpastate_transport *t);

/* A short name for messages ("vhost-vdpa", "sim", "custom"). */
VDPASTATE_API const char *
vdpastate_transport_name(const struct vdpastate_transport *t);

/* The kernel's vhost-vdpa device (e.g. "/dev/vhost-vdpa-0"). */
struct vdpastate_vhost_vdpa_opts {
	size_t sz;
};
VDPASTATE_API struct vdpastate_transport *
vdpastate_transport_open_vhost_vdpa(const char *path,
				    const struct vdpastate_vhost_vdpa_opts *opts);

/*
 * The operations, one wrapper each: they check the handle, call the
 * callback (-EOPNOTSUPP when missing) and name the operation in the
 * message of a failure.
 */
VDPASTATE_API int vdpastate_transport_get_device_id(struct vdpastate_transport *t,
						    uint32_t *id);
VDPASTATE_API int
vdpastate_transport_get_device_features(struct vdpastate_transport *t,
					uint64_t *features);
VDPASTATE_API int
vdpastate_transport_set_driver_features(struct vdpastate_transport *t,
					uint64_t features);
VDPASTATE_API int
vdpastate_transport_get_backend_features(struct vdpastate_transport *t,
					 uint64_t *features);
VDPASTATE_API int
vdpastate_transport_set_backend_features(struct vdpastate_transport *t,
					 uint64_t features);
VDPASTATE_API int vdpastate_transport_get_config(struct vdpastate_transport *t,
						 uint32_t offset, void *buf,
						 uint32_t len);
VDPASTATE_API int vdpastate_transport_get_status(struct vdpastate_transport *t,
						 uint8_t *status);
VDPASTATE_API int vdpastate_transport_set_status(struct vdpastate_transport *t,
						 uint8_t status);
/* set_status(0), then get_status() == 0 is checked. */
VDPASTATE_API int vdpastate_transport_reset(struct vdpastate_transport *t);
VDPASTATE_API int vdpastate_transport_get_vq_count(struct vdpastate_transport *t,
						   uint32_t *count);
VDPASTATE_API int
vdpastate_transport_get_vring_num_max(struct vdpastate_transport *t,
				      uint16_t *num);
VDPASTATE_API int
vdpastate_transport_set_vring_num(struct vdpastate_transport *t, uint32_t idx,
				  uint32_t num);
VDPASTATE_API int
vdpastate_transport_set_vring_addr(struct vdpastate_transport *t, uint32_t idx,
				   uint64_t desc, uint64_t avail, uint64_t used);
VDPASTATE_API int
vdpastate_transport_set_vring_base(struct vdpastate_transport *t, uint32_t idx,
				   uint32_t base);
VDPASTATE_API int
vdpastate_transport_get_vring_base(struct vdpastate_transport *t, uint32_t idx,
				   uint32_t *base);
VDPASTATE_API int
vdpastate_transport_set_vring_kick(struct vdpastate_transport *t, uint32_t idx,
				   int fd);
VDPASTATE_API int
vdpastate_transport_set_vring_call(struct vdpastate_transport *t, uint32_t idx,
				   int fd);
VDPASTATE_API int
vdpastate_transport_set_vring_enable(struct vdpastate_transport *t,
				     uint32_t idx, bool enable);
VDPASTATE_API int
vdpastate_transport_get_group_num(struct vdpastate_transport *t,
				  uint32_t *groups);
VDPASTATE_API int vdpastate_transport_get_as_num(struct vdpastate_transport *t,
						 uint32_t *as_num);
VDPASTATE_API int
vdpastate_transport_get_vring_group(struct vdpastate_transport *t,
				    uint32_t idx, uint32_t *group);
VDPASTATE_API int
vdpastate_transport_set_group_asid(struct vdpastate_transport *t,
				   uint32_t group, uint32_t asid);
VDPASTATE_API int vdpastate_transport_dma_map(struct vdpastate_transport *t,
					      uint32_t asid, uint64_t iova,
					      uint64_t size, void *hva,
					      uint32_t perm);
VDPASTATE_API int vdpastate_transport_dma_unmap(struct vdpastate_transport *t,
						uint32_t asid, uint64_t iova,
						uint64_t size);
VDPASTATE_API int
vdpastate_transport_dma_batch_begin(struct vdpastate_transport *t,
				    uint32_t asid);
VDPASTATE_API int
vdpastate_transport_dma_batch_end(struct vdpastate_transport *t, uint32_t asid);
VDPASTATE_API int
vdpastate_transport_get_iova_range(struct vdpastate_transport *t,
				   uint64_t *first, uint64_t *last);
VDPASTATE_API int vdpastate_transport_suspend(struct vdpastate_transport *t);
VDPASTATE_API int vdpastate_transport_resume(struct vdpastate_transport *t);

/*
 * What the transport has sent to the device since it was opened: on
 * vhost-vdpa every IOTLB message, those of its own replays after a reset
 * included; on other transports the successful dma_map, dma_unmap and
 * dma_batch_begin calls (they replay nothing of their own).
 */
struct vdpastate_transport_stats {
	size_t sz;
	uint64_t dma_maps;      /* mappings sent (IOTLB updates) */
	uint64_t dma_unmaps;    /* unmappings sent (IOTLB invalidates) */
	uint64_t batches;       /* batches opened */
	uint64_t replays;       /* resets after which the transport mapped its
				 * recorded ranges again (vhost-vdpa without
				 * IOTLB_PERSIST acked) */
	uint64_t replayed_maps; /* of dma_maps, sent by those replays */
};
VDPASTATE_API int
vdpastate_transport_get_stats(const struct vdpastate_transport *t,
			      struct vdpastate_transport_stats *out);

/*
 * Map an SVQ's shadow ring (vdpastate_svq_get_shadow()) into address
 * space asid of the device: the descriptor/avail range read-only, the
 * used range writable, inside one batch where the transport batches.
 * Unmap undoes it.  Errors as dma_map/dma_unmap; on failure nothing stays
 * mapped.
 */
struct vdpastate_svq;
VDPASTATE_API int vdpastate_transport_map_svq(struct vdpastate_transport *t,
					      uint32_t asid,
					      const struct vdpastate_svq *svq);
VDPASTATE_API int vdpastate_transport_unmap_svq(struct vdpastate_transport *t,
						uint32_t asid,
						const struct vdpastate_svq *svq);

/*
 * Threading: a transport handle is used by one thread at a time, unless
 * its implementation documents more (the simulated device's own thread
 * is internal to it).
 */

#ifdef __cplusplus
}
#endif

#endif /* LIBVDPASTATE_TRANSPORT_H */

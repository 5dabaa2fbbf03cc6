/* SPDX-License-Identifier: MIT */
/*
 * lib/transport_int.h - what the library's own transports (vhost-vdpa,
 * the simulated device) share with lib/transport.c: a constructor that
 * names the transport.  Never installed.
 */
#ifndef VDS_TRANSPORT_INT_H
#define VDS_TRANSPORT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/transport.h>

#define VDS_TRANSPORT_NAME_MAX 32

/*
 * Like vdpastate_transport_new(), with the name that messages and
 * vdpastate_transport_name() use ("vhost-vdpa", "sim"); name is copied
 * (at most VDS_TRANSPORT_NAME_MAX - 1 bytes kept).  On failure (NULL,
 * errno EINVAL or ENOMEM, message set) ops->close is NOT called: the
 * caller still owns ctx and releases it.  On success ops->close(ctx)
 * runs once, from vdpastate_transport_free().
 */
struct vdpastate_transport *
vds_transport_new_named(const char *name,
			const struct vdpastate_transport_ops *ops,
			size_t ops_size, void *ctx);

/* The ctx the transport was created with (NULL for a NULL handle). */
void *vds_transport_ctx(const struct vdpastate_transport *t);

/*
 * vhost-vdpa: the library's VDPASTATE_BACKEND_F_* bits (numbered from 0)
 * to the kernel's VHOST_BACKEND_F_* bits (numbered from 1) and back;
 * bits the other side has no name for are dropped.
 */
uint64_t vds_vdpa_backend_to_kernel(uint64_t lib);
uint64_t vds_vdpa_backend_from_kernel(uint64_t kernel);

/*
 * vhost-vdpa: the ranges of one address space the kernel accepted, so a
 * refused IOTLB update can be explained: the kernel answers EFAULT for
 * every refused IOTLB message (vhost_chr_write_iter), an overlap
 * included.  Sorted, disjoint, inclusive [first, last].
 */
struct vds_vdpa_range {
	uint64_t first, last;
	uint64_t uaddr; /* where it maps to in this process */
	uint8_t perm;   /* VHOST_ACCESS_* */
};
struct vds_vdpa_maps {
	struct vds_vdpa_range *r;
	size_t n, cap;
};
/* Record [first, last] -> uaddr with perm; 0 or -ENOMEM. */
int vds_vdpa_maps_add(struct vds_vdpa_maps *m, uint64_t first, uint64_t last,
		      uint64_t uaddr, uint8_t perm);
/* Forget every range that intersects [first, last] (as the kernel's
 * invalidate does). */
void vds_vdpa_maps_remove(struct vds_vdpa_maps *m, uint64_t first,
			  uint64_t last);
/* The first recorded range that intersects [first, last], or NULL. */
const struct vds_vdpa_range *
vds_vdpa_maps_overlap(const struct vds_vdpa_maps *m, uint64_t first,
		      uint64_t last);
void vds_vdpa_maps_fini(struct vds_vdpa_maps *m);

/* A vhost-vdpa transport's message counts (ctx: its context). */
void vds_vdpa_get_stats(void *ctx, struct vdpastate_transport_stats *out);

/* Whether a simulated device runs on a thread of its own. */
struct vdpastate_sim;
bool vds_sim_threaded(const struct vdpastate_sim *s);

#endif /* VDS_TRANSPORT_INT_H */

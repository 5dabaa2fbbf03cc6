/* SPDX-License-Identifier: MIT */
/*
 * lib/transport_int.h - what the library's own transports (vhost-vdpa,
 * the simulated device) share with lib/transport.c: a constructor that
 * names the transport.  Never installed.
 */
#ifndef VDS_TRANSPORT_INT_H
#define VDS_TRANSPORT_INT_H

#include <stddef.h>

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

#endif /* VDS_TRANSPORT_INT_H */

/* SPDX-License-Identifier: MIT */
/*
 * lib/transport.c - the transport handle: a private copy of an ops table,
 * the wrappers that check arguments, turn a missing callback into
 * -EOPNOTSUPP and name the operation in every failure, and the helpers
 * built on them (reset, mapping an SVQ's shadow ring).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "transport_int.h"

struct vdpastate_transport {
	/* Our own full-size copy: members the caller's table lacks are NULL. */
	struct vdpastate_transport_ops ops;
	void *ctx;
	char name[VDS_TRANSPORT_NAME_MAX];
};

struct vdpastate_transport *
vds_transport_new_named(const char *name,
			const struct vdpastate_transport_ops *ops,
			size_t ops_size, void *ctx)
{
	struct vdpastate_transport *t;

	if (!name || !*name)
		return vds_fail_ptr(-EINVAL, "transport: no name");
	if (!ops)
		return vds_fail_ptr(-EINVAL, "transport %s: NULL ops table",
				    name);
	if (ops_size == 0)
		return vds_fail_ptr(-EINVAL, "transport %s: ops_size is 0",
				    name);
	t = calloc(1, sizeof(*t));
	if (!t)
		return vds_fail_ptr(-ENOMEM, "transport %s: out of memory",
				    name);
	/* An older caller's table is shorter: its tail stays NULL.  A newer
	 * caller's longer table: members this library does not know are
	 * ignored. */
	memcpy(&t->ops, ops,
	       ops_size < sizeof(t->ops) ? ops_size : sizeof(t->ops));
	t->ctx = ctx;
	snprintf(t->name, sizeof(t->name), "%s", name);
	return t;
}

void *vds_transport_ctx(const struct vdpastate_transport *t)
{
	return t ? t->ctx : NULL;
}

VDPASTATE_API struct vdpastate_transport *
vdpastate_transport_new(const struct vdpastate_transport_ops *ops,
			size_t ops_size, void *ctx)
{
	return vds_transport_new_named("custom", ops, ops_size, ctx);
}

VDPASTATE_API void vdpastate_transport_free(struct vdpastate_transport *t)
{
	if (!t)
		return;
	if (t->ops.close)
		t->ops.close(t->ctx);
	free(t);
}

VDPASTATE_API const char *
vdpastate_transport_name(const struct vdpastate_transport *t)
{
	return t ? t->name : "(null)";
}

/* SPDX-License-Identifier: MIT */
/*
 * lib/transport.c - the transport handle: a private copy of an ops table,
 * the wrappers that check arguments, turn a missing callback into
 * -EOPNOTSUPP and name the operation in every failure, and the helpers
 * built on them (reset, mapping an SVQ's shadow ring).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/svq.h>

#include "internal.h"
#include "transport_int.h"

struct vdpastate_transport {
	/* Our own full-size copy: members the caller's table lacks are NULL. */
	struct vdpastate_transport_ops ops;
	void *ctx;
	char name[VDS_TRANSPORT_NAME_MAX];
	struct vdpastate_transport_stats st; /* calls that succeeded */
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
	/* A size that cuts a callback in two would copy half a pointer. */
	if (ops_size % sizeof(ops->close))
		return vds_fail_ptr(-EINVAL,
				    "transport %s: ops_size %zu is not a whole "
				    "number of callbacks (%zu bytes each)",
				    name, ops_size, sizeof(ops->close));
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

/*
 * Every wrapper starts here: a handle, arguments that make sense (bad names
 * the first bad one, NULL if none), then the callback.  Returns 0 or the
 * reported failure.
 */
static int enter(const struct vdpastate_transport *t, bool have,
		 const char *op, const char *bad)
{
	if (!t)
		return vds_fail(-EINVAL, "transport: %s: NULL transport", op);
	if (bad)
		return vds_fail(-EINVAL, "transport %s: %s: %s", t->name, op,
				bad);
	if (!have)
		return vds_fail(-EOPNOTSUPP, "transport %s: %s not supported",
				t->name, op);
	return 0;
}

/*
 * Why a callback failed: its own message when it reported one since seq
 * (vds_error_count() before the call), else the errno's description.
 */
static void cause_of(char *buf, size_t n, int r, unsigned long seq)
{
	snprintf(buf, n, "%s",
		 vds_error_count() != seq ? vdpastate_last_error()
					  : vdpastate_strerror(r));
}

/* Report a callback's failure r under the operation fmt names. */
static int VDS_PRINTF(4, 5) op_fail(const struct vdpastate_transport *t,
				    int r, unsigned long seq, const char *fmt,
				    ...)
{
	char what[128], cause[VDS_ERRMSG_MAX];
	va_list ap;

	cause_of(cause, sizeof(cause), r, seq);
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return vds_fail(r, "transport %s: %s: %s", t->name, what, cause);
}

/*
 * The callbacks return >= 0 for success; the wrappers return 0 then, and
 * write an output only on success, so a failing callback cannot leave a
 * half-written value with the caller.
 */
/* The dma ops, counted when they succeed (vdpastate_transport_get_stats). */
static int count_map(struct vdpastate_transport *t, uint32_t asid,
		     uint64_t iova, uint64_t size, void *hva, uint32_t perm)
{
	int r = t->ops.dma_map(t->ctx, asid, iova, size, hva, perm);

	if (r >= 0)
		t->st.dma_maps++;
	return r;
}

static int count_unmap(struct vdpastate_transport *t, uint32_t asid,
		       uint64_t iova, uint64_t size)
{
	int r = t->ops.dma_unmap(t->ctx, asid, iova, size);

	if (r >= 0)
		t->st.dma_unmaps++;
	return r;
}

static int count_begin(struct vdpastate_transport *t, uint32_t asid)
{
	int r = t->ops.dma_batch_begin(t->ctx, asid);

	if (r >= 0)
		t->st.batches++;
	return r;
}

#define OP_RET(t, r, seq, ...) \
	((r) < 0 ? op_fail((t), (r), (seq), __VA_ARGS__) : 0)

VDPASTATE_API int vdpastate_transport_get_device_id(struct vdpastate_transport *t,
						    uint32_t *id)
{
	unsigned long seq = vds_error_count();
	uint32_t v = 0;
	int r = enter(t, t && t->ops.get_device_id, "get_device_id",
		      id ? NULL : "NULL id");

	if (r)
		return r;
	r = t->ops.get_device_id(t->ctx, &v);
	if (r < 0)
		return op_fail(t, r, seq, "get_device_id");
	*id = v;
	return 0;
}

VDPASTATE_API int
vdpastate_transport_get_device_features(struct vdpastate_transport *t,
					uint64_t *features)
{
	unsigned long seq = vds_error_count();
	uint64_t v = 0;
	int r = enter(t, t && t->ops.get_device_features,
		      "get_device_features", features ? NULL : "NULL features");

	if (r)
		return r;
	r = t->ops.get_device_features(t->ctx, &v);
	if (r < 0)
		return op_fail(t, r, seq, "get_device_features");
	*features = v;
	return 0;
}

VDPASTATE_API int
vdpastate_transport_set_driver_features(struct vdpastate_transport *t,
					uint64_t features)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.set_driver_features,
		      "set_driver_features", NULL);

	if (r)
		return r;
	r = t->ops.set_driver_features(t->ctx, features);
	return OP_RET(t, r, seq, "set_driver_features 0x%llx",
		      (unsigned long long)features);
}

VDPASTATE_API int
vdpastate_transport_get_backend_features(struct vdpastate_transport *t,
					 uint64_t *features)
{
	unsigned long seq = vds_error_count();
	uint64_t v = 0;
	int r = enter(t, t && t->ops.get_backend_features,
		      "get_backend_features", features ? NULL : "NULL features");

	if (r)
		return r;
	r = t->ops.get_backend_features(t->ctx, &v);
	if (r < 0)
		return op_fail(t, r, seq, "get_backend_features");
	*features = v;
	return 0;
}

VDPASTATE_API int
vdpastate_transport_set_backend_features(struct vdpastate_transport *t,
					 uint64_t features)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.set_backend_features,
		      "set_backend_features", NULL);

	if (r)
		return r;
	r = t->ops.set_backend_features(t->ctx, features);
	return OP_RET(t, r, seq, "set_backend_features 0x%llx",
		      (unsigned long long)features);
}

VDPASTATE_API int vdpastate_transport_get_config(struct vdpastate_transport *t,
						 uint32_t offset, void *buf,
						 uint32_t len)
{
	unsigned long seq = vds_error_count();
	const char *bad = !buf			   ? "NULL buf"
			  : len == 0		   ? "len 0"
			  : offset > UINT32_MAX - len ? "offset + len overflows"
						   : NULL;
	int r = enter(t, t && t->ops.get_config, "get_config", bad);

	if (r)
		return r;
	r = t->ops.get_config(t->ctx, offset, buf, len);
	return OP_RET(t, r, seq, "get_config offset %u len %u", offset, len);
}

VDPASTATE_API int vdpastate_transport_get_status(struct vdpastate_transport *t,
						 uint8_t *status)
{
	unsigned long seq = vds_error_count();
	uint8_t v = 0;
	int r = enter(t, t && t->ops.get_status, "get_status",
		      status ? NULL : "NULL status");

	if (r)
		return r;
	r = t->ops.get_status(t->ctx, &v);
	if (r < 0)
		return op_fail(t, r, seq, "get_status");
	*status = v;
	return 0;
}

VDPASTATE_API int vdpastate_transport_set_status(struct vdpastate_transport *t,
						 uint8_t status)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.set_status, "set_status", NULL);

	if (r)
		return r;
	r = t->ops.set_status(t->ctx, status);
	return OP_RET(t, r, seq, "set_status 0x%02x", status);
}

VDPASTATE_API int vdpastate_transport_reset(struct vdpastate_transport *t)
{
	uint8_t status;
	int r = enter(t, t && t->ops.set_status && t->ops.get_status, "reset",
		      NULL);

	if (r)
		return r;
	r = vdpastate_transport_set_status(t, 0);
	if (r < 0)
		return r;
	r = vdpastate_transport_get_status(t, &status);
	if (r < 0)
		return r;
	if (status != 0)
		return vds_fail(-EIO,
				"transport %s: reset: status is 0x%02x after "
				"writing 0",
				t->name, status);
	return 0;
}

VDPASTATE_API int vdpastate_transport_get_vq_count(struct vdpastate_transport *t,
						   uint32_t *count)
{
	unsigned long seq = vds_error_count();
	uint32_t v = 0;
	int r = enter(t, t && t->ops.get_vq_count, "get_vq_count",
		      count ? NULL : "NULL count");

	if (r)
		return r;
	r = t->ops.get_vq_count(t->ctx, &v);
	if (r < 0)
		return op_fail(t, r, seq, "get_vq_count");
	*count = v;
	return 0;
}

VDPASTATE_API int
vdpastate_transport_get_vring_num_max(struct vdpastate_transport *t,
				      uint16_t *num)
{
	unsigned long seq = vds_error_count();
	uint16_t v = 0;
	int r = enter(t, t && t->ops.get_vring_num_max, "get_vring_num_max",
		      num ? NULL : "NULL num");

	if (r)
		return r;
	r = t->ops.get_vring_num_max(t->ctx, &v);
	if (r < 0)
		return op_fail(t, r, seq, "get_vring_num_max");
	*num = v;
	return 0;
}

VDPASTATE_API int
vdpastate_transport_set_vring_num(struct vdpastate_transport *t, uint32_t idx,
				  uint32_t num)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.set_vring_num, "set_vring_num", NULL);

	if (r)
		return r;
	r = t->ops.set_vring_num(t->ctx, idx, num);
	return OP_RET(t, r, seq, "set_vring_num vq %u num %u", idx, num);
}

VDPASTATE_API int
vdpastate_transport_set_vring_addr(struct vdpastate_transport *t, uint32_t idx,
				   uint64_t desc, uint64_t avail, uint64_t used)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.set_vring_addr, "set_vring_addr", NULL);

	if (r)
		return r;
	r = t->ops.set_vring_addr(t->ctx, idx, desc, avail, used);
	return OP_RET(t, r, seq,
		      "set_vring_addr vq %u desc 0x%llx avail 0x%llx used 0x%llx",
		      idx, (unsigned long long)desc, (unsigned long long)avail,
		      (unsigned long long)used);
}

VDPASTATE_API int
vdpastate_transport_set_vring_base(struct vdpastate_transport *t, uint32_t idx,
				   uint32_t base)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.set_vring_base, "set_vring_base", NULL);

	if (r)
		return r;
	r = t->ops.set_vring_base(t->ctx, idx, base);
	return OP_RET(t, r, seq, "set_vring_base vq %u base %u", idx, base);
}

VDPASTATE_API int
vdpastate_transport_get_vring_base(struct vdpastate_transport *t, uint32_t idx,
				   uint32_t *base)
{
	unsigned long seq = vds_error_count();
	uint32_t v = 0;
	int r = enter(t, t && t->ops.get_vring_base, "get_vring_base",
		      base ? NULL : "NULL base");

	if (r)
		return r;
	r = t->ops.get_vring_base(t->ctx, idx, &v);
	if (r < 0)
		return op_fail(t, r, seq, "get_vring_base vq %u", idx);
	*base = v;
	return 0;
}

VDPASTATE_API int
vdpastate_transport_set_vring_kick(struct vdpastate_transport *t, uint32_t idx,
				   int fd)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.set_vring_kick, "set_vring_kick",
		      fd < -1 ? "fd below -1" : NULL);

	if (r)
		return r;
	r = t->ops.set_vring_kick(t->ctx, idx, fd);
	return OP_RET(t, r, seq, "set_vring_kick vq %u fd %d", idx, fd);
}

VDPASTATE_API int
vdpastate_transport_set_vring_call(struct vdpastate_transport *t, uint32_t idx,
				   int fd)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.set_vring_call, "set_vring_call",
		      fd < -1 ? "fd below -1" : NULL);

	if (r)
		return r;
	r = t->ops.set_vring_call(t->ctx, idx, fd);
	return OP_RET(t, r, seq, "set_vring_call vq %u fd %d", idx, fd);
}

VDPASTATE_API int
vdpastate_transport_set_vring_enable(struct vdpastate_transport *t,
				     uint32_t idx, bool enable)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.set_vring_enable, "set_vring_enable",
		      NULL);

	if (r)
		return r;
	r = t->ops.set_vring_enable(t->ctx, idx, enable);
	return OP_RET(t, r, seq, "set_vring_enable vq %u %s", idx,
		      enable ? "on" : "off");
}

VDPASTATE_API int
vdpastate_transport_get_group_num(struct vdpastate_transport *t,
				  uint32_t *groups)
{
	unsigned long seq = vds_error_count();
	uint32_t v = 0;
	int r = enter(t, t && t->ops.get_group_num, "get_group_num",
		      groups ? NULL : "NULL groups");

	if (r)
		return r;
	r = t->ops.get_group_num(t->ctx, &v);
	if (r < 0)
		return op_fail(t, r, seq, "get_group_num");
	*groups = v;
	return 0;
}

VDPASTATE_API int vdpastate_transport_get_as_num(struct vdpastate_transport *t,
						 uint32_t *as_num)
{
	unsigned long seq = vds_error_count();
	uint32_t v = 0;
	int r = enter(t, t && t->ops.get_as_num, "get_as_num",
		      as_num ? NULL : "NULL as_num");

	if (r)
		return r;
	r = t->ops.get_as_num(t->ctx, &v);
	if (r < 0)
		return op_fail(t, r, seq, "get_as_num");
	*as_num = v;
	return 0;
}

VDPASTATE_API int
vdpastate_transport_get_vring_group(struct vdpastate_transport *t,
				    uint32_t idx, uint32_t *group)
{
	unsigned long seq = vds_error_count();
	uint32_t v = 0;
	int r = enter(t, t && t->ops.get_vring_group, "get_vring_group",
		      group ? NULL : "NULL group");

	if (r)
		return r;
	r = t->ops.get_vring_group(t->ctx, idx, &v);
	if (r < 0)
		return op_fail(t, r, seq, "get_vring_group vq %u", idx);
	*group = v;
	return 0;
}

VDPASTATE_API int
vdpastate_transport_set_group_asid(struct vdpastate_transport *t,
				   uint32_t group, uint32_t asid)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.set_group_asid, "set_group_asid", NULL);

	if (r)
		return r;
	r = t->ops.set_group_asid(t->ctx, group, asid);
	return OP_RET(t, r, seq, "set_group_asid group %u asid %u", group,
		      asid);
}

/* Why [iova, iova + size) cannot be a DMA range, or NULL. */
static const char *bad_range(uint64_t iova, uint64_t size)
{
	if (size == 0)
		return "size 0";
	if (iova + (size - 1) < iova)
		return "range wraps past 2^64";
	return NULL;
}

VDPASTATE_API int vdpastate_transport_dma_map(struct vdpastate_transport *t,
					      uint32_t asid, uint64_t iova,
					      uint64_t size, void *hva,
					      uint32_t perm)
{
	unsigned long seq = vds_error_count();
	const char *bad = bad_range(iova, size);
	int r;

	if (!bad && !hva)
		bad = "NULL hva";
	if (!bad && (perm == 0 ||
		     (perm & ~(uint32_t)(VDPASTATE_DMA_READ | VDPASTATE_DMA_WRITE))))
		bad = "perm is not a non-empty set of VDPASTATE_DMA_READ/WRITE";
	r = enter(t, t && t->ops.dma_map, "dma_map", bad);
	if (r)
		return r;
	r = count_map(t, asid, iova, size, hva, perm);
	return OP_RET(t, r, seq, "dma_map asid %u iova 0x%llx size 0x%llx",
		      asid, (unsigned long long)iova, (unsigned long long)size);
}

VDPASTATE_API int vdpastate_transport_dma_unmap(struct vdpastate_transport *t,
						uint32_t asid, uint64_t iova,
						uint64_t size)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.dma_unmap, "dma_unmap",
		      bad_range(iova, size));

	if (r)
		return r;
	r = count_unmap(t, asid, iova, size);
	return OP_RET(t, r, seq, "dma_unmap asid %u iova 0x%llx size 0x%llx",
		      asid, (unsigned long long)iova, (unsigned long long)size);
}

VDPASTATE_API int
vdpastate_transport_dma_batch_begin(struct vdpastate_transport *t,
				    uint32_t asid)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.dma_batch_begin, "dma_batch_begin", NULL);

	if (r)
		return r;
	r = count_begin(t, asid);
	return OP_RET(t, r, seq, "dma_batch_begin asid %u", asid);
}

VDPASTATE_API int
vdpastate_transport_dma_batch_end(struct vdpastate_transport *t, uint32_t asid)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.dma_batch_end, "dma_batch_end", NULL);

	if (r)
		return r;
	r = t->ops.dma_batch_end(t->ctx, asid);
	return OP_RET(t, r, seq, "dma_batch_end asid %u", asid);
}

VDPASTATE_API int
vdpastate_transport_get_iova_range(struct vdpastate_transport *t,
				   uint64_t *first, uint64_t *last)
{
	unsigned long seq = vds_error_count();
	uint64_t f = 0, l = 0;
	int r = enter(t, t && t->ops.get_iova_range, "get_iova_range",
		      !first ? "NULL first" : !last ? "NULL last" : NULL);

	if (r)
		return r;
	r = t->ops.get_iova_range(t->ctx, &f, &l);
	if (r < 0)
		return op_fail(t, r, seq, "get_iova_range");
	if (f > l)
		return vds_fail(-EIO,
				"transport %s: get_iova_range: first 0x%llx is "
				"above last 0x%llx",
				t->name, (unsigned long long)f,
				(unsigned long long)l);
	*first = f;
	*last = l;
	return 0;
}

VDPASTATE_API int vdpastate_transport_suspend(struct vdpastate_transport *t)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.suspend, "suspend", NULL);

	if (r)
		return r;
	r = t->ops.suspend(t->ctx);
	return OP_RET(t, r, seq, "suspend");
}

VDPASTATE_API int vdpastate_transport_resume(struct vdpastate_transport *t)
{
	unsigned long seq = vds_error_count();
	int r = enter(t, t && t->ops.resume, "resume", NULL);

	if (r)
		return r;
	r = t->ops.resume(t->ctx);
	return OP_RET(t, r, seq, "resume");
}

/* ------------------------------------------------------ SVQ shadow ring */

/* The shadow ring's two host ranges, checked. */
static int svq_shadow(const struct vdpastate_transport *t, const char *op,
		      const struct vdpastate_svq *svq,
		      struct vdpastate_svq_shadow *sh)
{
	int r;

	memset(sh, 0, sizeof(*sh));
	sh->sz = sizeof(*sh);
	r = vdpastate_svq_get_shadow(svq, sh);
	if (r < 0)
		return vds_fail(r, "transport %s: %s: %s", t->name, op,
				vdpastate_last_error());
	if (!sh->ro_hva || !sh->rw_hva || bad_range(sh->ro_iova, sh->ro_size) ||
	    bad_range(sh->rw_iova, sh->rw_size))
		return vds_fail(-EINVAL, "transport %s: %s: the SVQ has no "
				"usable shadow ring", t->name, op);
	return 0;
}

/* True when the transport groups maps into batches. */
static bool batches(const struct vdpastate_transport *t)
{
	return t->ops.dma_batch_begin && t->ops.dma_batch_end;
}

VDPASTATE_API int vdpastate_transport_map_svq(struct vdpastate_transport *t,
					      uint32_t asid,
					      const struct vdpastate_svq *svq)
{
	struct vdpastate_svq_shadow sh;
	char cause[VDS_ERRMSG_MAX];
	const char *step;
	bool in_batch = false, ro_mapped = false, clean = true;
	unsigned long seq;
	int r = enter(t, t && t->ops.dma_map && t->ops.dma_unmap, "map_svq",
		      svq ? NULL : "NULL svq");

	if (r)
		return r;
	r = svq_shadow(t, "map_svq", svq, &sh);
	if (r)
		return r;

	seq = vds_error_count();
	if (batches(t)) {
		step = "dma_batch_begin";
		r = count_begin(t, asid);
		if (r < 0)
			goto fail;
		in_batch = true;
	}
	step = "dma_map of the descriptor/avail range";
	r = count_map(t, asid, sh.ro_iova, sh.ro_size, sh.ro_hva,
			   VDPASTATE_DMA_READ);
	if (r < 0)
		goto fail;
	ro_mapped = true;
	step = "dma_map of the used range";
	r = count_map(t, asid, sh.rw_iova, sh.rw_size, sh.rw_hva,
			   VDPASTATE_DMA_READ | VDPASTATE_DMA_WRITE);
	if (r < 0)
		goto fail;
	if (in_batch) {
		step = "dma_batch_end";
		in_batch = false;
		r = t->ops.dma_batch_end(t->ctx, asid);
		if (r < 0) {
			/* The batch may or may not have taken effect: undo
			 * both maps, outside any batch. */
			cause_of(cause, sizeof(cause), r, seq);
			if (count_unmap(t, asid, sh.rw_iova,
					     sh.rw_size) < 0)
				clean = false;
			goto undo;
		}
	}
	return 0;

fail:
	cause_of(cause, sizeof(cause), r, seq);
undo:
	/* Keep the first failure's message; the undo's own are dropped. */
	if (ro_mapped &&
	    count_unmap(t, asid, sh.ro_iova, sh.ro_size) < 0)
		clean = false;
	if (in_batch && t->ops.dma_batch_end(t->ctx, asid) < 0)
		clean = false;
	return vds_fail(r, "transport %s: map_svq asid %u: %s: %s%s", t->name,
			asid, step, cause,
			clean ? "" : " (undoing the other map failed too: "
				     "mappings may remain)");
}

VDPASTATE_API int vdpastate_transport_unmap_svq(struct vdpastate_transport *t,
						uint32_t asid,
						const struct vdpastate_svq *svq)
{
	struct vdpastate_svq_shadow sh;
	char cause[VDS_ERRMSG_MAX];
	const char *step = NULL;
	bool in_batch = false;
	unsigned long seq;
	int r = enter(t, t && t->ops.dma_unmap, "unmap_svq",
		      svq ? NULL : "NULL svq"), err = 0;

	if (r)
		return r;
	r = svq_shadow(t, "unmap_svq", svq, &sh);
	if (r)
		return r;

	/* Try every step even after a failure, so as little as possible
	 * stays mapped; report the first failure. */
	seq = vds_error_count();
	if (batches(t)) {
		r = count_begin(t, asid);
		if (r < 0) {
			err = r;
			step = "dma_batch_begin";
			cause_of(cause, sizeof(cause), r, seq);
		} else {
			in_batch = true;
		}
	}
	seq = vds_error_count();
	r = count_unmap(t, asid, sh.rw_iova, sh.rw_size);
	if (r < 0 && !err) {
		err = r;
		step = "dma_unmap of the used range";
		cause_of(cause, sizeof(cause), r, seq);
	}
	seq = vds_error_count();
	r = count_unmap(t, asid, sh.ro_iova, sh.ro_size);
	if (r < 0 && !err) {
		err = r;
		step = "dma_unmap of the descriptor/avail range";
		cause_of(cause, sizeof(cause), r, seq);
	}
	if (in_batch) {
		seq = vds_error_count();
		r = t->ops.dma_batch_end(t->ctx, asid);
		if (r < 0 && !err) {
			err = r;
			step = "dma_batch_end";
			cause_of(cause, sizeof(cause), r, seq);
		}
	}
	if (err)
		return vds_fail(err, "transport %s: unmap_svq asid %u: %s: %s",
				t->name, asid, step, cause);
	return 0;
}

VDPASTATE_API int
vdpastate_transport_get_stats(const struct vdpastate_transport *t,
			      struct vdpastate_transport_stats *out)
{
	struct vdpastate_transport_stats full;

	if (!t || !out)
		return vds_fail(-EINVAL, "transport: get_stats: NULL argument");
	full = t->st;
	/* vhost-vdpa counts its messages itself, replays included. */
	if (!strcmp(t->name, "vhost-vdpa"))
		vds_vdpa_get_stats(t->ctx, &full);
	full.sz = sizeof(full);
	return vds_out_copy(out, &full, sizeof(full), "vdpastate_transport_stats");
}

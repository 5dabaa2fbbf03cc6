/* SPDX-License-Identifier: MIT */
/*
 * lib/transport_vdpa.c - the kernel's vhost-vdpa character device as a
 * transport: one ioctl (or one IOTLB message written to the fd) per
 * operation, every failure reported with the device's path and the
 * ioctl's name.
 *
 * At open the transport acks the backend features it knows that the
 * device offers (IOTLB v2 messages, required; batching, ASID, suspend,
 * resume, enable after DRIVER_OK); the VMM may ack a smaller set later,
 * keeping IOTLB v2.
 *
 * A device may work on user virtual addresses instead of pinned pages
 * (Linux 6.12's vdpa_sim by default, VDUSE).  vhost-vdpa then maps only
 * the parts of a range that are shared mappings of a file (memfd, shmem,
 * MAP_SHARED | MAP_ANONYMOUS, hugetlbfs) and skips the rest without an
 * error, so the device would fault on memory the VMM believes mapped.
 * The transport finds out at open which kind the device is and refuses
 * such a map on a VA device, naming the range.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/vhost.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "transport_int.h"

/* Newer than the 6.1 uapi headers Debian 12 ships. */
#ifndef VHOST_VDPA_RESUME
#define VHOST_VDPA_RESUME _IO(VHOST_VIRTIO, 0x7E)
#endif
#ifndef VHOST_BACKEND_F_RESUME
#define VHOST_BACKEND_F_RESUME 0x5
#endif
#ifndef VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK
#define VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK 0x6
#endif
#ifndef VHOST_BACKEND_F_IOTLB_PERSIST
#define VHOST_BACKEND_F_IOTLB_PERSIST 0x8
#endif

/*
 * The library's VDPASTATE_BACKEND_F_* bits are the kernel's
 * VHOST_BACKEND_F_* numbers.  The words still go through this table so
 * that only the features the library knows cross in either direction.
 */
static const struct {
	unsigned int lib, kernel;
} backend_bits[] = {
	{ VDPASTATE_BACKEND_F_IOTLB_MSG_V2, VHOST_BACKEND_F_IOTLB_MSG_V2 },
	{ VDPASTATE_BACKEND_F_IOTLB_BATCH, VHOST_BACKEND_F_IOTLB_BATCH },
	{ VDPASTATE_BACKEND_F_IOTLB_ASID, VHOST_BACKEND_F_IOTLB_ASID },
	{ VDPASTATE_BACKEND_F_SUSPEND, VHOST_BACKEND_F_SUSPEND },
	{ VDPASTATE_BACKEND_F_RESUME, VHOST_BACKEND_F_RESUME },
	{ VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK,
	  VHOST_BACKEND_F_ENABLE_AFTER_DRIVER_OK },
	{ VDPASTATE_BACKEND_F_IOTLB_PERSIST, VHOST_BACKEND_F_IOTLB_PERSIST },
};

#define LIB_BIT(b) (1ULL << (b))
#define LIB_KNOWN                                                  \
	(LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_MSG_V2) |               \
	 LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_BATCH) |                \
	 LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_ASID) |                 \
	 LIB_BIT(VDPASTATE_BACKEND_F_SUSPEND) |                    \
	 LIB_BIT(VDPASTATE_BACKEND_F_RESUME) |                     \
	 LIB_BIT(VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK) |     \
	 LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_PERSIST))

uint64_t vds_vdpa_backend_to_kernel(uint64_t lib)
{
	uint64_t k = 0;
	size_t i;

	for (i = 0; i < VDS_ARRAY_SIZE(backend_bits); i++)
		if (lib & LIB_BIT(backend_bits[i].lib))
			k |= 1ULL << backend_bits[i].kernel;
	return k;
}

uint64_t vds_vdpa_backend_from_kernel(uint64_t k)
{
	uint64_t lib = 0;
	size_t i;

	for (i = 0; i < VDS_ARRAY_SIZE(backend_bits); i++)
		if (k & (1ULL << backend_bits[i].kernel))
			lib |= LIB_BIT(backend_bits[i].lib);
	return lib;
}

struct vdpa {
	int fd;
	uint32_t nvqs, ngroups, nas;
	uint16_t num_max;
	uint64_t offered;   /* backend features, library bits */
	uint64_t acked;     /* backend features, library bits */
	uint64_t dev_features;
	bool va;            /* the device works on user virtual addresses */
	bool in_batch;
	uint32_t batch_asid;
	struct vds_vdpa_maps *maps; /* [nas]: what the kernel accepted */
	struct vdpastate_transport_stats st; /* messages sent */
	char path[256];
};

void vds_vdpa_get_stats(void *ctx, struct vdpastate_transport_stats *out)
{
	const struct vdpa *v = ctx;

	*out = v->st;
}

/* Index of the first range whose last >= addr. */
static size_t maps_lower(const struct vds_vdpa_maps *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->r[mid].last < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct vds_vdpa_range *
vds_vdpa_maps_overlap(const struct vds_vdpa_maps *m, uint64_t first,
		      uint64_t last)
{
	size_t i = maps_lower(m, first);

	return i < m->n && m->r[i].first <= last ? &m->r[i] : NULL;
}

int vds_vdpa_maps_add(struct vds_vdpa_maps *m, uint64_t first, uint64_t last,
		      uint64_t uaddr, uint8_t perm)
{
	size_t i = maps_lower(m, first);

	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		void *p = realloc(m->r, cap * sizeof(*m->r));

		if (!p)
			return -ENOMEM;
		m->r = p;
		m->cap = cap;
	}
	memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(*m->r));
	m->r[i].first = first;
	m->r[i].last = last;
	m->r[i].uaddr = uaddr;
	m->r[i].perm = perm;
	m->n++;
	return 0;
}

void vds_vdpa_maps_remove(struct vds_vdpa_maps *m, uint64_t first,
			  uint64_t last)
{
	size_t i = maps_lower(m, first), j = i;

	while (j < m->n && m->r[j].first <= last)
		j++;
	memmove(&m->r[i], &m->r[j], (m->n - j) * sizeof(*m->r));
	m->n -= j - i;
}

void vds_vdpa_maps_fini(struct vds_vdpa_maps *m)
{
	free(m->r);
	m->r = NULL;
	m->n = m->cap = 0;
}

/* An ioctl's failure, named; returns -errno. */
#define IOCTL_FAIL(v, name) ioctl_fail((v), #name)

static int ioctl_fail(const struct vdpa *v, const char *name)
{
	int e = errno;

	return vds_fail(-e, "vhost-vdpa %s: %s: %s", v->path, name,
			strerror(e));
}

/* ioctl(2) and its failure in one, named after the request macro. */
#define VIOCTL(v, req, arg) \
	(ioctl((v)->fd, (req), (arg)) < 0 ? IOCTL_FAIL((v), req) : 0)

static int vq_check(const struct vdpa *v, const char *op, uint32_t idx)
{
	if (idx >= v->nvqs)
		return vds_fail(-EINVAL,
				"vhost-vdpa %s: %s: vq %u out of range "
				"(the device has %u)",
				v->path, op, idx, v->nvqs);
	return 0;
}

static int vring_state(struct vdpa *v, unsigned long req, const char *name,
		       uint32_t idx, uint32_t num)
{
	struct vhost_vring_state s = { .index = idx, .num = num };
	int r = vq_check(v, name, idx);

	if (r)
		return r;
	if (ioctl(v->fd, req, &s) < 0)
		return ioctl_fail(v, name);
	return 0;
}

static int vring_file(struct vdpa *v, unsigned long req, const char *name,
		      uint32_t idx, int fd)
{
	struct vhost_vring_file f = { .index = idx, .fd = fd };
	int r = vq_check(v, name, idx);

	if (r)
		return r;
	if (ioctl(v->fd, req, &f) < 0)
		return ioctl_fail(v, name);
	return 0;
}

static int op_get_device_id(void *ctx, uint32_t *id)
{
	struct vdpa *v = ctx;

	return VIOCTL(v, VHOST_VDPA_GET_DEVICE_ID, id);
}

static int op_get_device_features(void *ctx, uint64_t *features)
{
	struct vdpa *v = ctx;

	return VIOCTL(v, VHOST_GET_FEATURES, features);
}

static int op_set_driver_features(void *ctx, uint64_t features)
{
	struct vdpa *v = ctx;

	/* Some parent drivers (vdpa_sim) silently drop bits they do not
	 * offer; refuse them here so every device behaves alike. */
	if (features & ~v->dev_features)
		return vds_fail(-EINVAL,
				"vhost-vdpa %s: VHOST_SET_FEATURES: bits 0x%llx "
				"are not offered by the device",
				v->path,
				(unsigned long long)(features & ~v->dev_features));
	return VIOCTL(v, VHOST_SET_FEATURES, &features);
}

static int op_get_backend_features(void *ctx, uint64_t *features)
{
	struct vdpa *v = ctx;

	*features = v->offered;
	return 0;
}

static int ack_backend(struct vdpa *v, uint64_t lib)
{
	uint64_t k = vds_vdpa_backend_to_kernel(lib);

	if (lib & ~LIB_KNOWN)
		return vds_fail(-EOPNOTSUPP,
				"vhost-vdpa %s: VHOST_SET_BACKEND_FEATURES: "
				"unknown backend feature bits 0x%llx",
				v->path, (unsigned long long)(lib & ~LIB_KNOWN));
	if (lib & ~v->offered)
		return vds_fail(-EOPNOTSUPP,
				"vhost-vdpa %s: VHOST_SET_BACKEND_FEATURES: "
				"backend feature bits 0x%llx not offered",
				v->path, (unsigned long long)(lib & ~v->offered));
	if (!(lib & LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_MSG_V2)))
		return vds_fail(-EINVAL,
				"vhost-vdpa %s: VHOST_SET_BACKEND_FEATURES: "
				"IOTLB_MSG_V2 must stay acked (this transport "
				"writes v2 messages)",
				v->path);
	if (v->in_batch && !(lib & LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_BATCH)))
		return vds_fail(-EBUSY,
				"vhost-vdpa %s: VHOST_SET_BACKEND_FEATURES: "
				"inside a DMA batch",
				v->path);
	if (ioctl(v->fd, VHOST_SET_BACKEND_FEATURES, &k) < 0)
		return IOCTL_FAIL(v, VHOST_SET_BACKEND_FEATURES);
	v->acked = lib;
	return 0;
}

static int op_set_backend_features(void *ctx, uint64_t features)
{
	return ack_backend(ctx, features);
}

/* Config space reads larger than this are refused before allocating. */
#define CONFIG_MAX 4096u

static int op_get_config(void *ctx, uint32_t offset, void *buf, uint32_t len)
{
	struct vdpa *v = ctx;
	struct vhost_vdpa_config *c;
	int r = 0;

	if (len > CONFIG_MAX)
		return vds_fail(-E2BIG,
				"vhost-vdpa %s: VHOST_VDPA_GET_CONFIG: len %u "
				"is larger than any config space (%u)",
				v->path, len, CONFIG_MAX);
	c = calloc(1, sizeof(*c) + len);
	if (!c)
		return vds_fail(-ENOMEM, "vhost-vdpa %s: out of memory",
				v->path);
	c->off = offset;
	c->len = len;
	if (ioctl(v->fd, VHOST_VDPA_GET_CONFIG, c) < 0)
		r = IOCTL_FAIL(v, VHOST_VDPA_GET_CONFIG);
	else
		memcpy(buf, c->buf, len);
	free(c);
	return r;
}

static int op_get_status(void *ctx, uint8_t *status)
{
	struct vdpa *v = ctx;

	return VIOCTL(v, VHOST_VDPA_GET_STATUS, status);
}

static int iotlb_write(struct vdpa *v, uint32_t asid, uint8_t type,
		       uint64_t iova, uint64_t size, uint64_t uaddr,
		       uint8_t perm, const char *what);

/*
 * Without VHOST_BACKEND_F_IOTLB_PERSIST acked a reset clears the device's
 * mappings (vdpa_sim drops its IOTLBs, newer kernels ask every parent to)
 * while vhost-vdpa keeps its own record of them, so mapping a range again
 * would fail with EEXIST and the device would fault on memory the VMM
 * believes mapped.  Put every recorded mapping back: invalidate
 * (vhost-vdpa forgets it), update; per address space in one batch where
 * IOTLB_BATCH is acked and no batch of the caller's is open (the device
 * then takes the whole table once, not once per message).  With
 * IOTLB_PERSIST acked the mappings survive the reset: nothing to do.
 */
static int replay_maps(struct vdpa *v)
{
	bool batch = (v->acked & LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_BATCH)) &&
		     !v->in_batch;
	uint32_t asid;
	size_t i;
	int r = 0;

	if (v->acked & LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_PERSIST))
		return 0;
	v->st.replays++;
	for (asid = 0; asid < v->nas && !r; asid++) {
		const struct vds_vdpa_maps *m = &v->maps[asid];

		if (!m->n)
			continue;
		if (batch && (r = iotlb_write(v, asid, VHOST_IOTLB_BATCH_BEGIN, 0,
					      0, 0, 0,
					      "reset: VHOST_IOTLB_BATCH_BEGIN")))
			break;
		for (i = 0; i < m->n && !r; i++) {
			const struct vds_vdpa_range *x = &m->r[i];
			uint64_t size = x->last - x->first + 1;

			if (!(r = iotlb_write(v, asid, VHOST_IOTLB_INVALIDATE,
					      x->first, size, 0, 0,
					      "reset: VHOST_IOTLB_INVALIDATE")) &&
			    !(r = iotlb_write(v, asid, VHOST_IOTLB_UPDATE, x->first,
					      size, x->uaddr, x->perm,
					      "reset: VHOST_IOTLB_UPDATE")))
				v->st.replayed_maps++;
		}
		/* A batch opened here is closed, whatever happened in it. */
		if (batch) {
			int e = iotlb_write(v, asid, VHOST_IOTLB_BATCH_END, 0, 0, 0,
					    0, "reset: VHOST_IOTLB_BATCH_END");

			r = r ? r : e;
		}
	}
	return r;
}

static int op_set_status(void *ctx, uint8_t status)
{
	struct vdpa *v = ctx;

	/* Writing 0 resets the device. */
	if (ioctl(v->fd, VHOST_VDPA_SET_STATUS, &status) < 0)
		return IOCTL_FAIL(v, VHOST_VDPA_SET_STATUS);
	return status == 0 ? replay_maps(v) : 0;
}

static int op_get_vq_count(void *ctx, uint32_t *count)
{
	struct vdpa *v = ctx;

	*count = v->nvqs;
	return 0;
}

static int op_get_vring_num_max(void *ctx, uint16_t *num)
{
	struct vdpa *v = ctx;

	return VIOCTL(v, VHOST_VDPA_GET_VRING_NUM, num);
}

static int op_set_vring_num(void *ctx, uint32_t idx, uint32_t num)
{
	struct vdpa *v = ctx;

	/* The kernel checks only for a power of two <= 32768; parent
	 * drivers may take a size above their maximum. */
	if (num == 0 || (num & (num - 1)) || num > v->num_max)
		return vds_fail(-EINVAL,
				"vhost-vdpa %s: VHOST_SET_VRING_NUM: vq %u num "
				"%u is not a power of two in 1..%u",
				v->path, idx, num, v->num_max);
	return vring_state(v, VHOST_SET_VRING_NUM, "VHOST_SET_VRING_NUM", idx,
			   num);
}

static int op_set_vring_addr(void *ctx, uint32_t idx, uint64_t desc,
			     uint64_t avail, uint64_t used)
{
	struct vdpa *v = ctx;
	struct vhost_vring_addr a = {
		.index = idx,
		.desc_user_addr = desc,
		.avail_user_addr = avail,
		.used_user_addr = used,
	};
	int r = vq_check(v, "VHOST_SET_VRING_ADDR", idx);

	if (r)
		return r;
	return VIOCTL(v, VHOST_SET_VRING_ADDR, &a);
}

static int op_set_vring_base(void *ctx, uint32_t idx, uint32_t base)
{
	return vring_state(ctx, VHOST_SET_VRING_BASE, "VHOST_SET_VRING_BASE",
			   idx, base);
}

static int op_get_vring_base(void *ctx, uint32_t idx, uint32_t *base)
{
	struct vdpa *v = ctx;
	struct vhost_vring_state s = { .index = idx };
	int r = vq_check(v, "VHOST_GET_VRING_BASE", idx);

	if (r)
		return r;
	if (ioctl(v->fd, VHOST_GET_VRING_BASE, &s) < 0)
		return IOCTL_FAIL(v, VHOST_GET_VRING_BASE);
	*base = s.num;
	return 0;
}

static int op_set_vring_kick(void *ctx, uint32_t idx, int fd)
{
	return vring_file(ctx, VHOST_SET_VRING_KICK, "VHOST_SET_VRING_KICK",
			  idx, fd);
}

static int op_set_vring_call(void *ctx, uint32_t idx, int fd)
{
	return vring_file(ctx, VHOST_SET_VRING_CALL, "VHOST_SET_VRING_CALL",
			  idx, fd);
}

static int op_set_vring_enable(void *ctx, uint32_t idx, bool enable)
{
	return vring_state(ctx, VHOST_VDPA_SET_VRING_ENABLE,
			   "VHOST_VDPA_SET_VRING_ENABLE", idx, enable);
}

static int op_get_group_num(void *ctx, uint32_t *groups)
{
	struct vdpa *v = ctx;

	*groups = v->ngroups;
	return 0;
}

static int op_get_as_num(void *ctx, uint32_t *as_num)
{
	struct vdpa *v = ctx;

	*as_num = v->nas;
	return 0;
}

static int op_get_vring_group(void *ctx, uint32_t idx, uint32_t *group)
{
	struct vdpa *v = ctx;
	struct vhost_vring_state s = { .index = idx };
	int r = vq_check(v, "VHOST_VDPA_GET_VRING_GROUP", idx);

	if (r)
		return r;
	if (ioctl(v->fd, VHOST_VDPA_GET_VRING_GROUP, &s) < 0)
		return IOCTL_FAIL(v, VHOST_VDPA_GET_VRING_GROUP);
	*group = s.num;
	return 0;
}

/* Address space asid may be used: it exists and ASID is acked for > 0. */
static int asid_check(const struct vdpa *v, const char *op, uint32_t asid)
{
	if (asid >= v->nas)
		return vds_fail(-EINVAL,
				"vhost-vdpa %s: %s: asid %u out of range "
				"(the device has %u)",
				v->path, op, asid, v->nas);
	if (asid && !(v->acked & LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_ASID)))
		return vds_fail(-EINVAL,
				"vhost-vdpa %s: %s: asid %u needs the "
				"IOTLB_ASID backend feature acked",
				v->path, op, asid);
	return 0;
}

static int op_set_group_asid(void *ctx, uint32_t group, uint32_t asid)
{
	struct vdpa *v = ctx;
	struct vhost_vring_state s = { .index = group, .num = asid };
	int r = asid_check(v, "VHOST_VDPA_SET_GROUP_ASID", asid);

	if (r)
		return r;
	/* The kernel would check group against the vq count (ENOBUFS). */
	if (group >= v->ngroups)
		return vds_fail(-EINVAL,
				"vhost-vdpa %s: VHOST_VDPA_SET_GROUP_ASID: "
				"group %u out of range (the device has %u)",
				v->path, group, v->ngroups);
	return VIOCTL(v, VHOST_VDPA_SET_GROUP_ASID, &s);
}

/* Write one IOTLB v2 message: the bytes written, or -errno; no message. */
static ssize_t iotlb_raw(struct vdpa *v, uint32_t asid, uint8_t type,
			 uint64_t iova, uint64_t size, uint64_t uaddr,
			 uint8_t perm)
{
	struct vhost_msg_v2 m;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.type = VHOST_IOTLB_MSG_V2;
	m.asid = asid;
	m.iotlb.iova = iova;
	m.iotlb.size = size;
	m.iotlb.uaddr = uaddr;
	m.iotlb.perm = perm;
	m.iotlb.type = type;
	do
		n = write(v->fd, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Write one IOTLB v2 message; what names it in a failure. */
static int iotlb_write(struct vdpa *v, uint32_t asid, uint8_t type,
		       uint64_t iova, uint64_t size, uint64_t uaddr,
		       uint8_t perm, const char *what)
{
	ssize_t n = iotlb_raw(v, asid, type, iova, size, uaddr, perm);

	if (n == (ssize_t)sizeof(struct vhost_msg_v2)) {
		if (type == VHOST_IOTLB_UPDATE)
			v->st.dma_maps++;
		else if (type == VHOST_IOTLB_INVALIDATE)
			v->st.dma_unmaps++;
		else if (type == VHOST_IOTLB_BATCH_BEGIN)
			v->st.batches++;
	}
	if (n < 0)
		return vds_fail((int)n,
				"vhost-vdpa %s: %s asid %u iova 0x%llx size "
				"0x%llx: %s",
				v->path, what, asid, (unsigned long long)iova,
				(unsigned long long)size, strerror((int)-n));
	if ((size_t)n != sizeof(struct vhost_msg_v2))
		return vds_fail(-EIO,
				"vhost-vdpa %s: %s: short write (%zd of %zu)",
				v->path, what, n, sizeof(struct vhost_msg_v2));
	return 0;
}

static int op_dma_map(void *ctx, uint32_t asid, uint64_t iova, uint64_t size,
		      void *hva, uint32_t perm)
{
	struct vdpa *v = ctx;
	uint8_t access = (perm & VDPASTATE_DMA_READ ? VHOST_ACCESS_RO : 0) |
			 (perm & VDPASTATE_DMA_WRITE ? VHOST_ACCESS_WO : 0);
	int r = asid_check(v, "VHOST_IOTLB_UPDATE", asid);

	if (r)
		return r;
	if (v->va && size && (r = vds_mem_shared(hva, size)) <= 0) {
		if (r == 0)
			return vds_fail(-EINVAL,
					"vhost-vdpa %s: VHOST_IOTLB_UPDATE asid %u "
					"iova 0x%llx size 0x%llx: the device works "
					"on user virtual addresses and vhost-vdpa "
					"maps only shared memory of files (memfd, "
					"shmem, MAP_SHARED | MAP_ANONYMOUS); [%p, "
					"+0x%llx] is not all such memory and would "
					"be skipped without an error",
					v->path, asid, (unsigned long long)iova,
					(unsigned long long)size, hva,
					(unsigned long long)size);
		vds_log(VDPASTATE_LOG_WARN,
			"vhost-vdpa %s: cannot tell whether [%p, +0x%llx] is "
			"shared memory, which this device needs (%s)",
			v->path, hva, (unsigned long long)size, strerror(-r));
	}
	r = iotlb_write(v, asid, VHOST_IOTLB_UPDATE, iova, size,
			(uint64_t)(uintptr_t)hva, access, "VHOST_IOTLB_UPDATE");
	if (r == -EFAULT && size) {
		/* The kernel says EFAULT for an overlap too: tell it apart. */
		const struct vds_vdpa_range *o =
			vds_vdpa_maps_overlap(&v->maps[asid], iova, iova + size - 1);

		if (o)
			return vds_fail(-EEXIST,
					"vhost-vdpa %s: VHOST_IOTLB_UPDATE asid %u "
					"iova 0x%llx size 0x%llx: overlaps "
					"[0x%llx, 0x%llx] mapped earlier (the "
					"kernel answered EFAULT)",
					v->path, asid, (unsigned long long)iova,
					(unsigned long long)size,
					(unsigned long long)o->first,
					(unsigned long long)o->last);
	}
	if (r == 0 && size &&
	    vds_vdpa_maps_add(&v->maps[asid], iova, iova + size - 1,
			      (uint64_t)(uintptr_t)hva, access))
		vds_log(VDPASTATE_LOG_WARN,
			"vhost-vdpa %s: out of memory recording a mapping; a "
			"later overlap may be reported as EFAULT",
			v->path);
	return r;
}

static int op_dma_unmap(void *ctx, uint32_t asid, uint64_t iova, uint64_t size)
{
	struct vdpa *v = ctx;
	int r = asid_check(v, "VHOST_IOTLB_INVALIDATE", asid);

	if (r)
		return r;
	r = iotlb_write(v, asid, VHOST_IOTLB_INVALIDATE, iova, size, 0, 0,
			"VHOST_IOTLB_INVALIDATE");
	if (r == 0 && size)
		vds_vdpa_maps_remove(&v->maps[asid], iova, iova + size - 1);
	return r;
}

/*
 * Without IOTLB_BATCH acked every message takes effect at once, which a
 * batch of one message each also gives: begin and end are then no-ops.
 */
static int op_dma_batch_begin(void *ctx, uint32_t asid)
{
	struct vdpa *v = ctx;
	int r = asid_check(v, "VHOST_IOTLB_BATCH_BEGIN", asid);

	if (r)
		return r;
	if (v->in_batch)
		return vds_fail(-EBUSY,
				"vhost-vdpa %s: VHOST_IOTLB_BATCH_BEGIN: a batch "
				"(asid %u) is already open",
				v->path, v->batch_asid);
	if (v->acked & LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_BATCH)) {
		r = iotlb_write(v, asid, VHOST_IOTLB_BATCH_BEGIN, 0, 0, 0, 0,
				"VHOST_IOTLB_BATCH_BEGIN");
		if (r)
			return r;
	}
	v->in_batch = true;
	v->batch_asid = asid;
	return 0;
}

static int op_dma_batch_end(void *ctx, uint32_t asid)
{
	struct vdpa *v = ctx;

	if (!v->in_batch || v->batch_asid != asid)
		return vds_fail(-EINVAL,
				"vhost-vdpa %s: VHOST_IOTLB_BATCH_END: no batch "
				"open for asid %u",
				v->path, asid);
	v->in_batch = false;
	if (v->acked & LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_BATCH))
		return iotlb_write(v, asid, VHOST_IOTLB_BATCH_END, 0, 0, 0, 0,
				   "VHOST_IOTLB_BATCH_END");
	return 0;
}

static int op_get_iova_range(void *ctx, uint64_t *first, uint64_t *last)
{
	struct vdpa *v = ctx;
	struct vhost_vdpa_iova_range range;

	if (ioctl(v->fd, VHOST_VDPA_GET_IOVA_RANGE, &range) < 0)
		return IOCTL_FAIL(v, VHOST_VDPA_GET_IOVA_RANGE);
	*first = range.first;
	*last = range.last;
	return 0;
}

static int op_suspend(void *ctx)
{
	struct vdpa *v = ctx;

	if (!(v->acked & LIB_BIT(VDPASTATE_BACKEND_F_SUSPEND)))
		return vds_fail(-EOPNOTSUPP,
				"vhost-vdpa %s: VHOST_VDPA_SUSPEND: the SUSPEND "
				"backend feature is %s",
				v->path,
				v->offered & LIB_BIT(VDPASTATE_BACKEND_F_SUSPEND)
					? "not acked"
					: "not offered");
	return VIOCTL(v, VHOST_VDPA_SUSPEND, NULL);
}

static int op_resume(void *ctx)
{
	struct vdpa *v = ctx;

	if (!(v->acked & LIB_BIT(VDPASTATE_BACKEND_F_RESUME)))
		return vds_fail(-EOPNOTSUPP,
				"vhost-vdpa %s: VHOST_VDPA_RESUME: the RESUME "
				"backend feature is %s",
				v->path,
				v->offered & LIB_BIT(VDPASTATE_BACKEND_F_RESUME)
					? "not acked"
					: "not offered");
	return VIOCTL(v, VHOST_VDPA_RESUME, NULL);
}

static void vdpa_free(struct vdpa *v)
{
	uint32_t i;

	for (i = 0; v->maps && i < v->nas; i++)
		vds_vdpa_maps_fini(&v->maps[i]);
	free(v->maps);
	free(v);
}

static void op_close(void *ctx)
{
	struct vdpa *v = ctx;

	close(v->fd);
	vdpa_free(v);
}

static const struct vdpastate_transport_ops vdpa_ops = {
	.get_device_id = op_get_device_id,
	.get_device_features = op_get_device_features,
	.set_driver_features = op_set_driver_features,
	.get_backend_features = op_get_backend_features,
	.set_backend_features = op_set_backend_features,
	.get_config = op_get_config,
	.get_status = op_get_status,
	.set_status = op_set_status,
	.get_vq_count = op_get_vq_count,
	.get_vring_num_max = op_get_vring_num_max,
	.set_vring_num = op_set_vring_num,
	.set_vring_addr = op_set_vring_addr,
	.set_vring_base = op_set_vring_base,
	.get_vring_base = op_get_vring_base,
	.set_vring_kick = op_set_vring_kick,
	.set_vring_call = op_set_vring_call,
	.set_vring_enable = op_set_vring_enable,
	.get_group_num = op_get_group_num,
	.get_as_num = op_get_as_num,
	.get_vring_group = op_get_vring_group,
	.set_group_asid = op_set_group_asid,
	.dma_map = op_dma_map,
	.dma_unmap = op_dma_unmap,
	.dma_batch_begin = op_dma_batch_begin,
	.dma_batch_end = op_dma_batch_end,
	.get_iova_range = op_get_iova_range,
	.suspend = op_suspend,
	.resume = op_resume,
	.close = op_close,
};

/*
 * Whether the device works on user virtual addresses, told by what
 * vhost-vdpa does with a page of private memory: for a device on
 * physical addresses it pins the page and refuses a second map at the
 * same IOVA (EFAULT); for a VA device it skipped the page, and takes the
 * second map too.  The IOTLB of a descriptor just opened is empty.
 */
static int probe_va(struct vdpa *v)
{
	long page = sysconf(_SC_PAGESIZE);
	struct vhost_vdpa_iova_range range;
	uint64_t iova;
	ssize_t r2;
	void *p;
	int r1;

	if (ioctl(v->fd, VHOST_VDPA_GET_IOVA_RANGE, &range) < 0)
		return IOCTL_FAIL(v, VHOST_VDPA_GET_IOVA_RANGE);
	iova = (range.first + (uint64_t)page - 1) & ~((uint64_t)page - 1);
	if (iova < range.first || iova > range.last ||
	    range.last - iova < (uint64_t)page - 1)
		return vds_fail(-ENOSPC, "vhost-vdpa %s: the IOVA range [0x%llx, "
				"0x%llx] holds no page", v->path,
				(unsigned long long)range.first,
				(unsigned long long)range.last);
	p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return vds_fail(-ENOMEM, "vhost-vdpa %s: out of memory", v->path);
	memset(p, 0, (size_t)page);
	r1 = iotlb_write(v, 0, VHOST_IOTLB_UPDATE, iova, (uint64_t)page,
			 (uint64_t)(uintptr_t)p, VHOST_ACCESS_RO,
			 "open: VHOST_IOTLB_UPDATE (probe)");
	/* Expected to fail on most devices: no message then. */
	r2 = r1 ? 0 : iotlb_raw(v, 0, VHOST_IOTLB_UPDATE, iova, (uint64_t)page,
				(uint64_t)(uintptr_t)p, VHOST_ACCESS_RO);
	if (!r1)
		r1 = iotlb_write(v, 0, VHOST_IOTLB_INVALIDATE, iova,
				 (uint64_t)page, 0, 0,
				 "open: VHOST_IOTLB_INVALIDATE (probe)");
	munmap(p, (size_t)page);
	if (r1)
		return r1;
	v->va = r2 > 0;
	vds_log(VDPASTATE_LOG_DEBUG, "vhost-vdpa %s: the device works on %s",
		v->path, v->va ? "user virtual addresses (shared memory only)"
			       : "physical addresses (pinned pages)");
	return 0;
}

/* What the device is: its id proves it is vhost-vdpa; then the counts
 * and features every later call checks against. */
static int vdpa_probe(struct vdpa *v)
{
	struct stat st;
	uint32_t id;
	uint64_t k;
	int r;

	if (fstat(v->fd, &st) < 0)
		return vds_fail(-errno, "vhost-vdpa %s: fstat: %s", v->path,
				strerror(errno));
	if (!S_ISCHR(st.st_mode))
		return vds_fail(-ENOTTY,
				"vhost-vdpa %s: not a vhost-vdpa device (not a "
				"character device)",
				v->path);
	if (ioctl(v->fd, VHOST_VDPA_GET_DEVICE_ID, &id) < 0) {
		int e = errno;

		if (e == ENOTTY || e == EINVAL)
			return vds_fail(-ENOTTY,
					"vhost-vdpa %s: not a vhost-vdpa device "
					"(VHOST_VDPA_GET_DEVICE_ID: %s)",
					v->path, strerror(e));
		return IOCTL_FAIL(v, VHOST_VDPA_GET_DEVICE_ID);
	}
	if (ioctl(v->fd, VHOST_SET_OWNER, NULL) < 0)
		return IOCTL_FAIL(v, VHOST_SET_OWNER);
	if (ioctl(v->fd, VHOST_VDPA_GET_VQS_COUNT, &v->nvqs) < 0)
		return IOCTL_FAIL(v, VHOST_VDPA_GET_VQS_COUNT);
	if (ioctl(v->fd, VHOST_VDPA_GET_GROUP_NUM, &v->ngroups) < 0)
		return IOCTL_FAIL(v, VHOST_VDPA_GET_GROUP_NUM);
	if (ioctl(v->fd, VHOST_VDPA_GET_AS_NUM, &v->nas) < 0)
		return IOCTL_FAIL(v, VHOST_VDPA_GET_AS_NUM);
	v->maps = calloc(v->nas ? v->nas : 1, sizeof(*v->maps));
	if (!v->maps)
		return vds_fail(-ENOMEM, "vhost-vdpa %s: out of memory", v->path);
	if (ioctl(v->fd, VHOST_VDPA_GET_VRING_NUM, &v->num_max) < 0)
		return IOCTL_FAIL(v, VHOST_VDPA_GET_VRING_NUM);
	if (ioctl(v->fd, VHOST_GET_FEATURES, &v->dev_features) < 0)
		return IOCTL_FAIL(v, VHOST_GET_FEATURES);
	if (ioctl(v->fd, VHOST_GET_BACKEND_FEATURES, &k) < 0)
		return IOCTL_FAIL(v, VHOST_GET_BACKEND_FEATURES);
	v->offered = vds_vdpa_backend_from_kernel(k);
	if (!(v->offered & LIB_BIT(VDPASTATE_BACKEND_F_IOTLB_MSG_V2)))
		return vds_fail(-EOPNOTSUPP,
				"vhost-vdpa %s: the device does not offer IOTLB "
				"v2 messages (VHOST_BACKEND_F_IOTLB_MSG_V2)",
				v->path);
	if ((r = ack_backend(v, v->offered)))
		return r;
	return probe_va(v);
}

VDPASTATE_API struct vdpastate_transport *
vdpastate_transport_open_vhost_vdpa(const char *path,
				    const struct vdpastate_vhost_vdpa_opts *opts)
{
	struct vdpastate_transport *t;
	struct vdpa *v;
	int r;

	if (!path || !*path)
		return vds_fail_ptr(-EINVAL, "vhost-vdpa: no device path");
	r = VDS_OPTS_VALID(opts, vdpastate_vhost_vdpa_opts);
	if (r)
		return vds_fail_ptr(r, "vhost-vdpa %s: %s", path,
				    vdpastate_last_error());
	if (strlen(path) >= sizeof(v->path))
		return vds_fail_ptr(-ENAMETOOLONG,
				    "vhost-vdpa: device path longer than %zu",
				    sizeof(v->path) - 1);
	v = calloc(1, sizeof(*v));
	if (!v)
		return vds_fail_ptr(-ENOMEM, "vhost-vdpa %s: out of memory",
				    path);
	snprintf(v->path, sizeof(v->path), "%s", path);
	v->fd = open(path, O_RDWR | O_CLOEXEC);
	if (v->fd < 0) {
		int e = errno;

		free(v);
		return vds_fail_ptr(-e, "vhost-vdpa %s: open: %s%s", path,
				    strerror(e),
				    e == EBUSY ? " (another process has it open)"
					       : "");
	}
	r = vdpa_probe(v);
	if (r) {
		close(v->fd);
		vdpa_free(v);
		errno = -r;
		return NULL;
	}
	t = vds_transport_new_named("vhost-vdpa", &vdpa_ops, sizeof(vdpa_ops),
				    v);
	if (!t) {
		r = errno;
		close(v->fd);
		vdpa_free(v);
		errno = r;
	}
	return t;
}

/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vmtest.c - result lines, vDPA device setup and the guest's
 * data-queue driver for the VM test programs (see vmtest.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/vhost.h>

#include <libvdpastate/cvq.h>
#include <libvdpastate/dev.h>
#include <libvdpastate/mgmt.h>
#include <libvdpastate/transport.h>

#include "vmtest.h"

static const char *case_name = "?";
static unsigned int failures;

void vmt_case(const char *name)
{
	case_name = name;
}

int vmt_result(const char *check, int failed, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	/* One line each, whatever the detail holds. */
	for (p = detail; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	printf("VMTEST %s/%s %s %s\n", case_name, check,
	       failed ? "FAIL" : "PASS", detail);
	fflush(stdout);
	if (failed)
		failures++;
	return failed ? -1 : 0;
}

unsigned int vmt_failures(void)
{
	return failures;
}

int vmt_exit(void)
{
	return failures ? 1 : 0;
}

double vmt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#define BIT(b) ((uint64_t)1 << (b))
#define KERNEL_F                                                          \
	(BIT(VDPASTATE_NET_F_MTU) | BIT(VDPASTATE_NET_F_MAC) |            \
	 BIT(VDPASTATE_NET_F_CTRL_VQ) | BIT(VDPASTATE_NET_F_CTRL_MAC_ADDR) | \
	 BIT(27) /* ANY_LAYOUT */ | BIT(VDPASTATE_F_VERSION_1) |          \
	 BIT(VDPASTATE_F_ACCESS_PLATFORM))
#define KERNEL_B                                                          \
	(BIT(VDPASTATE_BACKEND_F_IOTLB_MSG_V2) |                          \
	 BIT(VDPASTATE_BACKEND_F_IOTLB_BATCH) |                           \
	 BIT(VDPASTATE_BACKEND_F_IOTLB_ASID) | BIT(VDPASTATE_BACKEND_F_SUSPEND))

/*
 * 6.1: vhost-vdpa offers IOTLB v2, batching, ASID, and SUSPEND for a
 * parent with a suspend op, which vdpa_sim has.  6.12 adds RESUME (the
 * simulator resumes), IOTLB_PERSIST (it has reset_map) and the device's
 * own ENABLE_AFTER_DRIVER_OK; the device gains STATUS and works on user
 * virtual addresses (use_va).  Neither has DESC_ASID (the simulator has
 * no descriptor groups).
 */
static const struct vmt_kernel kernels[] = {
	{ "6.1", KERNEL_F, KERNEL_B, KERNEL_B, false },
	{ "6.12", KERNEL_F | BIT(VDPASTATE_NET_F_STATUS),
	  KERNEL_B | BIT(VDPASTATE_BACKEND_F_RESUME) |
		  BIT(VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK) |
		  BIT(VDPASTATE_BACKEND_F_IOTLB_PERSIST),
	  KERNEL_B | BIT(VDPASTATE_BACKEND_F_RESUME) |
		  BIT(VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK) |
		  BIT(VDPASTATE_BACKEND_F_IOTLB_PERSIST),
	  true },
};

const struct vmt_kernel *vmt_kernel(char *why, size_t why_len)
{
	struct utsname u;
	size_t i, n;

	if (uname(&u) < 0) {
		snprintf(why, why_len, "uname: %s", strerror(errno));
		return NULL;
	}
	for (i = 0; i < sizeof(kernels) / sizeof(kernels[0]); i++) {
		n = strlen(kernels[i].version);
		if (!strncmp(u.release, kernels[i].version, n) &&
		    (u.release[n] == '.' || u.release[n] == '-' ||
		     u.release[n] == '\0'))
			return &kernels[i];
	}
	snprintf(why, why_len, "kernel %s: the VM cases describe only 6.1 and "
		 "6.12", u.release);
	return NULL;
}

const char *vmt_backend_names(uint64_t bits, char *buf, size_t len)
{
	static const char *const names[] = {
		[VDPASTATE_BACKEND_F_IOTLB_MSG_V2] = "IOTLB_MSG_V2",
		[VDPASTATE_BACKEND_F_IOTLB_BATCH] = "IOTLB_BATCH",
		[VDPASTATE_BACKEND_F_IOTLB_ASID] = "IOTLB_ASID",
		[VDPASTATE_BACKEND_F_SUSPEND] = "SUSPEND",
		[VDPASTATE_BACKEND_F_RESUME] = "RESUME",
		[VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK] =
			"ENABLE_AFTER_DRIVER_OK",
		[VDPASTATE_BACKEND_F_DESC_ASID] = "DESC_ASID",
		[VDPASTATE_BACKEND_F_IOTLB_PERSIST] = "IOTLB_PERSIST",
	};
	size_t used = 0;
	unsigned int b;

	buf[0] = '\0';
	for (b = 0; b < 64; b++) {
		const char *nm;
		char num[16];

		if (!(bits & BIT(b)))
			continue;
		nm = b < sizeof(names) / sizeof(names[0]) ? names[b] : NULL;
		if (!nm) {
			snprintf(num, sizeof(num), "bit%u", b);
			nm = num;
		}
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0,
					 "%s%s", used ? " " : "", nm);
	}
	if (!used)
		snprintf(buf, len, "none");
	return buf;
}

int vmt_raw_backend_features(const char *path, uint64_t *out, char *why,
			     size_t why_len)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, why_len, "open %s: %s", path, strerror(errno));
		return -1;
	}
	if (ioctl(fd, VHOST_GET_BACKEND_FEATURES, out) < 0) {
		snprintf(why, why_len, "%s: VHOST_GET_BACKEND_FEATURES: %s", path,
			 strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void *vmt_shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void vmt_shared_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

/* ------------------------------------------------------------ forwarding */

#define FWD1(op, T1)                                                       \
	static int fwd_##op(void *c, T1 a)                                 \
	{                                                                  \
		return vdpastate_transport_##op(c, a);                     \
	}
#define FWD2(op, T1, T2)                                                   \
	static int fwd_##op(void *c, T1 a, T2 b)                           \
	{                                                                  \
		return vdpastate_transport_##op(c, a, b);                  \
	}
#define FWD3(op, T1, T2, T3)                                               \
	static int fwd_##op(void *c, T1 a, T2 b, T3 d)                     \
	{                                                                  \
		return vdpastate_transport_##op(c, a, b, d);               \
	}
FWD1(get_device_id, uint32_t *)
FWD1(get_device_features, uint64_t *)
FWD1(set_driver_features, uint64_t)
FWD1(get_backend_features, uint64_t *)
FWD1(set_backend_features, uint64_t)
FWD3(get_config, uint32_t, void *, uint32_t)
FWD1(get_status, uint8_t *)
FWD1(set_status, uint8_t)
FWD1(get_vq_count, uint32_t *)
FWD1(get_vring_num_max, uint16_t *)
FWD2(set_vring_num, uint32_t, uint32_t)
FWD2(set_vring_base, uint32_t, uint32_t)
FWD2(get_vring_base, uint32_t, uint32_t *)
FWD2(set_vring_kick, uint32_t, int)
FWD2(set_vring_call, uint32_t, int)
FWD2(set_vring_enable, uint32_t, bool)
FWD1(get_group_num, uint32_t *)
FWD1(get_as_num, uint32_t *)
FWD2(get_vring_group, uint32_t, uint32_t *)
FWD2(set_group_asid, uint32_t, uint32_t)
FWD3(dma_unmap, uint32_t, uint64_t, uint64_t)
FWD1(dma_batch_begin, uint32_t)
FWD1(dma_batch_end, uint32_t)
FWD2(get_iova_range, uint64_t *, uint64_t *)

static int fwd_set_vring_addr(void *c, uint32_t idx, uint64_t desc,
			      uint64_t avail, uint64_t used)
{
	return vdpastate_transport_set_vring_addr(c, idx, desc, avail, used);
}

static int fwd_dma_map(void *c, uint32_t asid, uint64_t iova, uint64_t size,
		       void *hva, uint32_t perm)
{
	return vdpastate_transport_dma_map(c, asid, iova, size, hva, perm);
}

static int fwd_suspend(void *c)
{
	return vdpastate_transport_suspend(c);
}

static int fwd_resume(void *c)
{
	return vdpastate_transport_resume(c);
}

void vmt_forward_ops(struct vdpastate_transport_ops *ops)
{
	static const struct vdpastate_transport_ops fwd = {
		.get_device_id = fwd_get_device_id,
		.get_device_features = fwd_get_device_features,
		.set_driver_features = fwd_set_driver_features,
		.get_backend_features = fwd_get_backend_features,
		.set_backend_features = fwd_set_backend_features,
		.get_config = fwd_get_config,
		.get_status = fwd_get_status,
		.set_status = fwd_set_status,
		.get_vq_count = fwd_get_vq_count,
		.get_vring_num_max = fwd_get_vring_num_max,
		.set_vring_num = fwd_set_vring_num,
		.set_vring_addr = fwd_set_vring_addr,
		.set_vring_base = fwd_set_vring_base,
		.get_vring_base = fwd_get_vring_base,
		.set_vring_kick = fwd_set_vring_kick,
		.set_vring_call = fwd_set_vring_call,
		.set_vring_enable = fwd_set_vring_enable,
		.get_group_num = fwd_get_group_num,
		.get_as_num = fwd_get_as_num,
		.get_vring_group = fwd_get_vring_group,
		.set_group_asid = fwd_set_group_asid,
		.dma_map = fwd_dma_map,
		.dma_unmap = fwd_dma_unmap,
		.dma_batch_begin = fwd_dma_batch_begin,
		.dma_batch_end = fwd_dma_batch_end,
		.get_iova_range = fwd_get_iova_range,
		.suspend = fwd_suspend,
		.resume = fwd_resume,
	};

	*ops = fwd;
}

static int write_sysfs(const char *file, const char *val)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* The vhost-vdpa-N child of the vdpa device in sysfs, if bound. */
static int find_vhost(const char *name, char *path, size_t len)
{
	char dir[256];
	struct dirent *d;
	DIR *dd;
	int r = -1;

	snprintf(dir, sizeof(dir), "/sys/bus/vdpa/devices/%s", name);
	dd = opendir(dir);
	if (!dd)
		return -1;
	while ((d = readdir(dd)))
		if (!strncmp(d->d_name, "vhost-vdpa-", 11)) {
			snprintf(path, len, "/dev/%s", d->d_name);
			r = 0;
			break;
		}
	closedir(dd);
	return r;
}

int vmt_dev_create(const char *name, const uint8_t mac[6], char *path,
		   size_t path_len, char *why, size_t why_len)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_add_opts, o, .name = name,
		       .mgmtdev = VMT_MGMTDEV, .set = VDPASTATE_MGMT_ADD_MAC);
	struct vdpastate_mgmt *m = vdpastate_mgmt_open(NULL);
	struct stat st;
	int i, r;

	if (!m) {
		snprintf(why, why_len, "mgmt open: %s", vdpastate_last_error());
		return -1;
	}
	memcpy(o.mac, mac, 6);
	r = vdpastate_mgmt_dev_add(m, &o);
	vdpastate_mgmt_close(m);
	if (r) {
		snprintf(why, why_len, "dev add %s: %s", name,
			 vdpastate_last_error());
		return -1;
	}
	if (find_vhost(name, path, path_len)) {
		/* virtio_vdpa took it: hand it to vhost_vdpa. */
		write_sysfs("/sys/bus/vdpa/drivers/virtio_vdpa/unbind", name);
		write_sysfs("/sys/bus/vdpa/drivers/vhost_vdpa/bind", name);
	}
	/* devtmpfs creates the node as the device registers; allow a moment. */
	for (i = 0; i < 100; i++) {
		if (!find_vhost(name, path, path_len) && !stat(path, &st) &&
		    S_ISCHR(st.st_mode))
			return 0;
		usleep(10000);
	}
	snprintf(why, why_len,
		 "%s: no vhost-vdpa character device appeared (is vhost_vdpa "
		 "built in?)",
		 name);
	return -1;
}

int vmt_dev_destroy(const char *name, char *why, size_t why_len)
{
	struct vdpastate_mgmt *m = vdpastate_mgmt_open(NULL);
	int r;

	if (!m) {
		snprintf(why, why_len, "mgmt open: %s", vdpastate_last_error());
		return -1;
	}
	r = vdpastate_mgmt_dev_del(m, name);
	if (r)
		snprintf(why, why_len, "dev del %s: %s", name,
			 vdpastate_last_error());
	vdpastate_mgmt_close(m);
	return r ? -1 : 0;
}

int vmt_dev_mac(const char *name, uint8_t mac[6], char *why, size_t why_len)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_config, c);
	struct vdpastate_mgmt *m = vdpastate_mgmt_open(NULL);
	int r;

	if (!m) {
		snprintf(why, why_len, "mgmt open: %s", vdpastate_last_error());
		return -1;
	}
	r = vdpastate_mgmt_dev_config(m, name, &c);
	if (r)
		snprintf(why, why_len, "dev config %s: %s", name,
			 vdpastate_last_error());
	else if (!(c.valid & VDPASTATE_MGMT_CFG_MAC))
		snprintf(why, why_len, "dev config %s: no MAC reported (valid "
				       "0x%x)", name, c.valid);
	vdpastate_mgmt_close(m);
	if (r || !(c.valid & VDPASTATE_MGMT_CFG_MAC))
		return -1;
	memcpy(mac, c.mac, 6);
	return 0;
}

const char *vmt_mac_str(const uint8_t mac[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

#define LTRY(call) VMT_TRY(why, why_len, call)

int vmt_negotiate(struct vdpastate_transport *t, uint64_t features, char *why,
		  size_t why_len)
{
	const uint8_t st = VDPASTATE_STATUS_ACKNOWLEDGE | VDPASTATE_STATUS_DRIVER;
	uint8_t got = 0;

	LTRY(vdpastate_transport_reset(t));
	LTRY(vdpastate_transport_set_status(t, VDPASTATE_STATUS_ACKNOWLEDGE));
	LTRY(vdpastate_transport_set_status(t, st));
	LTRY(vdpastate_transport_set_driver_features(t, features));
	LTRY(vdpastate_transport_set_status(t, st | VDPASTATE_STATUS_FEATURES_OK));
	LTRY(vdpastate_transport_get_status(t, &got));
	if (!(got & VDPASTATE_STATUS_FEATURES_OK)) {
		snprintf(why, why_len, "the device refused FEATURES_OK for "
				       "features 0x%llx",
			 (unsigned long long)features);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ guest driver */

/* The control queue's place in the block (between the data rings and
 * the data buffers at 0x10000). */
#define CVQ_AT 0x4000u
#define CVQ_AVAIL 0x400u
#define CVQ_USED 0x800u
#define CVQ_CMDS (CVQ_AT + 0x1000u)
#define CVQ_CMD_SLOT 128u
#define CVQ_ACKS (CVQ_CMDS + VMT_CVQ_NUM * CVQ_CMD_SLOT)
#define CVQ_ACK_SLOT 16u

int vmt_guest_init(struct vmt_guest *g, uint8_t *host, uint64_t gpa,
		   uint16_t num, uint64_t features, char *why, size_t why_len)
{
	unsigned int i;
	int r;

	memset(g, 0, sizeof(*g));
	g->host = host;
	g->gpa = gpa;
	g->num = num;
	g->cvq_kick = g->cvq_call = -1;
	if (num > 128 || num & (num - 1)) {
		snprintf(why, why_len, "guest ring size %u: not a power of two "
				       "up to 128", num);
		return -1;
	}
	memset(host, 0, 0x10000); /* rings and control buffers */
	for (i = 0; i < 2; i++) {
		struct vmt_gq *q = &g->q[i];
		uint8_t *ring;

		q->ring_gpa = gpa + i * 0x2000;
		q->buf_gpa = gpa + 0x10000 + (uint64_t)i * num * VMT_BUF;
		ring = vmt_guest_host(g, q->ring_gpa);
		r = vds_vdrv_init(&q->drv, num, features, ring, ring + 0x800,
				  ring + 0x1000);
		if (r) {
			snprintf(why, why_len, "guest ring %u: %d", i, r);
			return -1;
		}
	}
	return 0;
}

void vmt_guest_fini(struct vmt_guest *g)
{
	if (g->num) {
		vds_vdrv_fini(&g->q[0].drv);
		vds_vdrv_fini(&g->q[1].drv);
	}
	g->num = 0;
	if (g->cvq_live)
		vds_vdrv_fini(&g->cvq);
	g->cvq_live = false;
	if (g->cvq_kick >= 0)
		close(g->cvq_kick);
	if (g->cvq_call >= 0)
		close(g->cvq_call);
	g->cvq_kick = g->cvq_call = -1;
}

int vmt_guest_cvq_init(struct vmt_guest *g, const struct vdpastate_mem *mem,
		       struct vdpastate_dev_guest_cvq *gc, char *why,
		       size_t why_len)
{
	uint64_t ring = g->gpa + CVQ_AT;
	uint8_t *h = vmt_guest_host(g, ring);

	LTRY(vds_vdrv_init(&g->cvq, VMT_CVQ_NUM,
			   (uint64_t)1 << VDPASTATE_F_VERSION_1, h,
			   h + CVQ_AVAIL, h + CVQ_USED));
	g->cvq_live = true;
	g->cvq_kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	g->cvq_call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (g->cvq_kick < 0 || g->cvq_call < 0) {
		snprintf(why, why_len, "eventfd: %s", strerror(errno));
		return -1;
	}
	memset(gc, 0, sizeof(*gc));
	gc->sz = sizeof(*gc);
	gc->mem = mem;
	gc->desc = ring;
	gc->avail = ring + CVQ_AVAIL;
	gc->used = ring + CVQ_USED;
	gc->num = VMT_CVQ_NUM;
	gc->kick_fd = g->cvq_kick;
	gc->call_fd = g->cvq_call;
	return 0;
}

int vmt_guest_cvq_send(struct vmt_guest *g, struct vdpastate_dev *dev,
		       const struct vdpastate_cvq_cmd *cmd, uint8_t *ack,
		       char *why, size_t why_len)
{
	const char *name = vdpastate_cvq_cmd_name(cmd);
	uint16_t head = g->cvq.free_head, id;
	uint64_t cmd_gpa = g->gpa + CVQ_CMDS + (uint64_t)head * CVQ_CMD_SLOT;
	uint64_t ack_gpa = g->gpa + CVQ_ACKS + (uint64_t)head * CVQ_ACK_SLOT;
	uint64_t one = 1, v = 0;
	struct vds_seg s[2];
	uint32_t len;
	int n, r;

	n = vdpastate_cvq_cmd_encode(cmd, vmt_guest_host(g, cmd_gpa),
				     CVQ_CMD_SLOT);
	LTRY(n);
	*vmt_guest_host(g, ack_gpa) = 0xff;
	vds_seg_set(&s[0], cmd_gpa, cmd_gpa, 0, (uint64_t)n, false);
	vds_seg_set(&s[1], ack_gpa, ack_gpa, 0, 1, true);
	LTRY(vds_vdrv_add(&g->cvq, s, 2));
	vds_vdrv_publish(&g->cvq);
	if (write(g->cvq_kick, &one, sizeof(one)) != sizeof(one)) {
		snprintf(why, why_len, "guest kick: %s", strerror(errno));
		return -1;
	}
	r = vdpastate_dev_handle_guest_cvq(dev);
	if (r != 1) {
		snprintf(why, why_len, "%s: handle_guest_cvq answered %d "
				       "command(s) (%s), expected 1",
			 name, r, r < 0 ? vdpastate_last_error() : "-");
		return -1;
	}
	if (read(g->cvq_call, &v, sizeof(v)) != sizeof(v)) {
		snprintf(why, why_len, "%s: the guest's call was not signalled",
			 name);
		return -1;
	}
	r = vds_vdrv_get_used(&g->cvq, &id, &len);
	if (r != 1 || id != head || len < 1) {
		snprintf(why, why_len, "%s: the guest's used ring: %d, id %u "
				       "(posted %u), length %u",
			 name, r, r == 1 ? id : 0, head, r == 1 ? len : 0);
		return -1;
	}
	vds_vdrv_free(&g->cvq, id);
	*ack = *vmt_guest_host(g, ack_gpa);
	return 0;
}

uint8_t *vmt_guest_host(const struct vmt_guest *g, uint64_t gpa)
{
	return g->host + (gpa - g->gpa);
}

uint32_t vmt_frame(const uint8_t mac[6], uint64_t seq, uint8_t *p)
{
	static const uint8_t src[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
	uint32_t len = VMT_HDR + 14 + 8 + (uint32_t)((seq * 7) % 200), i;

	memset(p, 0, VMT_HDR);
	memcpy(p + VMT_HDR, mac, 6);
	memcpy(p + VMT_HDR + 6, src, 6);
	p[VMT_HDR + 12] = 0x88; /* local experimental ethertype */
	p[VMT_HDR + 13] = 0xb5;
	memcpy(p + VMT_HDR + 14, &seq, 8);
	for (i = VMT_HDR + 22; i < len; i++)
		p[i] = (uint8_t)(seq * 31 + i * 17);
	return len;
}

/* Post an RX buffer in every free slot (each slot has a fixed buffer). */
static int rx_post(struct vmt_guest *g)
{
	struct vmt_gq *q = &g->q[VMT_RXQ];
	int n = 0;

	while (q->drv.num_free) {
		/* The buffer of a descriptor slot is found through its head. */
		uint64_t gpa = q->buf_gpa + (uint64_t)q->drv.free_head * VMT_BUF;
		struct vds_seg s;

		vds_seg_set(&s, gpa, gpa, 0, VMT_BUF, true);
		if (vds_vdrv_add(&q->drv, &s, 1) < 0)
			break;
		memset(vmt_guest_host(g, gpa), 0xee, 64);
		n++;
	}
	vds_vdrv_publish(&q->drv);
	return n;
}

int vmt_traffic(struct vmt_guest *g, const struct vmt_link *l, uint64_t first,
		uint64_t count, double *secs, char *why, size_t why_len)
{
	struct vmt_gq *tx = &g->q[VMT_TXQ], *rx = &g->q[VMT_RXQ];
	uint64_t sent = first, got = first, tx_done = 0, end = first + count;
	uint8_t want[VMT_BUF];
	double t0 = vmt_now(), last_progress = t0;

	rx_post(g);
	LTRY(l->kick(l->arg, VMT_RXQ));
	while (got < end || tx_done < count) {
		struct pollfd pf[2] = {
			{ .fd = l->call_fd[VMT_TXQ], .events = POLLIN },
			{ .fd = l->call_fd[VMT_RXQ], .events = POLLIN }
		};
		uint16_t id;
		uint32_t len;
		int r, posted = 0;

		/* TX while RX has a buffer for every frame in flight. */
		while (sent < end && sent - got < g->num - 1u &&
		       tx->drv.num_free) {
			uint64_t gpa = tx->buf_gpa +
				       (uint64_t)tx->drv.free_head * VMT_BUF;
			struct vds_seg s;

			vds_seg_set(&s, gpa, gpa, 0,
				    vmt_frame(g->mac, sent, vmt_guest_host(g, gpa)),
				    false);
			if (vds_vdrv_add(&tx->drv, &s, 1) < 0)
				break;
			sent++;
			posted++;
		}
		if (posted) {
			vds_vdrv_publish(&tx->drv);
			LTRY(l->kick(l->arg, VMT_TXQ));
		}
		r = poll(pf, 2, 200);
		if (r < 0 && errno != EINTR) {
			snprintf(why, why_len, "poll: %s", strerror(errno));
			return -1;
		}
		LTRY(l->collect(l->arg, VMT_TXQ));
		while ((r = vds_vdrv_get_used(&tx->drv, &id, &len)) > 0) {
			vds_vdrv_free(&tx->drv, id);
			tx_done++;
			last_progress = vmt_now();
		}
		LTRY(r);
		LTRY(l->collect(l->arg, VMT_RXQ));
		while ((r = vds_vdrv_get_used(&rx->drv, &id, &len)) > 0) {
			const uint8_t *p = vmt_guest_host(
				g, rx->buf_gpa + (uint64_t)id * VMT_BUF);
			uint32_t wl = vmt_frame(g->mac, got, want);

			if (len != wl || memcmp(p, want, wl)) {
				uint64_t seq = 0;

				memcpy(&seq, p + VMT_HDR + 14, 8);
				snprintf(why, why_len,
					 "frame %" PRIu64 ": came back with "
					 "length %u (sent %u), seq %" PRIu64
					 ", bytes %s",
					 got, len, wl, seq,
					 len == wl ? "differ" : "-");
				return -1;
			}
			vds_vdrv_free(&rx->drv, id);
			got++;
			last_progress = vmt_now();
		}
		LTRY(r);
		if (rx->drv.num_free) {
			rx_post(g);
			LTRY(l->kick(l->arg, VMT_RXQ));
		}
		if (vmt_now() - last_progress > 10) {
			snprintf(why, why_len,
				 "stalled: frames %" PRIu64 "..%" PRIu64
				 ": %" PRIu64 " sent, %" PRIu64 " completed by "
				 "TX, %" PRIu64 " received; nothing for 10 s",
				 first, end - 1, sent - first, tx_done,
				 got - first);
			return -1;
		}
	}
	*secs = vmt_now() - t0;
	return 0;
}

int vmt_fds_open(struct vmt_fds *f, char *why, size_t why_len)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		f->kick[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		f->call[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	}
	for (i = 0; i < 2; i++)
		if (f->kick[i] < 0 || f->call[i] < 0) {
			snprintf(why, why_len, "eventfd: %s", strerror(errno));
			vmt_fds_close(f);
			return -1;
		}
	return 0;
}

void vmt_fds_close(struct vmt_fds *f)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (f->kick[i] >= 0)
			close(f->kick[i]);
		if (f->call[i] >= 0)
			close(f->call[i]);
		f->kick[i] = f->call[i] = -1;
	}
}

static int direct_kick(void *arg, unsigned int q)
{
	const struct vmt_fds *f = arg;
	uint64_t one = 1;

	if (write(f->kick[q], &one, sizeof(one)) != sizeof(one) &&
	    errno != EAGAIN)
		return -errno;
	return 0;
}

static int direct_collect(void *arg, unsigned int q)
{
	const struct vmt_fds *f = arg;
	uint64_t v;

	if (read(f->call[q], &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

void vmt_link_direct(struct vmt_link *l, struct vmt_fds *f)
{
	l->kick = direct_kick;
	l->collect = direct_collect;
	l->arg = f;
	l->call_fd[0] = f->call[0];
	l->call_fd[1] = f->call[1];
}

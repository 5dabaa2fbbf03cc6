/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vm_transport.c - VM case 2: the vhost-vdpa transport against
 * the kernel's vdpa_sim_net.  Runs the transport conformance suite
 * (tests/transport_conformance.c) with a description of what the
 * running kernel's simulator is (6.1 or 6.12, vmt_kernel()), then checks
 * what the library relies on for migration: features, backend features
 * (the kernel's word read directly, and what the transport passes on),
 * the IOVA range, the queue count, the vring
 * groups, the CVQ's group in ASID 1, batched DMA map/unmap, and an
 * overlapping map reported as an error.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/cvq.h>
#include <libvdpastate/transport.h>
#include <libvdpastate/vring.h>

#include "transport_conformance.h"
#include "vmtest.h"

#define F(b) ((uint64_t)1 << (b))
#define BF(b) ((uint64_t)1 << (b))
#define PAGE 4096ULL

/* Known to the library: what vdpastate_transport_get_backend_features()
 * passes on of the kernel's word. */
#define LIB_BACKEND                                                       \
	(BF(VDPASTATE_BACKEND_F_IOTLB_MSG_V2) |                           \
	 BF(VDPASTATE_BACKEND_F_IOTLB_BATCH) |                            \
	 BF(VDPASTATE_BACKEND_F_IOTLB_ASID) | BF(VDPASTATE_BACKEND_F_SUSPEND) | \
	 BF(VDPASTATE_BACKEND_F_RESUME) |                                 \
	 BF(VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK) |                 \
	 BF(VDPASTATE_BACKEND_F_IOTLB_PERSIST))

/* The running kernel (vmtest.h), set by main(). */
static const struct vmt_kernel *k;

static struct vdpastate_transport *open_path(void *arg)
{
	return vdpastate_transport_open_vhost_vdpa(arg, NULL);
}

#define CHECK(name, call)                                                  \
	do {                                                               \
		int r_ = (call);                                           \
		if (r_ != 0) {                                             \
			vmt_fail(name, "%s: %d (%s)", #call, r_,           \
				 vdpastate_last_error());                  \
			goto out;                                          \
		}                                                          \
	} while (0)

static void identity(const char *path)
{
	struct vdpastate_transport *t = open_path((void *)path);
	uint64_t f = 0, b = 0, first = 1, last = 0;
	uint32_t n = 0, g0 = 9, g1 = 9, g2 = 9, ng = 0, nas = 0;
	uint16_t max = 0;
	char names[256];

	if (!t) {
		vmt_fail("open", "%s: %s", path, vdpastate_last_error());
		return;
	}
	vmt_pass("open", "%s", path);
	CHECK("features", vdpastate_transport_get_device_features(t, &f));
	if ((f & k->features) != k->features)
		vmt_fail("features", "0x%" PRIx64 " lacks 0x%" PRIx64, f,
			 k->features & ~f);
	else
		vmt_pass("features", "0x%" PRIx64 " (extra 0x%" PRIx64 ")", f,
			 f & ~k->features);

	CHECK("backend-features",
	      vdpastate_transport_get_backend_features(t, &b));
	if (b != (k->backend & LIB_BACKEND))
		vmt_fail("backend-features",
			 "the transport passes on 0x%" PRIx64 " (%s), expected "
			 "0x%" PRIx64 " of the kernel's 0x%" PRIx64, b,
			 vmt_backend_names(b, names, sizeof(names)),
			 k->backend & LIB_BACKEND, k->backend);
	else
		vmt_pass("backend-features",
			 "the transport passes on 0x%" PRIx64 " (%s)", b,
			 vmt_backend_names(b, names, sizeof(names)));

	CHECK("iova-range", vdpastate_transport_get_iova_range(t, &first, &last));
	if (first > last || last - first < (1ULL << 32))
		vmt_fail("iova-range", "[0x%" PRIx64 ", 0x%" PRIx64 "]", first,
			 last);
	else
		vmt_pass("iova-range", "[0x%" PRIx64 ", 0x%" PRIx64 "]", first,
			 last);

	CHECK("queues", vdpastate_transport_get_vq_count(t, &n));
	CHECK("queues", vdpastate_transport_get_vring_num_max(t, &max));
	if (n != 3)
		vmt_fail("queues", "%u virtqueues, expected 3 (rx, tx, cvq)", n);
	else
		vmt_pass("queues", "3 virtqueues, ring size up to %u", max);

	CHECK("groups", vdpastate_transport_get_group_num(t, &ng));
	CHECK("groups", vdpastate_transport_get_as_num(t, &nas));
	CHECK("groups", vdpastate_transport_get_vring_group(t, 0, &g0));
	CHECK("groups", vdpastate_transport_get_vring_group(t, 1, &g1));
	CHECK("groups", vdpastate_transport_get_vring_group(t, 2, &g2));
	if (ng != 2 || nas != 2 || g0 != 0 || g1 != 0 || g2 != 1)
		vmt_fail("groups",
			 "%u groups, %u address spaces; rx in %u, tx in %u, cvq "
			 "in %u (expected 2, 2; 0, 0, 1)",
			 ng, nas, g0, g1, g2);
	else
		vmt_pass("groups", "2 groups, 2 address spaces, cvq alone in "
				   "group 1");
out:
	vdpastate_transport_free(t);
}

/* The CVQ's group in ASID 1; maps in the two spaces are apart. */
static void cvq_asid(const char *path, unsigned char *buf)
{
	struct vdpastate_transport *t = open_path((void *)path);
	int r;

	if (!t) {
		vmt_fail("cvq-asid", "open: %s", vdpastate_last_error());
		return;
	}
	CHECK("cvq-asid", vdpastate_transport_reset(t));
	CHECK("cvq-asid", vdpastate_transport_set_group_asid(t, 1, 1));
	CHECK("cvq-asid", vdpastate_transport_dma_map(t, 1, 0x100000, PAGE, buf,
						       VDPASTATE_DMA_READ));
	/* The same IOVA in ASID 0 is free. */
	CHECK("cvq-asid", vdpastate_transport_dma_map(t, 0, 0x100000, PAGE,
						       buf + PAGE,
						       VDPASTATE_DMA_READ));
	r = vdpastate_transport_dma_map(t, 1, 0x100000, PAGE, buf + PAGE,
					VDPASTATE_DMA_READ);
	if (r != -EEXIST) {
		vmt_fail("cvq-asid", "a second map at the same IOVA of ASID 1: "
				     "%d, expected -EEXIST",
			 r);
		goto out;
	}
	CHECK("cvq-asid", vdpastate_transport_dma_unmap(t, 1, 0x100000, PAGE));
	CHECK("cvq-asid", vdpastate_transport_dma_unmap(t, 0, 0x100000, PAGE));
	vmt_pass("cvq-asid", "group 1 -> ASID 1; ASID 0 and 1 map apart");
out:
	vdpastate_transport_free(t);
}

/* 64 maps in one batch, 64 unmaps in another; then all of it again. */
static void dma_batch(const char *path, unsigned char *buf)
{
	struct vdpastate_transport *t = open_path((void *)path);
	int i, round;

	if (!t) {
		vmt_fail("dma-batch", "open: %s", vdpastate_last_error());
		return;
	}
	for (round = 0; round < 2; round++) {
		CHECK("dma-batch", vdpastate_transport_dma_batch_begin(t, 0));
		for (i = 0; i < 64; i++)
			CHECK("dma-batch",
			      vdpastate_transport_dma_map(
				      t, 0, 0x200000 + i * 2 * PAGE, PAGE,
				      buf + (i % 8) * PAGE,
				      i & 1 ? VDPASTATE_DMA_WRITE
					    : VDPASTATE_DMA_READ));
		CHECK("dma-batch", vdpastate_transport_dma_batch_end(t, 0));
		/* Every one of them took effect: mapping over one fails. */
		if (vdpastate_transport_dma_map(t, 0, 0x200000 + 63 * 2 * PAGE,
						PAGE, buf, VDPASTATE_DMA_READ) !=
		    -EEXIST) {
			vmt_fail("dma-batch", "round %d: the batch's last map "
					      "is not in the IOTLB",
				 round);
			goto out;
		}
		CHECK("dma-batch", vdpastate_transport_dma_batch_begin(t, 0));
		for (i = 0; i < 64; i++)
			CHECK("dma-batch",
			      vdpastate_transport_dma_unmap(
				      t, 0, 0x200000 + i * 2 * PAGE, PAGE));
		CHECK("dma-batch", vdpastate_transport_dma_batch_end(t, 0));
	}
	vmt_pass("dma-batch", "2 rounds of 64 batched maps and unmaps");
out:
	vdpastate_transport_free(t);
}

/* Overlaps, partial overlaps, and the device still works after them. */
static void dma_overlap(const char *path, unsigned char *buf)
{
	struct vdpastate_transport *t = open_path((void *)path);
	struct {
		uint64_t iova, size;
	} bad[] = {
		{ 0x300000, 4 * PAGE },        /* the same range */
		{ 0x300000 + PAGE, PAGE },     /* inside */
		{ 0x300000 - PAGE, 2 * PAGE }, /* over the start */
		{ 0x300000 + 3 * PAGE, 2 * PAGE }, /* over the end */
		{ 0x300000 - PAGE, 6 * PAGE }, /* around */
	};
	size_t i;
	int r;

	if (!t) {
		vmt_fail("dma-overlap", "open: %s", vdpastate_last_error());
		return;
	}
	CHECK("dma-overlap", vdpastate_transport_dma_map(t, 0, 0x300000,
							  4 * PAGE, buf,
							  VDPASTATE_DMA_READ));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = vdpastate_transport_dma_map(t, 0, bad[i].iova, bad[i].size,
						buf, VDPASTATE_DMA_READ);
		if (r != -EEXIST) {
			vmt_fail("dma-overlap",
				 "map [0x%" PRIx64 ", +0x%" PRIx64 "] over "
				 "[0x300000, +0x4000]: %d (%s), expected -EEXIST",
				 bad[i].iova, bad[i].size, r,
				 r ? vdpastate_last_error() : "accepted");
			goto out;
		}
	}
	if (!strstr(vdpastate_last_error(), "VHOST_IOTLB_UPDATE")) {
		vmt_fail("dma-overlap", "the message does not name the update: %s",
			 vdpastate_last_error());
		goto out;
	}
	CHECK("dma-overlap",
	      vdpastate_transport_dma_unmap(t, 0, 0x300000, 4 * PAGE));
	CHECK("dma-overlap", vdpastate_transport_dma_map(t, 0, 0x300000,
							  4 * PAGE, buf,
							  VDPASTATE_DMA_READ));
	CHECK("dma-overlap",
	      vdpastate_transport_dma_unmap(t, 0, 0x300000, 4 * PAGE));
	vmt_pass("dma-overlap", "5 overlapping maps refused with -EEXIST (%s)",
		 vdpastate_last_error());
out:
	vdpastate_transport_free(t);
}

/* The kernel's own answer, on a file descriptor of this program's. */
static void raw_backend(const char *path)
{
	uint64_t b = 0;
	char why[512], names[256];

	if (vmt_raw_backend_features(path, &b, why, sizeof(why))) {
		vmt_fail("kernel-backend-features", "%s", why);
		return;
	}
	if (b != k->backend)
		vmt_fail("kernel-backend-features",
			 "linux %s offers 0x%" PRIx64 " (%s), expected 0x%" PRIx64,
			 k->version, b, vmt_backend_names(b, names, sizeof(names)),
			 k->backend);
	else
		vmt_pass("kernel-backend-features", "linux %s offers 0x%" PRIx64
			 " (%s)", k->version, b,
			 vmt_backend_names(b, names, sizeof(names)));
}

/*
 * Private memory: a device on physical addresses (6.1) maps it; for one
 * on user virtual addresses (6.12) vhost-vdpa would skip it without an
 * error, and the transport refuses it, naming why.
 */
static void private_memory(const char *path)
{
	struct vdpastate_transport *t = open_path((void *)path);
	unsigned char *priv = aligned_alloc(PAGE, PAGE);
	int r;

	if (!t || !priv) {
		vmt_fail("private-memory", "open: %s",
			 t ? "out of memory" : vdpastate_last_error());
		goto out;
	}
	memset(priv, 0, PAGE);
	r = vdpastate_transport_dma_map(t, 0, 0x400000, PAGE, priv,
					VDPASTATE_DMA_READ);
	if (k->va && r == -EINVAL &&
	    strstr(vdpastate_last_error(), "user virtual addresses"))
		vmt_pass("private-memory", "linux %s (VA device): a map of "
			 "private memory refused: %s", k->version,
			 vdpastate_last_error());
	else if (!k->va && r == 0)
		vmt_pass("private-memory", "linux %s (PA device): a map of "
			 "private memory taken", k->version);
	else
		vmt_fail("private-memory", "linux %s: a map of private memory: "
			 "%d (%s), expected %s", k->version, r,
			 r ? vdpastate_last_error() : "taken",
			 k->va ? "-EINVAL" : "0");
	if (r == 0)
		vdpastate_transport_dma_unmap(t, 0, 0x400000, PAGE);
out:
	vdpastate_transport_free(t);
	free(priv);
}

int main(int argc, char **argv)
{
	static const uint8_t mac[6] = VMT_MAC0;
	char path[64], why[1024];
	struct vds_tc_subject s = {
		.name = "vhost-vdpa/vdpa_sim_net",
		.open = open_path,
		.arg = path,
		.desc = { .device_id = 1,
			  .vq_count = 3,
			  .features = 0, /* from the kernel below */
			  .config_len = 12, /* mac, status, max pairs, mtu */
			  .groups = 2,
			  .as_num = 2,
			  .has_suspend = true,
			  .has_resume = false, /* from the kernel below */
			  .rejects_overlap = true },
	};
	const char *dev = argc > 1 ? argv[1] : "vdpa0";
	unsigned char *buf = vmt_shared_alloc(8 * PAGE);
	size_t i;

	vmt_case("transport");
	if (!(k = vmt_kernel(why, sizeof(why)))) {
		vmt_fail("kernel", "%s", why);
		return vmt_exit();
	}
	s.desc.features = k->features;
	s.desc.has_resume = k->backend & BF(VDPASTATE_BACKEND_F_RESUME);
	if (!buf || vmt_dev_create(dev, mac, path, sizeof(path), why,
				   sizeof(why))) {
		vmt_fail("setup", "%s", buf ? why : "out of memory");
		return vmt_exit();
	}
	memset(buf, 0x5a, 8 * PAGE);
	vmt_pass("setup", "%s is %s", dev, path);
	for (i = 0; i < vds_tc_count(); i++) {
		char name[80];

		snprintf(name, sizeof(name), "conformance-%s", vds_tc_name(i));
		why[0] = '\0';
		if (vds_tc_run(&s, i, why, sizeof(why)))
			vmt_fail(name, "%s", why);
		else
			vmt_pass(name, "ok");
	}
	raw_backend(path);
	identity(path);
	cvq_asid(path, buf);
	dma_batch(path, buf);
	dma_overlap(path, buf);
	private_memory(path);
	if (vmt_dev_destroy(dev, why, sizeof(why)))
		vmt_fail("teardown", "%s", why);
	else
		vmt_pass("teardown", "%s deleted", dev);
	vmt_shared_free(buf, 8 * PAGE);
	return vmt_exit();
}

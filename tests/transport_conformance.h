/* SPDX-License-Identifier: MIT */
/*
 * tests/transport_conformance.h - behavioural checks that every transport
 * (vhost-vdpa, the simulated device, a VMM's own) must pass, run through
 * the public wrappers.  Independent of Check, so a test program on a real
 * kernel can run it too.
 *
 * To add a transport: one entry in the subjects array of
 * tests/check_transport.c, {name, open, arg, description}.
 */
#ifndef VDS_TEST_TRANSPORT_CONFORMANCE_H
#define VDS_TEST_TRANSPORT_CONFORMANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/transport.h>

/* Every backend feature bit the library names. */
#define VDS_TEST_BACKEND_ALL \
	((1ULL << VDPASTATE_BACKEND_F_IOTLB_MSG_V2) |			\
	 (1ULL << VDPASTATE_BACKEND_F_IOTLB_BATCH) |			\
	 (1ULL << VDPASTATE_BACKEND_F_IOTLB_ASID) |			\
	 (1ULL << VDPASTATE_BACKEND_F_SUSPEND) |				\
	 (1ULL << VDPASTATE_BACKEND_F_RESUME) |				\
	 (1ULL << VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK) |		\
	 (1ULL << VDPASTATE_BACKEND_F_IOTLB_PERSIST))

/* What the transport under test is expected to be. */
struct vds_tc_desc {
	uint32_t device_id;
	uint32_t vq_count;
	uint64_t features;   /* offered, and negotiated by the checks */
	uint32_t config_len; /* config bytes readable from offset 0, > 0 */
	uint32_t groups;     /* virtqueue groups, >= 1 */
	uint32_t as_num;     /* address spaces, >= 1 */
	bool has_suspend;    /* suspend works once SUSPEND is acked */
	bool has_resume;     /* resume works once RESUME is acked */
	bool rejects_overlap; /* dma_map over a mapping gives -EEXIST */
};

struct vds_tc_subject {
	const char *name;
	/* A fresh transport (each check gets its own and frees it); NULL
	 * with the library's last error set fails the check. */
	struct vdpastate_transport *(*open)(void *arg);
	void *arg;
	struct vds_tc_desc desc;
};

/* Number of checks, and the name of check i. */
size_t vds_tc_count(void);
const char *vds_tc_name(size_t i);

/*
 * Run check i against a fresh transport of s.  0 if it passes; -1 with
 * the reason in why (why_len bytes) if not.
 */
int vds_tc_run(const struct vds_tc_subject *s, size_t i, char *why,
	       size_t why_len);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/mgmt.h - vDPA device management over the kernel's "vdpa"
 * generic netlink family (the one iproute2's vdpa tool speaks): list
 * management devices, add and delete vDPA devices, read a device's
 * configuration.
 *
 * Attribute numbers are not stable across kernel versions, so what the
 * kernel answers is parsed defensively: every value read is flagged in a
 * validity mask, and what the kernel did not report (or reported in a
 * form this library cannot trust) is left unflagged, never guessed.
 * Failures carry the kernel's extended-ack message when it sent one.
 */
#ifndef LIBVDPASTATE_MGMT_H
#define LIBVDPASTATE_MGMT_H

#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vdpastate_mgmt;

struct vdpastate_mgmt_opts {
	size_t sz;
};

/*
 * Open a generic netlink socket and resolve the "vdpa" family.  NULL with
 * errno set: ENOENT when the kernel has no vdpa family (CONFIG_VDPA off,
 * or the vdpa module not loaded), or the socket's error.
 */
VDPASTATE_API struct vdpastate_mgmt *
vdpastate_mgmt_open(const struct vdpastate_mgmt_opts *opts);

/* Close the socket and free the handle; NULL is a no-op. */
VDPASTATE_API void vdpastate_mgmt_close(struct vdpastate_mgmt *m);

#define VDPASTATE_MGMT_NAME_MAX 64

/* A management device: what the kernel reported is flagged in valid. */
#define VDPASTATE_MGMTDEV_CLASSES (1u << 0)  /* supported_classes */
#define VDPASTATE_MGMTDEV_MAX_VQS (1u << 1)  /* max_vqs */
#define VDPASTATE_MGMTDEV_FEATURES (1u << 2) /* supported_features */

struct vdpastate_mgmtdev_info {
	size_t sz;
	uint32_t valid;
	uint32_t max_vqs;
	char bus_name[VDPASTATE_MGMT_NAME_MAX]; /* "" when on no bus */
	char dev_name[VDPASTATE_MGMT_NAME_MAX];
	uint64_t supported_classes;  /* bit n: virtio device id n */
	uint64_t supported_features; /* virtio feature bits */
	uint32_t unknown_attrs;      /* attributes this library skipped */
	uint32_t bad_attrs;          /* known attributes of a wrong size */
};

/* Return 0 to go on, anything else to stop the listing with that value. */
typedef int (*vdpastate_mgmtdev_fn)(const struct vdpastate_mgmtdev_info *info,
				    void *arg);

/*
 * Call fn for every management device (a dump of VDPA_CMD_MGMTDEV_GET).
 * Returns the number of devices, fn's non-zero value, or a negative errno.
 */
VDPASTATE_API int vdpastate_mgmt_mgmtdev_list(struct vdpastate_mgmt *m,
					      vdpastate_mgmtdev_fn fn,
					      void *arg);

/* Which of the optional attributes of a new device are set. */
#define VDPASTATE_MGMT_ADD_MAC (1u << 0)
#define VDPASTATE_MGMT_ADD_MTU (1u << 1)
#define VDPASTATE_MGMT_ADD_MAX_VQP (1u << 2)
#define VDPASTATE_MGMT_ADD_FEATURES (1u << 3)

struct vdpastate_mgmt_dev_add_opts {
	size_t sz;
	const char *name;    /* the new device, e.g. "vdpa0" */
	const char *mgmtdev; /* "vdpasim_net", or "bus/device" */
	uint32_t set;        /* VDPASTATE_MGMT_ADD_* */
	uint16_t mtu;
	uint16_t max_vq_pairs;
	uint8_t mac[6];
	uint8_t pad[2];
	uint64_t device_features; /* virtio features to provision */
};

/*
 * Add a vDPA device (VDPA_CMD_DEV_NEW).  0, or -EINVAL (bad options) or
 * the kernel's error (-EEXIST a device of that name exists, -ENODEV no
 * such management device, -EOPNOTSUPP an attribute the management
 * device does not take, ...); the message carries the kernel's text.
 */
VDPASTATE_API int
vdpastate_mgmt_dev_add(struct vdpastate_mgmt *m,
		       const struct vdpastate_mgmt_dev_add_opts *opts);

/* Delete a vDPA device (VDPA_CMD_DEV_DEL).  0 or a negative errno. */
VDPASTATE_API int vdpastate_mgmt_dev_del(struct vdpastate_mgmt *m,
					 const char *name);

/* What the kernel reported of a device's configuration. */
#define VDPASTATE_MGMT_CFG_DEVICE_ID (1u << 0)
#define VDPASTATE_MGMT_CFG_MAC (1u << 1)
#define VDPASTATE_MGMT_CFG_STATUS (1u << 2)
#define VDPASTATE_MGMT_CFG_MTU (1u << 3)
#define VDPASTATE_MGMT_CFG_MAX_VQP (1u << 4)
#define VDPASTATE_MGMT_CFG_NEGOTIATED (1u << 5)
#define VDPASTATE_MGMT_CFG_DEVICE_FEATURES (1u << 6)

struct vdpastate_mgmt_dev_config {
	size_t sz;
	uint32_t valid;     /* VDPASTATE_MGMT_CFG_* */
	uint32_t device_id; /* virtio device id (1: net) */
	uint8_t mac[6];
	uint16_t status;    /* virtio-net status: 1 = link up */
	uint16_t mtu;
	uint16_t max_vq_pairs;
	uint32_t unknown_attrs; /* attributes this library skipped */
	uint64_t negotiated_features; /* once the driver set FEATURES_OK */
	uint64_t device_features;     /* offered by the device */
	uint64_t bad_attrs; /* bit n: attribute n present with a wrong size */
	char name[VDPASTATE_MGMT_NAME_MAX];
};

/*
 * Read a device's configuration (VDPA_CMD_DEV_CONFIG_GET) into *out
 * (out->sz set by the caller).  0 or a negative errno (-ENODEV: no such
 * device).  Fields whose bit is not in out->valid were not reported by
 * this kernel and are zero.
 */
VDPASTATE_API int vdpastate_mgmt_dev_config(struct vdpastate_mgmt *m,
					    const char *name,
					    struct vdpastate_mgmt_dev_config *out);

/*
 * Threading: a handle is used by one thread at a time; distinct handles
 * are independent.
 */

#ifdef __cplusplus
}
#endif

#endif /* LIBVDPASTATE_MGMT_H */

/* SPDX-License-Identifier: MIT */
/*
 * lib/mgmt_int.h - the pieces of lib/mgmt.c that tests reach without a
 * kernel: request building, reply parsing, netlink error decoding.
 */
#ifndef VDS_MGMT_INT_H
#define VDS_MGMT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include <libvdpastate/mgmt.h>

/*
 * VDPA_ATTR_VDPA_DEV_SUPPORTED_FEATURES of the 6.1 uapi.  Later kernels
 * report the device's features in VDPA_ATTR_DEV_FEATURES (20) and give
 * 21 to a virtio-blk attribute, so 21 is read as features only from a
 * family with the 6.1 layout: its highest attribute (the family's
 * maxattr, which the kernel sets to VDPA_ATTR_MAX, one past the last
 * attribute) is 22, as Debian's 6.1.192 reports.
 */
#define VDS_VDPA_ATTR_61_DEV_SUPPORTED_FEATURES 21
#define VDS_VDPA_61_MAXATTR 22

/*
 * Start a generic netlink request of family (a vdpa command) in buf,
 * zeroing its len bytes first: libmnl leaves attribute padding as it
 * finds it, and the kernel would be sent those bytes.
 */
struct nlmsghdr *vds_mgmt_req(void *buf, size_t len, uint16_t family,
			      uint8_t cmd,
			      uint8_t version, uint16_t flags, uint32_t seq);

/* Add the attributes of VDPA_CMD_DEV_NEW; 0, -EINVAL or -EMSGSIZE. */
int vds_mgmt_put_dev_add(struct nlmsghdr *nlh, size_t buflen,
			 const struct vdpastate_mgmt_dev_add_opts *o);

/* CTRL_CMD_GETFAMILY reply -> family id and highest attribute. */
int vds_mgmt_parse_family(const struct nlmsghdr *nlh, uint16_t *id,
			  uint32_t *maxattr);

/*
 * Replies of VDPA_CMD_MGMTDEV_GET and VDPA_CMD_DEV_CONFIG_GET.  0, or
 * -EBADMSG (too short, or an attribute runs past the message) with a
 * message.  maxattr is the family's highest attribute (see above).
 */
int vds_mgmt_parse_mgmtdev(const struct nlmsghdr *nlh,
			   struct vdpastate_mgmtdev_info *out);
int vds_mgmt_parse_config(const struct nlmsghdr *nlh, uint32_t maxattr,
			  struct vdpastate_mgmt_dev_config *out);

/*
 * An NLMSG_ERROR (or NLMSG_DONE) message: returns its error (0 for an
 * ack) and copies the extended-ack text, if any, into text ("" if none).
 */
int vds_mgmt_nlerr(const struct nlmsghdr *nlh, char *text, size_t len);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vm_mgmt.c - VM case 1: vDPA management through the library's
 * netlink code against the test kernel: the management device list shows
 * vdpasim_net; vdpa0 and vdpa1 are added with their MACs and read back;
 * bad requests come back with the kernel's error and its text; delete
 * removes them.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <libvdpastate/mgmt.h>

#include "vmtest.h"

#define VIRTIO_ID_NET 1

/* The management device's features: every new device offers them. */
static uint64_t mgmtdev_features;

struct seen {
	int found;
	struct vdpastate_mgmtdev_info info;
	char all[512];
};

static int on_mgmtdev(const struct vdpastate_mgmtdev_info *i, void *arg)
{
	struct seen *s = arg;
	size_t n = strlen(s->all);

	snprintf(s->all + n, sizeof(s->all) - n, "%s%s%s%s", n ? " " : "",
		 i->bus_name, *i->bus_name ? "/" : "", i->dev_name);
	if (!*i->bus_name && !strcmp(i->dev_name, VMT_MGMTDEV)) {
		s->found = 1;
		s->info = *i;
	}
	return 0;
}

static void list(struct vdpastate_mgmt *m)
{
	struct seen s = { 0 };
	int n = vdpastate_mgmt_mgmtdev_list(m, on_mgmtdev, &s);

	if (n < 0) {
		vmt_fail("list", "%d (%s)", n, vdpastate_last_error());
		return;
	}
	if (!s.found) {
		vmt_fail("list", "%d management devices (%s), no %s", n, s.all,
			 VMT_MGMTDEV);
		return;
	}
	if (!(s.info.valid & VDPASTATE_MGMTDEV_CLASSES) ||
	    !(s.info.supported_classes & (1ULL << VIRTIO_ID_NET))) {
		vmt_fail("list", "%s: classes %s0x%" PRIx64 " lack net",
			 VMT_MGMTDEV,
			 s.info.valid & VDPASTATE_MGMTDEV_CLASSES ? "" : "(not reported) ",
			 s.info.supported_classes);
		return;
	}
	mgmtdev_features = s.info.supported_features;
	vmt_pass("list",
		 "%d: %s; %s classes 0x%" PRIx64 ", features %s0x%" PRIx64
		 ", max vqs %s%u, unknown attributes %u",
		 n, s.all, VMT_MGMTDEV, s.info.supported_classes,
		 s.info.valid & VDPASTATE_MGMTDEV_FEATURES ? "" : "(not reported) ",
		 s.info.supported_features,
		 s.info.valid & VDPASTATE_MGMTDEV_MAX_VQS ? "" : "(not reported) ",
		 s.info.max_vqs, s.info.unknown_attrs);
}

static int add(struct vdpastate_mgmt *m, const char *check, const char *name,
	       const uint8_t mac[6], uint16_t mtu)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_add_opts, o, .name = name,
		       .mgmtdev = VMT_MGMTDEV,
		       .set = VDPASTATE_MGMT_ADD_MAC | VDPASTATE_MGMT_ADD_MTU,
		       .mtu = mtu);
	int r;

	memcpy(o.mac, mac, 6);
	r = vdpastate_mgmt_dev_add(m, &o);
	if (r)
		return vmt_fail(check, "add %s: %d (%s)", name, r,
				vdpastate_last_error());
	return vmt_pass(check, "%s added, MAC %02x:%02x:%02x:%02x:%02x:%02x "
			       "MTU %u",
			name, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
			mtu);
}

static void config(struct vdpastate_mgmt *m, const char *check,
		   const char *name, const uint8_t mac[6], uint16_t mtu)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_config, c);
	int r = vdpastate_mgmt_dev_config(m, name, &c);
	const uint32_t need = VDPASTATE_MGMT_CFG_DEVICE_ID |
			      VDPASTATE_MGMT_CFG_MAC | VDPASTATE_MGMT_CFG_MTU |
			      VDPASTATE_MGMT_CFG_STATUS |
			      VDPASTATE_MGMT_CFG_DEVICE_FEATURES;

	if (r) {
		vmt_fail(check, "config %s: %d (%s)", name, r,
			 vdpastate_last_error());
		return;
	}
	if ((c.valid & need) != need) {
		vmt_fail(check, "%s: the kernel did not report 0x%x (valid 0x%x)",
			 name, need & ~c.valid, c.valid);
		return;
	}
	if (c.device_id != VIRTIO_ID_NET || memcmp(c.mac, mac, 6) ||
	    c.mtu != mtu || !(c.status & 1) || strcmp(c.name, name) ||
	    c.device_features != mgmtdev_features) {
		vmt_fail(check,
			 "%s: read back name %s id %u MAC "
			 "%02x:%02x:%02x:%02x:%02x:%02x MTU %u status 0x%x "
			 "features 0x%" PRIx64 " (management device: 0x%" PRIx64
			 ")",
			 name, c.name, c.device_id, c.mac[0], c.mac[1], c.mac[2],
			 c.mac[3], c.mac[4], c.mac[5], c.mtu, c.status,
			 c.device_features, mgmtdev_features);
		return;
	}
	vmt_pass(check,
		 "%s: MAC, MTU %u, link up; device features %s0x%" PRIx64
		 "; negotiated %s; max VQ pairs %s; valid 0x%x, unknown "
		 "attributes %u, wrong-sized 0x%" PRIx64,
		 name, c.mtu,
		 c.valid & VDPASTATE_MGMT_CFG_DEVICE_FEATURES ? "" : "(not reported) ",
		 c.device_features,
		 c.valid & VDPASTATE_MGMT_CFG_NEGOTIATED ? "reported"
							 : "not reported (no FEATURES_OK yet)",
		 c.valid & VDPASTATE_MGMT_CFG_MAX_VQP ? "reported"
						      : "not reported (no MQ)",
		 c.valid, c.unknown_attrs, c.bad_attrs);
}

/* r must be the errno want, with the kernel's text when text is set. */
static void expect_err(const char *check, int r, int want, int text,
		       const char *what)
{
	const char *msg = vdpastate_last_error();

	if (r != want)
		vmt_fail(check, "%s: %d (%s), expected %d", what, r,
			 r ? msg : "accepted", want);
	else if (text && !strstr(msg, "(kernel: "))
		vmt_fail(check, "%s: %s: no extended-ack text", what, msg);
	else
		vmt_pass(check, "%s: %s", what, msg);
}

int main(void)
{
	static const uint8_t mac0[6] = VMT_MAC0, mac1[6] = VMT_MAC1;
	VDPASTATE_OPTS(vdpastate_mgmt_dev_config, c);
	struct vdpastate_mgmt *m;
	int r;

	vmt_case("mgmt");
	m = vdpastate_mgmt_open(NULL);
	if (!m) {
		vmt_fail("open", "%s", vdpastate_last_error());
		return vmt_exit();
	}
	vmt_pass("open", "vdpa generic netlink family resolved");
	list(m);
	if (add(m, "add-vdpa0", "vdpa0", mac0, 1500) == 0)
		config(m, "config-vdpa0", "vdpa0", mac0, 1500);
	if (add(m, "add-vdpa1", "vdpa1", mac1, 9000) == 0)
		config(m, "config-vdpa1", "vdpa1", mac1, 9000);

	{
		VDPASTATE_OPTS(vdpastate_mgmt_dev_add_opts, o, .name = "vdpa9",
			       .mgmtdev = "no_such_mgmtdev");
		expect_err("bad-mgmtdev", vdpastate_mgmt_dev_add(m, &o), -ENODEV,
			   1, "add on an unknown management device");
	}
	{
		VDPASTATE_OPTS(vdpastate_mgmt_dev_add_opts, o, .name = "vdpa0",
			       .mgmtdev = VMT_MGMTDEV);
		expect_err("duplicate", vdpastate_mgmt_dev_add(m, &o), -EEXIST,
			   0, "add of an existing name");
	}
	{
		/* vdpasim_net takes MAC, MTU and features, not queue pairs. */
		VDPASTATE_OPTS(vdpastate_mgmt_dev_add_opts, o, .name = "vdpa9",
			       .mgmtdev = VMT_MGMTDEV,
			       .set = VDPASTATE_MGMT_ADD_MAX_VQP,
			       .max_vq_pairs = 4);
		expect_err("unsupported-attr", vdpastate_mgmt_dev_add(m, &o),
			   -EOPNOTSUPP, 1, "add with max_vq_pairs");
	}
	expect_err("del-unknown", vdpastate_mgmt_dev_del(m, "vdpa9"), -ENODEV,
		   0, "delete of an unknown device");
	expect_err("config-unknown", vdpastate_mgmt_dev_config(m, "vdpa9", &c),
		   -ENODEV, 0, "config of an unknown device");

	r = vdpastate_mgmt_dev_del(m, "vdpa0");
	if (!r)
		r = vdpastate_mgmt_dev_del(m, "vdpa1");
	if (r)
		vmt_fail("delete", "%d (%s)", r, vdpastate_last_error());
	else if ((r = vdpastate_mgmt_dev_config(m, "vdpa0", &c)) != -ENODEV)
		vmt_fail("delete", "vdpa0 still answers: %d", r);
	else
		vmt_pass("delete", "vdpa0 and vdpa1 deleted; vdpa0 is gone (%s)",
			 vdpastate_last_error());
	vdpastate_mgmt_close(m);
	return vmt_exit();
}

/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vm_guest_cvq.c - VM case 4: the guest's control queue through
 * the handle's shadow control queue, against the kernel's vdpa_sim_net.
 * A guest control ring in a vdpastate_mem table (this program's memory)
 * posts MAC_ADDR_SET; vdpastate_dev_handle_guest_cvq() forwards it, the
 * guest's answer must be OK and netlink must report the new MAC.  Then
 * commands the device does not accept, which must leave the tracked
 * state as it was:
 *
 * - With the features the simulator offers, every command but
 *   MAC_ADDR_SET needs one it does not offer, so the library's validation
 *   refuses RX_PROMISC before the device: the guest gets VIRTIO_NET_ERR,
 *   nothing is posted, vdpastate_dev_send() fails naming the command.
 * - For the device's own VIRTIO_NET_ERR, a second handle goes through a
 *   transport that forwards every call to vhost-vdpa but claims CTRL_RX:
 *   it adds the bit to the offered features and takes it out of the
 *   driver features before they reach the kernel (whose vhost-vdpa
 *   transport refuses bits not offered).  The handle then believes
 *   CTRL_RX negotiated and forwards RX_PROMISC, and the simulator, which
 *   knows only the MAC class, answers VIRTIO_NET_ERR: the guest gets it,
 *   dev_send() returns -EIO naming RX_PROMISC.
 *
 * Usage: vm_guest_cvq [DEVICE_NAME]   (vdpa0)
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "vmtest.h"

#define PAGE 4096ull
#define GPA 0x100000ull
#define MEM_SIZE VMT_GUEST_SIZE(64u)
#define NET_OK 0
#define NET_ERR 1
#define F(b) ((uint64_t)1 << (b))
#define CTRL_RX F(VDPASTATE_NET_F_CTRL_RX)

static char why[1024];

/* ------------------------------------------------------------ a transport
 * that forwards to another (ctx) and claims CTRL_RX on top of its
 * features: a device that has the feature bit and not the command. */

static int with_ctrl_rx(void *c, uint64_t *features)
{
	int r = vdpastate_transport_get_device_features(c, features);

	*features |= CTRL_RX;
	return r;
}

static int without_ctrl_rx(void *c, uint64_t features)
{
	return vdpastate_transport_set_driver_features(c, features & ~CTRL_RX);
}

/* Over t, which stays the caller's (free the wrapper first). */
static struct vdpastate_transport *offer_ctrl_rx(struct vdpastate_transport *t)
{
	struct vdpastate_transport_ops ops;

	vmt_forward_ops(&ops);
	ops.get_device_features = with_ctrl_rx;
	ops.set_driver_features = without_ctrl_rx;
	return vdpastate_transport_new(&ops, sizeof(ops), t);
}

/* ------------------------------------------------------------ the case */

struct run {
	const char *dev_name;
	struct vmt_guest g;
	struct vdpastate_dev_guest_cvq gc;
	struct vdpastate_dev *dev;
};

/* Commands posted on the handle's control ring so far. */
static uint64_t posted(const struct vdpastate_dev *dev)
{
	VDPASTATE_OPTS(vdpastate_dev_stats, st);

	vdpastate_dev_get_stats(dev, &st);
	return st.cvq_commands;
}

/* The guest sets mac: OK, netlink and the tracked state show it. */
static void guest_mac(struct run *x, const char *check, const uint8_t mac[6])
{
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_mac_addr_set(mac);
	const struct vdpastate_netstate *ns;
	uint8_t ack = 0xff, nl[6] = { 0 }, tracked[6] = { 0 };
	uint16_t la = 0, ui = 0;
	char a[18], b[18], m[18];

	if (!c || vmt_guest_cvq_send(&x->g, x->dev, c, &ack, why, sizeof(why))) {
		vmt_fail(check, "%s", c ? why : "out of memory");
		goto out;
	}
	if (ack != NET_OK) {
		vmt_fail(check, "MAC_ADDR_SET %s: the guest got 0x%02x, expected "
				"VIRTIO_NET_OK",
			 vmt_mac_str(mac, m), ack);
		goto out;
	}
	if (vmt_dev_mac(x->dev_name, nl, why, sizeof(why))) {
		vmt_fail(check, "%s", why);
		goto out;
	}
	ns = vdpastate_dev_netstate(x->dev);
	if (!ns || vdpastate_netstate_mac(ns, tracked) || memcmp(nl, mac, 6) ||
	    memcmp(tracked, mac, 6)) {
		vmt_fail(check, "after the guest's MAC_ADDR_SET %s: netlink "
				"reports %s, the handle tracks %s",
			 vmt_mac_str(mac, m), vmt_mac_str(nl, a),
			 vmt_mac_str(tracked, b));
		goto out;
	}
	vdpastate_dev_guest_cvq_state(x->dev, &la, &ui);
	vmt_pass(check, "the guest's MAC_ADDR_SET %s answered OK; netlink and "
			"the tracked state show it; guest ring at avail %u, used "
			"%u",
		 vmt_mac_str(mac, m), la, ui);
out:
	vdpastate_cvq_cmd_free(c);
}

/*
 * RX_PROMISC on from the guest and through vdpastate_dev_send(): both
 * refused (the guest gets VIRTIO_NET_ERR, dev_send returns want naming
 * the command, plus what if set), the tracked state as it was; to_device:
 * whether each should have reached the device.
 */
static void refused(struct run *x, const char *check, bool to_device, int want,
		    const char *what)
{
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_rx_promisc(true);
	struct vdpastate_netstate *before =
		vdpastate_netstate_copy(vdpastate_dev_netstate(x->dev));
	uint64_t p0 = posted(x->dev), p1, p2;
	uint8_t ack = 0xff;
	char msg[512];
	int r;

	if (!c || !before) {
		vmt_fail(check, "out of memory");
		goto out;
	}
	if (vmt_guest_cvq_send(&x->g, x->dev, c, &ack, why, sizeof(why))) {
		vmt_fail(check, "%s", why);
		goto out;
	}
	p1 = posted(x->dev);
	r = vdpastate_dev_send(x->dev, c);
	snprintf(msg, sizeof(msg), "%s", vdpastate_last_error());
	p2 = posted(x->dev);
	if (ack != NET_ERR)
		vmt_fail(check, "guest RX_PROMISC: the guest got 0x%02x, expected "
				"VIRTIO_NET_ERR",
			 ack);
	else if (r != want || !strstr(msg, "RX_PROMISC") ||
		 (what && !strstr(msg, what)))
		vmt_fail(check, "dev_send RX_PROMISC: %d (%s), expected %d naming "
				"RX_PROMISC%s%s",
			 r, msg, want, what ? " and " : "", what ? what : "");
	else if (p1 - p0 != (to_device ? 1u : 0u) ||
		 p2 - p1 != (to_device ? 1u : 0u))
		vmt_fail(check, "commands posted to the device: %" PRIu64 " for "
				"the guest's, %" PRIu64 " for dev_send; expected %u "
				"each",
			 p1 - p0, p2 - p1, to_device ? 1u : 0u);
	else if (!vdpastate_netstate_equal(before, vdpastate_dev_netstate(x->dev)))
		vmt_fail(check, "the tracked state changed (RX modes 0x%x, were "
				"0x%x)",
			 vdpastate_netstate_rx_mode(vdpastate_dev_netstate(x->dev)),
			 vdpastate_netstate_rx_mode(before));
	else
		vmt_pass(check, "RX_PROMISC %s: the guest got VIRTIO_NET_ERR, "
				"dev_send returned %d (%s); the tracked state is "
				"unchanged",
			 to_device ? "reached the device" : "never reached the "
							    "device",
			 r, msg);
out:
	vdpastate_netstate_free(before);
	vdpastate_cvq_cmd_free(c);
}

/* A handle on t started with features and the guest's control queue. */
static int handle(struct run *x, struct vdpastate_transport *t,
		  uint64_t features, const char *check)
{
	uint16_t la = 0, ui = 0;
	int r;

	vdpastate_dev_free(x->dev);
	x->dev = t ? vdpastate_dev_open(t, NULL) : NULL;
	if (!x->dev)
		return vmt_fail(check, "%s", vdpastate_last_error());
	if ((r = vdpastate_dev_start(x->dev, features)))
		return vmt_fail(check, "start with features 0x%" PRIx64 ": %d (%s)",
				features, r, vdpastate_last_error());
	/* The guest's ring goes on where the last handle left it. */
	if (x->g.cvq_live) {
		x->gc.last_avail_idx = x->g.cvq.avail_idx;
		x->gc.used_idx = x->g.cvq.last_used;
	}
	if ((r = vdpastate_dev_set_guest_cvq(x->dev, &x->gc)) ||
	    (r = vdpastate_dev_guest_cvq_state(x->dev, &la, &ui)))
		return vmt_fail(check, "set_guest_cvq: %d (%s)", r,
				vdpastate_last_error());
	return vmt_pass(check, "transport %s, features 0x%" PRIx64 "; guest "
			       "control ring of %u at GPA 0x%llx, from avail "
			       "%u used %u",
			vdpastate_transport_name(t), features, VMT_CVQ_NUM,
			GPA + 0x4000, la, ui);
}

int main(int argc, char **argv)
{
	static const uint8_t mac0[6] = VMT_MAC0;
	static const uint8_t newmac[6] = { 0x52, 0x54, 0x00, 0x0c, 0x71, 0x01 };
	struct run x = { .dev_name = argc > 1 ? argv[1] : "vdpa0" };
	struct vdpastate_transport *t = NULL, *lying = NULL;
	struct vdpastate_mem *mem = vdpastate_mem_new();
	uint8_t *block = aligned_alloc(PAGE, MEM_SIZE);
	char path[64], w[512];
	int r;

	vmt_case("guest_cvq");
	x.g.cvq_kick = x.g.cvq_call = -1;
	if (!mem || !block) {
		vmt_fail("setup", "out of memory");
		goto out;
	}
	if (vmt_dev_create(x.dev_name, mac0, path, sizeof(path), why,
			   sizeof(why)) ||
	    vmt_guest_init(&x.g, block, GPA, 64, F(VDPASTATE_F_VERSION_1), why,
			   sizeof(why))) {
		vmt_fail("setup", "%s", why);
		goto out;
	}
	r = vdpastate_mem_add(mem, GPA, MEM_SIZE, block, 0);
	if (r || vmt_guest_cvq_init(&x.g, mem, &x.gc, why, sizeof(why))) {
		vmt_fail("setup", "%s", r ? vdpastate_last_error() : why);
		goto out;
	}
	t = vdpastate_transport_open_vhost_vdpa(path, NULL);

	/* The features the simulator offers. */
	if (handle(&x, t, VMT_SIM_F, "start"))
		goto out;
	guest_mac(&x, "mac", newmac);
	refused(&x, "refused", false, -VDPASTATE_EFEATURE, "CTRL_RX");

	/* Through a transport that also offers CTRL_RX. */
	lying = offer_ctrl_rx(t);
	if (handle(&x, lying, VMT_SIM_F | CTRL_RX, "start-ctrl-rx"))
		goto out;
	refused(&x, "device-err", true, -EIO, "VIRTIO_NET_ERR");
	guest_mac(&x, "mac-after-err", mac0);
out:
	vdpastate_dev_free(x.dev);
	vdpastate_transport_free(lying);
	vdpastate_transport_free(t);
	vmt_guest_fini(&x.g);
	vdpastate_mem_free(mem);
	free(block);
	if (vmt_dev_destroy(x.dev_name, w, sizeof(w)))
		vmt_fail("teardown", "%s", w);
	return vmt_exit();
}

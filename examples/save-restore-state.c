/* SPDX-License-Identifier: MIT */
/*
 * examples/save-restore-state.c - the state half of a migration, using
 * only the public API of the installed library:
 *
 *   source:       commands the guest's driver sent (and the device
 *                 acknowledged) are applied to a virtio-net state model,
 *                 which is saved into a blob;
 *   destination:  the blob is loaded and turned into the minimal list of
 *                 control-virtqueue commands that brings a freshly reset
 *                 device to the same state; each is encoded to its wire
 *                 bytes, ready to be posted on the device's control queue.
 *
 * Exits 0 when the loaded state equals the saved one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <libvdpastate/libvdpastate.h>

#define F(bit) (1ULL << (bit))

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s (%s)\n", what, vdpastate_strerror(err),
		vdpastate_last_error());
	return EXIT_FAILURE;
}

int main(void)
{
	const uint64_t features = F(VDPASTATE_NET_F_MAC) |
				  F(VDPASTATE_NET_F_CTRL_VQ) |
				  F(VDPASTATE_NET_F_CTRL_RX) |
				  F(VDPASTATE_NET_F_CTRL_VLAN) |
				  F(VDPASTATE_NET_F_CTRL_MAC_ADDR) |
				  F(VDPASTATE_F_VERSION_1);
	VDPASTATE_OPTS(vdpastate_netstate_config, cfg, .features = features,
		       .mac = { 0x52, 0x54, 0x00, 0x00, 0x00, 0x01 });
	const uint8_t new_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	struct vdpastate_cvq_cmd *guest_cmds[4];
	struct vdpastate_netstate *src;
	struct vdpastate_cvq_cmdlist *list;
	struct vdpastate_blob *blob, *loaded;
	unsigned char buf[4096];
	long size;
	size_t i;
	int err;

	/* Source: what the guest configured through its control queue. */
	src = vdpastate_netstate_new(&cfg);
	if (!src)
		return fail("netstate_new", -errno);
	guest_cmds[0] = vdpastate_cvq_cmd_mac_addr_set(new_mac);
	guest_cmds[1] = vdpastate_cvq_cmd_rx_promisc(false);
	guest_cmds[2] = vdpastate_cvq_cmd_vlan_add(100);
	guest_cmds[3] = vdpastate_cvq_cmd_vlan_add(4094);
	for (i = 0; i < 4; i++) {
		if (!guest_cmds[i])
			return fail("building a command", -errno);
		if ((err = vdpastate_netstate_apply(src, guest_cmds[i])) < 0)
			return fail("netstate_apply", err);
		vdpastate_cvq_cmd_free(guest_cmds[i]);
	}

	blob = vdpastate_blob_new();
	if (!blob || (err = vdpastate_blob_set_netstate(blob, src)) < 0)
		return fail("blob", blob ? err : -errno);
	size = vdpastate_blob_save(blob, buf, sizeof(buf));
	if (size < 0)
		return fail("blob_save", (int)size);
	printf("source: saved the device state in %ld bytes\n", size);

	/* Destination: load, then the commands that restore it. */
	loaded = vdpastate_blob_new();
	if (!loaded || (err = vdpastate_blob_load(loaded, buf, (size_t)size)) < 0)
		return fail("blob_load", loaded ? err : -errno);
	err = vdpastate_netstate_to_cmds(vdpastate_blob_netstate(loaded),
					 features, &list);
	if (err < 0)
		return fail("netstate_to_cmds", err);
	printf("destination: %zu commands restore it:\n",
	       vdpastate_cvq_cmdlist_count(list));
	for (i = 0; i < vdpastate_cvq_cmdlist_count(list); i++) {
		const struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmdlist_get(list, i);
		unsigned char wire[512];
		int n = vdpastate_cvq_cmd_encode(c, wire, sizeof(wire)), j;

		if (n < 0)
			return fail("cvq_cmd_encode", n);
		printf("  %-22s", vdpastate_cvq_cmd_name(c));
		for (j = 0; j < n && j < 12; j++)
			printf(" %02x", wire[j]);
		printf("%s\n", n > 12 ? " ..." : "");
	}
	vdpastate_cvq_cmdlist_free(list);

	if (!vdpastate_netstate_equal(src, vdpastate_blob_netstate(loaded))) {
		fprintf(stderr, "the loaded state differs from the saved one\n");
		return EXIT_FAILURE;
	}
	printf("destination state equals the source state\n");
	vdpastate_blob_free(loaded);
	vdpastate_blob_free(blob);
	vdpastate_netstate_free(src);
	return EXIT_SUCCESS;
}

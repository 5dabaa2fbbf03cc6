/* SPDX-License-Identifier: MIT */
/*
 * tests/check_mgmt.c - vdpa netlink management without a kernel: the
 * DEV_NEW request read back attribute by attribute, the reply parsers on
 * crafted messages (6.1 and later attribute layouts, unknown, wrong-sized
 * and truncated attributes), netlink errors with and without extended
 * ack, and what opening does on this machine's kernel.
 */
#include "config.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/vdpa.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/mgmt.h>

#include "internal.h"
#include "mgmt_int.h"
#include "suites.h"

#define ERRMSG_HAS(s)                                                        \
	ck_assert_msg(strstr(vdpastate_last_error(), (s)) != NULL,           \
		      "last error \"%s\" lacks \"%s\"", vdpastate_last_error(), \
		      (s))

#define FAMILY 0x1d

static char buf[8192] __attribute__((aligned(8)));

/* Every attribute of a message, by type (the last one wins). */
struct attrs {
	const struct nlattr *tb[256];
	int count;
};

static int collect(const struct nlattr *a, void *data)
{
	struct attrs *t = data;

	t->tb[mnl_attr_get_type(a) & 255] = a;
	t->count++;
	return MNL_CB_OK;
}

static void read_back(const struct nlmsghdr *nlh, struct attrs *t)
{
	memset(t, 0, sizeof(*t));
	ck_assert_int_eq(mnl_attr_parse(nlh, sizeof(struct genlmsghdr), collect,
					t),
			 MNL_CB_OK);
}

START_TEST(dev_add_request)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_add_opts, o, .name = "vdpa0",
		       .mgmtdev = "vdpasim_net",
		       .set = VDPASTATE_MGMT_ADD_MAC | VDPASTATE_MGMT_ADD_MTU |
			      VDPASTATE_MGMT_ADD_MAX_VQP |
			      VDPASTATE_MGMT_ADD_FEATURES,
		       .mtu = 9000, .max_vq_pairs = 4,
		       .mac = { 0x52, 0x54, 0, 1, 2, 3 },
		       .device_features = 0x1234567890ULL);
	struct nlmsghdr *nlh;
	const struct genlmsghdr *g;
	const uint8_t *pad;
	struct attrs t;

	/* Whatever the buffer held, padding goes out as zeroes. */
	memset(buf, 0xff, sizeof(buf));
	nlh = vds_mgmt_req(buf, sizeof(buf), FAMILY, VDPA_CMD_DEV_NEW, 1,
			   NLM_F_ACK, 77);

	ck_assert_int_eq(vds_mgmt_put_dev_add(nlh, sizeof(buf), &o), 0);
	ck_assert_uint_eq(nlh->nlmsg_type, FAMILY);
	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	ck_assert_uint_eq(nlh->nlmsg_seq, 77);
	g = mnl_nlmsg_get_payload(nlh);
	ck_assert_uint_eq(g->cmd, VDPA_CMD_DEV_NEW);
	ck_assert_uint_eq(g->version, 1);
	read_back(nlh, &t);
	ck_assert_int_eq(t.count, 6);
	ck_assert_ptr_null(t.tb[VDPA_ATTR_MGMTDEV_BUS_NAME]);
	ck_assert_str_eq(mnl_attr_get_str(t.tb[VDPA_ATTR_MGMTDEV_DEV_NAME]),
			 "vdpasim_net");
	ck_assert_str_eq(mnl_attr_get_str(t.tb[VDPA_ATTR_DEV_NAME]), "vdpa0");
	pad = (const uint8_t *)mnl_attr_get_payload(t.tb[VDPA_ATTR_DEV_NAME]) + 6;
	ck_assert(pad[0] == 0 && pad[1] == 0);
	ck_assert_uint_eq(mnl_attr_get_payload_len(
				  t.tb[VDPA_ATTR_DEV_NET_CFG_MACADDR]),
			  6);
	ck_assert_mem_eq(mnl_attr_get_payload(t.tb[VDPA_ATTR_DEV_NET_CFG_MACADDR]),
			 o.mac, 6);
	ck_assert_uint_eq(mnl_attr_get_u16(t.tb[VDPA_ATTR_DEV_NET_CFG_MTU]), 9000);
	ck_assert_uint_eq(mnl_attr_get_u16(t.tb[VDPA_ATTR_DEV_NET_CFG_MAX_VQP]),
			  4);
	ck_assert_uint_eq(mnl_attr_get_u64(t.tb[VDPA_ATTR_DEV_FEATURES]),
			  0x1234567890ULL);
}
END_TEST

START_TEST(dev_add_request_minimal_and_bus)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_add_opts, o, .name = "vf0",
		       .mgmtdev = "pci/0000:01:00.2");
	struct nlmsghdr *nlh = vds_mgmt_req(buf, sizeof(buf), FAMILY,
					    VDPA_CMD_DEV_NEW, 1, NLM_F_ACK, 1);
	struct attrs t;

	ck_assert_int_eq(vds_mgmt_put_dev_add(nlh, sizeof(buf), &o), 0);
	read_back(nlh, &t);
	/* Nothing optional is sent unless set says so. */
	ck_assert_int_eq(t.count, 3);
	ck_assert_str_eq(mnl_attr_get_str(t.tb[VDPA_ATTR_MGMTDEV_BUS_NAME]),
			 "pci");
	ck_assert_str_eq(mnl_attr_get_str(t.tb[VDPA_ATTR_MGMTDEV_DEV_NAME]),
			 "0000:01:00.2");
	ck_assert_str_eq(mnl_attr_get_str(t.tb[VDPA_ATTR_DEV_NAME]), "vf0");
}
END_TEST

START_TEST(dev_add_request_refused)
{
	char longname[100];
	struct nlmsghdr *nlh;
	struct {
		struct vdpastate_mgmt_dev_add_opts o;
		uint64_t tail;
	} big;

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
#define REFUSE(err, msg, ...)                                               \
	do {                                                                \
		VDPASTATE_OPTS(vdpastate_mgmt_dev_add_opts, o_, __VA_ARGS__); \
		nlh = vds_mgmt_req(buf, sizeof(buf), FAMILY,                \
				   VDPA_CMD_DEV_NEW, 1, 0, 1);              \
		ck_assert_int_eq(vds_mgmt_put_dev_add(nlh, sizeof(buf), &o_), \
				 (err));                                    \
		ERRMSG_HAS(msg);                                            \
	} while (0)
	REFUSE(-EINVAL, "no device name", .mgmtdev = "vdpasim_net");
	REFUSE(-EINVAL, "no management device name", .name = "a");
	REFUSE(-EINVAL, "longer than 63", .name = longname, .mgmtdev = "m");
	REFUSE(-EINVAL, "unknown set bits 0x10", .name = "a", .mgmtdev = "m",
	       .set = 0x10);
	REFUSE(-EINVAL, "multicast", .name = "a", .mgmtdev = "m",
	       .set = VDPASTATE_MGMT_ADD_MAC, .mac = { 1 });
	REFUSE(-EINVAL, "max_vq_pairs 0", .name = "a", .mgmtdev = "m",
	       .set = VDPASTATE_MGMT_ADD_MAX_VQP);
	REFUSE(-EINVAL, "is not bus/device", .name = "a", .mgmtdev = "pci/");
	REFUSE(-EINVAL, "is not bus/device", .name = "a", .mgmtdev = "/x");
#undef REFUSE
	nlh = vds_mgmt_req(buf, sizeof(buf), FAMILY, VDPA_CMD_DEV_NEW, 1, 0,
			   1);
	ck_assert_int_eq(vds_mgmt_put_dev_add(nlh, sizeof(buf), NULL), -EINVAL);
	/* A struct from a newer header with an option this library lacks. */
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.o.name = "a";
	big.o.mgmtdev = "m";
	big.tail = 1;
	ck_assert_int_eq(vds_mgmt_put_dev_add(nlh, sizeof(buf), &big.o), -EINVAL);
	/* The same with the new option zero is fine. */
	big.tail = 0;
	ck_assert_int_eq(vds_mgmt_put_dev_add(nlh, sizeof(buf), &big.o), 0);
	{
		/* A buffer too small for the request. */
		VDPASTATE_OPTS(vdpastate_mgmt_dev_add_opts, o, .name = "vdpa0",
			       .mgmtdev = "vdpasim_net");

		nlh = vds_mgmt_req(buf, sizeof(buf), FAMILY, VDPA_CMD_DEV_NEW, 1, 0,
			   1);
		ck_assert_int_eq(vds_mgmt_put_dev_add(nlh, 40, &o), -EMSGSIZE);
		ERRMSG_HAS("larger than 40 bytes");
	}
}
END_TEST

/* A reply of the vdpa family, as the kernel would send it. */
static struct nlmsghdr *reply(uint8_t cmd)
{
	memset(buf, 0, sizeof(buf));
	return vds_mgmt_req(buf, sizeof(buf), FAMILY, cmd, 1, 0, 5);
}

/* What 6.1's vdpa_dev_config_fill() sends for vdpa_sim_net. */
static struct nlmsghdr *config_61(void)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	struct nlmsghdr *nlh = reply(VDPA_CMD_DEV_CONFIG_GET);

	mnl_attr_put_strz(nlh, VDPA_ATTR_DEV_NAME, "vdpa0");
	mnl_attr_put_u32(nlh, VDPA_ATTR_DEV_ID, 1);
	mnl_attr_put(nlh, VDPA_ATTR_DEV_NET_CFG_MACADDR, 6, mac);
	mnl_attr_put_u16(nlh, VDPA_ATTR_DEV_NET_STATUS, 1); /* u16, not u8 */
	mnl_attr_put_u16(nlh, VDPA_ATTR_DEV_NET_CFG_MTU, 1500);
	mnl_attr_put(nlh, VDPA_ATTR_PAD, 0, "");
	mnl_attr_put_u64(nlh, 21, 0x3008a0028ULL);
	return nlh;
}

START_TEST(config_61_layout)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_config, c);
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };

	ck_assert_int_eq(vds_mgmt_parse_config(config_61(), 22, &c), 0);
	ck_assert_uint_eq(c.valid, VDPASTATE_MGMT_CFG_DEVICE_ID |
					   VDPASTATE_MGMT_CFG_MAC |
					   VDPASTATE_MGMT_CFG_STATUS |
					   VDPASTATE_MGMT_CFG_MTU |
					   VDPASTATE_MGMT_CFG_DEVICE_FEATURES);
	ck_assert_str_eq(c.name, "vdpa0");
	ck_assert_uint_eq(c.device_id, 1);
	ck_assert_mem_eq(c.mac, mac, 6);
	ck_assert_uint_eq(c.status, 1);
	ck_assert_uint_eq(c.mtu, 1500);
	ck_assert_uint_eq(c.device_features, 0x3008a0028ULL);
	/* The PAD attribute (0) counts as unknown; nothing is wrong-sized. */
	ck_assert_uint_eq(c.unknown_attrs, 1);
	ck_assert_uint_eq(c.bad_attrs, 0);
	/* Not reported: no driver reached FEATURES_OK, no MQ. */
	ck_assert_uint_eq(c.negotiated_features, 0);
	ck_assert_uint_eq(c.max_vq_pairs, 0);
}
END_TEST

START_TEST(config_attr21_not_trusted_after_61)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_config, c);

	/* A family with more attributes: 21 is a virtio-blk one there. */
	ck_assert_int_eq(vds_mgmt_parse_config(config_61(), 37, &c), 0);
	ck_assert(!(c.valid & VDPASTATE_MGMT_CFG_DEVICE_FEATURES));
	/* Nor with fewer (6.0 had no attribute 21 at all). */
	ck_assert_int_eq(vds_mgmt_parse_config(config_61(), 21, &c), 0);
	ck_assert(!(c.valid & VDPASTATE_MGMT_CFG_DEVICE_FEATURES));
	ck_assert_uint_eq(c.device_features, 0);
	ck_assert_uint_eq(c.unknown_attrs, 2);
	ck_assert(c.valid & VDPASTATE_MGMT_CFG_MAC);
	/* Attribute 20 carries the device's features there. */
	{
		struct nlmsghdr *nlh = reply(VDPA_CMD_DEV_CONFIG_GET);

		mnl_attr_put_strz(nlh, VDPA_ATTR_DEV_NAME, "vdpa0");
		mnl_attr_put_u64(nlh, VDPA_ATTR_DEV_FEATURES, 0x100000020ULL);
		mnl_attr_put_u64(nlh, VDPA_ATTR_DEV_NEGOTIATED_FEATURES,
				 0x100000000ULL);
		mnl_attr_put_u16(nlh, VDPA_ATTR_DEV_NET_CFG_MAX_VQP, 2);
		ck_assert_int_eq(vds_mgmt_parse_config(nlh, 37, &c), 0);
		ck_assert_uint_eq(c.valid, VDPASTATE_MGMT_CFG_DEVICE_FEATURES |
						   VDPASTATE_MGMT_CFG_NEGOTIATED |
						   VDPASTATE_MGMT_CFG_MAX_VQP);
		ck_assert_uint_eq(c.device_features, 0x100000020ULL);
		ck_assert_uint_eq(c.negotiated_features, 0x100000000ULL);
		ck_assert_uint_eq(c.max_vq_pairs, 2);
	}
}
END_TEST

START_TEST(config_unknown_and_wrong_sized)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_config, c);
	struct nlmsghdr *nlh = reply(VDPA_CMD_DEV_CONFIG_GET);
	uint32_t four = 9000;

	mnl_attr_put_strz(nlh, VDPA_ATTR_DEV_NAME, "vdpa1");
	mnl_attr_put_u32(nlh, 40, 7);     /* from a future kernel */
	mnl_attr_put_u64(nlh, 200, 7);    /* far beyond any table */
	mnl_attr_put(nlh, VDPA_ATTR_DEV_NET_CFG_MTU, 4, &four); /* u16 */
	mnl_attr_put(nlh, VDPA_ATTR_DEV_NET_CFG_MACADDR, 5, "abcde");
	mnl_attr_put_u8(nlh, VDPA_ATTR_DEV_NET_STATUS, 1); /* u8 is fine */
	mnl_attr_put(nlh, VDPA_ATTR_DEV_ID, 2, "xx");      /* u32 */
	ck_assert_int_eq(vds_mgmt_parse_config(nlh, 22, &c), 0);
	ck_assert_uint_eq(c.valid, VDPASTATE_MGMT_CFG_STATUS);
	ck_assert_uint_eq(c.status, 1);
	ck_assert_uint_eq(c.unknown_attrs, 2);
	ck_assert_uint_eq(c.bad_attrs, (1ULL << VDPA_ATTR_DEV_NET_CFG_MTU) |
					       (1ULL << VDPA_ATTR_DEV_NET_CFG_MACADDR) |
					       (1ULL << VDPA_ATTR_DEV_ID));
	ck_assert_uint_eq(c.mtu, 0);
	ck_assert_str_eq(c.name, "vdpa1");
	/* A status of 3 bytes is neither u8 nor u16. */
	nlh = reply(VDPA_CMD_DEV_CONFIG_GET);
	mnl_attr_put(nlh, VDPA_ATTR_DEV_NET_STATUS, 3, "abc");
	ck_assert_int_eq(vds_mgmt_parse_config(nlh, 22, &c), 0);
	ck_assert_uint_eq(c.valid, 0);
	ck_assert_uint_eq(c.bad_attrs, 1ULL << VDPA_ATTR_DEV_NET_STATUS);
}
END_TEST

START_TEST(config_truncated)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_config, c);
	struct nlmsghdr *nlh = config_61();
	struct nlattr *last;

	/* The last attribute claims more than the message holds. */
	last = (struct nlattr *)((char *)nlh + nlh->nlmsg_len - 12);
	ck_assert_uint_eq(mnl_attr_get_type(last), 21);
	last->nla_len = 40;
	ck_assert_int_eq(vds_mgmt_parse_config(nlh, 22, &c), -EBADMSG);
	ERRMSG_HAS("DEV_CONFIG_GET reply: attribute at offset");
	ERRMSG_HAS("truncated");
	/* A message cut inside an attribute header. */
	nlh = config_61();
	nlh->nlmsg_len -= 10;
	ck_assert_int_eq(vds_mgmt_parse_config(nlh, 22, &c), -EBADMSG);
	/* nla_len smaller than the header itself. */
	nlh = config_61();
	last = (struct nlattr *)((char *)nlh + nlh->nlmsg_len - 12);
	last->nla_len = 2;
	ck_assert_int_eq(vds_mgmt_parse_config(nlh, 22, &c), -EBADMSG);
	/* No room for the generic netlink header. */
	nlh = config_61();
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 2;
	ck_assert_int_eq(vds_mgmt_parse_config(nlh, 22, &c), -EBADMSG);
	ERRMSG_HAS("shorter than its headers");
}
END_TEST

START_TEST(mgmtdev_reply)
{
	struct vdpastate_mgmtdev_info i;
	struct nlmsghdr *nlh = reply(VDPA_CMD_MGMTDEV_GET);

	mnl_attr_put_strz(nlh, VDPA_ATTR_MGMTDEV_DEV_NAME, "vdpasim_net");
	mnl_attr_put_u64(nlh, VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES, 1ULL << 1);
	mnl_attr_put_u32(nlh, VDPA_ATTR_DEV_MGMTDEV_MAX_VQS, 3);
	mnl_attr_put_u64(nlh, VDPA_ATTR_DEV_SUPPORTED_FEATURES, 0x3008a0028ULL);
	mnl_attr_put_u32(nlh, 99, 0);
	ck_assert_int_eq(vds_mgmt_parse_mgmtdev(nlh, &i), 0);
	ck_assert_str_eq(i.bus_name, "");
	ck_assert_str_eq(i.dev_name, "vdpasim_net");
	ck_assert_uint_eq(i.valid, VDPASTATE_MGMTDEV_CLASSES |
					   VDPASTATE_MGMTDEV_MAX_VQS |
					   VDPASTATE_MGMTDEV_FEATURES);
	ck_assert_uint_eq(i.supported_classes, 2);
	ck_assert_uint_eq(i.max_vqs, 3);
	ck_assert_uint_eq(i.supported_features, 0x3008a0028ULL);
	ck_assert_uint_eq(i.unknown_attrs, 1);

	/* On a bus, with nothing else reported (an older kernel). */
	nlh = reply(VDPA_CMD_MGMTDEV_GET);
	mnl_attr_put_strz(nlh, VDPA_ATTR_MGMTDEV_BUS_NAME, "pci");
	mnl_attr_put_strz(nlh, VDPA_ATTR_MGMTDEV_DEV_NAME, "0000:01:00.2");
	ck_assert_int_eq(vds_mgmt_parse_mgmtdev(nlh, &i), 0);
	ck_assert_str_eq(i.bus_name, "pci");
	ck_assert_str_eq(i.dev_name, "0000:01:00.2");
	ck_assert_uint_eq(i.valid, 0);

	/* A name that is not NUL-terminated is not read. */
	nlh = reply(VDPA_CMD_MGMTDEV_GET);
	mnl_attr_put(nlh, VDPA_ATTR_MGMTDEV_DEV_NAME, 4, "abcd");
	ck_assert_int_eq(vds_mgmt_parse_mgmtdev(nlh, &i), -EBADMSG);
	ERRMSG_HAS("without a device name");
}
END_TEST

START_TEST(family_reply)
{
	struct nlmsghdr *nlh;
	uint16_t id = 0;
	uint32_t max = 0;

	memset(buf, 0, sizeof(buf));
	nlh = vds_mgmt_req(buf, sizeof(buf), GENL_ID_CTRL, CTRL_CMD_NEWFAMILY,
			   2, 0, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "vdpa");
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x1d);
	mnl_attr_put_u32(nlh, CTRL_ATTR_VERSION, 1);
	mnl_attr_put_u32(nlh, CTRL_ATTR_MAXATTR, 21);
	ck_assert_int_eq(vds_mgmt_parse_family(nlh, &id, &max), 0);
	ck_assert_uint_eq(id, 0x1d);
	ck_assert_uint_eq(max, 21);

	nlh = vds_mgmt_req(buf, sizeof(buf), GENL_ID_CTRL, CTRL_CMD_NEWFAMILY,
			   2, 0, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "vdpa");
	ck_assert_int_eq(vds_mgmt_parse_family(nlh, &id, &max), -EBADMSG);
	ERRMSG_HAS("no family id");
}
END_TEST

/* An NLMSG_ERROR as the kernel builds it. */
static struct nlmsghdr *nl_error(int err, bool capped, const char *text)
{
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;

	memset(buf, 0, sizeof(buf));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = err;
	if (!capped) {
		/* The request comes back after the header: 24 bytes here. */
		char *echo = mnl_nlmsg_put_extra_header(nlh, 8);

		memset(echo, 0xee, 8);
		e->msg.nlmsg_len = sizeof(struct nlmsghdr) + 8;
	} else {
		nlh->nlmsg_flags |= NLM_F_CAPPED;
		e->msg.nlmsg_len = sizeof(struct nlmsghdr) + 64;
	}
	if (text) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, 20);
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	}
	return nlh;
}

START_TEST(netlink_errors)
{
	char text[64];

	ck_assert_int_eq(vds_mgmt_nlerr(nl_error(-ENODEV, true,
						 "vdpa: Fail to find the "
						 "specified mgmt device\n"),
					text, sizeof(text)),
			 -ENODEV);
	ck_assert_str_eq(text, "vdpa: Fail to find the specified mgmt device");
	/* The request echoed back (no NETLINK_CAP_ACK) is skipped over. */
	ck_assert_int_eq(vds_mgmt_nlerr(nl_error(-EOPNOTSUPP, false,
						 "not supported"),
					text, sizeof(text)),
			 -EOPNOTSUPP);
	ck_assert_str_eq(text, "not supported");
	/* No extended ack: no text. */
	ck_assert_int_eq(vds_mgmt_nlerr(nl_error(-EEXIST, true, NULL), text,
					sizeof(text)),
			 -EEXIST);
	ck_assert_str_eq(text, "");
	/* An ack. */
	ck_assert_int_eq(vds_mgmt_nlerr(nl_error(0, true, NULL), text,
					sizeof(text)),
			 0);
	/* A text longer than the buffer is cut, still terminated. */
	ck_assert_int_eq(vds_mgmt_nlerr(nl_error(-EINVAL, true,
						 "0123456789abcdef"),
					text, 8),
			 -EINVAL);
	ck_assert_str_eq(text, "0123456");
	/* Not an errno. */
	ck_assert_int_eq(vds_mgmt_nlerr(nl_error(5, true, NULL), text,
					sizeof(text)),
			 -EBADMSG);
	/* A dump's end with an error and a text. */
	{
		struct nlmsghdr *nlh;
		int *e;

		memset(buf, 0, sizeof(buf));
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = NLMSG_DONE;
		nlh->nlmsg_flags = NLM_F_MULTI | NLM_F_ACK_TLVS;
		e = mnl_nlmsg_put_extra_header(nlh, sizeof(int));
		*e = -EMSGSIZE;
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "dump failed");
		ck_assert_int_eq(vds_mgmt_nlerr(nlh, text, sizeof(text)),
				 -EMSGSIZE);
		ck_assert_str_eq(text, "dump failed");
	}
}
END_TEST

/*
 * The extended-ack walk stops at nlmsg_len, not at the aligned end: a
 * message that ends inside its last attribute has no text, and one copied
 * into a buffer of exactly nlmsg_len bytes is never read past (ASan and
 * valgrind see the exact-size copy).
 */
/* vds_mgmt_nlerr() on a copy of nlh in a buffer of exactly nlmsg_len. */
static int nlerr_exact(const struct nlmsghdr *nlh, char *text, size_t len)
{
	struct nlmsghdr *copy = malloc(nlh->nlmsg_len);
	int r;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, nlh, nlh->nlmsg_len);
	r = vds_mgmt_nlerr(copy, text, len);
	free(copy);
	return r;
}

START_TEST(netlink_error_exact_length)
{
	char text[64];
	uint32_t cut;

	for (cut = 1; cut <= 3; cut++) {
		struct nlmsghdr *nlh = nl_error(-EPERM, true, "abcdefg");

		/* The last 1..3 bytes of the text attribute are outside. */
		nlh->nlmsg_len -= cut;
		ck_assert_int_eq(vds_mgmt_nlerr(nlh, text, sizeof(text)),
				 -EPERM);
		ck_assert_msg(strcmp(text, "") == 0,
			      "cut %u: text \"%s\" read past nlmsg_len", cut,
			      text);
		ck_assert_int_eq(nlerr_exact(nlh, text, sizeof(text)), -EPERM);
		ck_assert_str_eq(text, "");
		/* 1..3 stray bytes after a whole attribute: text kept. */
		nlh = nl_error(-EPERM, true, "abcdefg");
		nlh->nlmsg_len += cut;
		ck_assert_int_eq(nlerr_exact(nlh, text, sizeof(text)), -EPERM);
		ck_assert_str_eq(text, "abcdefg");
	}
	/* An echoed request that claims less than its own header. */
	{
		struct nlmsghdr *nlh = nl_error(-EPERM, false, "x");
		struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

		e->msg.nlmsg_len = 4;
		ck_assert_int_eq(vds_mgmt_nlerr(nlh, text, sizeof(text)),
				 -EBADMSG);
		ERRMSG_HAS("echoed request");
		/* And one that claims more than the message holds. */
		nlh = nl_error(-EPERM, false, "x");
		e = mnl_nlmsg_get_payload(nlh);
		e->msg.nlmsg_len = 4096;
		ck_assert_int_eq(vds_mgmt_nlerr(nlh, text, sizeof(text)),
				 -EPERM);
		ck_assert_str_eq(text, "");
	}
}
END_TEST

/*
 * This machine's kernel: without the vdpa family (the build machines),
 * open must fail with ENOENT and say why; with it, listing must work.
 */
START_TEST(open_on_this_kernel)
{
	struct vdpastate_mgmt *m = vdpastate_mgmt_open(NULL);

	if (!m) {
		ck_assert_int_eq(errno, ENOENT);
		ERRMSG_HAS("the kernel has no \"vdpa\" generic netlink family");
		return;
	}
	ck_assert_int_ge(vdpastate_mgmt_mgmtdev_list(m, NULL, NULL), 0);
	vdpastate_mgmt_close(m);
}
END_TEST

START_TEST(api_arguments)
{
	VDPASTATE_OPTS(vdpastate_mgmt_dev_config, c);
	struct {
		struct vdpastate_mgmt_opts o;
		uint64_t tail;
	} big = { { sizeof(big) }, 1 };

	vdpastate_mgmt_close(NULL);
	errno = 0;
	ck_assert_ptr_null(vdpastate_mgmt_open(&big.o));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(vdpastate_mgmt_dev_add(NULL, NULL), -EINVAL);
	ck_assert_int_eq(vdpastate_mgmt_dev_del(NULL, "x"), -EINVAL);
	ck_assert_int_eq(vdpastate_mgmt_dev_config(NULL, "x", &c), -EINVAL);
	ck_assert_int_eq(vdpastate_mgmt_mgmtdev_list(NULL, NULL, NULL), -EINVAL);
}
END_TEST

Suite *mgmt_suite(void)
{
	Suite *s = suite_create("mgmt");
	TCase *tc = tcase_create("request");

	tcase_add_test(tc, dev_add_request);
	tcase_add_test(tc, dev_add_request_minimal_and_bus);
	tcase_add_test(tc, dev_add_request_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("reply");
	tcase_add_test(tc, config_61_layout);
	tcase_add_test(tc, config_attr21_not_trusted_after_61);
	tcase_add_test(tc, config_unknown_and_wrong_sized);
	tcase_add_test(tc, config_truncated);
	tcase_add_test(tc, mgmtdev_reply);
	tcase_add_test(tc, family_reply);
	tcase_add_test(tc, netlink_errors);
	tcase_add_test(tc, netlink_error_exact_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("kernel");
	tcase_add_test(tc, open_on_this_kernel);
	tcase_add_test(tc, api_arguments);
	suite_add_tcase(s, tc);
	return s;
}

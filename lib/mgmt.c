/* SPDX-License-Identifier: MIT */
/*
 * lib/mgmt.c - vDPA management over the "vdpa" generic netlink family
 * with libmnl: family lookup, management-device dump, device add/delete,
 * device config read.  Replies are parsed through a table of the
 * attributes this library knows, with their sizes; anything else is
 * counted and skipped, a known attribute of the wrong size is flagged and
 * not read.  Errors carry the kernel's extended-ack text.
 */
#include "config.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/vdpa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "mgmt_int.h"

struct vdpastate_mgmt {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint16_t family;
	uint32_t maxattr;
	char *buf; /* MNL_SOCKET_DUMP_SIZE bytes, requests and replies */
};

/* Dump replies may fill a page per message; 32 KiB holds several. */
#define BUF_SIZE 32768

struct nlmsghdr *vds_mgmt_req(void *buf, size_t len, uint16_t family,
			      uint8_t cmd, uint8_t version, uint16_t flags,
			      uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	memset(buf, 0, len);
	nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/* A name the kernel takes: non-empty and shorter than its buffers. */
static int name_check(const char *what, const char *name)
{
	if (!name || !*name)
		return vds_fail(-EINVAL, "vdpa netlink: no %s name", what);
	if (strlen(name) >= VDPASTATE_MGMT_NAME_MAX)
		return vds_fail(-EINVAL,
				"vdpa netlink: %s name \"%.20s...\" is longer "
				"than %d bytes",
				what, name, VDPASTATE_MGMT_NAME_MAX - 1);
	return 0;
}

#define ADD_KNOWN                                                  \
	(VDPASTATE_MGMT_ADD_MAC | VDPASTATE_MGMT_ADD_MTU |         \
	 VDPASTATE_MGMT_ADD_MAX_VQP | VDPASTATE_MGMT_ADD_FEATURES)

int vds_mgmt_put_dev_add(struct nlmsghdr *nlh, size_t buflen,
			 const struct vdpastate_mgmt_dev_add_opts *o)
{
	char bus[VDPASTATE_MGMT_NAME_MAX];
	const char *dev, *slash;
	uint32_t set;
	int r = VDS_OPTS_VALID(o, vdpastate_mgmt_dev_add_opts);
	bool ok = true;

	if (r)
		return r;
	if (!o)
		return vds_fail(-EINVAL, "vdpa netlink: dev add: no options");
	if ((r = name_check("device", VDS_OPTS_GET(o, name, NULL))) ||
	    (r = name_check("management device",
			    VDS_OPTS_GET(o, mgmtdev, NULL))))
		return r;
	set = VDS_OPTS_GET(o, set, 0);
	if (set & ~ADD_KNOWN)
		return vds_fail(-EINVAL,
				"vdpa netlink: dev add %s: unknown set bits 0x%x",
				o->name, set & ~ADD_KNOWN);
	if ((set & VDPASTATE_MGMT_ADD_MAC) && (VDS_OPTS_GET(o, mac[0], 0) & 1))
		return vds_fail(-EINVAL,
				"vdpa netlink: dev add %s: MAC %02x:... is "
				"multicast",
				o->name, o->mac[0]);
	if ((set & VDPASTATE_MGMT_ADD_MAX_VQP) &&
	    VDS_OPTS_GET(o, max_vq_pairs, 0) == 0)
		return vds_fail(-EINVAL,
				"vdpa netlink: dev add %s: max_vq_pairs 0",
				o->name);

	/* "bus/device" names a device on a bus (pci/0000:01:00.2). */
	slash = strchr(o->mgmtdev, '/');
	dev = o->mgmtdev;
	if (slash) {
		snprintf(bus, sizeof(bus), "%.*s", (int)(slash - o->mgmtdev),
			 o->mgmtdev);
		dev = slash + 1;
		if (!*bus || !*dev)
			return vds_fail(-EINVAL,
					"vdpa netlink: dev add %s: management "
					"device \"%s\" is not bus/device",
					o->name, o->mgmtdev);
		ok = mnl_attr_put_strz_check(nlh, buflen,
					     VDPA_ATTR_MGMTDEV_BUS_NAME, bus);
	}
	ok = ok &&
	     mnl_attr_put_strz_check(nlh, buflen, VDPA_ATTR_MGMTDEV_DEV_NAME,
				     dev) &&
	     mnl_attr_put_strz_check(nlh, buflen, VDPA_ATTR_DEV_NAME, o->name);
	if (ok && (set & VDPASTATE_MGMT_ADD_MAC))
		ok = mnl_attr_put_check(nlh, buflen,
					VDPA_ATTR_DEV_NET_CFG_MACADDR, 6, o->mac);
	if (ok && (set & VDPASTATE_MGMT_ADD_MTU))
		ok = mnl_attr_put_u16_check(nlh, buflen,
					    VDPA_ATTR_DEV_NET_CFG_MTU,
					    VDS_OPTS_GET(o, mtu, 0));
	if (ok && (set & VDPASTATE_MGMT_ADD_MAX_VQP))
		ok = mnl_attr_put_u16_check(nlh, buflen,
					    VDPA_ATTR_DEV_NET_CFG_MAX_VQP,
					    o->max_vq_pairs);
	if (ok && (set & VDPASTATE_MGMT_ADD_FEATURES))
		ok = mnl_attr_put_u64_check(nlh, buflen, VDPA_ATTR_DEV_FEATURES,
					    VDS_OPTS_GET(o, device_features, 0));
	if (!ok)
		return vds_fail(-EMSGSIZE,
				"vdpa netlink: dev add %s: request larger than "
				"%zu bytes",
				o->name, buflen);
	return 0;
}

/* ---------------------------------------------------------- parsing */

/* What one reply may hold: attribute type -> libmnl type (and size). */
struct attr_rule {
	uint16_t type;
	enum mnl_attr_data_type mnl;
	uint16_t len; /* MNL_TYPE_BINARY: exact length */
};

struct parse {
	const struct attr_rule *rules;
	size_t nrules;
	const struct nlattr *tb[64];
	uint64_t bad;     /* bit n: attribute n had a wrong size */
	uint32_t unknown; /* attributes without a rule */
};

static int parse_cb(const struct nlattr *a, void *data)
{
	struct parse *p = data;
	uint16_t type = mnl_attr_get_type(a);
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		const struct attr_rule *r = &p->rules[i];
		int bad;

		if (r->type != type)
			continue;
		if (r->mnl == MNL_TYPE_BINARY)
			bad = mnl_attr_get_payload_len(a) != r->len;
		else
			bad = mnl_attr_validate(a, r->mnl) < 0;
		if (bad) {
			p->bad |= 1ULL << (type & 63);
			p->tb[type & 63] = NULL;
		} else if (!(p->bad & (1ULL << (type & 63)))) {
			p->tb[type & 63] = a;
		}
		return MNL_CB_OK;
	}
	p->unknown++;
	return MNL_CB_OK;
}

/*
 * The attribute at pos if all of it lies before end, else NULL.  libmnl's
 * own walk runs to the aligned end of the message, up to three bytes past
 * nlmsg_len, so every walk here goes through this instead.
 */
static const struct nlattr *attr_at(const char *pos, const char *end)
{
	const struct nlattr *a = (const struct nlattr *)pos;

	if (pos >= end || (size_t)(end - pos) < sizeof(*a) ||
	    a->nla_len < sizeof(*a) || a->nla_len > (size_t)(end - pos))
		return NULL;
	return a;
}

/* Past a's padding, or end where the padding is missing. */
static const char *attr_skip(const struct nlattr *a, const char *end)
{
	size_t step = MNL_ALIGN(a->nla_len);
	const char *pos = (const char *)a;

	return step < (size_t)(end - pos) ? pos + step : end;
}

/*
 * Walk the attributes after the genl header.  libmnl stops quietly at an
 * attribute that runs past the end; that is a broken reply, not an empty
 * tail, so it is checked first.
 */
static int parse_attrs(const struct nlmsghdr *nlh, const char *what,
		       struct parse *p)
{
	size_t off = MNL_ALIGN(sizeof(struct genlmsghdr));
	const struct nlattr *a;
	const char *end, *pos;

	memset(p->tb, 0, sizeof(p->tb));
	p->bad = 0;
	p->unknown = 0;
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + off)
		return vds_fail(-EBADMSG,
				"vdpa netlink: %s reply: %u bytes, shorter than "
				"its headers",
				what, nlh->nlmsg_len);
	end = (const char *)nlh + nlh->nlmsg_len;
	pos = (const char *)mnl_nlmsg_get_payload(nlh) + off;
	while ((a = attr_at(pos, end)))
		pos = attr_skip(a, end);
	if (pos < end)
		return vds_fail(-EBADMSG,
				"vdpa netlink: %s reply: attribute at offset "
				"%zu is truncated",
				what, (size_t)(pos - (const char *)nlh));
	mnl_attr_parse(nlh, off, parse_cb, p);
	return 0;
}

static void copy_str(char *dst, size_t len, const struct nlattr *a)
{
	snprintf(dst, len, "%s", a ? mnl_attr_get_str(a) : "");
}

static const struct attr_rule family_rules[] = {
	{ CTRL_ATTR_FAMILY_ID, MNL_TYPE_U16, 0 },
	{ CTRL_ATTR_MAXATTR, MNL_TYPE_U32, 0 },
};

int vds_mgmt_parse_family(const struct nlmsghdr *nlh, uint16_t *id,
			  uint32_t *maxattr)
{
	struct parse p = { .rules = family_rules,
			   .nrules = VDS_ARRAY_SIZE(family_rules) };
	int r = parse_attrs(nlh, "CTRL_CMD_GETFAMILY", &p);

	if (r)
		return r;
	if (!p.tb[CTRL_ATTR_FAMILY_ID])
		return vds_fail(-EBADMSG,
				"vdpa netlink: CTRL_CMD_GETFAMILY reply has no "
				"family id");
	*id = mnl_attr_get_u16(p.tb[CTRL_ATTR_FAMILY_ID]);
	*maxattr = p.tb[CTRL_ATTR_MAXATTR]
			   ? mnl_attr_get_u32(p.tb[CTRL_ATTR_MAXATTR])
			   : 0;
	return 0;
}

static const struct attr_rule mgmtdev_rules[] = {
	{ VDPA_ATTR_MGMTDEV_BUS_NAME, MNL_TYPE_NUL_STRING, 0 },
	{ VDPA_ATTR_MGMTDEV_DEV_NAME, MNL_TYPE_NUL_STRING, 0 },
	{ VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES, MNL_TYPE_U64, 0 },
	{ VDPA_ATTR_DEV_MGMTDEV_MAX_VQS, MNL_TYPE_U32, 0 },
	{ VDPA_ATTR_DEV_SUPPORTED_FEATURES, MNL_TYPE_U64, 0 },
};

int vds_mgmt_parse_mgmtdev(const struct nlmsghdr *nlh,
			   struct vdpastate_mgmtdev_info *out)
{
	struct parse p = { .rules = mgmtdev_rules,
			   .nrules = VDS_ARRAY_SIZE(mgmtdev_rules) };
	const struct nlattr **tb = p.tb;
	int r = parse_attrs(nlh, "MGMTDEV_GET", &p);

	if (r)
		return r;
	memset(out, 0, sizeof(*out));
	out->sz = sizeof(*out);
	if (!tb[VDPA_ATTR_MGMTDEV_DEV_NAME])
		return vds_fail(-EBADMSG,
				"vdpa netlink: MGMTDEV_GET reply without a "
				"device name");
	copy_str(out->bus_name, sizeof(out->bus_name),
		 tb[VDPA_ATTR_MGMTDEV_BUS_NAME]);
	copy_str(out->dev_name, sizeof(out->dev_name),
		 tb[VDPA_ATTR_MGMTDEV_DEV_NAME]);
	if (tb[VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES]) {
		out->supported_classes =
			mnl_attr_get_u64(tb[VDPA_ATTR_MGMTDEV_SUPPORTED_CLASSES]);
		out->valid |= VDPASTATE_MGMTDEV_CLASSES;
	}
	if (tb[VDPA_ATTR_DEV_MGMTDEV_MAX_VQS]) {
		out->max_vqs = mnl_attr_get_u32(tb[VDPA_ATTR_DEV_MGMTDEV_MAX_VQS]);
		out->valid |= VDPASTATE_MGMTDEV_MAX_VQS;
	}
	if (tb[VDPA_ATTR_DEV_SUPPORTED_FEATURES]) {
		out->supported_features =
			mnl_attr_get_u64(tb[VDPA_ATTR_DEV_SUPPORTED_FEATURES]);
		out->valid |= VDPASTATE_MGMTDEV_FEATURES;
	}
	out->unknown_attrs = p.unknown;
	out->bad_attrs = (uint32_t)p.bad;
	return 0;
}

static const struct attr_rule config_rules_61[] = {
	{ VDPA_ATTR_DEV_NAME, MNL_TYPE_NUL_STRING, 0 },
	{ VDPA_ATTR_DEV_ID, MNL_TYPE_U32, 0 },
	{ VDPA_ATTR_DEV_NET_CFG_MACADDR, MNL_TYPE_BINARY, 6 },
	/* u8 in the uapi comment, u16 from the kernel: see below. */
	{ VDPA_ATTR_DEV_NET_STATUS, MNL_TYPE_UNSPEC, 0 },
	{ VDPA_ATTR_DEV_NET_CFG_MAX_VQP, MNL_TYPE_U16, 0 },
	{ VDPA_ATTR_DEV_NET_CFG_MTU, MNL_TYPE_U16, 0 },
	{ VDPA_ATTR_DEV_NEGOTIATED_FEATURES, MNL_TYPE_U64, 0 },
	{ VDPA_ATTR_DEV_FEATURES, MNL_TYPE_U64, 0 },
	{ VDS_VDPA_ATTR_61_DEV_SUPPORTED_FEATURES, MNL_TYPE_U64, 0 },
};

int vds_mgmt_parse_config(const struct nlmsghdr *nlh, uint32_t maxattr,
			  struct vdpastate_mgmt_dev_config *out)
{
	/* Attribute 21 has a rule only in the 6.1 layout. */
	size_t nrules = VDS_ARRAY_SIZE(config_rules_61) -
			(maxattr == VDS_VDPA_61_MAXATTR ? 0 : 1);
	struct parse p = { .rules = config_rules_61, .nrules = nrules };
	const struct nlattr **tb = p.tb, *st;
	int r = parse_attrs(nlh, "DEV_CONFIG_GET", &p);

	if (r)
		return r;
	memset(out, 0, sizeof(*out));
	out->sz = sizeof(*out);
	copy_str(out->name, sizeof(out->name), tb[VDPA_ATTR_DEV_NAME]);
	if (tb[VDPA_ATTR_DEV_ID]) {
		out->device_id = mnl_attr_get_u32(tb[VDPA_ATTR_DEV_ID]);
		out->valid |= VDPASTATE_MGMT_CFG_DEVICE_ID;
	}
	if (tb[VDPA_ATTR_DEV_NET_CFG_MACADDR]) {
		memcpy(out->mac,
		       mnl_attr_get_payload(tb[VDPA_ATTR_DEV_NET_CFG_MACADDR]),
		       6);
		out->valid |= VDPASTATE_MGMT_CFG_MAC;
	}
	st = tb[VDPA_ATTR_DEV_NET_STATUS];
	if (st && mnl_attr_get_payload_len(st) == 1) {
		out->status = mnl_attr_get_u8(st);
		out->valid |= VDPASTATE_MGMT_CFG_STATUS;
	} else if (st && mnl_attr_get_payload_len(st) == 2) {
		out->status = mnl_attr_get_u16(st);
		out->valid |= VDPASTATE_MGMT_CFG_STATUS;
	} else if (st) {
		p.bad |= 1ULL << VDPA_ATTR_DEV_NET_STATUS;
	}
	if (tb[VDPA_ATTR_DEV_NET_CFG_MTU]) {
		out->mtu = mnl_attr_get_u16(tb[VDPA_ATTR_DEV_NET_CFG_MTU]);
		out->valid |= VDPASTATE_MGMT_CFG_MTU;
	}
	if (tb[VDPA_ATTR_DEV_NET_CFG_MAX_VQP]) {
		out->max_vq_pairs =
			mnl_attr_get_u16(tb[VDPA_ATTR_DEV_NET_CFG_MAX_VQP]);
		out->valid |= VDPASTATE_MGMT_CFG_MAX_VQP;
	}
	if (tb[VDPA_ATTR_DEV_NEGOTIATED_FEATURES]) {
		out->negotiated_features =
			mnl_attr_get_u64(tb[VDPA_ATTR_DEV_NEGOTIATED_FEATURES]);
		out->valid |= VDPASTATE_MGMT_CFG_NEGOTIATED;
	}
	/* The device's features: attribute 20 after 6.1, 21 in 6.1. */
	if (tb[VDPA_ATTR_DEV_FEATURES]) {
		out->device_features =
			mnl_attr_get_u64(tb[VDPA_ATTR_DEV_FEATURES]);
		out->valid |= VDPASTATE_MGMT_CFG_DEVICE_FEATURES;
	} else if (maxattr == VDS_VDPA_61_MAXATTR &&
		   tb[VDS_VDPA_ATTR_61_DEV_SUPPORTED_FEATURES]) {
		out->device_features = mnl_attr_get_u64(
			tb[VDS_VDPA_ATTR_61_DEV_SUPPORTED_FEATURES]);
		out->valid |= VDPASTATE_MGMT_CFG_DEVICE_FEATURES;
	}
	out->unknown_attrs = p.unknown;
	out->bad_attrs = p.bad;
	return 0;
}

int vds_mgmt_nlerr(const struct nlmsghdr *nlh, char *text, size_t len)
{
	const struct nlmsgerr *e;
	size_t off;
	int err;

	if (len)
		text[0] = '\0';
	if (nlh->nlmsg_type == NLMSG_DONE) {
		/* A dump's end: an int error, then the TLVs. */
		if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(int))
			return 0;
		err = *(const int *)mnl_nlmsg_get_payload(nlh);
		off = sizeof(int);
	} else {
		if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*e))
			return -EBADMSG;
		e = mnl_nlmsg_get_payload(nlh);
		err = e->error;
		off = sizeof(*e);
		/* Without NETLINK_CAP_ACK the request comes back whole. */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
			if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
				return vds_fail(-EBADMSG,
						"vdpa netlink: error message: "
						"echoed request of %u bytes, "
						"shorter than its header",
						e->msg.nlmsg_len);
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		}
	}
	if (err > 0 || err < -4095)
		return -EBADMSG;
	if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) && len &&
	    MNL_NLMSG_HDRLEN + MNL_ALIGN(off) < nlh->nlmsg_len) {
		const char *end = (const char *)nlh + nlh->nlmsg_len;
		const char *pos = (const char *)mnl_nlmsg_get_payload(nlh) +
				  MNL_ALIGN(off);
		const struct nlattr *a;

		for (; (a = attr_at(pos, end)); pos = attr_skip(a, end)) {
			if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
			    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0) {
				snprintf(text, len, "%s", mnl_attr_get_str(a));
				/* The kernel's text may end in a newline. */
				while (*text && text[strlen(text) - 1] == '\n')
					text[strlen(text) - 1] = '\0';
			}
		}
	}
	return err;
}

/* --------------------------------------------------------- the socket */

typedef int (*reply_fn)(const struct nlmsghdr *nlh, void *arg);

/*
 * Send the request in m->buf and read until its ack, error or dump end;
 * fn sees every data message.  what names the request in messages.
 */
static int txrx(struct vdpastate_mgmt *m, struct nlmsghdr *req,
		const char *what, reply_fn fn, void *arg)
{
	uint32_t seq = req->nlmsg_seq;
	int cb_err = 0;

	if (mnl_socket_sendto(m->nl, req, req->nlmsg_len) < 0)
		return vds_fail(-errno, "vdpa netlink: %s: send: %s", what,
				strerror(errno));
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(m->nl, m->buf, BUF_SIZE);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)m->buf;
		int left = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return vds_fail(-errno, "vdpa netlink: %s: receive: %s",
					what, strerror(errno));
		}
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			char text[256];
			int err;

			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != m->portid)
				continue; /* not ours (a late reply) */
			if (nlh->nlmsg_type == NLMSG_ERROR ||
			    nlh->nlmsg_type == NLMSG_DONE) {
				err = vds_mgmt_nlerr(nlh, text, sizeof(text));
				if (err == -EBADMSG && nlh->nlmsg_type == NLMSG_ERROR &&
				    nlh->nlmsg_len < MNL_NLMSG_HDRLEN +
							     sizeof(struct nlmsgerr))
					return vds_fail(-EBADMSG,
							"vdpa netlink: %s: truncated "
							"error message",
							what);
				if (err)
					return vds_fail(err,
							"vdpa netlink: %s: %s%s%s%s",
							what, strerror(-err),
							*text ? " (kernel: " : "",
							text, *text ? ")" : "");
				return cb_err;
			}
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
				continue; /* NOOP, OVERRUN */
			if (fn && !cb_err)
				cb_err = fn(nlh, arg);
		}
		if (left > 0)
			return vds_fail(-EBADMSG,
					"vdpa netlink: %s: %d trailing bytes that "
					"are no netlink message",
					what, left);
	}
}

static int family_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct vdpastate_mgmt *m = arg;

	return vds_mgmt_parse_family(nlh, &m->family, &m->maxattr);
}

VDPASTATE_API struct vdpastate_mgmt *
vdpastate_mgmt_open(const struct vdpastate_mgmt_opts *opts)
{
	struct vdpastate_mgmt *m;
	struct nlmsghdr *nlh;
	int one = 1, r = VDS_OPTS_VALID(opts, vdpastate_mgmt_opts);

	if (r)
		return vds_fail_ptr(r, "vdpa netlink: %s", vdpastate_last_error());
	m = calloc(1, sizeof(*m));
	if (!m || !(m->buf = malloc(BUF_SIZE))) {
		free(m);
		return vds_fail_ptr(-ENOMEM, "vdpa netlink: out of memory");
	}
	m->nl = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!m->nl) {
		r = vds_fail(-errno, "vdpa netlink: socket: %s", strerror(errno));
		goto fail;
	}
	if (mnl_socket_bind(m->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = vds_fail(-errno, "vdpa netlink: bind: %s", strerror(errno));
		goto fail;
	}
	/* Errors then carry the kernel's text; the request is not echoed. */
	mnl_socket_setsockopt(m->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(m->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	m->portid = mnl_socket_get_portid(m->nl);
	m->seq = (uint32_t)time(NULL);

	nlh = vds_mgmt_req(m->buf, BUF_SIZE, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
			   1, NLM_F_ACK, ++m->seq);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, VDPA_GENL_NAME);
	r = txrx(m, nlh, "resolve family \"" VDPA_GENL_NAME "\"", family_reply,
		 m);
	if (r == -ENOENT)
		r = vds_fail(-ENOENT,
			     "vdpa netlink: the kernel has no \"%s\" generic "
			     "netlink family (CONFIG_VDPA is off or the vdpa "
			     "module is not loaded)",
			     VDPA_GENL_NAME);
	if (r)
		goto fail;
	if (!m->family) {
		r = vds_fail(-EBADMSG, "vdpa netlink: no family id in the reply");
		goto fail;
	}
	vds_log(VDPASTATE_LOG_DEBUG, "vdpa netlink: family %u, maxattr %u",
		m->family, m->maxattr);
	return m;
fail:
	vdpastate_mgmt_close(m);
	errno = -r;
	return NULL;
}

VDPASTATE_API void vdpastate_mgmt_close(struct vdpastate_mgmt *m)
{
	if (!m)
		return;
	if (m->nl)
		mnl_socket_close(m->nl);
	free(m->buf);
	free(m);
}

struct list_ctx {
	struct vdpastate_mgmtdev_info *devs;
	size_t n, cap;
};

static int mgmtdev_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct list_ctx *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		void *p = realloc(l->devs, cap * sizeof(*l->devs));

		if (!p)
			return vds_fail(-ENOMEM, "vdpa netlink: out of memory");
		l->devs = p;
		l->cap = cap;
	}
	if (vds_mgmt_parse_mgmtdev(nlh, &l->devs[l->n]))
		return -EBADMSG;
	l->n++;
	return 0;
}

VDPASTATE_API int vdpastate_mgmt_mgmtdev_list(struct vdpastate_mgmt *m,
					      vdpastate_mgmtdev_fn fn,
					      void *arg)
{
	struct list_ctx l = { 0 };
	struct nlmsghdr *nlh;
	size_t i;
	int r;

	if (!m)
		return vds_fail(-EINVAL, "vdpa netlink: mgmtdev list: no handle");
	nlh = vds_mgmt_req(m->buf, BUF_SIZE, m->family, VDPA_CMD_MGMTDEV_GET,
			   VDPA_GENL_VERSION, NLM_F_DUMP, ++m->seq);
	/* The whole dump is read before fn runs, so fn may call back in. */
	r = txrx(m, nlh, "MGMTDEV_GET dump", mgmtdev_reply, &l);
	for (i = 0; r == 0 && i < l.n; i++)
		if (fn)
			r = fn(&l.devs[i], arg);
	free(l.devs);
	return r ? r : (int)l.n;
}

VDPASTATE_API int
vdpastate_mgmt_dev_add(struct vdpastate_mgmt *m,
		       const struct vdpastate_mgmt_dev_add_opts *opts)
{
	struct nlmsghdr *nlh;
	char what[128];
	int r;

	if (!m)
		return vds_fail(-EINVAL, "vdpa netlink: dev add: no handle");
	nlh = vds_mgmt_req(m->buf, BUF_SIZE, m->family, VDPA_CMD_DEV_NEW,
			   VDPA_GENL_VERSION, NLM_F_ACK, ++m->seq);
	r = vds_mgmt_put_dev_add(nlh, BUF_SIZE, opts);
	if (r)
		return r;
	snprintf(what, sizeof(what), "DEV_NEW %s on %s", opts->name,
		 opts->mgmtdev);
	return txrx(m, nlh, what, NULL, NULL);
}

VDPASTATE_API int vdpastate_mgmt_dev_del(struct vdpastate_mgmt *m,
					 const char *name)
{
	struct nlmsghdr *nlh;
	char what[128];
	int r;

	if (!m)
		return vds_fail(-EINVAL, "vdpa netlink: dev del: no handle");
	if ((r = name_check("device", name)))
		return r;
	nlh = vds_mgmt_req(m->buf, BUF_SIZE, m->family, VDPA_CMD_DEV_DEL,
			   VDPA_GENL_VERSION, NLM_F_ACK, ++m->seq);
	mnl_attr_put_strz(nlh, VDPA_ATTR_DEV_NAME, name);
	snprintf(what, sizeof(what), "DEV_DEL %s", name);
	return txrx(m, nlh, what, NULL, NULL);
}

struct config_ctx {
	struct vdpastate_mgmt *m;
	struct vdpastate_mgmt_dev_config full;
	bool got;
};

static int config_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct config_ctx *c = arg;
	int r = vds_mgmt_parse_config(nlh, c->m->maxattr, &c->full);

	if (r)
		return r;
	c->got = true;
	return 0;
}

VDPASTATE_API int vdpastate_mgmt_dev_config(struct vdpastate_mgmt *m,
					    const char *name,
					    struct vdpastate_mgmt_dev_config *out)
{
	struct config_ctx c = { .m = m };
	struct nlmsghdr *nlh;
	char what[128];
	int r;

	if (!m || !out)
		return vds_fail(-EINVAL, "vdpa netlink: dev config: %s",
				m ? "no output struct" : "no handle");
	if ((r = name_check("device", name)))
		return r;
	nlh = vds_mgmt_req(m->buf, BUF_SIZE, m->family, VDPA_CMD_DEV_CONFIG_GET,
			   VDPA_GENL_VERSION, NLM_F_ACK, ++m->seq);
	mnl_attr_put_strz(nlh, VDPA_ATTR_DEV_NAME, name);
	snprintf(what, sizeof(what), "DEV_CONFIG_GET %s", name);
	r = txrx(m, nlh, what, config_reply, &c);
	if (r)
		return r;
	if (!c.got)
		return vds_fail(-EBADMSG, "vdpa netlink: %s: acked without a reply",
				what);
	if (c.full.bad_attrs || c.full.unknown_attrs)
		vds_log(VDPASTATE_LOG_WARN,
			"vdpa netlink: %s: %u unknown attributes skipped, "
			"wrong-sized attributes 0x%llx not read",
			what, c.full.unknown_attrs,
			(unsigned long long)c.full.bad_attrs);
	return vds_out_copy(out, &c.full, sizeof(c.full),
			    "vdpastate_mgmt_dev_config");
}

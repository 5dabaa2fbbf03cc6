/* SPDX-License-Identifier: MIT */
/*
 * lib/check.c - the pre-migration compatibility check: what a saved state
 * needs of a destination device, and a report of what it lacks.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libvdpastate/dev.h>
#include <libvdpastate/sim.h>
#include <libvdpastate/svq.h>
#include <libvdpastate/vring.h>

#include "bytes.h"
#include "internal.h"
#include "ring.h"
#include "transport_int.h"
#include "dev_int.h"

/* ------------------------------------------------------------ compatibility */

struct vdpastate_dev_report {
	size_t n;
	struct {
		enum vdpastate_dev_problem kind;
		char *msg;
	} *p;
};

VDS_PRINTF(3, 4)
static int report_add(struct vdpastate_dev_report *r,
		      enum vdpastate_dev_problem kind, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	void *np;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	np = realloc(r->p, (r->n + 1) * sizeof(*r->p));
	if (!np)
		return -ENOMEM;
	r->p = np;
	r->p[r->n].kind = kind;
	r->p[r->n].msg = strdup(buf);
	if (!r->p[r->n].msg)
		return -ENOMEM;
	r->n++;
	return 0;
}

VDPASTATE_API void vdpastate_dev_report_free(struct vdpastate_dev_report *report)
{
	size_t i;

	if (!report)
		return;
	for (i = 0; i < report->n; i++)
		free(report->p[i].msg);
	free(report->p);
	free(report);
}

VDPASTATE_API size_t
vdpastate_dev_report_count(const struct vdpastate_dev_report *report)
{
	return report ? report->n : 0;
}

VDPASTATE_API const char *
vdpastate_dev_report_get(const struct vdpastate_dev_report *report, size_t i,
			 enum vdpastate_dev_problem *kind)
{
	if (!report || i >= report->n)
		return vds_fail_ptr(-ENOENT, "dev: report: no problem %zu", i);
	if (kind)
		*kind = report->p[i].kind;
	return report->p[i].msg;
}

/*
 * The MAC the guest uses survives when the destination's config-space
 * MAC is the same, or when the restore can set it (CTRL_MAC_ADDR over a
 * control queue, in the saved features and offered).
 */
static int check_mac(const struct vdpastate_netstate *ns, uint64_t f,
		     uint64_t offered, const uint8_t *cfg,
		     struct vdpastate_dev_report *r)
{
	const uint64_t settable = FB(CTRL_VQ) | FB(CTRL_MAC_ADDR);
	uint8_t m[6];

	if (!(f & FB(MAC)) || !(offered & FB(MAC)) || vdpastate_netstate_mac(ns, m) ||
	    !memcmp(m, cfg, 6) ||
	    ((f & settable) == settable && (offered & settable) == settable))
		return 0;
	return report_add(r, VDPASTATE_DEV_PROBLEM_MAC, "the guest's MAC "
			  "%02x:%02x:%02x:%02x:%02x:%02x would become the "
			  "device's %02x:%02x:%02x:%02x:%02x:%02x: "
			  "CTRL_MAC_ADDR is not negotiated, so a restore "
			  "cannot set it", m[0], m[1], m[2], m[3], m[4], m[5],
			  cfg[0], cfg[1], cfg[2], cfg[3], cfg[4], cfg[5]);
}

static int check_into(struct vdpastate_dev *dev, const struct vdpastate_netstate *ns,
		      const struct vr_set *vr, struct vdpastate_dev_report *r)
{
	VDPASTATE_OPTS(vdpastate_netstate_config, saved);
	uint64_t f = vdpastate_netstate_features(ns), offered, missing;
	uint8_t b[CFG_LONG] = { 0 };
	uint16_t maxnum, dpairs = 1, dmtu;
	char names[256];
	size_t i;
	int err = 0;

	vdpastate_netstate_get_config(ns, &saved);
	if ((err = vdpastate_transport_get_device_features(dev->t, &offered)) ||
	    (err = vdpastate_transport_get_vring_num_max(dev->t, &maxnum)) ||
	    (err = vdpastate_transport_get_config(
		     dev->t, 0, b,
		     offered & (FB(RSS) | FB(HASH_REPORT)) ? CFG_LONG : CFG_SHORT)))
		return err;
	missing = f & ~offered;
	if ((missing & ~FB(CTRL_VQ)) &&
	    (err = report_add(r, VDPASTATE_DEV_PROBLEM_FEATURES, "feature bits "
			      "not offered: %s",
			      vds_dev_feature_list(missing & ~FB(CTRL_VQ),
						   names, sizeof(names)))))
		return err;
	if ((missing & FB(CTRL_VQ)) &&
	    (err = report_add(r, VDPASTATE_DEV_PROBLEM_NO_CVQ, "the device has no "
			      "control virtqueue (CTRL_VQ not offered)")))
		return err;
	if (offered & (FB(MQ) | FB(RSS)))
		dpairs = vds_get_le16(b + CFG_MAX_PAIRS);
	if ((f & (FB(MQ) | FB(RSS))) && saved.max_virtqueue_pairs > dpairs &&
	    (err = report_add(r, VDPASTATE_DEV_PROBLEM_QUEUE_PAIRS, "%u queue "
			      "pairs saved, the device has %u",
			      saved.max_virtqueue_pairs, dpairs)))
		return err;
	dmtu = vds_get_le16(b + 10);
	if ((f & FB(MTU)) && (offered & FB(MTU)) && dmtu != saved.mtu &&
	    (err = report_add(r, VDPASTATE_DEV_PROBLEM_MTU, "MTU %u saved, the "
			      "device has %u", saved.mtu, dmtu)))
		return err;
	if ((f & (FB(RSS) | FB(HASH_REPORT))) &&
	    (offered & (FB(RSS) | FB(HASH_REPORT))) &&
	    (b[17] < saved.rss_max_key_size ||
	     vds_get_le16(b + 18) < saved.rss_max_indirection_table_length ||
	     (saved.supported_hash_types & ~vds_get_le32(b + 20))) &&
	    (err = report_add(r, VDPASTATE_DEV_PROBLEM_LIMITS, "RSS limits: key "
			      "%u, table %u, hash types 0x%x saved; the device "
			      "has %u, %u, 0x%x", saved.rss_max_key_size,
			      saved.rss_max_indirection_table_length,
			      saved.supported_hash_types, b[17],
			      vds_get_le16(b + 18), vds_get_le32(b + 20))))
		return err;
	if ((err = check_mac(ns, f, offered, b, r)))
		return err;
	for (i = 0; i < vr->n; i++)
		if (!(vr->e[i].flags & VR_F_GUEST_CVQ) && vr->e[i].num > maxnum &&
		    (err = report_add(r, VDPASTATE_DEV_PROBLEM_RING_SIZE, "queue "
				      "%u: ring size %u above the device "
				      "maximum %u", vr->e[i].idx, vr->e[i].num,
				      maxnum)))
			return err;
	return 0;
}

VDPASTATE_API int vdpastate_dev_check(struct vdpastate_dev *dev,
				      const struct vdpastate_blob *blob,
				      struct vdpastate_dev_report **out)
{
	const struct vdpastate_netstate *ns;
	struct vdpastate_dev_report *r;
	struct vr_set vr;
	int err;

	if (!dev || !out)
		return vds_fail(-EINVAL, "check: NULL argument");
	if ((err = vds_dev_blob_input(blob, "check", &ns, &vr)))
		return err;
	r = calloc(1, sizeof(*r));
	if (!r) {
		free(vr.e);
		return vds_fail(-ENOMEM, "check: out of memory");
	}
	err = check_into(dev, ns, &vr, r);
	free(vr.e);
	if (err) {
		vdpastate_dev_report_free(r);
		return err == -ENOMEM ? vds_fail(err, "check: out of memory") : err;
	}
	*out = r;
	return 0;
}


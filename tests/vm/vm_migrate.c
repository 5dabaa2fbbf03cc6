/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vm_migrate.c - VM case 5: a live migration from vdpa0 to vdpa1
 * inside the test kernel, through the device handle.  The source handle
 * starts vdpa0 with the features the library negotiates, the guest sets
 * a MAC on its control queue (which the handle shadows) and passes
 * frames on the data queues (the device works on the guest's rings
 * directly, given to the handle with vdpastate_dev_set_vring()).  Then
 * the source is suspended and saved, the blob goes through its wire
 * form, vdpa1 is checked (the report must be empty) and restored,
 * netlink must show the MAC on vdpa1, the guest's control queue goes on
 * from where it stopped (another MAC), and traffic continues with the
 * ring indexes going on from the saved bases (past the 16-bit wrap with
 * the default count); last an early restore of vdpa1's state onto vdpa1
 * itself (begin, commit), and traffic again.
 *
 * Before that, a migration cancelled after the save: the source resumes
 * (in place with RESUME, 6.12; brought up again on 6.1) and the last
 * quarter of the frames go through it.
 *
 * Usage: vm_migrate [FRAMES]   (frames before and after the move, 40000)
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "vmtest.h"

#define RING 64u
#define PAGE 4096ull
#define GPA 0x100000ull
#define MEM_SIZE VMT_GUEST_SIZE(RING)
#define F(b) ((uint64_t)1 << (b))
#define GUEST_F F(VDPASTATE_F_VERSION_1)

/* One end of the migration: a vDPA device and the handle on it. */
struct side {
	const char *name;
	char path[64];
	struct vdpastate_transport *t;
	struct vdpastate_transport *spy; /* over t: what the handle acks */
	struct vdpastate_dev *dev;
	struct vmt_fds fds;
	struct vmt_link link;
	bool created, mapped;
};

static char why[1024];

/* The backend features each handle acked last, by transport. */
static struct {
	void *t;
	uint64_t acked;
	bool set;
} acks[2];

static int spy_set_backend(void *c, uint64_t features)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (acks[i].t == c) {
			acks[i].acked = features;
			acks[i].set = true;
		}
	return vdpastate_transport_set_backend_features(c, features);
}

static struct vdpastate_transport *spy_on(struct vdpastate_transport *t)
{
	struct vdpastate_transport_ops ops;
	unsigned int i;

	for (i = 0; i < 2 && acks[i].t; i++)
		;
	if (i == 2)
		return NULL;
	acks[i].t = t;
	vmt_forward_ops(&ops);
	ops.set_backend_features = spy_set_backend;
	return vdpastate_transport_new(&ops, sizeof(ops), t);
}

/* What the handle on t acked last; false if it acked nothing. */
static bool acked_of(const struct vdpastate_transport *t, uint64_t *out)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		if (acks[i].t == t && acks[i].set) {
			*out = acks[i].acked;
			return true;
		}
	return false;
}

/* Create the device, open the handle, give it the guest's data rings
 * and control queue. */
static int side_open(struct side *s, const uint8_t mac[6],
		     const struct vmt_guest *g,
		     const struct vdpastate_dev_guest_cvq *gc)
{
	unsigned int q;

	if (vmt_dev_create(s->name, mac, s->path, sizeof(s->path), why,
			   sizeof(why)))
		return -1;
	s->created = true;
	if (vmt_fds_open(&s->fds, why, sizeof(why)))
		return -1;
	vmt_link_direct(&s->link, &s->fds);
	s->t = vdpastate_transport_open_vhost_vdpa(s->path, NULL);
	s->spy = s->t ? spy_on(s->t) : NULL;
	s->dev = s->spy ? vdpastate_dev_open(s->spy, NULL) : NULL;
	if (!s->dev) {
		snprintf(why, sizeof(why), "%s: %s", s->path,
			 vdpastate_last_error());
		return -1;
	}
	for (q = 0; q < 2; q++) {
		VDPASTATE_OPTS(vdpastate_dev_vring, vr, .num = RING,
			       .desc = g->q[q].ring_gpa,
			       .avail = g->q[q].ring_gpa + 0x800,
			       .used = g->q[q].ring_gpa + 0x1000,
			       .kick_fd = s->fds.kick[q],
			       .call_fd = s->fds.call[q]);
		int r = vdpastate_dev_set_vring(s->dev, q, &vr);

		if (r) {
			snprintf(why, sizeof(why), "set_vring %u: %d (%s)", q, r,
				 vdpastate_last_error());
			return -1;
		}
	}
	if (vdpastate_dev_set_guest_cvq(s->dev, gc)) {
		snprintf(why, sizeof(why), "set_guest_cvq: %s",
			 vdpastate_last_error());
		return -1;
	}
	return 0;
}

/*
 * Map guest memory into the device's address space 0 at IOVA = GPA (the
 * device works on the guest's rings and buffers), then start the device
 * (blob NULL) or restore blob onto it: the order a VMM uses.  The handle
 * resets the device, and 6.1's vdpa_sim empties its IOTLB on reset while
 * vhost-vdpa keeps its record of the range; the traffic afterwards shows
 * that the transport put the mapping back.
 */
static int side_up(struct side *s, const struct vmt_guest *g,
		   const struct vdpastate_blob *blob)
{
	int r = vdpastate_transport_dma_map(s->t, 0, GPA, MEM_SIZE, g->host,
					    VDPASTATE_DMA_READ |
						    VDPASTATE_DMA_WRITE);

	if (r) {
		snprintf(why, sizeof(why), "%s: map guest memory: %d (%s)",
			 s->name, r, vdpastate_last_error());
		return -1;
	}
	s->mapped = true;
	r = blob ? vdpastate_dev_restore(s->dev, blob)
		 : vdpastate_dev_start(s->dev, VMT_SIM_F);
	if (r) {
		snprintf(why, sizeof(why), "%s: %s: %d (%s)", s->name,
			 blob ? "restore" : "start", r, vdpastate_last_error());
		return -1;
	}
	return 0;
}

static void side_close(struct side *s)
{
	char w[512];

	if (s->mapped)
		vdpastate_transport_dma_unmap(s->t, 0, GPA, MEM_SIZE);
	s->mapped = false;
	vdpastate_dev_free(s->dev);
	s->dev = NULL;
	vdpastate_transport_free(s->spy);
	s->spy = NULL;
	vdpastate_transport_free(s->t);
	s->t = NULL;
	vmt_fds_close(&s->fds);
	if (s->created && vmt_dev_destroy(s->name, w, sizeof(w)))
		vmt_fail("teardown", "%s", w);
	s->created = false;
}

/* The data queues' bases in a saved blob (record VDPASTATE_DEV_REC_VRINGS). */
static int saved_bases(const struct vdpastate_blob *b, uint16_t base[2])
{
	size_t i, n = vdpastate_blob_record_count(b);
	int found = 0;

	for (i = 0; i < n; i++) {
		const uint8_t *p;
		const void *v;
		uint32_t len, k;
		uint16_t type, cnt;
		uint8_t flags;

		if (vdpastate_blob_record_get(b, i, &type, &flags, &v, &len) ||
		    type != VDPASTATE_DEV_REC_VRINGS || len < 4)
			continue;
		p = v;
		cnt = (uint16_t)(p[0] | p[1] << 8);
		for (k = 0; k < cnt && 4 + (k + 1) * 8 <= len; k++) {
			const uint8_t *e = p + 4 + k * 8;
			uint16_t idx = (uint16_t)(e[0] | e[1] << 8);

			if (idx < 2) {
				base[idx] = (uint16_t)(e[4] | e[5] << 8);
				found |= 1 << idx;
			}
		}
	}
	if (found != 3) {
		snprintf(why, sizeof(why), "the blob has no vring base for %s",
			 found & 1 ? "tx" : "rx");
		return -1;
	}
	return 0;
}

/* Save the device into a fresh blob; NULL on failure (why says it). */
static struct vdpastate_blob *save(struct side *s)
{
	struct vdpastate_blob *b = vdpastate_blob_new();
	int r;

	if (!b) {
		snprintf(why, sizeof(why), "blob_new: out of memory");
		return NULL;
	}
	r = vdpastate_dev_save(s->dev, b);
	if (r) {
		snprintf(why, sizeof(why), "%s: save: %d (%s)", s->name, r,
			 vdpastate_last_error());
		vdpastate_blob_free(b);
		return NULL;
	}
	return b;
}

/* What the destination receives: the blob through its wire form. */
static struct vdpastate_blob *wire(const struct vdpastate_blob *b, long *len)
{
	struct vdpastate_blob *out = vdpastate_blob_new();
	void *buf = NULL;
	int r = -1;

	*len = vdpastate_blob_save(b, NULL, 0);
	if (*len > 0 && out && (buf = malloc((size_t)*len)) &&
	    vdpastate_blob_save(b, buf, (size_t)*len) == *len)
		r = vdpastate_blob_load(out, buf, (size_t)*len);
	if (r) {
		snprintf(why, sizeof(why), "blob wire form (%ld bytes): %d (%s)",
			 *len, r, vdpastate_last_error());
		vdpastate_blob_free(out);
		out = NULL;
	}
	free(buf);
	return out;
}

/* Netlink and the handle's tracked state both show mac on s. */
static int mac_is(const char *check, struct side *s, const uint8_t mac[6],
		  const char *what)
{
	const struct vdpastate_netstate *ns = vdpastate_dev_netstate(s->dev);
	uint8_t nl[6] = { 0 }, tracked[6] = { 0 };
	char a[18], b[18], c[18];

	if (vmt_dev_mac(s->name, nl, why, sizeof(why)))
		return vmt_fail(check, "%s", why);
	if (!ns || vdpastate_netstate_mac(ns, tracked))
		return vmt_fail(check, "%s: no tracked state: %s", s->name,
				vdpastate_last_error());
	if (memcmp(nl, mac, 6) || memcmp(tracked, mac, 6))
		return vmt_fail(check, "%s: netlink reports %s, the handle "
				       "tracks %s, expected %s",
				s->name, vmt_mac_str(nl, a),
				vmt_mac_str(tracked, b), vmt_mac_str(mac, c));
	return vmt_pass(check, "%s: netlink and the tracked state show %s %s",
			s->name, vmt_mac_str(mac, a), what);
}

/* The guest sets mac on its control queue: the answer must be OK. */
static int guest_mac(const char *check, struct side *s, struct vmt_guest *g,
		     const uint8_t mac[6])
{
	struct vdpastate_cvq_cmd *c = vdpastate_cvq_cmd_mac_addr_set(mac);
	uint8_t ack = 0xff;
	int r = -1;
	char m[18];

	if (!c)
		snprintf(why, sizeof(why), "out of memory");
	else if (vmt_guest_cvq_send(g, s->dev, c, &ack, why, sizeof(why)))
		; /* why says it */
	else if (ack != 0)
		snprintf(why, sizeof(why), "%s: the guest's MAC_ADDR_SET %s "
					   "answered 0x%02x",
			 s->name, vmt_mac_str(mac, m), ack);
	else
		r = 0;
	vdpastate_cvq_cmd_free(c);
	return r ? vmt_fail(check, "%s", why) : 0;
}

static int traffic(const char *check, struct side *s, struct vmt_guest *g,
		   uint64_t first, uint64_t n)
{
	double secs = 0;
	char m[18];

	if (vmt_traffic(g, &s->link, first, n, &secs, why, sizeof(why)))
		return vmt_fail(check, "%s: %s", s->name, why);
	return vmt_pass(check,
			"%s: frames %" PRIu64 "..%" PRIu64 " to %s back "
			"byte-exact in order, %.2f s",
			s->name, first, first + n - 1, vmt_mac_str(g->mac, m),
			secs);
}

/* What the kernel offers and what the handle acked at the restore. */
static int backend_acked(const struct side *s)
{
	const struct vmt_kernel *k = vmt_kernel(why, sizeof(why));
	uint64_t offered = 0, acked = 0;
	char o[256], a[256];

	if (!k)
		return vmt_fail("backend", "%s", why);
	if (vdpastate_transport_get_backend_features(s->t, &offered))
		return vmt_fail("backend", "%s: get_backend_features: %s",
				s->name, vdpastate_last_error());
	if (!acked_of(s->t, &acked))
		return vmt_fail("backend", "%s: the handle acked no backend "
				"features", s->name);
	if (acked != k->backend_acked)
		return vmt_fail("backend", "%s on linux %s: the handle acked "
				"0x%" PRIx64 " (%s), expected 0x%" PRIx64,
				s->name, k->version, acked,
				vmt_backend_names(acked, a, sizeof(a)),
				k->backend_acked);
	return vmt_pass("backend", "%s on linux %s: the kernel offers 0x%"
			PRIx64 " (%s), the transport passes on 0x%" PRIx64
			", the handle acked 0x%" PRIx64 " (%s)",
			s->name, k->version, k->backend,
			vmt_backend_names(k->backend, o, sizeof(o)), offered,
			acked, vmt_backend_names(acked, a, sizeof(a)));
}

/*
 * An early restore of the saved state onto the same device: begin (the
 * device comes up with its data queues disabled), commit (the final
 * bases, on a device past DRIVER_OK, which 6.12 takes only while it is
 * suspended, then the data queues enabled); traffic goes on from them.
 */
static void early_restore(struct side *s, struct vmt_guest *g,
			  const struct vdpastate_blob *b, uint64_t at)
{
	const char *step = "restore_begin";
	int r = vdpastate_dev_restore_begin(s->dev, b);

	if (!r) {
		step = "restore_commit";
		r = vdpastate_dev_restore_commit(s->dev, b);
	}
	if (r) {
		vmt_fail("early-restore", "%s: %s: %d (%s)", s->name, step, r,
			 vdpastate_last_error());
		return;
	}
	traffic("early-restore", s, g, at, 1000);
}

/*
 * A migration cancelled after the save: the source resumes (in place
 * where the kernel offers RESUME, the data queues being on the guest's
 * rings; brought up again on 6.1), its tracked state unchanged, and the
 * guest's traffic goes on: frames first..first+n-1.
 */
static int cancelled(struct side *s, struct vmt_guest *g, uint64_t first,
		     uint64_t n)
{
	const struct vmt_kernel *k = vmt_kernel(why, sizeof(why));
	struct vdpastate_netstate *before;
	struct vdpastate_blob *b;
	const char *diff;
	int want, r;

	if (!k)
		return vmt_fail("cancel", "%s", why);
	want = k->backend & ((uint64_t)1 << VDPASTATE_BACKEND_F_RESUME)
		       ? VDPASTATE_DEV_RESUMED
		       : VDPASTATE_DEV_RESTARTED;
	before = vdpastate_netstate_copy(vdpastate_dev_netstate(s->dev));
	if (!before || !(b = save(s))) {
		vdpastate_netstate_free(before);
		return vmt_fail("cancel", "save: %s", before ? why : "no memory");
	}
	r = vdpastate_dev_resume(s->dev);
	vdpastate_blob_free(b);
	diff = vdpastate_netstate_state_diff(before, vdpastate_dev_netstate(s->dev));
	vdpastate_netstate_free(before);
	if (r != want)
		return vmt_fail("cancel", "linux %s: vdpastate_dev_resume() gave %d "
			       "(%s), expected %s", k->version, r,
			       vdpastate_last_error(),
			       want == VDPASTATE_DEV_RESUMED ? "RESUMED" : "RESTARTED");
	if (diff)
		return vmt_fail("cancel", "the tracked %s changed", diff);
	vmt_pass("cancel", "linux %s: saved, then vdpastate_dev_resume(): %s; "
		 "tracked state unchanged", k->version,
		 r == VDPASTATE_DEV_RESUMED ? "resumed in place (VHOST_VDPA_RESUME)"
					    : "brought up again (no RESUME)");
	return traffic("traffic-cancelled", s, g, first, n);
}

int main(int argc, char **argv)
{
	static const uint8_t mac0[6] = VMT_MAC0, mac1[6] = VMT_MAC1;
	static const uint8_t newmac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 40000;
	struct side src = { .name = "vdpa0", .fds = { { -1, -1 }, { -1, -1 } } };
	struct side dst = { .name = "vdpa1", .fds = { { -1, -1 }, { -1, -1 } } };
	struct vdpastate_blob *blob = NULL, *recv = NULL, *after = NULL;
	struct vdpastate_dev_report *rep = NULL;
	static const uint8_t mac2[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xf0 };
	struct vmt_guest g = { .cvq_kick = -1, .cvq_call = -1 };
	struct vdpastate_dev_guest_cvq gc;
	struct vdpastate_mem *table = vdpastate_mem_new();
	uint8_t *mem = vmt_shared_alloc(MEM_SIZE);
	uint16_t la = 0, ui = 0;
	uint64_t offered = 0;
	uint16_t base[2] = { 0, 0 };
	long wire_len = 0;
	int r;

	vmt_case("migrate");
	if (!mem || !table) {
		vmt_fail("setup", "out of memory");
		goto out;
	}
	if (vdpastate_mem_add(table, GPA, MEM_SIZE, mem, 0)) {
		vmt_fail("setup", "mem_add: %s", vdpastate_last_error());
		goto out;
	}
	if (vmt_guest_init(&g, mem, GPA, RING, GUEST_F, why, sizeof(why)) ||
	    vmt_guest_cvq_init(&g, table, &gc, why, sizeof(why)) ||
	    side_open(&src, mac0, &g, &gc) || side_open(&dst, mac1, &g, &gc)) {
		vmt_fail("setup", "%s", why);
		goto out;
	}
	r = vdpastate_transport_get_device_features(src.t, &offered);
	if (r || (offered & VMT_SIM_F) != VMT_SIM_F) {
		vmt_fail("setup", "vdpa0 offers 0x%" PRIx64 " (%d), the case "
				  "needs 0x%" PRIx64,
			 offered, r, VMT_SIM_F);
		goto out;
	}
	vmt_pass("setup", "vdpa0 %s, vdpa1 %s; handles with rx and tx on the "
			  "guest's rings of %u and the guest's control queue",
		 src.path, dst.path, RING);

	/* Source: start, MAC through the control queue, traffic. */
	if (side_up(&src, &g, NULL)) {
		vmt_fail("start", "%s", why);
		goto out;
	}
	vmt_pass("start", "vdpa0 started with features 0x%" PRIx64 "; guest "
			  "memory mapped at IOVA 0x%llx before the start",
		 VMT_SIM_F, GPA);
	if (guest_mac("mac-set", &src, &g, newmac) ||
	    mac_is("mac-set", &src, newmac, "after the guest's MAC_ADDR_SET "
					    "answered OK"))
		goto out;
	memcpy(g.mac, newmac, 6);
	/* A cancelled migration first: the last frames after the resume. */
	if (traffic("traffic-source", &src, &g, 0, n - n / 4) ||
	    cancelled(&src, &g, n - n / 4, n / 4))
		goto out;

	/* Suspend and save; the destination gets the wire form. */
	blob = save(&src);
	if (!blob || saved_bases(blob, base)) {
		vmt_fail("save", "%s", why);
		goto out;
	}
	if (base[VMT_RXQ] != (uint16_t)n || base[VMT_TXQ] != (uint16_t)n) {
		vmt_fail("save", "saved bases rx %u, tx %u; the guest passed "
				 "%" PRIu64 " frames",
			 base[VMT_RXQ], base[VMT_TXQ], n);
		goto out;
	}
	recv = wire(blob, &wire_len);
	if (!recv) {
		vmt_fail("save", "%s", why);
		goto out;
	}
	vmt_pass("save", "vdpa0 suspended and saved: %ld bytes, vring bases "
			 "rx %u tx %u",
		 wire_len, base[VMT_RXQ], base[VMT_TXQ]);

	/* Destination: check, restore, the guest memory, the MAC. */
	r = vdpastate_dev_check(dst.dev, recv, &rep);
	if (r) {
		vmt_fail("check", "vdpa1: %d (%s)", r, vdpastate_last_error());
		goto out;
	}
	if (vdpastate_dev_report_count(rep)) {
		size_t i;

		for (i = 0; i < vdpastate_dev_report_count(rep); i++)
			vmt_fail("check", "vdpa1: problem %zu: %s", i,
				 vdpastate_dev_report_get(rep, i, NULL));
		goto out;
	}
	vmt_pass("check", "vdpa1 can take the state: the report is empty");
	if (side_up(&dst, &g, recv)) {
		vmt_fail("restore", "%s", why);
		goto out;
	}
	{
		VDPASTATE_OPTS(vdpastate_dev_stats, st);

		vdpastate_dev_get_stats(dst.dev, &st);
		vmt_pass("restore", "vdpa1 restored in %.2f ms: %" PRIu64
				    " control command(s) in %" PRIu64 " batch(es)",
			 st.last_restore_ns / 1e6, st.cvq_commands,
			 st.cvq_batches);
	}
	if (backend_acked(&dst))
		goto out;
	side_close(&src); /* the source is gone once the destination runs */
	if (mac_is("mac-restored", &dst, newmac, "(it was created with "
						 "52:54:00:12:34:57)"))
		goto out;

	/* The guest's control queue and its traffic continue. */
	if (vdpastate_dev_guest_cvq_state(dst.dev, &la, &ui) || la != 1 ||
	    ui != 1) {
		vmt_fail("guest-cvq", "vdpa1's guest control ring at avail %u, "
				      "used %u; the guest sent 1 command",
			 la, ui);
		goto out;
	}
	if (guest_mac("guest-cvq", &dst, &g, mac2) ||
	    mac_is("guest-cvq", &dst, mac2, "after the guest's second "
					    "MAC_ADDR_SET, the first on vdpa1, "
					    "on the restored control ring"))
		goto out;
	memcpy(g.mac, mac2, 6);
	if (traffic("traffic-dest", &dst, &g, n, n))
		goto out;
	after = save(&dst);
	if (!after || saved_bases(after, base)) {
		vmt_fail("bases", "%s", why);
		goto out;
	}
	if (base[VMT_RXQ] != (uint16_t)(2 * n) ||
	    base[VMT_TXQ] != (uint16_t)(2 * n) ||
	    g.q[VMT_RXQ].drv.last_used != (uint16_t)(2 * n) ||
	    g.q[VMT_TXQ].drv.last_used != (uint16_t)(2 * n))
		vmt_fail("bases", "after %" PRIu64 " frames on each device: vdpa1 "
				  "bases rx %u tx %u, guest used rx %u tx %u "
				  "(expected %u for all)",
			 n, base[VMT_RXQ], base[VMT_TXQ],
			 g.q[VMT_RXQ].drv.last_used, g.q[VMT_TXQ].drv.last_used,
			 (uint16_t)(2 * n));
	else
		vmt_pass("bases", "vdpa1 went on from the saved bases: rx and tx "
				  "at %u (%" PRIu64 " frames%s), the guest's used "
				  "indexes too",
			 base[VMT_RXQ], 2 * n,
			 2 * n > 0xffff ? ", the 16-bit indexes wrapped" : "");
	early_restore(&dst, &g, after, 2 * n);
out:
	vdpastate_dev_report_free(rep);
	vdpastate_blob_free(after);
	vdpastate_blob_free(recv);
	vdpastate_blob_free(blob);
	side_close(&dst);
	side_close(&src);
	vmt_guest_fini(&g);
	vdpastate_mem_free(table);
	vmt_shared_free(mem, MEM_SIZE);
	return vmt_exit();
}

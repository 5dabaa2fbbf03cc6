/* SPDX-License-Identifier: MIT */
/*
 * examples/vhost-user-net.c - a vhost-user back-end for a virtio-net
 * device, built on the public API only: any vhost-user front-end (QEMU,
 * User-Mode Linux's virtio_uml) attaches to its UNIX socket.
 *
 * The device is the simulated one (vdpastate_sim_new(), inline mode): its
 * TX queues loop frames back into RX.  Guest memory comes with
 * SET_MEM_TABLE as file descriptors, mmapped into a vdpastate_mem table
 * and DMA-mapped into the device at IOVA = GPA.  Every data queue is
 * relayed by a shadow virtqueue (vdpastate_svq); the guest's control queue
 * is served by the device handle (vdpastate_dev_handle_guest_cvq()), which
 * validates each command, forwards it to the device and tracks the state
 * the device acknowledged.
 *
 * Every control command the guest sends is logged with its answer (to
 * --log, default stderr), and after each one the handle's tracked state
 * is compared with the device's own; --state FILE receives the state and
 * the verdict ("agree yes|no"), rewritten atomically after each command.
 *
 * A malformed or out-of-order message is reported and closes the
 * connection; the back-end then waits for the next one.
 *
 * GET_VRING_BASE stops the datapath: the handle is saved (in-flight
 * chains rewound to the guest, positions and tracked state kept) and each
 * ring reports where it stopped.  A restart whose SET_VRING_BASE values
 * are those positions (QEMU's VM stop/cont) restores that save: the rings
 * continue, and the state the driver set up (MAC, filters, ...) is the
 * device's again.  Rings starting at 0 start a reset device.  Other
 * non-zero bases, or positions the guest's ring cannot have, are protocol
 * errors.
 *
 * With --hash-report the guest is offered HASH_REPORT (the 20-byte
 * virtio-net header; hash types and key set with MQ_HASH_CONFIG) instead
 * of RSS.
 *
 * With --device /dev/vhost-vdpa-N the device is a kernel vDPA device
 * instead (for instance vdpa_sim_net) and --to /dev/vhost-vdpa-M names
 * the migration's second device; a migration back goes to the first.
 * The guest is offered what the device offers (less ACCESS_PLATFORM).
 * The device's state that can be read back is its configuration space,
 * so after each control command the tracked MAC is compared with the
 * device's; device faults cannot be injected.
 *
 * With --direct the data queues are not shadowed: the device is given the
 * guest's own rings (vdpastate_dev_set_vring() with their guest-physical
 * addresses, guest memory being mapped at IOVA = GPA) and the front-end's
 * kick and call descriptors; only the control queue goes through the
 * handle.  This is the baseline of bench/uml.sh; a stop does not report
 * the queues' positions back and migration requests are ignored.
 *
 * Usage: vhost-user-net --socket PATH [--pairs N] [--log FILE]
 *                       [--state FILE] [--once] [--direct] [--hash-report]
 *                       [--device /dev/vhost-vdpa-N [--to /dev/vhost-vdpa-M]]
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libvdpastate/libvdpastate.h>

#include "vhost-user-proto.h"

#define NF(bit) (UINT64_C(1) << VDPASTATE_NET_F_##bit)
#define RF(bit) (UINT64_C(1) << VDPASTATE_F_##bit)

/* What the device offers beyond the simulator's default set: guest TSO,
 * so that the driver has GRO_HW to switch (GUEST_OFFLOADS_SET). */
#define SIM_EXTRA (NF(GUEST_TSO4) | NF(GUEST_TSO6))
/* Device features the guest may see: not ACCESS_PLATFORM (the front-end
 * gives guest-physical addresses), not HASH_REPORT (a longer virtio-net
 * header).  RSS is offered: the driver then sets queue pairs, the
 * indirection table, hash types and key with RSS_CONFIG (the simulated
 * device tracks them; it does not steer by them). */
#define GUEST_MASK (~(RF(ACCESS_PLATFORM) | RF(RING_PACKED) | NF(HASH_REPORT)))
/* --hash-report: HASH_REPORT (the 20-byte header, hash types and key set
 * with HASH_CONFIG), not RSS; Linux then sends HASH_CONFIG. */
#define GUEST_MASK_HASH (~(RF(ACCESS_PLATFORM) | RF(RING_PACKED) | NF(RSS)))
/* BACKEND_REQ: UML's virtio_uml only allocates its interrupt for the
 * device with the back-end request channel; without it the probe fails
 * (-EBUSY: its call fds would take irq 0, the timer's).  Nothing is sent
 * on the channel. */
#define PROTOCOL_OFFERED                                             \
	((1ull << VU_PROTOCOL_F_MQ) | (1ull << VU_PROTOCOL_F_REPLY_ACK) | \
	 (1ull << VU_PROTOCOL_F_CONFIG) | (1ull << VU_PROTOCOL_F_BACKEND_REQ) | \
	 (1ull << VU_PROTOCOL_F_LOG_SHMFD))

struct queue {
	int kick, call;   /* the front-end's (-1: none) */
	int dkick, dcall; /* the device side of its SVQ */
	struct vdpastate_svq *svq;
	bool broken;      /* the SVQ stopped on an error, reported once */
};

struct region {
	void *map;
	size_t maplen;
	uint64_t gpa, size;
	void *hva;
};

static struct be {
	const char *sock_path, *state_path;
	/* --device, --to: the two kernel devices (NULL: simulated); the
	 * datapath runs on vdpa[cur], a migration moves it to the other. */
	const char *vdpa[2];
	unsigned int cur;
	FILE *log;
	bool once, direct, hash_report;
	unsigned int pairs, nq;
	int lfd, cfd, req_fd;
	struct vu_session s;
	uint64_t dev_offered, offered;
	struct vdpastate_sim_opts so; /* for the migration's second device */
	struct vdpastate_transport *t;
	struct vdpastate_sim *sim; /* NULL on a kernel device */
	struct vdpastate_mem *mem;
	struct vdpastate_iova *iova;
	struct region reg[VU_MAX_REGIONS];
	unsigned int nreg;
	struct queue q[VU_MAX_QUEUES];
	struct vdpastate_dev *dev;
	bool running;
	/* The last stop (GET_VRING_BASE): the tracked state and the queues'
	 * positions (vdpastate_dev_save()), and the bases it reported; a
	 * restart at those bases restores it (NULL: none to continue). */
	struct vdpastate_blob *stopped;
	uint16_t stopped_base[VU_MAX_QUEUES];
	/* Dirty log (SET_LOG_BASE): the vhost bitmap, one bit per 4 KiB
	 * guest page, which the SVQs fill while LOG_ALL is negotiated. */
	void *log_map;
	size_t log_maplen;
	uint64_t *bitmap;
	uint64_t log_bytes;
	uint64_t dev_features;
	unsigned long cmds, cmds_ok, cmds_err, state_checks, state_diffs;
	unsigned int migrations, cancels;
	/* An early migration between begin and commit: the destination. */
	struct dst {
		struct vdpastate_transport *t;
		struct vdpastate_dev *dev;
		struct vdpastate_svq *svq[VU_MAX_QUEUES];
		int dkick[VU_MAX_QUEUES], dcall[VU_MAX_QUEUES];
	} *pend;
	bool fatal; /* a state disagreement: reported at exit */
	bool bye;   /* the guest announced its power-off (request "bye") */
} be;

static volatile sig_atomic_t stop;

__attribute__((format(printf, 1, 2)))
static void say(const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(be.log, "[%5ld.%03ld] ", (long)ts.tv_sec % 100000,
		ts.tv_nsec / 1000000);
	va_start(ap, fmt);
	vfprintf(be.log, fmt, ap);
	va_end(ap);
	fputc('\n', be.log);
	fflush(be.log);
}

/* A library call failed: say what and why. */
static int lib_err(int r, const char *what)
{
	say("error: %s: %s (%s)", what, vdpastate_strerror(r),
	    vdpastate_last_error());
	return r;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* ------------------------------------------------------------ device */

/* Device number side: the simulated one (a new one each time) or
 * --device / --to. */
static struct vdpastate_transport *device_open(unsigned int side)
{
	struct vdpastate_transport *t;

	if (!be.vdpa[0])
		return vdpastate_sim_new(&be.so);
	if (!be.vdpa[side]) {
		errno = EINVAL;
		say("error: no second device (--to) to migrate to");
		return NULL;
	}
	if (!(t = vdpastate_transport_open_vhost_vdpa(be.vdpa[side], NULL)))
		say("error: %s: %s", be.vdpa[side], vdpastate_last_error());
	return t;
}

/* A kernel device: the guest sees its features, its queue pairs. */
static int device_new_vdpa(void)
{
	uint8_t cfg[12];
	uint16_t maxp;
	int r;

	if (!(be.t = device_open(0)))
		return -ENODEV;
	if ((r = vdpastate_transport_get_device_features(be.t, &be.dev_offered)))
		return lib_err(r, "get_device_features");
	if (!(be.dev_offered & NF(MQ))) {
		be.pairs = 1;
	} else if ((r = vdpastate_transport_get_config(be.t, 0, cfg, sizeof(cfg)))) {
		return lib_err(r, "get_config");
	} else {
		maxp = (uint16_t)(cfg[8] | cfg[9] << 8);
		if (maxp < be.pairs)
			be.pairs = maxp ? maxp : 1;
	}
	return 0;
}

static int device_new(void)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, so, .max_queue_pairs = (uint16_t)be.pairs);
	uint64_t first, last;
	int r;

	if (be.vdpa[0]) {
		if ((r = device_new_vdpa()))
			return r;
		goto offer;
	}
	/* Ask the simulator what it offers by default, then add SIM_EXTRA. */
	if (!(be.t = vdpastate_sim_new(&so)))
		return lib_err(-errno, "vdpastate_sim_new");
	r = vdpastate_transport_get_device_features(be.t, &be.dev_offered);
	vdpastate_transport_free(be.t);
	if (r)
		return lib_err(r, "get_device_features");
	so.device_features = be.dev_offered | SIM_EXTRA |
			     (be.hash_report ? NF(HASH_REPORT) : 0);
	if (!(be.t = vdpastate_sim_new(&so)))
		return lib_err(-errno, "vdpastate_sim_new");
	be.sim = vdpastate_sim_from_transport(be.t);
	be.dev_offered = so.device_features;
	be.so = so;
offer:
	be.offered = (be.dev_offered & (be.hash_report ? GUEST_MASK_HASH : GUEST_MASK)) | (1ull << VU_F_PROTOCOL_FEATURES) |
		     (1ull << VU_F_LOG_ALL);
	if ((r = vdpastate_transport_get_iova_range(be.t, &first, &last)))
		return lib_err(r, "get_iova_range");
	if (!(be.mem = vdpastate_mem_new()) ||
	    !(be.iova = vdpastate_iova_new(first, last)))
		return lib_err(-ENOMEM, "memory table");
	be.nq = 2 * be.pairs + 1;
	vu_session_init(&be.s, be.offered, PROTOCOL_OFFERED, be.nq, 256);
	return 0;
}

/* The negotiated virtio features, without the vhost-user bits. */
static uint64_t virtio_features(void)
{
	return be.s.features &
	       ~((1ull << VU_F_PROTOCOL_FEATURES) | (1ull << VU_F_LOG_ALL));
}

/* The queues the driver uses with the negotiated features. */
static unsigned int data_queues(void)
{
	return 2 * (be.s.features & NF(MQ) ? be.pairs : 1);
}

static unsigned int guest_cvq_index(void)
{
	return be.s.features & NF(MQ) ? 2 * be.pairs : 2;
}

static void dst_free(struct dst *d);
static void log_drop(void);

/* Stop the datapath: device reset, SVQs stopped (their guest positions
 * kept for GET_VRING_BASE), handle freed.  Mappings of guest memory stay. */
static void datapath_stop(const char *why)
{
	unsigned int i;
	uint16_t la, ui;

	if (!be.running)
		return;
	say("datapath: stop (%s)", why);
	dst_free(be.pend);
	be.pend = NULL;
	/* Saved first: the SVQs stop (in flight rewound to the guest) and
	 * the state is kept for a restart where the queues stopped. */
	vdpastate_blob_free(be.stopped);
	if ((be.stopped = vdpastate_blob_new()) &&
	    vdpastate_dev_save(be.dev, be.stopped)) {
		say("datapath: the state could not be saved (%s): a restart "
		    "must start the rings from 0", vdpastate_last_error());
		vdpastate_blob_free(be.stopped);
		be.stopped = NULL;
	}
	vdpastate_transport_reset(be.t);
	if (!vdpastate_dev_guest_cvq_state(be.dev, &la, &ui))
		be.s.vr[guest_cvq_index()].base = be.stopped_base[guest_cvq_index()] = la;
	for (i = 0; i < be.nq - 1; i++) {
		struct queue *q = &be.q[i];

		if (!q->svq)
			continue;
		vdpastate_svq_stop(q->svq, VDPASTATE_SVQ_STOP_REWIND);
		if (!vdpastate_svq_get_state(q->svq, &la, &ui))
			be.s.vr[i].base = be.stopped_base[i] = la;
		vdpastate_transport_unmap_svq(be.t, 0, q->svq);
		vdpastate_svq_free(q->svq);
		q->svq = NULL;
		close(q->dkick);
		close(q->dcall);
		q->dkick = q->dcall = -1;
		q->broken = false;
	}
	vdpastate_dev_free(be.dev);
	be.dev = NULL;
	be.running = false;
}

static void mem_drop(void)
{
	unsigned int i;

	for (i = 0; i < be.nreg; i++) {
		struct region *g = &be.reg[i];

		vdpastate_transport_dma_unmap(be.t, 0, g->gpa, g->size);
		vdpastate_iova_unmap(be.iova, g->gpa);
		vdpastate_mem_remove(be.mem, g->gpa);
		munmap(g->map, g->maplen);
	}
	be.nreg = 0;
}

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Forget the connection: datapath, memory, descriptors, session. */
static void conn_reset(void)
{
	unsigned int i;

	datapath_stop("front-end reset");
	be.bye = false;
	vdpastate_blob_free(be.stopped);
	be.stopped = NULL;
	mem_drop();
	for (i = 0; i < VU_MAX_QUEUES; i++) {
		fd_close(&be.q[i].kick);
		fd_close(&be.q[i].call);
		be.q[i].dkick = be.q[i].dcall = -1;
	}
	fd_close(&be.req_fd);
	log_drop();
	vu_session_init(&be.s, be.offered, PROTOCOL_OFFERED, be.nq, 256);
}

static int ring_gpa(unsigned int i, uint64_t *d, uint64_t *a, uint64_t *u)
{
	const struct vu_vring *v = &be.s.vr[i];

	return vu_session_uaddr_to_gpa(&be.s, v->desc, 16ull * v->num, d) ||
	       vu_session_uaddr_to_gpa(&be.s, v->avail, 6ull + 2 * v->num, a) ||
	       vu_session_uaddr_to_gpa(&be.s, v->used, 6ull + 8 * v->num, u)
		       ? -EFAULT : 0;
}

static int efd(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

static void check_state(void);

/* Point every SVQ at the dirty log while LOG_ALL is negotiated. */
static void apply_log(void)
{
	bool on = be.bitmap && (be.s.features & (1ull << VU_F_LOG_ALL));
	unsigned int i;

	for (i = 0; i < VU_MAX_QUEUES; i++)
		if (be.q[i].svq)
			vdpastate_svq_set_dirty_log(be.q[i].svq, on ? be.bitmap : NULL,
						    on ? be.log_bytes : 0, NULL, NULL);
}

static void log_drop(void)
{
	if (be.log_map)
		munmap(be.log_map, be.log_maplen);
	be.log_map = NULL;
	be.bitmap = NULL;
	be.log_bytes = 0;
	apply_log();
}

/*
 * Shadow data queue i for the handle dev on transport t: a new SVQ over
 * the guest's ring (*svq, with its device-side eventfds *dkick, *dcall),
 * its shadow ring mapped into t, given to dev.  What was created is left
 * in the out parameters for the caller to free on failure.
 */
static int shadow_queue(struct vdpastate_dev *dev, struct vdpastate_transport *t,
			unsigned int i, struct vdpastate_svq **svq, int *dkick,
			int *dcall)
{
	uint64_t guest = virtio_features();
	VDPASTATE_OPTS(vdpastate_svq_opts, so, .guest_features = guest,
		       .device_features = be.dev_features);
	VDPASTATE_OPTS(vdpastate_dev_vring, vr, .num = be.s.vr[i].num,
		       .kick_fd = -1, .call_fd = -1);
	int r;

	if (ring_gpa(i, &vr.desc, &vr.avail, &vr.used))
		return say("error: vring %u: not in guest memory", i), -EFAULT;
	if (!(*svq = vdpastate_svq_new(vr.num, be.mem, be.iova, &so)))
		return lib_err(-errno, "vdpastate_svq_new");
	*dkick = efd();
	*dcall = efd();
	if (*dkick < 0 || *dcall < 0)
		return say("error: eventfd: %s", strerror(errno)), -EMFILE;
	if ((r = vdpastate_svq_set_guest_ring(*svq, vr.desc, vr.avail, vr.used)) ||
	    (r = vdpastate_svq_set_fds(*svq, be.q[i].kick, be.q[i].call, *dkick,
				       *dcall)) ||
	    (r = vdpastate_transport_map_svq(t, 0, *svq)) ||
	    (r = vdpastate_dev_set_vring(dev, i, &vr)) ||
	    (r = vdpastate_dev_set_svq(dev, i, *svq, *dkick, *dcall)))
		return lib_err(r, "data queue setup");
	return 0;
}

/* --direct: the device reads and writes the guest's ring of data queue i
 * itself (guest memory is mapped at IOVA = GPA) and takes the front-end's
 * kick and call descriptors. */
static int direct_queue(unsigned int i)
{
	VDPASTATE_OPTS(vdpastate_dev_vring, vr, .num = be.s.vr[i].num,
		       .kick_fd = be.q[i].kick, .call_fd = be.q[i].call);
	int r;

	if (ring_gpa(i, &vr.desc, &vr.avail, &vr.used))
		return say("error: vring %u: not in guest memory", i), -EFAULT;
	if ((r = vdpastate_dev_set_vring(be.dev, i, &vr)))
		return lib_err(r, "data queue setup (direct)");
	return 0;
}

/* Give the handle dev the guest's control queue at the given position. */
static int guest_cvq_to(struct vdpastate_dev *dev, uint16_t la, uint16_t ui)
{
	unsigned int ci = guest_cvq_index();
	VDPASTATE_OPTS(vdpastate_dev_guest_cvq, gc, .mem = be.mem,
		       .num = be.s.vr[ci].num, .kick_fd = be.q[ci].kick,
		       .call_fd = be.q[ci].call, .last_avail_idx = la,
		       .used_idx = ui);
	int r;

	if (!(be.dev_features & NF(CTRL_VQ)))
		return 0;
	if (ring_gpa(ci, &gc.desc, &gc.avail, &gc.used))
		return say("error: control vring: not in guest memory"), -EFAULT;
	if ((r = vdpastate_dev_set_guest_cvq(dev, &gc)))
		return lib_err(r, "vdpastate_dev_set_guest_cvq");
	return 0;
}

/*
 * Where vring i starts: at the front-end's SET_VRING_BASE (*la, the next
 * available entry to take), writing used entries from the index in the
 * guest's used ring (*ui), as after GET_VRING_BASE and a restart (the
 * guest's rings keep their indexes).  Positions the guest's ring cannot
 * have are a protocol error: a base more than the ring size behind the
 * guest's avail idx, or ahead of it, or a used idx the base does not
 * follow within the ring size.  Entries between used idx and base were
 * taken before the stop and are not returned (the log says so).
 */
static uint16_t rd16(uint64_t gpa, bool *ok);

static int ring_position(unsigned int i, uint16_t *la, uint16_t *ui)
{
	const struct vu_vring *v = &be.s.vr[i];
	uint64_t d, a, u;
	uint16_t avail;
	bool ok = true;

	if (ring_gpa(i, &d, &a, &u))
		return say("protocol error: vring %u: not in guest memory; closing "
			   "the connection", i), -EPROTO;
	avail = rd16(a + 2, &ok);
	*ui = rd16(u + 2, &ok);
	*la = v->base;
	if (!ok)
		return say("protocol error: vring %u: ring indexes not readable; "
			   "closing the connection", i), -EPROTO;
	if ((uint16_t)(avail - *la) > v->num || (uint16_t)(*la - *ui) > v->num)
		return say("protocol error: vring %u: SET_VRING_BASE %u does not fit "
			   "the guest's ring (avail idx %u, used idx %u, size %u: "
			   "the base must lie between used idx and avail idx, "
			   "avail idx at most the size ahead); closing the "
			   "connection", i, *la, avail, *ui, v->num), -EPROTO;
	if (!*la && !*ui)
		return 0;
	if (be.direct && i != guest_cvq_index())
		return say("protocol error: vring %u: SET_VRING_BASE %u, used idx %u: "
			   "with --direct only a start from 0 is supported; closing "
			   "the connection", i, *la, *ui), -EPROTO;
	if (*la != *ui && i != guest_cvq_index())
		return say("protocol error: vring %u: SET_VRING_BASE %u but used idx "
			   "%u: %u entries taken before the stop were never returned "
			   "(this back-end rewinds them at a stop); closing the "
			   "connection", i, *la, *ui, (uint16_t)(*la - *ui)), -EPROTO;
	say("vring %u: continues at base %u (avail idx %u, used idx %u)", i, *la,
	    avail, *ui);
	return 0;
}

/*
 * A start at non-zero positions continues the last stop: the library
 * starts shadowed queues where a saved blob says (vdpastate_dev_restore()),
 * and that blob also carries the state the guest's driver set up, which a
 * driver that did not reset its device does not send again.  Positions
 * other than those the stop reported cannot be continued.  *cont: restore
 * be.stopped rather than start from reset.
 */
static int continue_at(const uint16_t *la, const uint16_t *ui, unsigned int nd,
		       unsigned int ci, bool cvq, bool *cont)
{
	unsigned int i;

	*cont = false;
	for (i = 0; i <= ci; i++)
		if ((i < nd || (i == ci && cvq)) && (la[i] || ui[i]))
			*cont = true;
	if (!*cont)
		return 0;
	for (i = 0; i <= ci; i++) {
		if (!(i < nd || (i == ci && cvq)))
			continue;
		if (!be.stopped)
			return say("protocol error: vring %u: SET_VRING_BASE %u with no "
				   "stop to continue (only a start from 0, or a restart "
				   "where GET_VRING_BASE stopped the rings, is "
				   "supported); closing the connection", i, la[i]),
			       -EPROTO;
		if (la[i] != be.stopped_base[i])
			return say("protocol error: vring %u: SET_VRING_BASE %u, but "
				   "GET_VRING_BASE reported %u (a restart continues "
				   "where the rings stopped); closing the connection",
				   i, la[i], be.stopped_base[i]), -EPROTO;
	}
	return 0;
}

/* Start the datapath once every queue the driver uses is ready. */
static int datapath_try_start(void)
{
	unsigned int nd = data_queues(), ci = guest_cvq_index(), i;
	uint64_t guest = virtio_features();
	uint16_t la[VU_MAX_QUEUES], ui[VU_MAX_QUEUES];
	bool cont;
	int r;

	if (be.running || !be.s.features_set || !be.s.mem_set)
		return 0;
	for (i = 0; i < nd; i++)
		if (!be.s.vr[i].enabled || !be.s.vr[i].addr_set)
			return 0;
	if ((guest & NF(CTRL_VQ)) && !be.s.vr[ci].enabled)
		return 0;
	for (i = 0; i <= ci; i++)
		if ((i < nd || (i == ci && (guest & NF(CTRL_VQ)))) &&
		    (r = ring_position(i, &la[i], &ui[i])))
			return r;
	if ((r = continue_at(la, ui, nd, ci, guest & NF(CTRL_VQ), &cont)))
		return r;
	be.dev_features = guest | (be.dev_offered & RF(ACCESS_PLATFORM));
	if (!(be.dev = vdpastate_dev_open(be.t, NULL)))
		return lib_err(-errno, "vdpastate_dev_open");
	be.running = true; /* from here on datapath_stop() undoes */
	for (i = 0; i < nd; i++)
		if ((r = be.direct ? direct_queue(i)
				   : shadow_queue(be.dev, be.t, i, &be.q[i].svq,
						  &be.q[i].dkick, &be.q[i].dcall)))
			return r;
	if (cont) {
		if ((r = vdpastate_dev_restore(be.dev, be.stopped)))
			return lib_err(r, "vdpastate_dev_restore (restart)");
		say("datapath: restart: the state and positions of the stop "
		    "restored");
	} else if ((r = vdpastate_dev_start(be.dev, be.dev_features))) {
		return lib_err(r, "vdpastate_dev_start");
	}
	vdpastate_blob_free(be.stopped);
	be.stopped = NULL;
	if ((guest & NF(CTRL_VQ)) && (r = guest_cvq_to(be.dev, la[ci], ui[ci])))
		return r;
	apply_log();
	check_state(); /* the state file starts with the reset state */
	say("datapath: started, features 0x%llx (device 0x%llx), %u data "
	    "queues %s%s", (unsigned long long)guest,
	    (unsigned long long)be.dev_features, nd,
	    be.direct ? "on the guest's rings (direct)" : "shadowed",
	    guest & NF(CTRL_VQ) ? ", guest control queue on the handle" : "");
	return 0;
}

/* ------------------------------------------------------------ guest CVQ */

/* A command seen on the guest's control ring before the handle took it. */
struct seen {
	uint8_t bytes[512]; /* RSS_CONFIG with 128 entries and a 40-byte key: 309 */
	uint32_t len; /* readable bytes (may exceed what bytes holds) */
	uint64_t ack; /* guest address of the answer byte (0: none seen) */
};

/* Where len guest bytes at gpa are, if they lie in one region; NULL if
 * not (the log then shows less, nothing else depends on it). */
static const uint8_t *guest_bytes(uint64_t gpa, uint64_t len)
{
	struct vdpastate_mem_seg seg;

	return vdpastate_mem_range(be.mem, gpa, len, false, &seg, 1) == 1
		       ? seg.hva : NULL;
}

static uint16_t rd16(uint64_t gpa, bool *ok)
{
	const uint8_t *p = guest_bytes(gpa, 2);
	uint16_t v;

	if (!p) {
		*ok = false;
		return 0;
	}
	memcpy(&v, p, 2);
	return v;
}

/* Copy the readable part of the chain at head (for the log). */
static void peek_chain(uint64_t desc, unsigned int num, uint16_t head,
		       struct seen *c)
{
	uint64_t table = desc;
	unsigned int n = num, steps = 0;
	uint16_t i = head;
	bool indirect = false;

	c->len = 0;
	c->ack = 0;
	while (i < n && steps++ < 2 * num) {
		struct { uint64_t addr; uint32_t len; uint16_t flags, next; } d;
		const uint8_t *p = guest_bytes(table + 16ull * i, 16);

		if (!p)
			return;
		memcpy(&d, p, 16);
		if ((d.flags & VDPASTATE_VRING_DESC_F_INDIRECT) && !indirect) {
			indirect = true;
			table = d.addr;
			n = d.len / 16;
			i = 0;
			continue;
		}
		if (d.flags & VDPASTATE_VRING_DESC_F_WRITE) {
			if (d.len)
				c->ack = d.addr;
			return;
		}
		if (d.len && c->len < sizeof(c->bytes)) {
			uint32_t take = d.len;
			const uint8_t *src;

			if (take > sizeof(c->bytes) - c->len)
				take = (uint32_t)sizeof(c->bytes) - c->len;
			if ((src = guest_bytes(d.addr, take)))
				memcpy(c->bytes + c->len, src, take);
		}
		c->len += d.len;
		if (!(d.flags & VDPASTATE_VRING_DESC_F_NEXT))
			return;
		i = d.next;
	}
}

/* What the commands on the guest control ring from position la are (at
 * most max, up to the guest's avail idx). */
static unsigned int peek_guest_cvq(uint16_t la, struct seen *out, unsigned int max)
{
	unsigned int ci = guest_cvq_index(), n = 0, num = be.s.vr[ci].num;
	uint64_t d, a, u;
	uint16_t idx;
	bool ok = true;

	if (ring_gpa(ci, &d, &a, &u))
		return 0;
	idx = rd16(a + 2, &ok);
	while (ok && la != idx && n < max && (uint16_t)(idx - la) <= num) {
		uint16_t head = rd16(a + 4 + 2ull * (la % num), &ok);

		if (ok)
			peek_chain(d, num, head, &out[n++]);
		la++;
	}
	return n;
}

static void fmt_mac(char *buf, const uint8_t *m)
{
	sprintf(buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		m[4], m[5]);
}

/* An indirection table as its shortest period, run-length coded, and the
 * repeat count: "[0 1]x64", "[0*32 3*96]x1". */
static size_t fmt_table(char *buf, size_t len, const uint16_t *t, uint32_t n)
{
	uint32_t p, i, j;
	size_t o;

	for (p = 1; p < n; p++) {
		if (n % p)
			continue;
		for (i = p; i < n && t[i] == t[i % p]; i++)
			;
		if (i == n)
			break;
	}
	if (!n)
		p = 0;
	o = (size_t)snprintf(buf, len, "[");
	for (i = 0; i < p && o + 16 < len; i = j) {
		for (j = i + 1; j < p && t[j] == t[i]; j++)
			;
		o += (size_t)snprintf(buf + o, len - o, j - i > 1 ? "%s%u*%u" : "%s%u",
				      i ? " " : "", t[i], j - i);
	}
	o += (size_t)snprintf(buf + o, len - o, "]x%u", p ? n / p : 0);
	return o < len ? o : len;
}

/* " hash 0x1ff table [0]x128 unclassified 0 max_tx_vq 1 key 6d5a...":
 * RSS_CONFIG's fields (table NULL: HASH_CONFIG's). */
static void fmt_rss(char *buf, size_t len, uint32_t types, const uint16_t *table,
		    uint32_t n, uint16_t uncl, uint16_t max_tx, const uint8_t *key,
		    uint8_t klen)
{
	size_t o = (size_t)snprintf(buf, len, " hash 0x%x", types);
	unsigned int i;

	if (table) {
		o += (size_t)snprintf(buf + o, len - o, " table ");
		if (o < len)
			o += fmt_table(buf + o, len - o, table, n);
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, " unclassified %u "
					      "max_tx_vq %u", uncl, max_tx);
	}
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, " key ");
	for (i = 0; key && i < klen && o + 3 < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%02x", key[i]);
}

/* "VLAN_ADD vid 100" and the like: the command as the log shows it. */
static void describe(const struct seen *c, char *buf, size_t len)
{
	VDPASTATE_OPTS(vdpastate_cvq_limits, lim, .max_virtqueue_pairs = (uint16_t)be.pairs);
	struct vdpastate_cvq_cmd *cmd = NULL;
	uint32_t nu = 0, nm = 0, mp, mu, ht;
	const uint8_t *uni, *multi, *key;
	uint8_t klen;
	uint64_t off;
	size_t o = 0, i;
	uint8_t m[6];
	char s[20];

	if (c->len < 2 || c->len > sizeof(c->bytes) ||
	    vdpastate_cvq_decode(c->bytes, c->len, be.dev_features, &lim, &cmd)) {
		o = (size_t)snprintf(buf, len, "class %u cmd %u (%u bytes, not "
				     "decoded):", c->len > 0 ? c->bytes[0] : 0,
				     c->len > 1 ? c->bytes[1] : 0, c->len);
		for (i = 2; i < c->len && i < sizeof(c->bytes) && o + 4 < len; i++)
			o += (size_t)snprintf(buf + o, len - o, " %02x", c->bytes[i]);
		return;
	}
	o = (size_t)snprintf(buf, len, "%s", vdpastate_cvq_cmd_name(cmd));
	switch (vdpastate_cvq_cmd_class(cmd)) {
	case VDPASTATE_CVQ_RX:
		snprintf(buf + o, len - o, " %d", vdpastate_cvq_cmd_rx_value(cmd));
		break;
	case VDPASTATE_CVQ_MAC:
		if (!vdpastate_cvq_cmd_mac(cmd, m)) {
			fmt_mac(s, m);
			snprintf(buf + o, len - o, " %s", s);
		} else if (!vdpastate_cvq_cmd_mac_table(cmd, &uni, &nu, &multi, &nm)) {
			o += (size_t)snprintf(buf + o, len - o, " %u unicast, %u "
					      "multicast", nu, nm);
			for (i = 0; i < nm && o + 20 < len; i++) {
				fmt_mac(s, multi + 6 * i);
				o += (size_t)snprintf(buf + o, len - o, " %s", s);
			}
		}
		break;
	case VDPASTATE_CVQ_VLAN:
		snprintf(buf + o, len - o, " vid %d", vdpastate_cvq_cmd_vlan_id(cmd));
		break;
	case VDPASTATE_CVQ_MQ:
		if (vdpastate_cvq_cmd_vq_pairs(cmd) > 0) {
			snprintf(buf + o, len - o, " %d pairs",
				 vdpastate_cvq_cmd_vq_pairs(cmd));
		} else if (!vdpastate_cvq_cmd_hash(cmd, &ht, &key, &klen)) {
			const uint16_t *tab = NULL;
			uint32_t tn = 0;
			uint16_t uc = 0, mtx = 0;

			vdpastate_cvq_cmd_rss(cmd, &tab, &tn, &uc, &mtx);
			fmt_rss(buf + o, len - o, ht, tab, tn, uc, mtx, key, klen);
		}
		break;
	case VDPASTATE_CVQ_GUEST_OFFLOADS:
		if (!vdpastate_cvq_cmd_offloads(cmd, &off))
			snprintf(buf + o, len - o, " 0x%llx", (unsigned long long)off);
		break;
	case VDPASTATE_CVQ_NOTF_COAL:
		if (!vdpastate_cvq_cmd_coal(cmd, &mp, &mu))
			o += (size_t)snprintf(buf + o, len - o, " max_packets %u "
					      "max_usecs %u", mp, mu);
		if (vdpastate_cvq_cmd_coal_vq(cmd) >= 0)
			snprintf(buf + o, len - o, " vq %d",
				 vdpastate_cvq_cmd_coal_vq(cmd));
		break;
	}
	vdpastate_cvq_cmd_free(cmd);
}

/* The tracked state as lines "key value" (the state file's format). */
static void write_state(FILE *f, const struct vdpastate_netstate *ns)
{
	static const char *const rx[] = { "promisc", "allmulti", "alluni",
					  "nomulti", "nouni", "nobcast" };
	uint32_t mode = vdpastate_netstate_rx_mode(ns), nu, nm, p, u;
	const uint8_t *uni, *multi;
	unsigned int i;
	uint8_t m[6];
	char s[20];

	vdpastate_netstate_mac(ns, m);
	fmt_mac(s, m);
	fprintf(f, "mac %s\nrx", s);
	for (i = 0; i < 6; i++)
		if (mode & (1u << i))
			fprintf(f, " %s", rx[i]);
	vdpastate_netstate_mac_table(ns, &uni, &nu, &multi, &nm);
	fprintf(f, "\nuni %u", nu);
	for (i = 0; i < nu; i++) {
		fmt_mac(s, uni + 6 * i);
		fprintf(f, " %s", s);
	}
	fprintf(f, "\nmulti %u", nm);
	for (i = 0; i < nm; i++) {
		fmt_mac(s, multi + 6 * i);
		fprintf(f, " %s", s);
	}
	fprintf(f, "\nvlans %u", vdpastate_netstate_vlan_count(ns));
	for (i = 0; i <= VDPASTATE_CVQ_VLAN_MAX; i++)
		if (vdpastate_netstate_vlan(ns, (uint16_t)i) == 1)
			fprintf(f, " %u", i);
	fprintf(f, "\nmigrations %u\ncancels %u\npairs %u\noffloads 0x%llx\n",
		be.migrations, be.cancels,
		vdpastate_netstate_active_pairs(ns),
		(unsigned long long)vdpastate_netstate_guest_offloads(ns));
	if (!vdpastate_netstate_coal_tx(ns, &p, &u))
		fprintf(f, "coal_tx %u %u\n", p, u);
	if (!vdpastate_netstate_coal_rx(ns, &p, &u))
		fprintf(f, "coal_rx %u %u\n", p, u);
	{
		const uint16_t *tab;
		const uint8_t *key;
		uint16_t uc, mtx;
		uint8_t klen;
		char r[1024];

		if (!vdpastate_netstate_rss(ns, &p, &tab, &u, &uc, &mtx, &key, &klen)) {
			fmt_rss(r, sizeof(r), p, tab, u, uc, mtx, key, klen);
			fprintf(f, "rss%s\n", r);
		} else {
			fprintf(f, "rss off\n");
			if (!vdpastate_netstate_hash_config(ns, &p, &key, &klen)) {
				fmt_rss(r, sizeof(r), p, NULL, 0, 0, 0, key, klen);
				fprintf(f, "hash%s\n", r + 5); /* " 0x.. key .." */
			}
		}
	}
}

/*
 * After control commands: the handle's tracked state must be the
 * device's.  The state file gets both verdict and state (write, rename).
 */
/*
 * A kernel device's state as far as it can be read: the MAC in its
 * configuration space (VIRTIO_NET_F_MAC), which the device updates on
 * MAC_ADDR_SET.  Tracked and device agree when the MACs do; *diff names
 * what differs.
 */
static bool check_vdpa_mac(const struct vdpastate_netstate *tr, const char **diff)
{
	uint8_t cfg[6], m[6];
	char a[20], b[20];
	int r;

	*diff = NULL;
	if (!(be.dev_features & NF(MAC)))
		return true;
	if ((r = vdpastate_transport_get_config(be.t, 0, cfg, 6))) {
		lib_err(r, "get_config (the device's MAC)");
		*diff = "config space unreadable";
		return false;
	}
	vdpastate_netstate_mac(tr, m);
	if (!memcmp(cfg, m, 6))
		return true;
	fmt_mac(a, m);
	fmt_mac(b, cfg);
	say("STATE tracked != device (mac): tracked %s, device config %s", a, b);
	*diff = "mac";
	return false;
}

static void check_state(void)
{
	const struct vdpastate_netstate *tr = vdpastate_dev_netstate(be.dev);
	struct vdpastate_netstate *ds = be.sim ? vdpastate_sim_netstate(be.sim) : NULL;
	const char *diff = NULL;
	bool eq;
	char tmp[4096];
	FILE *f;

	if (be.sim) {
		eq = tr && ds && vdpastate_netstate_equal(tr, ds);
		diff = eq ? NULL : vdpastate_netstate_state_diff(tr, ds);
	} else {
		eq = tr && check_vdpa_mac(tr, &diff);
	}
	be.state_checks++;
	if (!eq)
		be.state_diffs++;
	if (!eq && be.sim) {
		say("STATE tracked != device (%s); tracked, then device:",
		    diff ? diff : "configuration");
		if (tr)
			write_state(be.log, tr);
		if (ds)
			write_state(be.log, ds);
	}
	if (be.state_path && tr) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", be.state_path);
		if ((f = fopen(tmp, "w"))) {
			fprintf(f, "seq %lu\nagree %s\ndevice %s\n", be.cmds,
				eq ? "yes" : "no", be.sim ? "simulated" : be.vdpa[be.cur]);
			write_state(f, tr);
			if (fclose(f) == 0)
				rename(tmp, be.state_path);
		}
	}
	vdpastate_netstate_free(ds);
}

/*
 * Let the handle answer the guest's control queue, logging each command
 * and its answer.  The answer is the byte the guest got (read back from
 * its buffer).  On the simulated device, whose counters move for each
 * command it answered, a single ERR also says whether the device or the
 * handle (before the device) refused.
 */
static void serve_guest_cvq(void)
{
	VDPASTATE_OPTS(vdpastate_sim_stats, s0);
	VDPASTATE_OPTS(vdpastate_sim_stats, s1);
	struct seen seen[16];
	unsigned int n, i;
	uint16_t la, ui;
	char d[1024];
	int r;

	if (!be.running || !(be.dev_features & NF(CTRL_VQ)))
		return;
	do {
		if (vdpastate_dev_guest_cvq_state(be.dev, &la, &ui))
			return;
		n = peek_guest_cvq(la, seen, 16);
		if (be.sim)
			vdpastate_sim_get_stats(be.sim, &s0);
		r = vdpastate_dev_handle_guest_cvq(be.dev);
		if (be.sim)
			vdpastate_sim_get_stats(be.sim, &s1);
		if (r < 0) {
			if (r != -ETIMEDOUT)
				lib_err(r, "vdpastate_dev_handle_guest_cvq");
			return;
		}
		if (r == 0)
			return;
		/* The guest posted more while the handle answered (a driver
		 * that sends the next command as soon as it sees an answer):
		 * those are read now, their buffers still holding them. */
		if ((unsigned int)r > n && n < 16)
			n += peek_guest_cvq((uint16_t)(la + n), seen + n,
					    ((unsigned int)r < 16 ? (unsigned int)r : 16) - n);
		for (i = 0; i < (unsigned int)r; i++) {
			const uint8_t *a = i < n && seen[i].ack ? guest_bytes(seen[i].ack, 1)
								: NULL;
			const char *ans = !a	     ? "(answer not seen)"
					  : *a == 0 ? "VIRTIO_NET_OK"
					  : *a != 1 ? "(not an answer: neither OK nor ERR)"
					  : !be.sim || r != 1 ? "VIRTIO_NET_ERR"
					  : s1.cvq_err > s0.cvq_err
						  ? "VIRTIO_NET_ERR (device)"
						  : "VIRTIO_NET_ERR (refused by the handle)";

			if (i < n)
				describe(&seen[i], d, sizeof(d));
			else
				snprintf(d, sizeof(d), "(not seen)");
			be.cmds++;
			if (a && *a == 0)
				be.cmds_ok++;
			else
				be.cmds_err++;
			say("CVQ #%lu %s -> %s", be.cmds, d, ans);
		}
		check_state();
	} while (r == VDPASTATE_DEV_GUEST_CVQ_BUDGET);
}

/* Relay data queues until nothing moves (the device runs inline). */
static void serve_datapath(void)
{
	unsigned int i, k, nd = data_queues();
	long moved;
	int r;

	if (!be.running)
		return;
	for (k = 0; k < 64; k++) {
		moved = 0;
		for (i = 0; i < nd; i++) {
			struct queue *q = &be.q[i];

			if (!q->svq || q->broken)
				continue;
			if ((r = vdpastate_svq_poll(q->svq)) < 0) {
				q->broken = true;
				/* After the guest announced its power-off its
				 * driver tears the rings down before the
				 * front-end says so: not an error then. */
				say("%s: data queue %u stopped: %s (%s)",
				    be.bye ? "teardown" : "error", i,
				    vdpastate_strerror(r), vdpastate_last_error());
				continue;
			}
			moved += r;
		}
		if (be.sim && (r = vdpastate_sim_poll(be.sim)) > 0)
			moved += r;
		if (!moved)
			break;
	}
}

/* ------------------------------------------------------------ migration */

/*
 * A live migration to a second simulated device in the same process, the
 * guest running on: the request files STATE.migrate-full (save, restore,
 * switch), STATE.migrate-begin (a destination restored early from the
 * state so far while the source runs on) and STATE.migrate-commit (save,
 * commit, switch) name the step; the back-end removes the file when the
 * step is done and counts finished migrations in the state file.
 */
static void dst_free(struct dst *d)
{
	unsigned int i;

	if (!d)
		return;
	for (i = 0; i < VU_MAX_QUEUES; i++) {
		if (d->svq[i]) {
			vdpastate_transport_unmap_svq(d->t, 0, d->svq[i]);
			vdpastate_svq_free(d->svq[i]);
		}
		fd_close(&d->dkick[i]);
		fd_close(&d->dcall[i]);
	}
	vdpastate_dev_free(d->dev);
	vdpastate_transport_free(d->t);
	free(d);
}

/* A second device with guest memory mapped and the data queues shadowed. */
static struct dst *dst_new(void)
{
	struct dst *d = calloc(1, sizeof(*d));
	unsigned int i;

	if (!d)
		return NULL;
	for (i = 0; i < VU_MAX_QUEUES; i++)
		d->dkick[i] = d->dcall[i] = -1;
	if (!(d->t = device_open(1 - be.cur)) ||
	    !(d->dev = vdpastate_dev_open(d->t, NULL))) {
		lib_err(-errno, "destination device");
		goto fail;
	}
	for (i = 0; i < be.nreg; i++)
		if (vdpastate_transport_dma_map(d->t, 0, be.reg[i].gpa, be.reg[i].size,
						be.reg[i].hva, VDPASTATE_DMA_READ |
							       VDPASTATE_DMA_WRITE)) {
			lib_err(-EIO, "destination: guest memory");
			goto fail;
		}
	for (i = 0; i < data_queues(); i++)
		if (shadow_queue(d->dev, d->t, i, &d->svq[i], &d->dkick[i], &d->dcall[i]))
			goto fail;
	return d;
fail:
	dst_free(d);
	return NULL;
}

/* The source saved and stopped: the destination becomes the device. */
static void dst_switch(struct dst *d)
{
	unsigned int i;

	for (i = 0; i < data_queues(); i++) {
		struct queue *q = &be.q[i];

		vdpastate_transport_unmap_svq(be.t, 0, q->svq);
		vdpastate_svq_free(q->svq);
		close(q->dkick);
		close(q->dcall);
		q->svq = d->svq[i];
		q->dkick = d->dkick[i];
		q->dcall = d->dcall[i];
		q->broken = false;
		d->svq[i] = NULL;
		d->dkick[i] = d->dcall[i] = -1;
	}
	vdpastate_dev_free(be.dev);
	vdpastate_transport_free(be.t);
	be.t = d->t;
	be.cur = be.vdpa[0] ? 1 - be.cur : 0;
	be.sim = be.vdpa[0] ? NULL : vdpastate_sim_from_transport(be.t);
	be.dev = d->dev;
	free(d);
	apply_log();
}

/* Save the source into a new blob (the source stops), move the guest's
 * control queue over to the destination. */
static struct vdpastate_blob *save_source(struct dst *d)
{
	struct vdpastate_blob *blob = vdpastate_blob_new();
	uint16_t la = 0, ui = 0;
	int r;

	if (!blob)
		return lib_err(-ENOMEM, "vdpastate_blob_new"), NULL;
	if ((r = vdpastate_dev_save(be.dev, blob)) ||
	    ((be.dev_features & NF(CTRL_VQ)) &&
	     (r = vdpastate_dev_guest_cvq_state(be.dev, &la, &ui))) ||
	    (r = guest_cvq_to(d->dev, la, ui))) {
		if (r != -EFAULT)
			lib_err(r, "save");
		vdpastate_blob_free(blob);
		return NULL;
	}
	return blob;
}

/* After the switch: the destination's state must be the saved one. */
static int migrated(const char *how, const struct vdpastate_blob *blob,
		    struct timespec t0)
{
	const struct vdpastate_netstate *saved = vdpastate_blob_netstate(blob);
	const char *diff = vdpastate_netstate_state_diff(saved,
							 vdpastate_dev_netstate(be.dev));
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (diff)
		return say("error: migration %s: the destination's %s differs from "
			   "the saved state", how, diff), -EIO;
	be.migrations++;
	say("MIGRATION %s #%u: saved %ld bytes, restored on a second device in "
	    "%.1f ms, destination state == saved state", how, be.migrations,
	    vdpastate_blob_save(blob, NULL, 0),
	    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	check_state();
	return 0;
}

/*
 * A migration cancelled after the save: save (the device stops), then
 * vdpastate_dev_resume(); the guest's queues go on on the same device and
 * the tracked state must be what it was.
 */
static int cancel(void)
{
	struct vdpastate_netstate *before =
		vdpastate_netstate_copy(vdpastate_dev_netstate(be.dev));
	struct vdpastate_blob *blob = vdpastate_blob_new();
	const char *diff;
	int r = -ENOMEM;

	if (!before || !blob)
		goto out;
	if ((r = vdpastate_dev_save(be.dev, blob))) {
		lib_err(r, "save");
		goto out;
	}
	if ((r = vdpastate_dev_resume(be.dev)) < 0) {
		lib_err(r, "vdpastate_dev_resume");
		goto out;
	}
	/* What the guest set must be as it was; the configuration (the
	 * device's config space, read again by a restart) may differ. */
	if ((diff = vdpastate_netstate_state_diff(before,
						  vdpastate_dev_netstate(be.dev)))) {
		say("error: migration cancelled: the tracked %s changed", diff);
		r = -EIO;
		goto out;
	}
	if (!vdpastate_netstate_equal(before, vdpastate_dev_netstate(be.dev)))
		say("migration cancelled: the device's configuration read again "
		    "differs from before the save (the state does not)");
	be.cancels++;
	say("MIGRATION cancelled after the save (%ld bytes): the source %s, "
	    "state unchanged", vdpastate_blob_save(blob, NULL, 0),
	    r == VDPASTATE_DEV_RESUMED ? "resumed in place (RESUME)"
				       : "was brought up again (restarted)");
	r = 0;
	check_state();
out:
	vdpastate_netstate_free(before);
	vdpastate_blob_free(blob);
	return r;
}

static int migrate(const char *step)
{
	struct vdpastate_blob *blob = NULL, *pre = NULL;
	struct timespec t0;
	struct dst *d = NULL;
	int r = -EIO;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!be.running)
		return say("error: migration %s without a running device", step), -EIO;
	if (!strcmp(step, "cancel")) {
		if (be.pend)
			return say("error: migration cancel during an early one"), -EIO;
		r = cancel();
	} else if (!strcmp(step, "full")) {
		if (!(d = dst_new()) || !(blob = save_source(d)))
			goto out;
		if ((r = vdpastate_dev_restore(d->dev, blob))) {
			lib_err(r, "vdpastate_dev_restore");
			goto out;
		}
		dst_switch(d);
		d = NULL;
		r = migrated("full", blob, t0);
	} else if (!strcmp(step, "begin")) {
		if (be.pend || !(d = dst_new()) || !(pre = vdpastate_blob_new()) ||
		    vdpastate_blob_set_netstate(pre, vdpastate_dev_netstate(be.dev)))
			goto out;
		if ((r = vdpastate_dev_restore_begin(d->dev, pre))) {
			lib_err(r, "vdpastate_dev_restore_begin");
			goto out;
		}
		say("MIGRATION early: destination begun with the state so far, "
		    "source running");
		be.pend = d;
		d = NULL;
	} else if (!strcmp(step, "commit")) {
		if (!(d = be.pend))
			return say("error: migration commit without begin"), -EIO;
		be.pend = NULL;
		if (!(blob = save_source(d)))
			goto out;
		if ((r = vdpastate_dev_restore_commit(d->dev, blob))) {
			lib_err(r, "vdpastate_dev_restore_commit");
			goto out;
		}
		dst_switch(d);
		d = NULL;
		r = migrated("early", blob, t0);
	}
out:
	if (r)
		say("error: migration %s failed", step);
	dst_free(d);
	vdpastate_blob_free(blob);
	vdpastate_blob_free(pre);
	return r;
}

/*
 * What the guest asked for with a request file next to the state file
 * (removed when done): a migration step (STATE.migrate-full, -begin,
 * -commit, -cancel: saved, then resumed on the same device), the guest's
 * power-off (STATE.bye: ring errors after it are logged as teardown), or
 * a fault of the device (STATE.inject-vlan-err: it answers
 * VIRTIO_NET_ERR to VLAN_ADD; STATE.inject-off: it answers again).
 * < 0 ends the connection (the source may be stopped by then).
 */
static int requests(void)
{
	static const char *const steps[] = { "migrate-full", "migrate-begin",
					     "migrate-commit", "migrate-cancel",
					     "inject-vlan-err", "inject-off", "bye" };
	char path[4200];
	unsigned int i;
	int r = 0;

	if (!be.state_path || !be.running || be.direct)
		return 0;
	for (i = 0; i < 7 && !r; i++) {
		snprintf(path, sizeof(path), "%s.%s", be.state_path, steps[i]);
		if (access(path, F_OK))
			continue;
		if (i < 4) {
			r = migrate(steps[i] + 8);
		} else if (i == 6) {
			be.bye = true;
			say("the guest announces its power-off: ring errors from "
			    "here on are its driver's teardown");
		} else if (!be.sim) {
			say("error: %s: faults are injected only into the simulated "
			    "device", steps[i]);
		} else {
			r = vdpastate_sim_cvq_err(be.sim, i == 4,
						  i == 4 ? VDPASTATE_CVQ_VLAN
							 : VDPASTATE_SIM_ANY,
						  i == 4 ? VDPASTATE_CVQ_VLAN_ADD
							 : VDPASTATE_SIM_ANY);
			say("INJECT: the device %s", i == 4 ? "refuses VLAN_ADD"
						       : "answers every command again");
		}
		unlink(path);
	}
	return r;
}

/* ------------------------------------------------------------ messages */

static int send_all(const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = send(be.cfd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int reply(const struct vu_msg *m)
{
	uint8_t buf[VU_HDR_SIZE + VU_MAX_PAYLOAD];

	return send_all(buf, vu_serialize(m, buf));
}

/* Receive one message with its descriptors.  0, -ECONNRESET at EOF, or
 * -EPROTO (err says why). */
static int recv_msg(struct vu_msg *m, char *err, size_t errlen)
{
	uint8_t hdr[VU_HDR_SIZE];
	char cbuf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
	struct iovec iov = { hdr, sizeof(hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	size_t got = 0;
	ssize_t n;
	int r;

	m->nfds = 0;
	do
		n = recvmsg(be.cfd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return snprintf(err, errlen, "recvmsg: %s", strerror(errno)), -EPROTO;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int), j;
			int fd;

			for (j = 0; j < k; j++) {
				memcpy(&fd, CMSG_DATA(c) + j * sizeof(int), sizeof(int));
				if (m->nfds < VU_MAX_FDS)
					m->fds[m->nfds++] = fd;
				else
					close(fd);
			}
		}
	if (mh.msg_flags & MSG_CTRUNC)
		return snprintf(err, errlen, "more than %u file descriptors",
				VU_MAX_FDS), -EPROTO;
	if ((size_t)n != sizeof(hdr))
		return snprintf(err, errlen, "a truncated header (%zd bytes)", n),
		       -EPROTO;
	if ((r = vu_parse_header(hdr, m, err, errlen)))
		return r;
	while (got < m->size) {
		n = recv(be.cfd, m->payload + got, m->size - got, MSG_WAITALL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return snprintf(err, errlen, "%s: payload cut at %zu of %u "
					"bytes", vu_request_name(m->request), got,
					m->size), -EPROTO;
		got += (size_t)n;
	}
	return 0;
}

static int set_mem_table(const struct vu_parsed *p, const int *fds)
{
	unsigned int i;
	int r;

	datapath_stop("new memory table");
	mem_drop();
	for (i = 0; i < p->nregions; i++) {
		const struct vu_region *v = &p->regions[i];
		struct region *g = &be.reg[i];
		long pg = sysconf(_SC_PAGESIZE);
		uint64_t skew = v->mmap_offset % (uint64_t)pg;

		struct stat sb;

		if (v->size > SIZE_MAX - skew)
			return say("error: region %u too large", i), -EPROTO;
		/* Pages past the end of a file fault (SIGBUS) when touched. */
		if (fstat(fds[i], &sb) || (S_ISREG(sb.st_mode) &&
					   (uint64_t)sb.st_size < v->mmap_offset + v->size))
			return say("error: SET_MEM_TABLE: region %u (0x%llx bytes at "
				   "offset 0x%llx) is not all in its file", i,
				   (unsigned long long)v->size,
				   (unsigned long long)v->mmap_offset), -EPROTO;
		g->maplen = (size_t)(v->size + skew);
		g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_SHARED,
			      fds[i], (off_t)(v->mmap_offset - skew));
		if (g->map == MAP_FAILED)
			return say("error: SET_MEM_TABLE: mmap region %u (0x%llx "
				   "bytes at offset 0x%llx): %s", i,
				   (unsigned long long)v->size,
				   (unsigned long long)v->mmap_offset,
				   strerror(errno)), -EPROTO;
		g->hva = (uint8_t *)g->map + skew;
		g->gpa = v->gpa;
		g->size = v->size;
		be.nreg = i + 1;
		{
			VDPASTATE_OPTS(vdpastate_iova_map_opts, mo, .iova = v->gpa,
				       .flags = VDPASTATE_IOVA_MAP_FIXED);

			if ((r = vdpastate_mem_add(be.mem, v->gpa, v->size, g->hva, 0)) ||
			    (r = vdpastate_iova_map(be.iova, VDPASTATE_IOVA_GPA, v->gpa,
						    v->size, &mo, NULL)) ||
			    (r = vdpastate_transport_dma_map(be.t, 0, v->gpa, v->size,
							     g->hva,
							     VDPASTATE_DMA_READ |
								     VDPASTATE_DMA_WRITE)))
				return lib_err(r, "guest memory region");
		}
		say("memory: region %u gpa 0x%llx size 0x%llx uaddr 0x%llx offset "
		    "0x%llx", i, (unsigned long long)v->gpa,
		    (unsigned long long)v->size, (unsigned long long)v->uaddr,
		    (unsigned long long)v->mmap_offset);
	}
	return 0;
}

/* A descriptor for a vring: non-blocking (the SVQ and handle need that;
 * UML's call "fd" is a socket). */
static void take_fd(int *slot, int *fd)
{
	int fl = fcntl(*fd, F_GETFL);

	if (fl >= 0)
		fcntl(*fd, F_SETFL, fl | O_NONBLOCK);
	fd_close(slot);
	*slot = *fd;
	*fd = -1;
}

/* SET_LOG_BASE: map the front-end's dirty bitmap. */
static int set_log_base(const struct vu_parsed *p, int fd)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t skew = p->log_offset % (uint64_t)pg;
	struct stat sb;

	log_drop();
	if (p->log_size > SIZE_MAX - skew || fstat(fd, &sb) ||
	    (S_ISREG(sb.st_mode) &&
	     (uint64_t)sb.st_size < p->log_offset + p->log_size))
		return say("error: SET_LOG_BASE: %llu bytes at offset %llu are not "
			   "all in the file", (unsigned long long)p->log_size,
			   (unsigned long long)p->log_offset), -EPROTO;
	be.log_maplen = (size_t)(p->log_size + skew);
	be.log_map = mmap(NULL, be.log_maplen, PROT_READ | PROT_WRITE, MAP_SHARED,
			  fd, (off_t)(p->log_offset - skew));
	if (be.log_map == MAP_FAILED) {
		be.log_map = NULL;
		return say("error: SET_LOG_BASE: mmap: %s", strerror(errno)), -EPROTO;
	}
	be.bitmap = (uint64_t *)(void *)((uint8_t *)be.log_map + skew);
	be.log_bytes = p->log_size;
	say("dirty log: %llu bytes (%llu pages)", (unsigned long long)be.log_bytes,
	    (unsigned long long)be.log_bytes * 8);
	apply_log();
	return 0;
}

/* Handle one message; 0, or < 0 to close the connection. */
static int handle(struct vu_msg *m)
{
	struct vu_parsed p;
	struct vu_msg out;
	char err[256];
	uint8_t cfg[VU_CONFIG_MAX];
	unsigned int i;
	int r = 0;

	if ((r = vu_parse(m, &p, err, sizeof(err))) ||
	    (r = vu_session_apply(&be.s, &p, err, sizeof(err)))) {
		say("protocol error: %s; closing the connection", err);
		return r;
	}
	switch (p.request) {
	case VU_GET_FEATURES:
		r = reply((vu_reply_u64(&out, p.request, be.offered), &out));
		break;
	case VU_GET_PROTOCOL_FEATURES:
		r = reply((vu_reply_u64(&out, p.request, PROTOCOL_OFFERED), &out));
		break;
	case VU_GET_QUEUE_NUM:
		r = reply((vu_reply_u64(&out, p.request, be.pairs), &out));
		break;
	case VU_SET_FEATURES:
		say("features: 0x%llx negotiated%s", (unsigned long long)p.u64,
		    p.u64 & (1ull << VU_F_LOG_ALL) ? " (LOG_ALL: dirty logging)" : "");
		apply_log();
		break;
	case VU_SET_LOG_BASE:
		r = set_log_base(&p, m->fds[0]);
		if (!r)
			r = reply((vu_reply_u64(&out, p.request, 0), &out));
		break;
	case VU_SET_PROTOCOL_FEATURES:
		say("protocol features: 0x%llx", (unsigned long long)p.u64);
		break;
	case VU_RESET_OWNER:
		conn_reset();
		break;
	case VU_SET_MEM_TABLE:
		if ((r = set_mem_table(&p, m->fds)))
			say("error: SET_MEM_TABLE failed; closing the connection");
		break;
	case VU_GET_CONFIG:
		memset(cfg, 0, sizeof(cfg));
		if ((r = vdpastate_transport_get_config(be.t, 0, cfg, 24)))
			return lib_err(r, "get_config");
		r = reply((vu_reply_config(&out, &p, cfg, 24), &out));
		break;
	case VU_GET_VRING_BASE:
		/* A stop: the whole datapath stops, the queue reports where. */
		datapath_stop("GET_VRING_BASE");
		r = reply((vu_reply_state(&out, p.request, p.index,
					  be.s.vr[p.index].base), &out));
		break;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
		datapath_stop("vring descriptor changed");
		if (p.has_fd)
			take_fd(p.request == VU_SET_VRING_KICK ? &be.q[p.index].kick
							       : &be.q[p.index].call,
				&m->fds[0]);
		else if (p.request == VU_SET_VRING_CALL)
			fd_close(&be.q[p.index].call);
		break;
	case VU_SET_BACKEND_REQ_FD:
		take_fd(&be.req_fd, &m->fds[0]);
		break;
	case VU_SET_VRING_ENABLE:
		if (!p.num)
			datapath_stop("vring disabled");
		break;
	default:
		break;
	}
	if (!r && vu_wants_ack(&be.s, &p))
		r = reply((vu_reply_u64(&out, p.request, 0), &out));
	if (!r && (r = datapath_try_start()) < 0)
		datapath_stop("start failed");
	for (i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
	return r;
}

/* ------------------------------------------------------------ main loop */

static void conn_close(void)
{
	VDPASTATE_OPTS(vdpastate_sim_stats, st);

	if (!be.sim) {
		say("connection closed; %s: %lu control commands", be.vdpa[be.cur],
		    be.cmds);
		conn_reset();
		fd_close(&be.cfd);
		return;
	}
	vdpastate_sim_get_stats(be.sim, &st);
	say("connection closed; device: %llu frames taken from TX, %llu looped "
	    "into RX, %llu dropped by the filter, %llu without buffer; %llu "
	    "control commands (%llu OK, %llu ERR)",
	    (unsigned long long)st.tx_frames, (unsigned long long)st.rx_frames,
	    (unsigned long long)st.dropped_filter,
	    (unsigned long long)st.dropped_no_buffer,
	    (unsigned long long)st.cvq_commands, (unsigned long long)st.cvq_ok,
	    (unsigned long long)st.cvq_err);
	conn_reset();
	fd_close(&be.cfd);
}

static int serve(void)
{
	struct pollfd pf[2 * VU_MAX_QUEUES + 2];
	static struct vu_msg m;
	char err[256];
	unsigned int n, i;
	int r;

	while (!stop) {
		n = 0;
		pf[n++] = (struct pollfd){ .fd = be.cfd >= 0 ? be.cfd : be.lfd,
					   .events = POLLIN };
		if (be.running)
			for (i = 0; i < be.nq; i++) {
				if (be.q[i].kick >= 0)
					pf[n++] = (struct pollfd){ .fd = be.q[i].kick,
								   .events = POLLIN };
				/* A kernel device signals used buffers. */
				if (!be.sim && be.q[i].dcall >= 0)
					pf[n++] = (struct pollfd){ .fd = be.q[i].dcall,
								   .events = POLLIN };
			}
		r = poll(pf, n, 50);
		if (r < 0 && errno != EINTR)
			return say("error: poll: %s", strerror(errno)), -1;
		if (r > 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (be.cfd < 0) {
				be.cfd = accept4(be.lfd, NULL, NULL, SOCK_CLOEXEC);
				if (be.cfd >= 0)
					say("connection: front-end attached");
				continue;
			}
			r = recv_msg(&m, err, sizeof(err));
			if (!r)
				r = handle(&m);
			else if (r != -ECONNRESET)
				say("protocol error: %s; closing the connection", err);
			for (i = 0; i < m.nfds; i++)
				if (m.fds[i] >= 0)
					close(m.fds[i]);
			m.nfds = 0;
			if (r) {
				conn_close();
				if (be.once)
					return 0;
				continue;
			}
		}
		serve_datapath();
		serve_guest_cvq();
		serve_datapath();
		if (requests() < 0) {
			conn_close();
			if (be.once)
				return 0;
		}
	}
	return 0;
}

static int listen_on(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return say("error: socket path too long"), -1;
	strcpy(a.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1))
		return say("error: %s: %s", path, strerror(errno)), -1;
	return fd;
}

int main(int argc, char **argv)
{
	const char *log_path = NULL;
	unsigned int q;
	int i;

	be.log = stderr;
	be.pairs = 2;
	be.cfd = be.req_fd = -1;
	for (q = 0; q < VU_MAX_QUEUES; q++)
		be.q[q].kick = be.q[q].call = be.q[q].dkick = be.q[q].dcall = -1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			be.sock_path = argv[++i];
		else if (!strcmp(argv[i], "--pairs") && i + 1 < argc)
			be.pairs = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log_path = argv[++i];
		else if (!strcmp(argv[i], "--state") && i + 1 < argc)
			be.state_path = argv[++i];
		else if (!strcmp(argv[i], "--once"))
			be.once = true;
		else if (!strcmp(argv[i], "--direct"))
			be.direct = true;
		else if (!strcmp(argv[i], "--hash-report"))
			be.hash_report = true;
		else if (!strcmp(argv[i], "--device") && i + 1 < argc)
			be.vdpa[0] = argv[++i];
		else if (!strcmp(argv[i], "--to") && i + 1 < argc)
			be.vdpa[1] = argv[++i];
		else
			goto usage;
	}
	if (!be.sock_path || be.pairs < 1 || be.pairs > 16 || (be.vdpa[1] && !be.vdpa[0]))
		goto usage;
	if (log_path && !(be.log = fopen(log_path, "a"))) {
		perror(log_path);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (device_new() || (be.lfd = listen_on(be.sock_path)) < 0)
		return 1;
	say("listening on %s: virtio-net, %u queue pairs, features offered 0x%llx; "
	    "device %s (features 0x%llx)%s%s", be.sock_path, be.pairs,
	    (unsigned long long)be.offered, be.vdpa[0] ? be.vdpa[0] : "simulated",
	    (unsigned long long)be.dev_offered, be.vdpa[1] ? ", migrations to " : "",
	    be.vdpa[1] ? be.vdpa[1] : "");
	serve();
	if (be.cfd >= 0)
		conn_close();
	say("exit: %lu control commands (%lu OK, %lu ERR), %lu state checks, "
	    "%lu disagreements", be.cmds, be.cmds_ok, be.cmds_err,
	    be.state_checks, be.state_diffs);
	mem_drop();
	vdpastate_iova_free(be.iova);
	vdpastate_mem_free(be.mem);
	vdpastate_transport_free(be.t);
	close(be.lfd);
	unlink(be.sock_path);
	return be.state_diffs ? 1 : 0;
usage:
	fprintf(stderr, "usage: %s --socket PATH [--pairs 1..16] [--log FILE] "
		"[--state FILE] [--once] [--direct] [--hash-report] [--device /dev/vhost-vdpa-N "
		"[--to /dev/vhost-vdpa-M]]\n", argv[0]);
	return 2;
}

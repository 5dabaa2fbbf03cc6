/* SPDX-License-Identifier: MIT */
/*
 * lib/transport_sim.c - the simulated virtio-net device: the transport ops
 * of a vDPA device modelled on Linux's vdpa_sim_net (two virtqueue groups,
 * two address spaces each with its own IOTLB, status state machine,
 * suspend, vring bases), a control virtqueue that decodes and applies
 * every command class to a netstate, and a TX -> RX loopback filtered by
 * that state.  The queues are the ring's device half (lib/ring.h) over an
 * address space backed by the IOTLB; processing runs from
 * vdpastate_sim_poll() or on a thread of the device's own.  Fault
 * injection makes the failures a VMM must survive happen on demand.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libvdpastate/cvq.h>
#include <libvdpastate/netstate.h>
#include <libvdpastate/sim.h>
#include <libvdpastate/vring.h>

#include "bytes.h"
#include "internal.h"
#include "ring.h"
#include "sim_int.h"
#include "transport_int.h"

#define FB(bit) (UINT64_C(1) << VDPASTATE_NET_F_##bit)
#define RB(bit) (UINT64_C(1) << VDPASTATE_F_##bit)

#define SIM_NGROUPS 2
#define SIM_NAS 2
#define SIM_GROUP_DATA 0
#define SIM_GROUP_CVQ 1
#define SIM_MAX_PAIRS 128
#define SIM_CONFIG_SIZE 24 /* struct virtio_net_config up to supported_hash_types */
#define SIM_FRAME_MAX (65535 + 14 + 4)
#define SIM_HDR_MAX 20
#define SIM_CVQ_MAX (256 * 1024) /* readable bytes of one control command */
#define VIRTIO_ID_NET 1
#define NET_OK 0
#define NET_ERR 1

static const uint8_t default_mac[6] = { 0x52, 0x54, 0x00, 0x56, 0x44, 0x01 };

/* What the device offers when the caller does not say. */
#define SIM_DEFAULT_FEATURES                                                  \
	(RB(VERSION_1) | RB(ACCESS_PLATFORM) | RB(EVENT_IDX) |                 \
	 RB(INDIRECT_DESC) | FB(MAC) | FB(MTU) | FB(STATUS) | FB(CTRL_VQ) |    \
	 FB(CTRL_RX) | FB(CTRL_VLAN) | FB(CTRL_RX_EXTRA) |                     \
	 FB(GUEST_ANNOUNCE) | FB(MQ) | FB(CTRL_MAC_ADDR) |                     \
	 FB(CTRL_GUEST_OFFLOADS) | FB(GUEST_CSUM) | FB(MRG_RXBUF) | FB(RSS) |  \
	 FB(NOTF_COAL) | FB(VQ_NOTF_COAL))

/* Every bit the model knows how to honour; offering others is refused. */
#define SIM_KNOWN_FEATURES                                                    \
	(RB(VERSION_1) | RB(ACCESS_PLATFORM) | RB(EVENT_IDX) |                 \
	 RB(INDIRECT_DESC) | FB(CSUM) | FB(GUEST_CSUM) | FB(MAC) | FB(MTU) |   \
	 FB(GUEST_TSO4) | FB(GUEST_TSO6) | FB(GUEST_ECN) | FB(GUEST_UFO) |     \
	 FB(HOST_TSO4) | FB(HOST_TSO6) | FB(HOST_ECN) | FB(HOST_UFO) |         \
	 FB(MRG_RXBUF) | FB(STATUS) | FB(CTRL_VQ) | FB(CTRL_RX) |              \
	 FB(CTRL_VLAN) | FB(CTRL_RX_EXTRA) | FB(GUEST_ANNOUNCE) | FB(MQ) |     \
	 FB(CTRL_MAC_ADDR) | FB(CTRL_GUEST_OFFLOADS) | FB(DEVICE_STATS) |      \
	 FB(NOTF_COAL) | FB(VQ_NOTF_COAL) | FB(GUEST_USO4) | FB(GUEST_USO6) |  \
	 FB(HOST_USO) | FB(HASH_REPORT) | FB(RSS))

#define SIM_BACKEND_FEATURES                                                  \
	((1ULL << VDPASTATE_BACKEND_F_IOTLB_MSG_V2) |                          \
	 (1ULL << VDPASTATE_BACKEND_F_IOTLB_BATCH) |                           \
	 (1ULL << VDPASTATE_BACKEND_F_IOTLB_ASID) |                            \
	 (1ULL << VDPASTATE_BACKEND_F_SUSPEND) |                               \
	 (1ULL << VDPASTATE_BACKEND_F_RESUME) |                                \
	 (1ULL << VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK))
#define SIM_FLAGS                                                             \
	(VDPASTATE_SIM_F_THREAD | VDPASTATE_SIM_F_LINK_DOWN |                  \
	 VDPASTATE_SIM_F_NO_ENABLE_AFTER_DRIVER_OK)

/* One DMA mapping: [first, last] -> hva, VDPASTATE_DMA_* perm. */
struct sim_map {
	uint64_t first, last;
	uint8_t *hva;
	uint32_t perm;
};

/* An address space: its IOTLB, sorted by first, and the ring view of it. */
struct sim_as {
	struct vds_as as;
	struct sim_map *m;
	unsigned int n, cap;
	bool batching;
};

struct sim_vq {
	uint32_t num;
	uint64_t desc, avail, used;
	uint16_t base;     /* the next avail index while not live */
	bool enabled;
	bool live;         /* dev set up: its indexes are the truth */
	bool broken;       /* the driver broke the ring: NEEDS_RESET */
	uint64_t gen;      /* mapping generation the ring pointers came from */
	int kick_fd, call_fd;
	struct vds_vdev dev;
};

struct vdpastate_sim {
	pthread_mutex_t lock;
	/* configuration */
	uint64_t offered;
	uint16_t max_pairs, max_ring, mtu, rss_table;
	uint8_t mac[6], rss_key;
	uint32_t hash_types, flags;
	unsigned int nvqs; /* data queues, plus the control queue if offered */
	/* device */
	uint8_t status;
	uint64_t driver_features, backend_features;
	bool suspended;
	uint32_t group_asid[SIM_NGROUPS];
	struct sim_as as[SIM_NAS];
	uint64_t map_gen;
	struct sim_vq *vq;
	struct vdpastate_netstate *ns; /* from FEATURES_OK until reset */
	/* injection */
	uint64_t fail_at;  /* calls count at which to fail; 0: off */
	int fail_err;
	bool err_on;
	int err_cls, err_cmd;
	bool hang;
	uint64_t latency_ns;
	struct vdpastate_sim_stats st;
	/* scratch, used under the lock */
	struct vds_seg *segs;
	unsigned int segs_max;
	uint8_t *frame, *cvqbuf;
	/* thread mode */
	pthread_t thread;
	bool thread_on, stop;
	int epfd, wakefd;
	/* the record of lib/sim_int.h */
	bool rec_on, rec_lost;
	struct vds_sim_event *rec;
	size_t nrec, rec_cap;
};

/* ------------------------------------------------------------ IOTLB */

/* Index of the first mapping whose last >= addr (n if none). */
static unsigned int as_lower(const struct sim_as *a, uint64_t addr)
{
	unsigned int lo = 0, hi = a->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (a->m[mid].last < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int as_range(struct vds_as *as, uint64_t addr, uint64_t len, bool write,
		    struct vds_seg *segs, unsigned int max)
{
	struct sim_as *a = (struct sim_as *)as;
	uint32_t need = write ? VDPASTATE_DMA_WRITE : VDPASTATE_DMA_READ;
	unsigned int n = 0, i;

	if (len && len - 1 > UINT64_MAX - addr)
		return -EFAULT;
	i = as_lower(a, addr);
	while (len) {
		const struct sim_map *m;
		uint64_t piece;

		if (i == a->n || a->m[i].first > addr)
			return -EFAULT;
		m = &a->m[i];
		if (!(m->perm & need))
			return write ? -EROFS : -EFAULT;
		if (n == max)
			return -ENOBUFS;
		piece = m->last - addr;
		piece = len - 1 < piece ? len : piece + 1;
		segs[n].addr = addr;
		segs[n].xaddr = addr;
		segs[n].hva = m->hva + (addr - m->first);
		segs[n].len = (uint32_t)piece;
		segs[n].flags = write ? VDPASTATE_VRING_DESC_F_WRITE : 0;
		segs[n].no_xaddr = 0;
		n++;
		addr += piece;
		len -= piece;
		i++;
	}
	return (int)n;
}

static int as_map(struct sim_as *a, uint64_t iova, uint64_t size, void *hva,
		  uint32_t perm)
{
	uint64_t last = iova + size - 1;
	unsigned int i = as_lower(a, iova);

	if (i < a->n && a->m[i].first <= last)
		return -EEXIST;
	if (a->n == a->cap) {
		unsigned int cap = a->cap ? a->cap * 2 : 16;
		struct sim_map *m = realloc(a->m, cap * sizeof(*m));

		if (!m)
			return -ENOMEM;
		a->m = m;
		a->cap = cap;
	}
	memmove(&a->m[i + 1], &a->m[i], (a->n - i) * sizeof(*a->m));
	a->m[i].first = iova;
	a->m[i].last = last;
	a->m[i].hva = hva;
	a->m[i].perm = perm;
	a->n++;
	return 0;
}

static int as_unmap(struct sim_as *a, uint64_t iova, uint64_t size)
{
	unsigned int i = as_lower(a, iova);

	if (i == a->n || a->m[i].first != iova || a->m[i].last != iova + size - 1)
		return -ENOENT;
	memmove(&a->m[i], &a->m[i + 1], (a->n - i - 1) * sizeof(*a->m));
	a->n--;
	return 0;
}

/* ------------------------------------------------------------ helpers */


/*
 * The control queue's index (virtio: 2N where N is max_virtqueue_pairs
 * when MQ or RSS is negotiated, else 1), or UINT_MAX without CTRL_VQ.
 */
static unsigned int cvq_index(const struct vdpastate_sim *s)
{
	if (!(s->offered & FB(CTRL_VQ)))
		return UINT_MAX;
	return s->driver_features & (FB(MQ) | FB(RSS)) ? 2u * s->max_pairs : 2u;
}

static struct sim_as *vq_as(struct vdpastate_sim *s, unsigned int idx)
{
	return &s->as[s->group_asid[idx == cvq_index(s) ? SIM_GROUP_CVQ
							     : SIM_GROUP_DATA]];
}

/* What a running device does with a queue: it may take buffers any time. */
static bool vq_running(const struct vdpastate_sim *s, unsigned int idx)
{
	return s->vq[idx].enabled && (s->status & VDPASTATE_STATUS_DRIVER_OK) &&
	       !s->suspended;
}

static void rec(struct vdpastate_sim *s, struct vds_sim_event e)
{
	if (!s->rec_on || s->rec_lost)
		return;
	if (s->nrec == s->rec_cap) {
		size_t cap = s->rec_cap ? 2 * s->rec_cap : 256;
		struct vds_sim_event *r = realloc(s->rec, cap * sizeof(*r));

		if (!r) {
			s->rec_lost = true;
			return;
		}
		s->rec = r;
		s->rec_cap = cap;
	}
	s->rec[s->nrec++] = e;
}

/* An operation on queue idx, recorded as the queue was before it. */
static void rec_vq(struct vdpastate_sim *s, enum vds_sim_ev kind,
		   unsigned int idx, uint32_t a)
{
	rec(s, (struct vds_sim_event){ .kind = kind, .q = idx, .a = a,
				       .cvq = idx == cvq_index(s),
				       .running = vq_running(s, idx) });
}

static size_t hdr_len(const struct vdpastate_sim *s)
{
	uint64_t f = s->driver_features;

	if (f & FB(HASH_REPORT))
		return 20;
	if (f & (RB(VERSION_1) | FB(MRG_RXBUF)))
		return 12;
	return 10;
}

static void wake_thread(struct vdpastate_sim *s)
{
	if (s->thread_on)
		vds_fd_signal(s->wakefd);
}

static void vq_break(struct vdpastate_sim *s, struct sim_vq *q, unsigned int idx)
{
	if (!q->broken) {
		vds_log(VDPASTATE_LOG_WARN, "sim: queue %u: %s; needs reset", idx,
			vdpastate_last_error());
		s->st.queue_errors++;
	}
	q->broken = true;
	s->status |= VDPASTATE_STATUS_NEEDS_RESET;
}

/*
 * Make a queue live (or refresh its ring pointers after the mappings
 * changed).  False if it may not run now.
 */
static bool vq_ready(struct vdpastate_sim *s, unsigned int idx)
{
	struct sim_vq *q = &s->vq[idx];
	struct vds_as *as = &vq_as(s, idx)->as;
	bool ev = s->driver_features & RB(EVENT_IDX);
	void *d, *a, *u;

	if (!(s->status & VDPASTATE_STATUS_DRIVER_OK) || !q->enabled || q->broken ||
	    s->suspended)
		return false;
	if (q->live && q->gen == s->map_gen)
		return true;
	d = vds_as_contig(as, q->desc, vdpastate_vring_desc_size(q->num), false);
	a = vds_as_contig(as, q->avail, vdpastate_vring_avail_size(q->num, ev),
			  false);
	u = vds_as_contig(as, q->used, vdpastate_vring_used_size(q->num, ev),
			  true);
	if (!d || !a || !u) {
		vds_fail(-EFAULT, "sim: queue %u: ring areas are not mapped "
			 "(desc 0x%llx avail 0x%llx used 0x%llx)", idx,
			 (unsigned long long)q->desc, (unsigned long long)q->avail,
			 (unsigned long long)q->used);
		vq_break(s, q, idx);
		return false;
	}
	if (!q->live) {
		if (vds_vdev_init(&q->dev, (uint16_t)q->num, s->driver_features, as,
				  d, a, u)) {
			vds_fail(-ENOMEM, "sim: out of memory");
			vq_break(s, q, idx);
			return false;
		}
		q->dev.last_avail = q->base;
		q->dev.used_idx = q->base;
		q->dev.signalled_used = q->base;
		q->live = true;
	} else {
		q->dev.as = as;
		q->dev.desc = d;
		q->dev.avail = a;
		q->dev.used = u;
	}
	q->gen = s->map_gen;
	return true;
}

static void vq_unlive(struct sim_vq *q)
{
	if (q->live) {
		q->base = q->dev.last_avail;
		vds_vdev_fini(&q->dev);
		q->live = false;
	}
}

static void vq_publish(struct sim_vq *q)
{
	if (vds_vdev_publish_used(&q->dev))
		vds_fd_signal(q->call_fd);
}

/* ------------------------------------------------------------ RX filter */

static bool mac_in(const uint8_t *table, uint32_t n, const uint8_t *mac)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		if (!memcmp(table + 6 * (size_t)i, mac, 6))
			return true;
	return false;
}

/*
 * QEMU's receive_filter() order: PROMISC takes all; a tagged frame needs
 * its VLAN in the filter (when CTRL_VLAN is negotiated); broadcast unless
 * NOBCAST; other multicast: NOMULTI drops, ALLMULTI or an overflowing
 * table takes, else the multicast table; unicast: NOUNI drops, ALLUNI or
 * an overflowing table takes, else the device MAC or the unicast table.
 */
static bool rx_accept(const struct vdpastate_sim *s, const uint8_t *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const struct vdpastate_netstate *ns = s->ns;
	uint32_t rx = vdpastate_netstate_rx_mode(ns), n_uni, n_multi;
	const uint8_t *uni, *multi;
	bool uo, mo;
	uint8_t mac[6];

	if (rx & VDPASTATE_NETSTATE_RX_PROMISC)
		return true;
	if ((s->driver_features & FB(CTRL_VLAN)) && f[12] == 0x81 && f[13] == 0) {
		uint16_t vid = (uint16_t)(((f[14] << 8) | f[15]) & 0xfff);

		if (vdpastate_netstate_vlan(ns, vid) != 1)
			return false;
	}
	vdpastate_netstate_mac_table(ns, &uni, &n_uni, &multi, &n_multi);
	vdpastate_netstate_mac_table_overflow(ns, &uo, &mo);
	if (f[0] & 1) {
		if (!memcmp(f, bcast, 6))
			return !(rx & VDPASTATE_NETSTATE_RX_NOBCAST);
		if (rx & VDPASTATE_NETSTATE_RX_NOMULTI)
			return false;
		if ((rx & VDPASTATE_NETSTATE_RX_ALLMULTI) || mo)
			return true;
		return mac_in(multi, n_multi, f);
	}
	if (rx & VDPASTATE_NETSTATE_RX_NOUNI)
		return false;
	if ((rx & VDPASTATE_NETSTATE_RX_ALLUNI) || uo)
		return true;
	vdpastate_netstate_mac(ns, mac);
	return !memcmp(f, mac, 6) || mac_in(uni, n_uni, f);
}

/* ------------------------------------------------------------ datapath */

/* Deliver one frame into the receive queue of pair p. */
static void rx_deliver(struct vdpastate_sim *s, unsigned int p,
		       const uint8_t *frame, size_t len)
{
	unsigned int idx = 2 * p;
	struct sim_vq *q = &s->vq[idx];
	uint8_t hdr[SIM_HDR_MAX] = { 0 };
	size_t hl = hdr_len(s);
	uint64_t wlen;
	uint16_t head;
	int n, avail = 0;

	if (!rx_accept(s, frame)) {
		s->st.dropped_filter++;
		return;
	}
	if (!vq_ready(s, idx) || (avail = vds_vdev_avail(&q->dev)) <= 0) {
		if (q->live && !q->broken && avail < 0)
			vq_break(s, q, idx);
		s->st.dropped_no_buffer++;
		return;
	}
	if (vds_vdev_peek_head(&q->dev, &head) ||
	    (n = vds_vdev_chain(&q->dev, head, s->segs, s->segs_max, &wlen)) < 0) {
		vq_break(s, q, idx);
		s->st.dropped_no_buffer++;
		return;
	}
	if (wlen < hl + len) {
		/* Without a big enough buffer the frame is lost, the buffer kept. */
		s->st.dropped_no_buffer++;
		return;
	}
	if (hl >= 12)
		vds_put_le16(hdr + 10, 1); /* num_buffers */
	vds_segs_scatter(s->segs, n, hdr, hl);
	{
		/* The frame follows the header in the writable space. */
		size_t skip = hl, off = 0;
		int i;

		for (i = 0; i < n && off < len; i++) {
			size_t c;
			uint8_t *dst;

			if (!(s->segs[i].flags & VDPASTATE_VRING_DESC_F_WRITE))
				continue;
			c = s->segs[i].len;
			dst = s->segs[i].hva;
			if (skip >= c) {
				skip -= c;
				continue;
			}
			dst += skip;
			c -= skip;
			skip = 0;
			c = c < len - off ? c : len - off;
			memcpy(dst, frame + off, c);
			off += c;
		}
	}
	vds_vdev_pop(&q->dev);
	vds_vdev_push_used(&q->dev, head, (uint32_t)(hl + len));
	vq_publish(q);
	s->st.rx_frames++;
}

static int process_tx(struct vdpastate_sim *s, unsigned int idx)
{
	struct sim_vq *q = &s->vq[idx];
	size_t hl = hdr_len(s);
	int avail, done = 0;

	if (!vq_ready(s, idx))
		return 0;
again:
	if ((avail = vds_vdev_avail(&q->dev)) < 0) {
		vq_break(s, q, idx);
		return done;
	}
	while (avail-- > 0) {
		uint64_t wlen, rlen;
		uint16_t head;
		size_t got;
		int n;

		if (vds_vdev_peek_head(&q->dev, &head) ||
		    (n = vds_vdev_chain(&q->dev, head, s->segs, s->segs_max,
					&wlen)) < 0) {
			vq_break(s, q, idx);
			break;
		}
		got = vds_segs_gather(s->segs, n, s->frame,
				      SIM_HDR_MAX + SIM_FRAME_MAX, &rlen);
		vds_vdev_pop(&q->dev);
		vds_vdev_push_used(&q->dev, head, 0);
		done++;
		s->st.tx_frames++;
		if (rlen < hl + 14 || rlen > got)
			s->st.dropped_invalid++;
		else
			rx_deliver(s, idx / 2, s->frame + hl, got - hl);
	}
	if (done)
		vq_publish(q);
	/* Entries made available before the kick request took effect may
	 * come without a kick: take them now. */
	if (!q->broken && vds_vdev_enable_kicks(&q->dev))
		goto again;
	return done;
}

/* ------------------------------------------------------------ control queue */

/*
 * The device's processing time.  nanosleep() sleeps at least the timer
 * slack (50 us by default), far more than a device's few microseconds,
 * so short delays spin on the clock instead.
 */
#define SPIN_NS 200000u
static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	if (ns < SPIN_NS) {
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000000u +
			       (uint64_t)(t.tv_nsec - t0.tv_nsec) < ns);
		return;
	}
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

bool vds_sim_threaded(const struct vdpastate_sim *s)
{
	return s->thread_on;
}

static bool err_injected(const struct vdpastate_sim *s, uint8_t cls, uint8_t cmd)
{
	return s->err_on && (s->err_cls == VDPASTATE_SIM_ANY || s->err_cls == cls) &&
	       (s->err_cmd == VDPASTATE_SIM_ANY || s->err_cmd == cmd);
}

/* Execute one command: the ack byte and any result into out; its length. */
static size_t cvq_exec(struct vdpastate_sim *s, const uint8_t *buf, size_t len,
		       bool whole, uint8_t *out)
{
	VDPASTATE_OPTS(vdpastate_cvq_limits, lim,
		       .max_virtqueue_pairs = s->max_pairs,
		       .rss_max_indirection_table_length = s->rss_table,
		       .rss_max_key_size = s->rss_key,
		       .supported_hash_types = s->hash_types);
	struct vdpastate_cvq_cmd *cmd = NULL;
	size_t n = 1;

	out[0] = NET_ERR;
	if (!whole || len < 2) {
		vds_log(VDPASTATE_LOG_WARN, "sim: control command of %zu bytes "
			"refused", len);
		return 1;
	}
	if (err_injected(s, buf[0], buf[1]))
		return 1;
	if (vdpastate_cvq_decode(buf, len, s->driver_features, &lim, &cmd)) {
		vds_log(VDPASTATE_LOG_INFO, "sim: %s", vdpastate_last_error());
		return 1;
	}
	switch (vdpastate_cvq_cmd_class(cmd) << 8 | vdpastate_cvq_cmd_command(cmd)) {
	case VDPASTATE_CVQ_NOTF_COAL << 8 | VDPASTATE_CVQ_NOTF_COAL_VQ_GET: {
		uint32_t pk, us;

		/* ERR for a queue that is not enabled (spec); the model knows. */
		if (vdpastate_netstate_apply(s->ns, cmd)) {
			vds_log(VDPASTATE_LOG_INFO, "sim: %s", vdpastate_last_error());
			break;
		}
		if (vdpastate_netstate_coal_vq(s->ns,
					       (uint16_t)vdpastate_cvq_cmd_coal_vq(cmd),
					       &pk, &us))
			break;
		vds_put_le32(out + 1, pk);
		vds_put_le32(out + 5, us);
		out[0] = NET_OK;
		n = 9;
		break;
	}
	case VDPASTATE_CVQ_STATS << 8 | VDPASTATE_CVQ_STATS_QUERY:
		/* virtio_net_stats_capabilities: no statistics type supported. */
		memset(out + 1, 0, 8);
		out[0] = NET_OK;
		n = 9;
		break;
	case VDPASTATE_CVQ_STATS << 8 | VDPASTATE_CVQ_STATS_GET:
		break; /* nothing is supported, so nothing may be asked for */
	default:
		if (!vdpastate_netstate_apply(s->ns, cmd))
			out[0] = NET_OK;
		else
			vds_log(VDPASTATE_LOG_INFO, "sim: %s", vdpastate_last_error());
	}
	vdpastate_cvq_cmd_free(cmd);
	return n;
}

static int process_cvq(struct vdpastate_sim *s)
{
	unsigned int idx = cvq_index(s);
	struct sim_vq *q = &s->vq[idx];
	int avail, done = 0;

	if (idx >= s->nvqs || s->hang || !vq_ready(s, idx))
		return 0;
again:
	if ((avail = vds_vdev_avail(&q->dev)) < 0) {
		vq_break(s, q, idx);
		return done;
	}
	while (avail-- > 0) {
		uint8_t out[16];
		uint64_t wlen, rlen;
		uint16_t head;
		size_t got, n;
		int segs;

		if (vds_vdev_peek_head(&q->dev, &head) ||
		    (segs = vds_vdev_chain(&q->dev, head, s->segs, s->segs_max,
					   &wlen)) < 0) {
			vq_break(s, q, idx);
			break;
		}
		got = vds_segs_gather(s->segs, segs, s->cvqbuf, SIM_CVQ_MAX, &rlen);
		n = cvq_exec(s, s->cvqbuf, got, got == rlen, out);
		if (wlen < n) {
			if (wlen == 0) {
				vds_fail(-VDPASTATE_EGUEST, "sim: control chain %u has "
					 "no writable ack byte", head);
				vq_break(s, q, idx);
				break;
			}
			/* No room for the result: answer ERR, state applied or not. */
			out[0] = NET_ERR;
			n = 1;
		}
		if (s->latency_ns)
			sleep_ns(s->latency_ns);
		vds_vdev_pop(&q->dev);
		vds_vdev_push_used(&q->dev, head,
				   vds_segs_scatter(s->segs, segs, out, n));
		vq_publish(q);
		rec(s, (struct vds_sim_event){
			       .kind = VDS_SIM_EV_CVQ, .q = idx, .cvq = true,
			       .running = true, .b = out[0],
			       .a = got >= 2 ? (uint32_t)s->cvqbuf[0] << 8 |
						       s->cvqbuf[1]
					     : UINT32_MAX });
		s->st.cvq_commands++;
		if (out[0] == NET_OK)
			s->st.cvq_ok++;
		else
			s->st.cvq_err++;
		done++;
	}
	if (!q->broken && vds_vdev_enable_kicks(&q->dev))
		goto again;
	return done;
}

/*
 * Run queue idx on its own: the control queue, or a transmit queue of a
 * pair in use.  A receive queue takes buffers only for what a transmit
 * queue sends it, so it has nothing to do on its own.
 */
static void run_vq(struct vdpastate_sim *s, unsigned int idx)
{
	if (idx == cvq_index(s))
		process_cvq(s);
	else if (idx % 2 && idx / 2 < vdpastate_netstate_active_pairs(s->ns))
		process_tx(s, idx);
}

/* Process every queue that may run; the lock is held. */
static int process_all(struct vdpastate_sim *s)
{
	unsigned int i, pairs;
	int done = 0;

	for (i = 0; i < s->nvqs; i++)
		vds_fd_drain(s->vq[i].kick_fd);
	if (!s->ns || !(s->status & VDPASTATE_STATUS_DRIVER_OK) || s->suspended)
		return 0;
	done += process_cvq(s);
	pairs = vdpastate_netstate_active_pairs(s->ns);
	for (i = 0; i < pairs && i < s->max_pairs; i++)
		done += process_tx(s, 2 * i + 1);
	/* Ask for kicks on receive queues too: buffers are taken on demand. */
	for (i = 0; i < pairs && i < s->max_pairs; i++)
		if (vq_ready(s, 2 * i))
			vds_vdev_enable_kicks(&s->vq[2 * i].dev);
	return done;
}

/* ------------------------------------------------------------ thread */

static void *sim_thread(void *arg)
{
	struct vdpastate_sim *s = arg;

	for (;;) {
		struct epoll_event ev[16];
		int n = epoll_wait(s->epfd, ev, 16, -1);
		bool stop;

		if (n < 0 && errno != EINTR)
			break;
		vds_fd_drain(s->wakefd);
		pthread_mutex_lock(&s->lock);
		stop = s->stop;
		if (!stop)
			process_all(s);
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;
	}
	return NULL;
}

static void epoll_swap(struct vdpastate_sim *s, int old, int fd, unsigned int idx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = idx };

	if (!s->thread_on)
		return;
	if (old >= 0)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, old, NULL);
	if (fd >= 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev))
		vds_log(VDPASTATE_LOG_WARN, "sim: queue %u: cannot watch kick fd %d",
			idx, fd);
}

/* ------------------------------------------------------------ ops */

/*
 * Every op: take the lock, count the call, fail it if injected.  The
 * macros keep each op to what it does.
 */
#define OP_ENTER(s, ctx, name)                                              \
	struct vdpastate_sim *s = (ctx);                                    \
	int ret_;                                                           \
	pthread_mutex_lock(&s->lock);                                       \
	if ((ret_ = call_begin(s, name))) {                                 \
		pthread_mutex_unlock(&s->lock);                             \
		return ret_;                                                \
	}
#define OP_RETURN(s, v)                         \
	do {                                    \
		int r_ = (v);                   \
		pthread_mutex_unlock(&(s)->lock); \
		return r_;                      \
	} while (0)

static int call_begin(struct vdpastate_sim *s, const char *name)
{
	s->st.calls++;
	if (s->fail_at && s->st.calls == s->fail_at) {
		s->fail_at = 0;
		s->st.calls_failed++;
		return vds_fail(s->fail_err, "sim: %s: failed by injection (%s)",
				name, vdpastate_strerror(s->fail_err));
	}
	return 0;
}

static int check_vq(const struct vdpastate_sim *s, uint32_t idx, const char *op)
{
	if (idx >= s->nvqs)
		return vds_fail(-EINVAL, "sim: %s: queue %u does not exist (%u "
				"queues)", op, idx, s->nvqs);
	return 0;
}

static int sim_get_device_id(void *ctx, uint32_t *id)
{
	OP_ENTER(s, ctx, "get_device_id");
	*id = VIRTIO_ID_NET;
	OP_RETURN(s, 0);
}

static int sim_get_device_features(void *ctx, uint64_t *features)
{
	OP_ENTER(s, ctx, "get_device_features");
	*features = s->offered;
	OP_RETURN(s, 0);
}

static int sim_set_driver_features(void *ctx, uint64_t features)
{
	OP_ENTER(s, ctx, "set_driver_features");
	if (s->status & VDPASTATE_STATUS_FEATURES_OK)
		OP_RETURN(s, vds_fail(-EBUSY, "sim: set_driver_features after "
				      "FEATURES_OK"));
	s->driver_features = features;
	rec(s, (struct vds_sim_event){ .kind = VDS_SIM_EV_FEATURES,
				       .v = features });
	OP_RETURN(s, 0);
}

/* What the device offers: all it has, but for what its flags withhold. */
static uint64_t backend_offered(const struct vdpastate_sim *s)
{
	uint64_t f = SIM_BACKEND_FEATURES;

	if (s->flags & VDPASTATE_SIM_F_NO_ENABLE_AFTER_DRIVER_OK)
		f &= ~(1ULL << VDPASTATE_BACKEND_F_ENABLE_AFTER_DRIVER_OK);
	return f;
}

static int sim_get_backend_features(void *ctx, uint64_t *features)
{
	OP_ENTER(s, ctx, "get_backend_features");
	*features = backend_offered(s);
	OP_RETURN(s, 0);
}

static int sim_set_backend_features(void *ctx, uint64_t features)
{
	OP_ENTER(s, ctx, "set_backend_features");
	if (features & ~backend_offered(s))
		OP_RETURN(s, vds_fail(-EOPNOTSUPP, "sim: backend features 0x%llx "
				      "not offered (offered 0x%llx)",
				      (unsigned long long)features,
				      (unsigned long long)backend_offered(s)));
	s->backend_features = features;
	rec(s, (struct vds_sim_event){ .kind = VDS_SIM_EV_BACKEND,
				       .v = features });
	OP_RETURN(s, 0);
}

static uint16_t config_status(const struct vdpastate_sim *s)
{
	if (s->ns)
		return vdpastate_netstate_status(s->ns);
	return (s->flags & VDPASTATE_SIM_F_LINK_DOWN) ? 0 : VDPASTATE_NET_S_LINK_UP;
}

static int sim_get_config(void *ctx, uint32_t offset, void *buf, uint32_t len)
{
	uint8_t c[SIM_CONFIG_SIZE] = { 0 };

	OP_ENTER(s, ctx, "get_config");
	if (offset > sizeof(c) || len > sizeof(c) - offset)
		OP_RETURN(s, vds_fail(-EINVAL, "sim: get_config [%u, +%u] beyond "
				      "the %zu-byte config space", offset, len,
				      sizeof(c)));
	memcpy(c, s->mac, 6);
	vds_put_le16(c + 6, config_status(s));
	vds_put_le16(c + 8, s->max_pairs);
	vds_put_le16(c + 10, s->mtu);
	vds_put_le32(c + 12, 10000);  /* speed, Mb/s */
	c[16] = 1;                    /* full duplex */
	c[17] = s->rss_key;
	vds_put_le16(c + 18, s->rss_table);
	vds_put_le32(c + 20, s->hash_types);
	if (len)
		memcpy(buf, c + offset, len);
	OP_RETURN(s, 0);
}

static int sim_get_status(void *ctx, uint8_t *status)
{
	OP_ENTER(s, ctx, "get_status");
	*status = s->status;
	OP_RETURN(s, 0);
}

/* Status 0: back to what a fresh device is, DMA mappings kept. */
static void sim_reset(struct vdpastate_sim *s)
{
	unsigned int i;

	for (i = 0; i < s->nvqs; i++) {
		struct sim_vq *q = &s->vq[i];

		vq_unlive(q);
		q->num = s->max_ring;
		q->desc = q->avail = q->used = 0;
		q->base = 0;
		q->enabled = q->broken = false;
	}
	vdpastate_netstate_free(s->ns);
	s->ns = NULL;
	s->status = 0;
	s->driver_features = 0;
	s->suspended = false;
	for (i = 0; i < SIM_NGROUPS; i++)
		s->group_asid[i] = 0;
	s->map_gen++;
}

static int features_ok(struct vdpastate_sim *s)
{
	VDPASTATE_OPTS(vdpastate_netstate_config, c,
		       .features = s->driver_features,
		       .status = (uint16_t)((s->flags & VDPASTATE_SIM_F_LINK_DOWN)
						    ? 0
						    : VDPASTATE_NET_S_LINK_UP),
		       .max_virtqueue_pairs = s->max_pairs, .mtu = s->mtu,
		       .rss_max_indirection_table_length = s->rss_table,
		       .rss_max_key_size = s->rss_key,
		       .supported_hash_types = s->hash_types);
	uint64_t f = s->driver_features;

	if (f & ~s->offered) {
		vds_log(VDPASTATE_LOG_INFO, "sim: FEATURES_OK refused: features "
			"0x%llx not offered", (unsigned long long)(f & ~s->offered));
		return -1;
	}
	if (!(f & RB(VERSION_1)) || (f & RB(RING_PACKED))) {
		vds_log(VDPASTATE_LOG_INFO, "sim: FEATURES_OK refused: VERSION_1 "
			"is required");
		return -1;
	}
	/* Without VIRTIO_NET_F_MAC the config MAC means nothing to the
	 * driver (the handle tracks none either): the device has no MAC
	 * until MAC_ADDR_SET, so it takes only broadcast, multicast and
	 * what its tables or modes let through. */
	if (f & FB(MAC))
		memcpy(c.mac, s->mac, 6);
	s->ns = vdpastate_netstate_new(&c);
	return s->ns ? 0 : -1;
}

static int sim_set_status(void *ctx, uint8_t status)
{
	uint8_t old;

	OP_ENTER(s, ctx, "set_status");
	old = s->status;
	if (status == 0) {
		sim_reset(s);
		rec(s, (struct vds_sim_event){ .kind = VDS_SIM_EV_STATUS });
		OP_RETURN(s, 0);
	}
	if (old & ~status & ~VDPASTATE_STATUS_NEEDS_RESET)
		OP_RETURN(s, vds_fail(-EINVAL, "sim: set_status 0x%x clears bits of "
				      "0x%x (only a reset may)", status, old));
	if ((status & VDPASTATE_STATUS_DRIVER_OK) &&
	    !((old | status) & VDPASTATE_STATUS_FEATURES_OK))
		OP_RETURN(s, vds_fail(-EINVAL, "sim: DRIVER_OK without FEATURES_OK"));
	if ((status & VDPASTATE_STATUS_FEATURES_OK) &&
	    !(old & VDPASTATE_STATUS_FEATURES_OK) && features_ok(s)) {
		/* As real devices do, the bit does not stick: re-read says why. */
		status &= (uint8_t)~(VDPASTATE_STATUS_FEATURES_OK |
				     VDPASTATE_STATUS_DRIVER_OK);
	}
	s->status = (uint8_t)(status | (old & VDPASTATE_STATUS_NEEDS_RESET));
	rec(s, (struct vds_sim_event){ .kind = VDS_SIM_EV_STATUS, .a = status,
				       .b = s->status });
	if ((status & VDPASTATE_STATUS_DRIVER_OK) &&
	    !(old & VDPASTATE_STATUS_DRIVER_OK))
		wake_thread(s);
	OP_RETURN(s, 0);
}

static int sim_get_vq_count(void *ctx, uint32_t *count)
{
	OP_ENTER(s, ctx, "get_vq_count");
	*count = s->nvqs;
	OP_RETURN(s, 0);
}

static int sim_get_vring_num_max(void *ctx, uint16_t *num)
{
	OP_ENTER(s, ctx, "get_vring_num_max");
	*num = s->max_ring;
	OP_RETURN(s, 0);
}

/* Ring layout may change only while the queue does not run. */
static int check_idle(const struct vdpastate_sim *s, uint32_t idx, const char *op)
{
	if (vq_running(s, idx))
		return vds_fail(-EBUSY, "sim: %s: queue %u is running", op, idx);
	return 0;
}

/*
 * A vring's addresses and base change only before DRIVER_OK or while the
 * device is suspended, whether or not the queue is enabled: vhost-vdpa
 * (Linux 6.12) refuses VHOST_SET_VRING_ADDR and VHOST_SET_VRING_BASE
 * otherwise.
 */
static int check_stopped(const struct vdpastate_sim *s, uint32_t idx,
			 const char *op)
{
	if ((s->status & VDPASTATE_STATUS_DRIVER_OK) && !s->suspended)
		return vds_fail(-EBUSY, "sim: %s: queue %u: the device is past "
				"DRIVER_OK and not suspended", op, idx);
	return 0;
}

static int sim_set_vring_num(void *ctx, uint32_t idx, uint32_t num)
{
	int err;

	OP_ENTER(s, ctx, "set_vring_num");
	if ((err = check_vq(s, idx, "set_vring_num")) ||
	    (err = check_idle(s, idx, "set_vring_num")))
		OP_RETURN(s, err);
	/* virtio: a power of two, at most 32768; 1 (2^0) included. */
	if (num < 1 || num > s->max_ring || (num & (num - 1)))
		OP_RETURN(s, vds_fail(-EINVAL, "sim: set_vring_num: queue %u: %u is "
				      "not a power of two in 1..%u", idx, num,
				      s->max_ring));
	rec_vq(s, VDS_SIM_EV_VRING_NUM, idx, num);
	vq_unlive(&s->vq[idx]);
	s->vq[idx].num = num;
	OP_RETURN(s, 0);
}

static int sim_set_vring_addr(void *ctx, uint32_t idx, uint64_t desc,
			      uint64_t avail, uint64_t used)
{
	int err;

	OP_ENTER(s, ctx, "set_vring_addr");
	if ((err = check_vq(s, idx, "set_vring_addr")) ||
	    (err = check_idle(s, idx, "set_vring_addr")) ||
	    (err = check_stopped(s, idx, "set_vring_addr")))
		OP_RETURN(s, err);
	if (desc % VDPASTATE_VRING_DESC_ALIGN || avail % VDPASTATE_VRING_AVAIL_ALIGN ||
	    used % VDPASTATE_VRING_USED_ALIGN)
		OP_RETURN(s, vds_fail(-EINVAL, "sim: set_vring_addr: queue %u: "
				      "misaligned area", idx));
	rec(s, (struct vds_sim_event){ .kind = VDS_SIM_EV_VRING_ADDR, .q = idx,
				       .cvq = idx == cvq_index(s), .v = desc });
	vq_unlive(&s->vq[idx]);
	s->vq[idx].desc = desc;
	s->vq[idx].avail = avail;
	s->vq[idx].used = used;
	OP_RETURN(s, 0);
}

static int sim_set_vring_base(void *ctx, uint32_t idx, uint32_t base)
{
	struct sim_vq *q;
	int err;

	OP_ENTER(s, ctx, "set_vring_base");
	if ((err = check_vq(s, idx, "set_vring_base")) ||
	    (err = check_idle(s, idx, "set_vring_base")) ||
	    (err = check_stopped(s, idx, "set_vring_base")))
		OP_RETURN(s, err);
	if (base > UINT16_MAX)
		OP_RETURN(s, vds_fail(-EINVAL, "sim: set_vring_base: queue %u: base "
				      "%u above 65535", idx, base));
	rec_vq(s, VDS_SIM_EV_SET_BASE, idx, base);
	q = &s->vq[idx];
	q->base = (uint16_t)base;
	if (q->live) {
		q->dev.last_avail = (uint16_t)base;
		q->dev.used_idx = (uint16_t)base;
		q->dev.signalled_used = (uint16_t)base;
	}
	OP_RETURN(s, 0);
}

static int sim_get_vring_base(void *ctx, uint32_t idx, uint32_t *base)
{
	int err;

	OP_ENTER(s, ctx, "get_vring_base");
	if ((err = check_vq(s, idx, "get_vring_base")))
		OP_RETURN(s, err);
	*base = s->vq[idx].live ? s->vq[idx].dev.last_avail : s->vq[idx].base;
	rec_vq(s, VDS_SIM_EV_GET_BASE, idx, *base);
	/*
	 * A running queue's base is no position it stays at: vdpa_sim reads
	 * vringh's last_avail_idx while its worker goes on consuming, and
	 * hardware (mlx5_vdpa) queries a live queue object.  This device
	 * runs only when polled, so the queue runs now, as if it had gone on
	 * while the caller held the value: what it takes is what the value
	 * misses.  Only that queue: had the read of one queue run them all,
	 * the next queue read would be exact.  Only a suspended device or a
	 * disabled queue stays put.
	 */
	if (vq_running(s, idx))
		run_vq(s, idx);
	OP_RETURN(s, 0);
}

static int sim_set_vring_kick(void *ctx, uint32_t idx, int fd)
{
	int err;

	OP_ENTER(s, ctx, "set_vring_kick");
	if ((err = check_vq(s, idx, "set_vring_kick")))
		OP_RETURN(s, err);
	if (fd < -1)
		OP_RETURN(s, vds_fail(-EBADF, "sim: set_vring_kick: fd %d", fd));
	rec_vq(s, VDS_SIM_EV_KICK, idx, (uint32_t)fd);
	epoll_swap(s, s->vq[idx].kick_fd, fd, idx);
	s->vq[idx].kick_fd = fd;
	OP_RETURN(s, 0);
}

static int sim_set_vring_call(void *ctx, uint32_t idx, int fd)
{
	int err;

	OP_ENTER(s, ctx, "set_vring_call");
	if ((err = check_vq(s, idx, "set_vring_call")))
		OP_RETURN(s, err);
	if (fd < -1)
		OP_RETURN(s, vds_fail(-EBADF, "sim: set_vring_call: fd %d", fd));
	rec_vq(s, VDS_SIM_EV_CALL, idx, (uint32_t)fd);
	s->vq[idx].call_fd = fd;
	OP_RETURN(s, 0);
}

static int sim_set_vring_enable(void *ctx, uint32_t idx, bool enable)
{
	int err;

	OP_ENTER(s, ctx, "set_vring_enable");
	if ((err = check_vq(s, idx, "set_vring_enable")))
		OP_RETURN(s, err);
	rec_vq(s, VDS_SIM_EV_ENABLE, idx, enable);
	s->vq[idx].enabled = enable;
	if (enable)
		wake_thread(s);
	OP_RETURN(s, 0);
}

static int sim_get_group_num(void *ctx, uint32_t *groups)
{
	OP_ENTER(s, ctx, "get_group_num");
	*groups = SIM_NGROUPS;
	OP_RETURN(s, 0);
}

static int sim_get_as_num(void *ctx, uint32_t *as_num)
{
	OP_ENTER(s, ctx, "get_as_num");
	*as_num = SIM_NAS;
	OP_RETURN(s, 0);
}

static int sim_get_vring_group(void *ctx, uint32_t idx, uint32_t *group)
{
	int err;

	OP_ENTER(s, ctx, "get_vring_group");
	if ((err = check_vq(s, idx, "get_vring_group")))
		OP_RETURN(s, err);
	*group = idx == cvq_index(s) ? SIM_GROUP_CVQ : SIM_GROUP_DATA;
	OP_RETURN(s, 0);
}

static int sim_set_group_asid(void *ctx, uint32_t group, uint32_t asid)
{
	OP_ENTER(s, ctx, "set_group_asid");
	if (group >= SIM_NGROUPS || asid >= SIM_NAS)
		OP_RETURN(s, vds_fail(-EINVAL, "sim: set_group_asid: group %u asid "
				      "%u (groups %u, address spaces %u)", group,
				      asid, SIM_NGROUPS, SIM_NAS));
	rec(s, (struct vds_sim_event){ .kind = VDS_SIM_EV_GROUP_ASID, .a = group,
				       .b = asid });
	s->group_asid[group] = asid;
	s->map_gen++;
	OP_RETURN(s, 0);
}

static int sim_dma_map(void *ctx, uint32_t asid, uint64_t iova, uint64_t size,
		       void *hva, uint32_t perm)
{
	int err;

	OP_ENTER(s, ctx, "dma_map");
	if (asid >= SIM_NAS || !size || size - 1 > UINT64_MAX - iova || !hva ||
	    !perm || (perm & ~(uint32_t)(VDPASTATE_DMA_READ | VDPASTATE_DMA_WRITE)))
		OP_RETURN(s, vds_fail(-EINVAL, "sim: dma_map asid %u [0x%llx, +0x%llx]"
				      " perm %u: invalid", asid,
				      (unsigned long long)iova,
				      (unsigned long long)size, perm));
	err = as_map(&s->as[asid], iova, size, hva, perm);
	if (err == -EEXIST)
		OP_RETURN(s, vds_fail(err, "sim: dma_map asid %u [0x%llx, +0x%llx]: "
				      "overlaps an existing mapping", asid,
				      (unsigned long long)iova,
				      (unsigned long long)size));
	if (err)
		OP_RETURN(s, vds_fail(err, "sim: dma_map: out of memory"));
	rec(s, (struct vds_sim_event){ .kind = VDS_SIM_EV_MAP, .a = asid,
				       .v = iova, .w = size });
	s->map_gen++;
	OP_RETURN(s, 0);
}

static int sim_dma_unmap(void *ctx, uint32_t asid, uint64_t iova, uint64_t size)
{
	OP_ENTER(s, ctx, "dma_unmap");
	if (asid >= SIM_NAS || !size || size - 1 > UINT64_MAX - iova)
		OP_RETURN(s, vds_fail(-EINVAL, "sim: dma_unmap asid %u [0x%llx, "
				      "+0x%llx]: invalid", asid,
				      (unsigned long long)iova,
				      (unsigned long long)size));
	if (as_unmap(&s->as[asid], iova, size))
		OP_RETURN(s, vds_fail(-ENOENT, "sim: dma_unmap asid %u [0x%llx, "
				      "+0x%llx]: not exactly one mapping", asid,
				      (unsigned long long)iova,
				      (unsigned long long)size));
	rec(s, (struct vds_sim_event){ .kind = VDS_SIM_EV_UNMAP, .a = asid,
				       .v = iova, .w = size });
	/* Rings must not keep pointers into what was unmapped. */
	s->map_gen++;
	OP_RETURN(s, 0);
}

static int sim_dma_batch_begin(void *ctx, uint32_t asid)
{
	OP_ENTER(s, ctx, "dma_batch_begin");
	if (asid >= SIM_NAS)
		OP_RETURN(s, vds_fail(-EINVAL, "sim: dma_batch_begin: asid %u", asid));
	if (s->as[asid].batching)
		OP_RETURN(s, vds_fail(-EBUSY, "sim: dma_batch_begin: asid %u already "
				      "in a batch", asid));
	s->as[asid].batching = true;
	OP_RETURN(s, 0);
}

static int sim_dma_batch_end(void *ctx, uint32_t asid)
{
	OP_ENTER(s, ctx, "dma_batch_end");
	if (asid >= SIM_NAS || !s->as[asid].batching)
		OP_RETURN(s, vds_fail(-EINVAL, "sim: dma_batch_end: asid %u not in a "
				      "batch", asid));
	s->as[asid].batching = false;
	OP_RETURN(s, 0);
}

static int sim_get_iova_range(void *ctx, uint64_t *first, uint64_t *last)
{
	OP_ENTER(s, ctx, "get_iova_range");
	*first = 0;
	*last = UINT64_MAX;
	OP_RETURN(s, 0);
}

static int sim_suspend(void *ctx)
{
	OP_ENTER(s, ctx, "suspend");
	rec(s, (struct vds_sim_event){ .kind = VDS_SIM_EV_SUSPEND });
	s->suspended = true;
	OP_RETURN(s, 0);
}

static int sim_resume(void *ctx)
{
	OP_ENTER(s, ctx, "resume");
	rec(s, (struct vds_sim_event){ .kind = VDS_SIM_EV_RESUME });
	s->suspended = false;
	wake_thread(s); /* look for what arrived meanwhile */
	OP_RETURN(s, 0);
}

static void sim_destroy(struct vdpastate_sim *s)
{
	unsigned int i;

	if (!s)
		return;
	if (s->thread_on) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_mutex_unlock(&s->lock);
		vds_fd_signal(s->wakefd);
		pthread_join(s->thread, NULL);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->wakefd >= 0)
		close(s->wakefd);
	for (i = 0; s->vq && i < s->nvqs; i++)
		vq_unlive(&s->vq[i]);
	for (i = 0; i < SIM_NAS; i++)
		free(s->as[i].m);
	vdpastate_netstate_free(s->ns);
	free(s->vq);
	free(s->segs);
	free(s->frame);
	free(s->cvqbuf);
	free(s->rec);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void sim_close(void *ctx)
{
	sim_destroy(ctx);
}

static const struct vdpastate_transport_ops vds_sim_ops = {
	.get_device_id = sim_get_device_id,
	.get_device_features = sim_get_device_features,
	.set_driver_features = sim_set_driver_features,
	.get_backend_features = sim_get_backend_features,
	.set_backend_features = sim_set_backend_features,
	.get_config = sim_get_config,
	.get_status = sim_get_status,
	.set_status = sim_set_status,
	.get_vq_count = sim_get_vq_count,
	.get_vring_num_max = sim_get_vring_num_max,
	.set_vring_num = sim_set_vring_num,
	.set_vring_addr = sim_set_vring_addr,
	.set_vring_base = sim_set_vring_base,
	.get_vring_base = sim_get_vring_base,
	.set_vring_kick = sim_set_vring_kick,
	.set_vring_call = sim_set_vring_call,
	.set_vring_enable = sim_set_vring_enable,
	.get_group_num = sim_get_group_num,
	.get_as_num = sim_get_as_num,
	.get_vring_group = sim_get_vring_group,
	.set_group_asid = sim_set_group_asid,
	.dma_map = sim_dma_map,
	.dma_unmap = sim_dma_unmap,
	.dma_batch_begin = sim_dma_batch_begin,
	.dma_batch_end = sim_dma_batch_end,
	.get_iova_range = sim_get_iova_range,
	.suspend = sim_suspend,
	.resume = sim_resume,
	.close = sim_close,
};

/* ------------------------------------------------------------ creation */

static int opts_resolve(struct vdpastate_sim *s, const struct vdpastate_sim_opts *o)
{
	const char *n = "sim_opts";
	static const uint8_t zero[6];
	int err = VDS_OPTS_VALID(o, vdpastate_sim_opts);
	uint64_t f;

	if (err)
		return err;
	f = VDS_OPTS_GET(o, device_features, 0);
	s->offered = f ? f : SIM_DEFAULT_FEATURES;
	s->max_pairs = VDS_OPTS_GET(o, max_queue_pairs, 0);
	s->max_ring = VDS_OPTS_GET(o, max_ring_size, 0);
	s->mtu = VDS_OPTS_GET(o, mtu, 0);
	s->rss_table = VDS_OPTS_GET(o, rss_max_indirection_table_length, 0);
	s->rss_key = VDS_OPTS_GET(o, rss_max_key_size, 0);
	s->hash_types = VDS_OPTS_GET(o, supported_hash_types, 0);
	s->flags = VDS_OPTS_GET(o, flags, 0);
	s->latency_ns = VDS_OPTS_GET(o, cvq_latency_ns, 0);
	if (VDS_OPTS_HAS(o, mac) && memcmp(o->mac, zero, 6))
		memcpy(s->mac, o->mac, 6);
	else
		memcpy(s->mac, default_mac, 6);
	if (VDS_OPTS_GET(o, reserved0, 0))
		return vds_fail(-EINVAL, "%s: reserved0 must be zero", n);
	if (s->offered & ~SIM_KNOWN_FEATURES)
		return vds_fail(-EINVAL, "%s: device_features 0x%llx the model "
				"cannot honour", n,
				(unsigned long long)(s->offered & ~SIM_KNOWN_FEATURES));
	if (!(s->offered & RB(VERSION_1)))
		return vds_fail(-EINVAL, "%s: device_features lack VERSION_1", n);
	if (s->flags & ~SIM_FLAGS)
		return vds_fail(-EINVAL, "%s: unknown flags 0x%x", n, s->flags);
	if (!(s->offered & (FB(MQ) | FB(RSS))) && s->max_pairs > 1)
		return vds_fail(-EINVAL, "%s: %u queue pairs without MQ or RSS", n,
				s->max_pairs);
	if (!s->max_pairs)
		s->max_pairs = 1;
	if (s->max_pairs > SIM_MAX_PAIRS)
		return vds_fail(-EINVAL, "%s: max_queue_pairs %u above %u", n,
				s->max_pairs, SIM_MAX_PAIRS);
	if (!s->max_ring)
		s->max_ring = 256;
	if (s->max_ring > 32768 || (s->max_ring & (s->max_ring - 1)))
		return vds_fail(-EINVAL, "%s: max_ring_size %u is not a power of "
				"two in 1..32768", n, s->max_ring);
	if (!s->mtu)
		s->mtu = 1500;
	if (s->mtu < 68)
		return vds_fail(-EINVAL, "%s: mtu %u below 68", n, s->mtu);
	if (!s->rss_table)
		s->rss_table = 128;
	if (s->rss_table < 128 || (s->rss_table & (s->rss_table - 1)))
		return vds_fail(-EINVAL, "%s: rss_max_indirection_table_length %u "
				"is not a power of two >= 128", n, s->rss_table);
	if (!s->rss_key)
		s->rss_key = 40;
	if (s->rss_key < 40)
		return vds_fail(-EINVAL, "%s: rss_max_key_size %u below 40", n,
				s->rss_key);
	if (!s->hash_types)
		s->hash_types = VDPASTATE_NET_HASH_ALL;
	if (s->hash_types & ~VDPASTATE_NET_HASH_ALL)
		return vds_fail(-EINVAL, "%s: supported_hash_types 0x%x has "
				"undefined bits", n, s->hash_types);
	return 0;
}

static struct vdpastate_sim *vds_sim_create(const struct vdpastate_sim_opts *opts)
{
	struct vdpastate_sim *s = calloc(1, sizeof(*s));
	unsigned int i;
	int err;

	if (!s)
		return vds_fail_ptr(-ENOMEM, "sim: out of memory");
	s->epfd = s->wakefd = -1;
	if (pthread_mutex_init(&s->lock, NULL)) {
		free(s);
		return vds_fail_ptr(-ENOMEM, "sim: cannot create a mutex");
	}
	if ((err = opts_resolve(s, opts)))
		goto fail;
	s->nvqs = 2u * s->max_pairs;
	if (s->offered & FB(CTRL_VQ))
		s->nvqs++;
	for (i = 0; i < SIM_NAS; i++)
		s->as[i].as.range = as_range;
	s->segs_max = 4u * s->max_ring + 64;
	s->vq = calloc(s->nvqs, sizeof(*s->vq));
	s->segs = calloc(s->segs_max, sizeof(*s->segs));
	s->frame = malloc(SIM_HDR_MAX + SIM_FRAME_MAX);
	s->cvqbuf = malloc(SIM_CVQ_MAX);
	err = -ENOMEM;
	if (!s->vq || !s->segs || !s->frame || !s->cvqbuf) {
		vds_fail(err, "sim: out of memory");
		goto fail;
	}
	for (i = 0; i < s->nvqs; i++)
		s->vq[i].kick_fd = s->vq[i].call_fd = -1;
	sim_reset(s);
	if (s->flags & VDPASTATE_SIM_F_THREAD) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };

		s->epfd = epoll_create1(EPOLL_CLOEXEC);
		s->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (s->epfd < 0 || s->wakefd < 0 ||
		    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wakefd, &ev)) {
			err = vds_fail(-errno, "sim: cannot set up the thread's "
				       "epoll: %s", vdpastate_strerror(errno));
			goto fail;
		}
		if ((err = pthread_create(&s->thread, NULL, sim_thread, s))) {
			err = vds_fail(-err, "sim: cannot start the thread: %s",
				       vdpastate_strerror(err));
			goto fail;
		}
		s->thread_on = true;
	}
	return s;
fail:
	sim_destroy(s);
	errno = -err;
	return NULL;
}

VDPASTATE_API struct vdpastate_transport *
vdpastate_sim_new(const struct vdpastate_sim_opts *opts)
{
	struct vdpastate_sim *s = vds_sim_create(opts);
	struct vdpastate_transport *t;

	if (!s)
		return NULL;
	t = vds_transport_new_named("sim", &vds_sim_ops, sizeof(vds_sim_ops), s);
	if (!t) {
		int err = errno;

		sim_destroy(s);
		errno = err;
	}
	return t;
}

VDPASTATE_API struct vdpastate_sim *
vdpastate_sim_from_transport(struct vdpastate_transport *t)
{
	/* Only this file creates a transport named "sim" (the named
	 * constructor is private), so the name identifies the ctx. */
	if (!t || strcmp(vdpastate_transport_name(t), "sim"))
		return vds_fail_ptr(-EINVAL, "sim: %s transport is not a "
				    "simulated device",
				    t ? vdpastate_transport_name(t) : "NULL");
	return vds_transport_ctx(t);
}

/* ------------------------------------------------------------ controls */

#define SIM_CHECK(s, what)                                               \
	do {                                                             \
		if (!(s))                                                \
			return vds_fail(-EINVAL, "sim: " what ": NULL sim"); \
	} while (0)

VDPASTATE_API struct vdpastate_netstate *
vdpastate_sim_netstate(struct vdpastate_sim *sim)
{
	struct vdpastate_netstate *ns;

	if (!sim)
		return vds_fail_ptr(-EINVAL, "sim: netstate: NULL sim");
	pthread_mutex_lock(&sim->lock);
	if (!sim->ns) {
		pthread_mutex_unlock(&sim->lock);
		return vds_fail_ptr(-ENOENT, "sim: netstate: features not "
				    "negotiated (no FEATURES_OK)");
	}
	ns = vdpastate_netstate_copy(sim->ns);
	pthread_mutex_unlock(&sim->lock);
	return ns;
}

VDPASTATE_API int vdpastate_sim_poll(struct vdpastate_sim *sim)
{
	int n;

	SIM_CHECK(sim, "poll");
	pthread_mutex_lock(&sim->lock);
	n = process_all(sim);
	pthread_mutex_unlock(&sim->lock);
	return n;
}

VDPASTATE_API int vdpastate_sim_fail_call(struct vdpastate_sim *sim,
					  unsigned int nth, int err)
{
	SIM_CHECK(sim, "fail_call");
	if (nth && err >= 0)
		return vds_fail(-EINVAL, "sim: fail_call: error %d is not a "
				"negative errno", err);
	pthread_mutex_lock(&sim->lock);
	sim->fail_at = nth ? sim->st.calls + nth : 0;
	sim->fail_err = err;
	pthread_mutex_unlock(&sim->lock);
	return 0;
}

VDPASTATE_API int vdpastate_sim_cvq_err(struct vdpastate_sim *sim, bool on,
					int cls, int cmd)
{
	SIM_CHECK(sim, "cvq_err");
	if ((cls != VDPASTATE_SIM_ANY && (cls < 0 || cls > 255)) ||
	    (cmd != VDPASTATE_SIM_ANY && (cmd < 0 || cmd > 255)))
		return vds_fail(-EINVAL, "sim: cvq_err: class %d command %d out of "
				"range", cls, cmd);
	pthread_mutex_lock(&sim->lock);
	sim->err_on = on;
	sim->err_cls = cls;
	sim->err_cmd = cmd;
	pthread_mutex_unlock(&sim->lock);
	return 0;
}

VDPASTATE_API int vdpastate_sim_cvq_hang(struct vdpastate_sim *sim, bool on)
{
	SIM_CHECK(sim, "cvq_hang");
	pthread_mutex_lock(&sim->lock);
	sim->hang = on;
	if (!on)
		wake_thread(sim);
	pthread_mutex_unlock(&sim->lock);
	return 0;
}

VDPASTATE_API int vdpastate_sim_cvq_latency(struct vdpastate_sim *sim,
					    uint64_t ns)
{
	SIM_CHECK(sim, "cvq_latency");
	pthread_mutex_lock(&sim->lock);
	sim->latency_ns = ns;
	pthread_mutex_unlock(&sim->lock);
	return 0;
}

VDPASTATE_API int vdpastate_sim_get_stats(struct vdpastate_sim *sim,
					  struct vdpastate_sim_stats *out)
{
	struct vdpastate_sim_stats st;

	SIM_CHECK(sim, "get_stats");
	if (!out)
		return vds_fail(-EINVAL, "sim: get_stats: NULL out");
	pthread_mutex_lock(&sim->lock);
	st = sim->st;
	pthread_mutex_unlock(&sim->lock);
	st.sz = sizeof(st);
	return vds_out_copy(out, &st, sizeof(st), "vdpastate_sim_stats");
}

/* ------------------------------------------------------------ record */

void vds_sim_record(struct vdpastate_sim *s, bool on)
{
	pthread_mutex_lock(&s->lock);
	s->rec_on = on;
	s->rec_lost = false;
	s->nrec = 0;
	if (!on) {
		free(s->rec);
		s->rec = NULL;
		s->rec_cap = 0;
	}
	pthread_mutex_unlock(&s->lock);
}

int vds_sim_events(struct vdpastate_sim *s, struct vds_sim_event **out,
		   size_t *n)
{
	int err = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->lock);
	if (s->rec_lost) {
		err = vds_fail(-ENOMEM, "sim: out of memory while recording");
	} else if (s->nrec) {
		*out = malloc(s->nrec * sizeof(**out));
		if (*out) {
			memcpy(*out, s->rec, s->nrec * sizeof(**out));
			*n = s->nrec;
		} else {
			err = vds_fail(-ENOMEM, "sim: out of memory");
		}
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* SPDX-License-Identifier: MIT */
/*
 * examples/vdpa-migrate.c - a live migration of a virtio-net vDPA device
 * between two processes joined by a socket, with the simulated device on
 * both sides and only the public API of the installed library.
 *
 * Each process is a VMM with a guest (vdpa-migrate-guest.c: guest RAM and
 * a tiny split-ring driver).  The VMM registers guest RAM in a memory
 * table, DMA-maps it into the device at IOVA = GPA, gives the device the
 * guest's data rings, and lets the device handle be the device of the
 * guest's control queue: it copies each command out of guest RAM,
 * validates it, forwards it on its own control ring and tracks the state
 * the device acknowledged.
 *
 *   source       the guest sets MAC, RX modes, MAC table, VLANs, queue
 *                pairs and RSS through its control queue, has two bad
 *                commands refused, and sends frames the device loops back;
 *                the state is saved and sent with the guest RAM;
 *   destination  checks that its device can take the state, restores it
 *                (full: vdpastate_dev_restore(); early: restore_begin()
 *                with a pre-copy state, restore_commit() with the final
 *                one, which the guest changed meanwhile), compares states,
 *                and the guest, running from the RAM it received, goes on.
 *
 * Usage: vdpa-migrate [--mode full|early|both] [--tcp]
 * Exits 0 when every destination state equals its source's and all
 * traffic came back byte for byte.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvdpastate/libvdpastate.h>

#include "vdpa-migrate-guest.h"

#define NF(bit) (UINT64_C(1) << VDPASTATE_NET_F_##bit)
#define RF(bit) (UINT64_C(1) << VDPASTATE_F_##bit)
/* What the guest's driver negotiates (no EVENT_IDX, no INDIRECT_DESC). */
#define FEATURES                                                          \
	(RF(VERSION_1) | RF(ACCESS_PLATFORM) | NF(MAC) | NF(MTU) |        \
	 NF(STATUS) | NF(CTRL_VQ) | NF(CTRL_RX) | NF(CTRL_VLAN) | NF(MQ) | \
	 NF(CTRL_MAC_ADDR) | NF(RSS))

/* One side: the VMM with its guest and device. */
struct vm {
	const char *side; /* "source:" or "destination:" */
	struct guest g;
	struct vdpastate_mem *mem;
	struct vdpastate_transport *t;
	struct vdpastate_sim *sim;
	struct vdpastate_dev *dev;
	unsigned int sent, received, probes; /* frames on this side */
	unsigned int cmds_ok, cmds_err;       /* guest commands answered */
};

/* ------------------------------------------------------------ report */

__attribute__((format(printf, 2, 3)))
static void say(const struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	printf("%-13s", vm->side);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Report a failure; err < 0 adds the library's description and message.
 * Returns err, or -EIO for a check that failed. */
__attribute__((format(printf, 3, 4)))
static int fail(const struct vm *vm, int err, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s error: ", vm->side);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err < 0)
		fprintf(stderr, ": %s (%s)", vdpastate_strerror(err),
			vdpastate_last_error());
	fputc('\n', stderr);
	return err < 0 ? err : -EIO;
}

/* r < 0 from a library call: report it. */
static int chk(const struct vm *vm, int r, const char *what)
{
	return r < 0 ? fail(vm, r, "%s", what) : 0;
}

/* r < 0 from a system call or the guest: report it (no library message). */
static int sys(const struct vm *vm, int r, const char *what)
{
	return r < 0 ? fail(vm, 0, "%s: %s", what, strerror(-r)), r : 0;
}

/* The plural ending of n things. */
static const char *pl(unsigned long long n)
{
	return n == 1 ? "" : "s";
}

static void print_state(const struct vm *vm, const struct vdpastate_netstate *ns)
{
	static const char *const rx_names[] = { "promisc", "allmulti", "alluni",
						"nomulti", "nouni", "nobcast" };
	uint32_t rx = vdpastate_netstate_rx_mode(ns), n_uni, n_multi, tlen, ht;
	const uint8_t *uni, *multi;
	uint8_t m[6], klen;
	char buf[256] = "";
	size_t off = 0;
	unsigned int i;

	vdpastate_netstate_mac(ns, m);
	say(vm, "  MAC            %02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
	    m[3], m[4], m[5]);
	for (i = 0; i < 6; i++)
		if (rx & (1u << i))
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, " %s",
						rx_names[i]);
	say(vm, "  RX modes      %s", off ? buf : " none");
	vdpastate_netstate_mac_table(ns, &uni, &n_uni, &multi, &n_multi);
	say(vm, "  MAC table      %u unicast, %u multicast", n_uni, n_multi);
	for (i = off = 0; i <= VDPASTATE_CVQ_VLAN_MAX && off < sizeof(buf) - 8; i++)
		if (vdpastate_netstate_vlan(ns, (uint16_t)i) == 1)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, " %u", i);
	say(vm, "  VLANs          %u:%s", vdpastate_netstate_vlan_count(ns), buf);
	if (vdpastate_netstate_rss(ns, &ht, NULL, &tlen, NULL, NULL, NULL, &klen))
		say(vm, "  queue pairs    %u, RSS off",
		    vdpastate_netstate_active_pairs(ns));
	else
		say(vm, "  queue pairs    %u, RSS on: %u-entry table, %u-byte key, "
		    "hash types 0x%x", vdpastate_netstate_active_pairs(ns), tlen,
		    klen, ht);
}

/* ------------------------------------------------------------ the guest runs */

/*
 * The guest posts n commands (freed here) on its control queue and kicks;
 * the VMM (whose event loop would now see the kick fd readable) lets the
 * handle answer; the guest reads the answers, acks[i] for cmds[i].
 */
static int guest_cmds(struct vm *vm, struct vdpastate_cvq_cmd **cmds,
		      unsigned int n, uint8_t *acks)
{
	unsigned int i;
	int r;

	if (guest_cvq_post(&vm->g, cmds, n))
		return fail(vm, 0, "guest: %s", vm->g.msg);
	if ((r = vdpastate_dev_handle_guest_cvq(vm->dev)) < 0)
		return fail(vm, r, "vdpastate_dev_handle_guest_cvq");
	if ((unsigned int)r != n)
		return fail(vm, 0, "the handle answered %d of %u commands", r, n);
	if (guest_cvq_reap(&vm->g, acks, n))
		return fail(vm, 0, "guest: %s", vm->g.msg);
	for (i = 0; i < n; i++)
		*(acks[i] == NET_OK ? &vm->cmds_ok : &vm->cmds_err) += 1;
	return 0;
}

/* One command, which must be answered ack. */
static int guest_cmd(struct vm *vm, struct vdpastate_cvq_cmd *cmd, uint8_t ack,
		     const char *what)
{
	uint8_t got;
	int r = guest_cmds(vm, &cmd, 1, &got);

	if (!r && got != ack)
		return fail(vm, 0, "guest: %s answered %u, %u expected", what, got, ack);
	if (!r)
		say(vm, "guest: %s -> %s", what,
		    ack == NET_OK ? "VIRTIO_NET_OK" : "VIRTIO_NET_ERR");
	return r;
}

/* The guest's driver configures the device at boot. */
static int guest_boot(struct vm *vm)
{
	struct vdpastate_cvq_cmd *c[16];
	uint8_t acks[16];
	unsigned int i, n = guest_boot_cmds(&vm->g, c);
	int r;

	if ((r = guest_cmds(vm, c, n, acks)))
		return r;
	for (i = 0; i < n; i++)
		if (acks[i] != NET_OK)
			return fail(vm, 0, "guest: boot command %u refused", i);
	say(vm, "guest: %u commands in one kick (MAC, RX modes, MAC table, "
	    "3 VLANs, pairs, RSS) -> all VIRTIO_NET_OK", n);
	return 0;
}

/*
 * Two commands answered VIRTIO_NET_ERR that leave the tracked state as it
 * was: VQ_PAIRS_SET 8 on a 4-pair device, which the handle's validation
 * refuses without sending it, and VLAN_ADD 999, which the device refuses
 * (fault injection); the device's counters tell which is which.
 */
static int guest_bad_commands(struct vm *vm)
{
	struct vdpastate_sim_stats s0 = { .sz = sizeof(s0) }, s1 = s0;
	struct vdpastate_netstate *before;
	int r;

	if (!(before = vdpastate_netstate_copy(vdpastate_dev_netstate(vm->dev))))
		return fail(vm, -errno, "vdpastate_netstate_copy");
	vdpastate_sim_get_stats(vm->sim, &s0);
	r = guest_cmd(vm, vdpastate_cvq_cmd_mq_vq_pairs_set(2 * PAIRS), NET_ERR,
		      "VQ_PAIRS_SET 8 (refused by the handle)");
	vdpastate_sim_get_stats(vm->sim, &s1);
	if (!r && s1.cvq_commands != s0.cvq_commands)
		r = fail(vm, 0, "VQ_PAIRS_SET 8 reached the device");
	if (!r && !(r = chk(vm, vdpastate_sim_cvq_err(vm->sim, true,
						       VDPASTATE_CVQ_VLAN,
						       VDPASTATE_CVQ_VLAN_ADD),
			    "vdpastate_sim_cvq_err")))
		r = guest_cmd(vm, vdpastate_cvq_cmd_vlan_add(PROBE_VID), NET_ERR,
			      "VLAN_ADD 999 (refused by the device)");
	vdpastate_sim_cvq_err(vm->sim, false, VDPASTATE_SIM_ANY, VDPASTATE_SIM_ANY);
	vdpastate_sim_get_stats(vm->sim, &s0);
	if (!r && s0.cvq_err != s1.cvq_err + 1)
		r = fail(vm, 0, "VLAN_ADD 999 was not refused by the device");
	if (!r && !vdpastate_netstate_equal(before, vdpastate_dev_netstate(vm->dev)))
		r = fail(vm, 0, "a refused command changed the tracked state");
	vdpastate_netstate_free(before);
	return r;
}

/*
 * The guest sends FRAMES frames on every pair in use and one on a VLAN
 * outside the filter; the device loops the accepted ones back into the
 * same pair's receive ring, where each must arrive byte for byte.
 */
static int traffic(struct vm *vm, const char *when)
{
	struct vdpastate_sim_stats s0 = { .sz = sizeof(s0) }, s1 = s0;
	unsigned int pairs, tx = 0, rx = 0;
	int r;

	pairs = vdpastate_netstate_active_pairs(vdpastate_dev_netstate(vm->dev));
	vdpastate_sim_get_stats(vm->sim, &s0);
	guest_send(&vm->g, pairs);
	/* The device runs inline: when the VMM polls it. */
	if ((r = chk(vm, vdpastate_sim_poll(vm->sim), "vdpastate_sim_poll")))
		return r;
	if (guest_receive(&vm->g, pairs, &tx, &rx))
		return fail(vm, 0, "guest: %s", vm->g.msg);
	vdpastate_sim_get_stats(vm->sim, &s1);
	if (tx != pairs * FRAMES + 1 || rx != pairs * FRAMES ||
	    s1.dropped_filter != s0.dropped_filter + 1)
		return fail(vm, 0, "traffic: %u of %u frames back, %llu dropped by "
			    "the filter", rx, pairs * FRAMES,
			    (unsigned long long)(s1.dropped_filter - s0.dropped_filter));
	vm->sent += tx;
	vm->received += rx;
	vm->probes++;
	say(vm, "traffic %-8s %u frames on %u pairs came back byte-exact; "
	    "VLAN %u dropped", when, rx, pairs, PROBE_VID);
	return 0;
}

/* ------------------------------------------------------------ VMM */

static int vm_open(struct vm *vm, const char *side)
{
	VDPASTATE_OPTS(vdpastate_sim_opts, so, .max_queue_pairs = PAIRS);
	unsigned int q;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->side = side;
	if ((r = sys(vm, guest_init(&vm->g), "guest RAM and eventfds")))
		return r;
	if (!(vm->mem = vdpastate_mem_new()) || !(vm->t = vdpastate_sim_new(&so)))
		return fail(vm, -errno, "vdpastate_mem_new, vdpastate_sim_new");
	vm->sim = vdpastate_sim_from_transport(vm->t);
	/* Guest RAM in the data queues' address space, IOVA = GPA. */
	if ((r = chk(vm, vdpastate_mem_add(vm->mem, RAM_GPA, RAM_SIZE, vm->g.ram, 0),
		     "vdpastate_mem_add")) ||
	    (r = chk(vm, vdpastate_transport_dma_map(vm->t, 0, RAM_GPA, RAM_SIZE,
						     vm->g.ram, VDPASTATE_DMA_READ |
								VDPASTATE_DMA_WRITE),
		     "vdpastate_transport_dma_map")))
		return r;
	if (!(vm->dev = vdpastate_dev_open(vm->t, NULL)))
		return fail(vm, -errno, "vdpastate_dev_open");
	for (q = 0; q < NDATA && !r; q++) {
		VDPASTATE_OPTS(vdpastate_dev_vring, vr, .num = NUM,
			       .kick_fd = vm->g.kick[q], .call_fd = vm->g.call[q]);

		guest_ring(q, &vr.desc, &vr.avail, &vr.used);
		r = chk(vm, vdpastate_dev_set_vring(vm->dev, q, &vr),
			"vdpastate_dev_set_vring");
	}
	return r;
}

/* Give the handle the guest's control queue (a restore sets where it
 * stands, from the blob). */
static int vm_set_guest_cvq(struct vm *vm)
{
	VDPASTATE_OPTS(vdpastate_dev_guest_cvq, gc, .mem = vm->mem, .num = NUM,
		       .kick_fd = vm->g.kick[QCVQ], .call_fd = vm->g.call[QCVQ]);

	guest_ring(QCVQ, &gc.desc, &gc.avail, &gc.used);
	return chk(vm, vdpastate_dev_set_guest_cvq(vm->dev, &gc),
		   "vdpastate_dev_set_guest_cvq");
}

static void vm_close(struct vm *vm)
{
	vdpastate_dev_free(vm->dev);
	vdpastate_transport_free(vm->t);
	vdpastate_mem_free(vm->mem);
	guest_fini(&vm->g);
}

/* ------------------------------------------------------------ the wire */

enum msg { MSG_PRECOPY = 1, MSG_BEGUN, MSG_BLOB, MSG_RAM, MSG_RESULT };

static int xfer(int fd, void *buf, size_t len, bool out)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = out ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A message: type and length, then the bytes. */
static int msg_send(int fd, uint32_t type, const void *buf, size_t len)
{
	uint32_t h[2] = { type, (uint32_t)len };
	int r = xfer(fd, h, sizeof(h), true);

	return r ? r : xfer(fd, (void *)buf, len, true);
}

/* Receive a message of the given type into a new buffer. */
static int msg_recv(int fd, uint32_t type, void **buf, size_t *len)
{
	uint32_t h[2];
	int r = xfer(fd, h, sizeof(h), false);

	if (r || h[0] != type || h[1] > 64u << 20)
		return r ? r : -EPROTO;
	if (!(*buf = malloc(h[1] ? h[1] : 1)))
		return -ENOMEM;
	*len = h[1];
	if ((r = xfer(fd, *buf, h[1], false))) {
		free(*buf);
		*buf = NULL;
	}
	return r;
}

/* Serialize blob and send it. */
static int send_blob(struct vm *vm, int fd, uint32_t type,
		     const struct vdpastate_blob *blob)
{
	long size = vdpastate_blob_save(blob, NULL, 0);
	void *buf = size < 0 ? NULL : malloc((size_t)size);
	int r;

	if (!buf)
		return size < 0 ? fail(vm, (int)size, "vdpastate_blob_save")
				: sys(vm, -ENOMEM, "blob buffer");
	size = vdpastate_blob_save(blob, buf, (size_t)size);
	r = size < 0 ? fail(vm, (int)size, "vdpastate_blob_save")
		     : sys(vm, msg_send(fd, type, buf, (size_t)size), "sending");
	free(buf);
	return r;
}

/* Receive a blob into a new *blob. */
static int recv_blob(struct vm *vm, int fd, uint32_t type,
		     struct vdpastate_blob **blob, const char *what)
{
	size_t size;
	void *buf;
	int r;

	if ((r = msg_recv(fd, type, &buf, &size)))
		return sys(vm, r, "receiving a blob");
	say(vm, "%s: received %zu bytes of state", what, size);
	if (!(*blob = vdpastate_blob_new()))
		r = fail(vm, -errno, "vdpastate_blob_new");
	else
		r = chk(vm, vdpastate_blob_load(*blob, buf, size), "vdpastate_blob_load");
	free(buf);
	return r;
}

/* ------------------------------------------------------------ source */

/*
 * Early restore, source half: send the state so far (a blob with only the
 * tracked state: the device keeps running), wait until the destination
 * applied it, then let the guest change the state and run on.
 */
static int precopy(struct vm *vm, int fd)
{
	struct vdpastate_blob *pre = vdpastate_blob_new();
	size_t len;
	void *b;
	int r;

	if (!pre)
		return fail(vm, -errno, "vdpastate_blob_new");
	if (!(r = chk(vm, vdpastate_blob_set_netstate(pre, vdpastate_dev_netstate(vm->dev)),
		      "vdpastate_blob_set_netstate"))) {
		say(vm, "pre-copy: sending the state so far (%ld bytes), device "
		    "running", vdpastate_blob_save(pre, NULL, 0));
		r = send_blob(vm, fd, MSG_PRECOPY, pre);
	}
	vdpastate_blob_free(pre);
	if (!r && !(r = sys(vm, msg_recv(fd, MSG_BEGUN, &b, &len), "waiting")))
		free(b);
	if (r || (r = guest_cmd(vm, vdpastate_cvq_cmd_vlan_add(300), NET_OK,
				"VLAN_ADD 300 during pre-copy")))
		return r;
	vm->g.drv->vids[vm->g.drv->nvids++] = 300; /* the guest tags with it too */
	return traffic(vm, "pre-copy");
}

static int source(int fd, bool early)
{
	struct vm vm_, *vm = &vm_;
	struct vdpastate_dev_stats st = { .sz = sizeof(st) };
	struct vdpastate_blob *blob = NULL;
	struct vdpastate_netstate *dstate = NULL;
	uint16_t last_avail, used;
	int32_t result;
	void *res = NULL;
	size_t len;
	int r;

	if ((r = vm_open(vm, "source:")) ||
	    (r = chk(vm, vdpastate_dev_start(vm->dev, FEATURES), "vdpastate_dev_start")) ||
	    (r = vm_set_guest_cvq(vm)) || (r = guest_boot(vm)) ||
	    (r = guest_bad_commands(vm)) || (r = traffic(vm, "before")) ||
	    (early && (r = precopy(vm, fd))))
		goto out;

	/* Stop-and-copy: the tracked state must be the device's. */
	dstate = vdpastate_sim_netstate(vm->sim);
	if (!vdpastate_netstate_equal(dstate, vdpastate_dev_netstate(vm->dev))) {
		r = fail(vm, 0, "the tracked state differs from the device's");
		goto out;
	}
	if (!(blob = vdpastate_blob_new())) {
		r = fail(vm, -errno, "vdpastate_blob_new");
		goto out;
	}
	if ((r = chk(vm, vdpastate_dev_save(vm->dev, blob), "vdpastate_dev_save")) ||
	    (r = chk(vm, vdpastate_dev_guest_cvq_state(vm->dev, &last_avail, &used),
		     "vdpastate_dev_guest_cvq_state")))
		goto out;
	vdpastate_dev_get_stats(vm->dev, &st);
	say(vm, "stop-and-copy: device suspended, state saved:");
	print_state(vm, vdpastate_blob_netstate(blob));
	say(vm, "blob             %ld bytes (features, ring positions, state)",
	    vdpastate_blob_save(blob, NULL, 0));
	say(vm, "guest commands   %u answered VIRTIO_NET_OK, %u VIRTIO_NET_ERR; "
	    "control ring at %u", vm->cmds_ok, vm->cmds_err, last_avail);
	say(vm, "device commands  %llu forwarded to the device in %llu CVQ "
	    "round trip%s", (unsigned long long)st.cvq_commands,
	    (unsigned long long)st.cvq_batches, pl(st.cvq_batches));
	say(vm, "frames           %u sent, %u received byte-exact, %u dropped by "
	    "the VLAN filter", vm->sent, vm->received, vm->probes);
	say(vm, "sending          the blob, then %u KiB of guest RAM (with the "
	    "driver's rings and indexes)", RAM_SIZE / 1024);
	if ((r = send_blob(vm, fd, MSG_BLOB, blob)) ||
	    (r = sys(vm, msg_send(fd, MSG_RAM, vm->g.ram, RAM_SIZE), "sending guest RAM")))
		goto out;

	/* The destination's verdict. */
	if ((r = msg_recv(fd, MSG_RESULT, &res, &len)) || len != sizeof(result)) {
		r = sys(vm, r ? r : -EPROTO, "the destination's result");
		goto out;
	}
	memcpy(&result, res, sizeof(result));
	r = result;
	say(vm, "destination reports %s", r ? "FAILURE" : "success");
out:
	free(res);
	vdpastate_netstate_free(dstate);
	vdpastate_blob_free(blob);
	vm_close(vm);
	return r;
}

/* ------------------------------------------------------------ destination */

/* The compatibility check: any problem is an error. */
static int check(struct vm *vm, const struct vdpastate_blob *blob)
{
	struct vdpastate_dev_report *rep;
	size_t i, n;
	int r;

	if ((r = chk(vm, vdpastate_dev_check(vm->dev, blob, &rep), "vdpastate_dev_check")))
		return r;
	n = vdpastate_dev_report_count(rep);
	for (i = 0; i < n; i++)
		say(vm, "compatibility    %s", vdpastate_dev_report_get(rep, i, NULL));
	if (!n)
		say(vm, "compatibility    the device can take the state (no problem)");
	vdpastate_dev_report_free(rep);
	return n ? fail(vm, 0, "the device cannot take the state") : 0;
}

/*
 * The device's state and the handle's must both equal the saved one, and
 * every ring go on where the guest's driver (its state in the RAM that
 * came over) left it.
 */
static int compare(struct vm *vm, const struct vdpastate_blob *blob)
{
	const struct vdpastate_netstate *saved = vdpastate_blob_netstate(blob);
	struct vdpastate_netstate *dstate = vdpastate_sim_netstate(vm->sim);
	bool dev_eq = vdpastate_netstate_equal(dstate, saved);
	bool trk_eq = vdpastate_netstate_equal(vdpastate_dev_netstate(vm->dev), saved);
	const struct guest_drv *d = vm->g.drv;
	char pos[160];
	size_t off = 0;
	uint16_t la, ui;
	uint32_t base;
	unsigned int q;
	int r;

	vdpastate_netstate_free(dstate);
	say(vm, "state check      device %s saved, tracked %s saved",
	    dev_eq ? "==" : "!=", trk_eq ? "==" : "!=");
	if (!dev_eq || !trk_eq)
		return fail(vm, 0, "the destination state differs from the source's");
	/* Data queues in the device, the control queue in the handle. */
	for (q = 0; q < NDATA; q++) {
		if ((r = chk(vm, vdpastate_transport_get_vring_base(vm->t, q, &base),
			     "vdpastate_transport_get_vring_base")))
			return r;
		if (base != d->last_used[q])
			return fail(vm, 0, "queue %u: vring base %u, the guest's ring "
				    "at %u", q, base, d->last_used[q]);
		off += (size_t)snprintf(pos + off, sizeof(pos) - off, " %s%u=%u",
					q % 2 ? "tx" : "rx", q / 2, base);
	}
	if ((r = chk(vm, vdpastate_dev_guest_cvq_state(vm->dev, &la, &ui),
		     "vdpastate_dev_guest_cvq_state")))
		return r;
	if (la != d->avail_idx[QCVQ] || ui != d->last_used[QCVQ])
		return fail(vm, 0, "the guest control ring is at %u/%u, the guest "
			    "at %u", la, ui, d->avail_idx[QCVQ]);
	say(vm, "ring positions  %s cvq=%u", pos, la);
	return 0;
}

/* What a restore step sent since before, and how long it took. */
static void print_restore(struct vm *vm, const char *what,
			  const struct vdpastate_dev_stats *before)
{
	struct vdpastate_dev_stats st = { .sz = sizeof(st) };
	unsigned long long n, b;

	vdpastate_dev_get_stats(vm->dev, &st);
	n = st.cvq_commands - before->cvq_commands;
	b = st.cvq_batches - before->cvq_batches;
	say(vm, "%-16s %llu command%s sent in %llu CVQ round trip%s, %.3f ms%s",
	    what, n, pl(n), b, pl(b), (double)st.last_restore_ns / 1e6,
	    st.full_reloads > before->full_reloads ? " (full reload)" : "");
}

static int destination(int fd, bool early)
{
	struct vm vm_, *vm = &vm_;
	struct vdpastate_dev_stats st = { .sz = sizeof(st) };
	struct vdpastate_blob *pre = NULL, *blob = NULL;
	int32_t result;
	void *ram = NULL;
	size_t size;
	int r;

	if ((r = vm_open(vm, "destination:")))
		goto out;
	/* Early: the pre-copy state, before guest RAM arrives, data queues
	 * still disabled. */
	if (early &&
	    ((r = recv_blob(vm, fd, MSG_PRECOPY, &pre, "pre-copy")) ||
	     (r = check(vm, pre)) ||
	     (r = chk(vm, vdpastate_dev_restore_begin(vm->dev, pre),
		      "vdpastate_dev_restore_begin"))))
		goto out;
	if (early) {
		print_restore(vm, "restore_begin", &st);
		vdpastate_dev_get_stats(vm->dev, &st);
		if ((r = sys(vm, msg_send(fd, MSG_BEGUN, NULL, 0), "sending")))
			goto out;
	}
	if ((r = recv_blob(vm, fd, MSG_BLOB, &blob, "stop-and-copy")) ||
	    (r = check(vm, blob)))
		goto out;
	if ((r = msg_recv(fd, MSG_RAM, &ram, &size)) || size != RAM_SIZE) {
		r = sys(vm, r ? r : -EPROTO, "receiving guest RAM");
		goto out;
	}
	memcpy(vm->g.ram, ram, RAM_SIZE);
	say(vm, "guest RAM        %zu KiB received", size / 1024);
	if ((r = vm_set_guest_cvq(vm)) ||
	    (r = early ? chk(vm, vdpastate_dev_restore_commit(vm->dev, blob),
			     "vdpastate_dev_restore_commit")
		       : chk(vm, vdpastate_dev_restore(vm->dev, blob),
			     "vdpastate_dev_restore")))
		goto out;
	print_restore(vm, early ? "restore_commit" : "restore", &st);
	if ((r = compare(vm, blob)))
		goto out;
	say(vm, "state restored:");
	print_state(vm, vdpastate_dev_netstate(vm->dev));

	/* The guest runs on: traffic, and its control queue still works. */
	if ((r = traffic(vm, "after")) ||
	    (r = guest_cmd(vm, vdpastate_cvq_cmd_vlan_del(4094), NET_OK,
			   "VLAN_DEL 4094 after the migration")))
		goto out;
	if (vdpastate_netstate_vlan(vdpastate_dev_netstate(vm->dev), 4094)) {
		r = fail(vm, 0, "VLAN_DEL 4094 did not take effect");
		goto out;
	}
	say(vm, "frames           %u sent, %u received byte-exact, %u dropped by "
	    "the VLAN filter", vm->sent, vm->received, vm->probes);
out:
	result = r;
	if (msg_send(fd, MSG_RESULT, &result, sizeof(result)) && !r)
		r = -EPIPE;
	free(ram);
	vdpastate_blob_free(pre);
	vdpastate_blob_free(blob);
	vm_close(vm);
	return r;
}

/* ------------------------------------------------------------ main */

/* A connected pair of sockets: an AF_UNIX pair, or loopback TCP. */
static int connect_pair(bool tcp, int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int ls, r = -1;

	if (!tcp)
		return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	/* Port 0: the kernel picks one.  Both ends are made before fork, so
	 * neither process waits for the other to listen. */
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls >= 0 && !bind(ls, (struct sockaddr *)&a, sizeof(a)) &&
	    !listen(ls, 1) && !getsockname(ls, (struct sockaddr *)&a, &alen) &&
	    (sv[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0 &&
	    !connect(sv[1], (struct sockaddr *)&a, sizeof(a)) &&
	    (sv[0] = accept(ls, NULL, NULL)) >= 0)
		r = 0;
	if (ls >= 0)
		close(ls);
	return r;
}

/* One migration: this process is the source, a child the destination. */
static int migrate(bool early, bool tcp)
{
	int sv[2], status = 0, r;
	pid_t pid;

	printf("== %s migration over %s ==\n", early ? "early" : "full",
	       tcp ? "loopback TCP" : "a socketpair");
	if (connect_pair(tcp, sv) || (pid = fork()) < 0) {
		perror("vdpa-migrate: socket or fork");
		return -1;
	}
	if (pid == 0) {
		alarm(60); /* the parent's watchdog is not inherited */
		close(sv[0]);
		r = destination(sv[1], early);
		fflush(stdout);
		_exit(r ? EXIT_FAILURE : EXIT_SUCCESS);
	}
	close(sv[1]);
	r = source(sv[0], early);
	close(sv[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "vdpa-migrate: the destination process failed\n");
		r = r ? r : -1;
	}
	return r;
}

int main(int argc, char **argv)
{
	bool tcp = false, full = true, early = true;
	int i, r = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--tcp")) {
			tcp = true;
		} else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
			full = !strcmp(argv[++i], "full") || !strcmp(argv[i], "both");
			early = !strcmp(argv[i], "early") || !strcmp(argv[i], "both");
			if (!full && !early)
				goto usage;
		} else {
			goto usage;
		}
	}
	/* Whole lines, so the two processes' reports interleave cleanly. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(60); /* a watchdog: a stuck migration fails instead of hanging */
	if (full)
		r = migrate(false, tcp);
	if (!r && early)
		r = migrate(true, tcp);
	if (r) {
		printf("vdpa-migrate: FAILED\n");
		return EXIT_FAILURE;
	}
	printf("vdpa-migrate: OK: destination state equals source state (%s)\n",
	       full && early ? "full, early" : full ? "full" : "early");
	return EXIT_SUCCESS;
usage:
	fprintf(stderr, "usage: %s [--mode full|early|both] [--tcp]\n", argv[0]);
	return 2;
}

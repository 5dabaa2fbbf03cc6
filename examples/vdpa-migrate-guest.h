/* SPDX-License-Identifier: MIT */
/*
 * examples/vdpa-migrate-guest.h - the guest of examples/vdpa-migrate.c:
 * its RAM layout and its tiny virtio-net driver (split rings for the
 * control queue and the data queues).  What is here runs "inside the
 * guest": it touches only guest RAM and the kick and call eventfds.
 */
#ifndef VDPA_MIGRATE_GUEST_H
#define VDPA_MIGRATE_GUEST_H

#include <stdint.h>

#include <libvdpastate/libvdpastate.h>

#define RAM_GPA 0x80000000ull /* where guest RAM starts */
#define RAM_SIZE (2u << 20)
#define PAIRS 4               /* queue pairs the guest uses */
#define NDATA (2 * PAIRS)     /* rx0, tx0, rx1, tx1, ... */
#define QCVQ NDATA            /* the control queue, in the tables below */
#define NQ (NDATA + 1)
#define NUM 64                /* entries of every ring */
#define FRAMES 8              /* frames per pair and burst */
#define PROBE_VID 999         /* a VLAN the device refuses to add */
#define NET_OK 0              /* VIRTIO_NET_OK, VIRTIO_NET_ERR */
#define NET_ERR 1

/*
 * The driver's own state.  It lives at the start of guest RAM, as a real
 * driver's would, so it migrates with the RAM.
 */
struct guest_drv {
	uint16_t avail_idx[NQ]; /* next avail index each ring publishes */
	uint16_t last_used[NQ]; /* next used entry each ring reads */
	uint32_t tx_seq[PAIRS]; /* next frame sent on each pair */
	uint32_t rx_seq[PAIRS]; /* next frame expected back */
	uint16_t vids[8];       /* VLANs configured, to tag frames with */
	uint32_t nvids;
	uint8_t mac[6];
};

struct guest {
	uint8_t *ram;          /* RAM_SIZE bytes at RAM_GPA */
	struct guest_drv *drv; /* at the start of ram */
	int kick[NQ], call[NQ];
	char msg[160];         /* what the last failure was */
};

/* Zeroed RAM and eventfds; -errno.  guest_fini() frees them. */
int guest_init(struct guest *g);
void guest_fini(struct guest *g);
/* Guest-physical addresses of ring q's areas. */
void guest_ring(unsigned int q, uint64_t *desc, uint64_t *avail,
		uint64_t *used);

/*
 * Control queue.  The commands the guest sends at boot (MAC, RX modes,
 * MAC table, VLANs, pairs, RSS) into c[] (at least 9), their count.
 * post: encode n commands (freed) into guest RAM, make them available,
 * kick once.  reap: the device's answers, acks[i] for command i.
 */
unsigned int guest_boot_cmds(struct guest *g, struct vdpastate_cvq_cmd **c);
int guest_cvq_post(struct guest *g, struct vdpastate_cvq_cmd **cmds,
		   unsigned int n);
int guest_cvq_reap(struct guest *g, uint8_t *acks, unsigned int n);

/*
 * Data queues.  send: keep the receive rings of pairs 0..pairs-1 full,
 * post FRAMES frames on each transmit ring and one tagged PROBE_VID on
 * tx0, kick.  receive: count transmit completions into *tx, check every
 * frame received against the one expected next (byte for byte) and count
 * it into *rx; 0 or -EIO (msg says why).
 */
void guest_send(struct guest *g, unsigned int pairs);
int guest_receive(struct guest *g, unsigned int pairs, unsigned int *tx,
		  unsigned int *rx);

#endif /* VDPA_MIGRATE_GUEST_H */

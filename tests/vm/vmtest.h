/* SPDX-License-Identifier: MIT */
/*
 * tests/vm/vmtest.h - shared by the programs the VM stage runs inside the
 * test kernel: result lines on stdout that tests/vm/run.sh parses, and
 * vDPA devices created through the library's own management code.
 *
 * Result lines: "VMTEST <case>/<check> PASS|FAIL <detail>", one per check.
 * A program exits 0 when every check it ran passed, 1 otherwise.
 */
#ifndef VDS_VMTEST_H
#define VDS_VMTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/common.h>
#include <libvdpastate/cvq.h>
#include <libvdpastate/vring.h>

#include "ring.h"

/* The MACs the VM cases give their devices. */
#define VMT_MAC0 { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }
#define VMT_MAC1 { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 }
#define VMT_MGMTDEV "vdpasim_net"

/* What the library negotiates with vdpa_sim_net of 6.1 and of 6.12: all
 * 6.1 offers but the legacy ANY_LAYOUT (6.12 adds STATUS). */
#define VMT_SIM_F                                                          \
	(VDPASTATE_NET_FBIT(VDPASTATE_F_VERSION_1) |                       \
	 VDPASTATE_NET_FBIT(VDPASTATE_F_ACCESS_PLATFORM) |                 \
	 VDPASTATE_NET_FBIT(VDPASTATE_NET_F_MAC) |                         \
	 VDPASTATE_NET_FBIT(VDPASTATE_NET_F_MTU) |                         \
	 VDPASTATE_NET_FBIT(VDPASTATE_NET_F_CTRL_VQ) |                     \
	 VDPASTATE_NET_FBIT(VDPASTATE_NET_F_CTRL_MAC_ADDR))

/*
 * The kernel the cases run on and what its vdpa_sim_net is.  The cases
 * know two: Debian's 6.1 and 6.12 (tests/vm/build-kernel.sh VERSION).
 */
struct vmt_kernel {
	const char *version;  /* "6.1", "6.12" */
	uint64_t features;    /* device features vdpa_sim_net offers */
	/* VHOST_GET_BACKEND_FEATURES as the kernel answers it (its bits
	 * are the library's VDPASTATE_BACKEND_F_* numbers). */
	uint64_t backend;
	/* What the device handle acks of it (lib/dev_int.h WANT_BACKEND). */
	uint64_t backend_acked;
	/* The device works on user virtual addresses (vdpa_sim's use_va,
	 * 6.12): vhost-vdpa maps only shared memory for it. */
	bool va;
};

/* The running kernel's description (uname -r), or NULL with the reason
 * in why for a kernel the cases do not describe. */
const struct vmt_kernel *vmt_kernel(char *why, size_t why_len);

/* "IOTLB_MSG_V2 IOTLB_BATCH ..." for backend feature bits, into buf;
 * returns buf. */
const char *vmt_backend_names(uint64_t bits, char *buf, size_t len);

/* The backend features the kernel offers on the vhost-vdpa device path,
 * read with VHOST_GET_BACKEND_FEATURES on a file descriptor of its own
 * (the device must not be open elsewhere).  0 or -1 with the reason in
 * why. */
int vmt_raw_backend_features(const char *path, uint64_t *out, char *why,
			     size_t why_len);

/*
 * Transport ops that forward every call to the transport that is their
 * ctx (vdpastate_transport_new(ops, sizeof(*ops), t)): a case overrides
 * the ops it wants to see or change.  close is left NULL (the forwarded
 * transport stays the caller's; free the wrapper first).
 */
struct vdpastate_transport_ops;
void vmt_forward_ops(struct vdpastate_transport_ops *ops);

/* Print one result line; returns 0 for a pass, -1 for a failure. */
int vmt_result(const char *check, int failed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define vmt_pass(check, ...) vmt_result((check), 0, __VA_ARGS__)
#define vmt_fail(check, ...) vmt_result((check), 1, __VA_ARGS__)

/*
 * In a function that returns 0 or -1: evaluate call, and when it returns
 * a negative errno write "call: errno (the library's message)" into
 * why[why_len] and return -1.
 */
#define VMT_TRY(why, why_len, call)                                         \
	do {                                                                \
		int r_ = (call);                                            \
		if (r_ < 0) {                                               \
			snprintf((why), (why_len), "%s: %d (%s)", #call, r_,\
				 vdpastate_last_error());                   \
			return -1;                                          \
		}                                                           \
	} while (0)

/* Set the case name ("transport") that prefixes every check. */
void vmt_case(const char *name);

/* Failures so far (the program's exit status is vmt_exit()). */
unsigned int vmt_failures(void);
int vmt_exit(void);

/*
 * Create vDPA device name on vdpasim_net with mac, make sure vhost_vdpa
 * drives it, and write its character device ("/dev/vhost-vdpa-N") into
 * path.  0, or -1 with the reason in why.
 */
int vmt_dev_create(const char *name, const uint8_t mac[6], char *path,
		   size_t path_len, char *why, size_t why_len);

/* Delete the device; 0 or -1 with the reason in why. */
int vmt_dev_destroy(const char *name, char *why, size_t why_len);

/* The device's MAC as netlink reports it (VDPA_CMD_DEV_CONFIG_GET); 0 or
 * -1 with the reason in why. */
int vmt_dev_mac(const char *name, uint8_t mac[6], char *why, size_t why_len);

/* "52:54:00:12:34:56" into buf (18 bytes); returns buf. */
const char *vmt_mac_str(const uint8_t mac[6], char *buf);

/*
 * Reset the device behind t and negotiate features: ACKNOWLEDGE, DRIVER,
 * the features, FEATURES_OK, which the device must keep.  0 or -1 with
 * the reason in why.
 */
struct vdpastate_transport;
int vmt_negotiate(struct vdpastate_transport *t, uint64_t features, char *why,
		  size_t why_len);

/*
 * Memory a case maps for the device: zeroed, page-aligned and shared
 * (MAP_SHARED | MAP_ANONYMOUS), as a VMM's guest RAM must be for a device
 * that works on user virtual addresses (6.12's vdpa_sim): vhost-vdpa maps
 * only shared memory of files for it.  NULL when out of memory.
 */
void *vmt_shared_alloc(size_t size);
void vmt_shared_free(void *p, size_t size);

/* Monotonic seconds. */
double vmt_now(void);

/*
 * A guest's virtio-net driver on the two data queues (rx 0, tx 1), the
 * library's own driver half (lib/ring.h) over rings and buffers in a
 * block of "guest memory" the caller allocated: ring q at gpa + q *
 * 0x2000 (desc, avail at +0x800, used at +0x1000), its num buffers of
 * VMT_BUF bytes at gpa + 0x10000 + q * num * VMT_BUF.  num is at most
 * 128; the block needs VMT_GUEST_SIZE(num) bytes.
 */
#define VMT_RXQ 0u
#define VMT_TXQ 1u
#define VMT_BUF 2048u
#define VMT_HDR 12u /* virtio_net_hdr_v1 */
#define VMT_GUEST_SIZE(num) (0x10000ull + 2ull * (num) * VMT_BUF)

struct vmt_gq {
	struct vds_vdrv drv;
	uint64_t ring_gpa, buf_gpa;
};

struct vmt_guest {
	uint8_t *host;   /* the block's host address */
	uint64_t gpa;    /* its guest-physical address */
	uint16_t num;    /* ring size */
	struct vmt_gq q[2];
	uint8_t mac[6];  /* where the guest sends its frames */
	/* The control queue (vmt_guest_cvq_init()): its driver half, and
	 * the guest's kick and call eventfds toward the device handle. */
	struct vds_vdrv cvq;
	bool cvq_live;
	int cvq_kick, cvq_call;
};

/*
 * What connects the guest rings to the device: kick says the guest made
 * buffers available on q; collect runs when call_fd[q] fired (or the wait
 * timed out) and brings what the device used to the guest's used ring
 * (an SVQ relays it; a device on the guest's ring wrote it already, so
 * collect only drains call_fd[q]).
 */
struct vmt_link {
	int (*kick)(void *arg, unsigned int q);
	int (*collect)(void *arg, unsigned int q);
	void *arg;
	int call_fd[2];
};

/* Rings zeroed and the driver halves set up with features; 0 or -1. */
int vmt_guest_init(struct vmt_guest *g, uint8_t *host, uint64_t gpa,
		   uint16_t num, uint64_t features, char *why, size_t why_len);
void vmt_guest_fini(struct vmt_guest *g);

/*
 * The guest's control queue in the same block: a ring of VMT_CVQ_NUM at
 * gpa + 0x4000, command buffers and acks behind it (in the gap before the
 * data buffers), eventfds for its kick and call.  *gc receives what
 * vdpastate_dev_set_guest_cvq() needs, with mem the memory table that
 * holds the block.  0 or -1 with the reason in why.
 */
#define VMT_CVQ_NUM 16u
struct vdpastate_mem;
struct vdpastate_dev;
struct vdpastate_dev_guest_cvq;
struct vdpastate_cvq_cmd;
int vmt_guest_cvq_init(struct vmt_guest *g, const struct vdpastate_mem *mem,
		       struct vdpastate_dev_guest_cvq *gc, char *why,
		       size_t why_len);

/*
 * The guest sends cmd on its control queue and kicks; the VMM lets dev
 * handle it (vdpastate_dev_handle_guest_cvq() must answer exactly one
 * command and signal the guest's call); the guest takes the answer into
 * *ack (0 VIRTIO_NET_OK, 1 VIRTIO_NET_ERR).  0 or -1 with the reason in
 * why.
 */
int vmt_guest_cvq_send(struct vmt_guest *g, struct vdpastate_dev *dev,
		       const struct vdpastate_cvq_cmd *cmd, uint8_t *ack,
		       char *why, size_t why_len);

/* Host address of a guest-physical address in the block. */
uint8_t *vmt_guest_host(const struct vmt_guest *g, uint64_t gpa);

/* Frame seq into p (header, Ethernet to mac, seq, a pattern); its length. */
uint32_t vmt_frame(const uint8_t mac[6], uint64_t seq, uint8_t *p);

/*
 * Send frames first .. first + count - 1 to g->mac on TX, keep RX filled,
 * and take them back from RX: each once, in order, byte-exact, and each
 * completed by TX.  Up to num - 1 frames in flight.  0 with the time taken in *secs, or -1 with
 * the reason in why (a frame that came back wrong, a stall of 10 s, a
 * ring or link error).
 */
int vmt_traffic(struct vmt_guest *g, const struct vmt_link *l, uint64_t first,
		uint64_t count, double *secs, char *why, size_t why_len);

/* The eventfds of a device that works on the guest's rings directly. */
struct vmt_fds {
	int kick[2], call[2];
};
/* New eventfds (non-blocking) into f; 0 or -1 with the reason in why. */
int vmt_fds_open(struct vmt_fds *f, char *why, size_t why_len);
void vmt_fds_close(struct vmt_fds *f);
/* A link to that device: kick signals kick[q], collect drains call[q]. */
void vmt_link_direct(struct vmt_link *l, struct vmt_fds *f);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/dev.h - the device handle: a virtio-net vDPA device behind
 * a transport, driven the way live migration needs it.  The handle owns
 * a shadow control virtqueue of its own (in address space 1 when the
 * device puts the control queue in a virtqueue group of its own), tracks
 * the device state that acknowledged commands make, saves it with the
 * vring bases into a blob, restores a blob with the sequence of
 * libvdpastate(7) "Restore" (full or early), and checks beforehand
 * whether a device can take a saved state.
 */
#ifndef LIBVDPASTATE_DEV_H
#define LIBVDPASTATE_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/common.h>
#include <libvdpastate/cvq.h>
#include <libvdpastate/netstate.h>
#include <libvdpastate/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vdpastate_dev;

/* Options of vdpastate_dev_open(); NULL or a zero field: the default. */
struct vdpastate_dev_opts {
	size_t sz;
	/* IOVA of the handle's control ring and buffers (0: the top of the
	 * device's IOVA range).  Only matters when the control queue shares
	 * address space 0 with the guest. */
	uint64_t cvq_iova;
	/* How long to wait for the device to answer a batch, in ms (0: 5000). */
	uint32_t cvq_timeout_ms;
	/* Entries of the handle's control ring: a power of two (0: 64, at
	 * most the device's maximum). */
	uint16_t cvq_ring_size;
	/* Commands in flight at once (0: as many as the control ring
	 * holds, which is half its entries; 1: one at a time). */
	uint16_t cvq_max_inflight;
	uint32_t flags; /* VDPASTATE_DEV_F_* */
};

/*
 * The VMM stops the device's data queues itself before it saves or
 * switches (a device without SUSPEND that it has quiesced another way):
 * vring bases may then be read from a device without SUSPEND.  Without
 * this flag and without SUSPEND, only data queues that are all shadowed
 * can be saved (their positions come from the SVQs).
 */
#define VDPASTATE_DEV_F_QUIESCED 1u

/*
 * A handle on the device behind t (which stays the caller's: free it
 * after the handle).  Nothing is sent to the device yet.  NULL with errno
 * EINVAL (t NULL, bad options), ENOMEM, or what creating eventfds failed
 * with.
 */
VDPASTATE_API struct vdpastate_dev *
vdpastate_dev_open(struct vdpastate_transport *t,
		   const struct vdpastate_dev_opts *opts);

/* Unmap the control ring and free the handle; NULL is a no-op.  The
 * device is left as it is. */
VDPASTATE_API void vdpastate_dev_free(struct vdpastate_dev *dev);

/*
 * Where the VMM placed data queue idx, in the device's address space 0:
 * ring size, ring areas, kick and call eventfds (-1: none).  Start and
 * restore set each configured data queue up and enable it; queues not
 * configured stay disabled.  num 0 removes the configuration.
 */
struct vdpastate_dev_vring {
	size_t sz;
	uint64_t desc, avail, used;
	uint32_t num;
	int32_t kick_fd, call_fd;
	uint32_t reserved0;
};
VDPASTATE_API int vdpastate_dev_set_vring(struct vdpastate_dev *dev,
					  uint32_t idx,
					  const struct vdpastate_dev_vring *vr);

/*
 * Bring the device up from reset with the given virtio features: the
 * restore sequence with the reset state and no command.  0, or the errors
 * of vdpastate_dev_restore().
 */
VDPASTATE_API int vdpastate_dev_start(struct vdpastate_dev *dev,
				      uint64_t features);

/*
 * Post one control command on the handle's control ring and wait for the
 * answer.  On VIRTIO_NET_OK the command is applied to the tracked state;
 * on VIRTIO_NET_ERR it returns -EIO and the state is untouched.
 */
VDPASTATE_API int vdpastate_dev_send(struct vdpastate_dev *dev,
				     const struct vdpastate_cvq_cmd *cmd);

/*
 * Post cmds[0..n) pipelined: as many in flight as the control ring holds
 * (or cvq_max_inflight), one kick per batch, every answer checked, each
 * command the device acknowledges applied to the tracked state.  The
 * whole list is first checked against the tracked state (applied in
 * order to a copy); a command refused there fails the call with the
 * state's error and nothing is sent.  On VIRTIO_NET_ERR: -EIO naming the
 * first refused command; the commands of its batch were still processed
 * by the device and those answered OK are applied, but no later batch is
 * posted.  *answered (may be NULL) receives how many commands the device
 * answered.  Other errors as vdpastate_dev_send().
 */
VDPASTATE_API int
vdpastate_dev_send_list(struct vdpastate_dev *dev,
			const struct vdpastate_cvq_cmd *const *cmds, size_t n,
			size_t *answered);

/*
 * The guest's control queue.  The handle is the device toward it:
 * vdpastate_dev_handle_guest_cvq() takes each command the guest made
 * available, copies it out of guest memory, validates it (the decoder,
 * the negotiated features, the device's limits and the tracked state),
 * forwards it on the handle's control ring, applies it to the tracked
 * state only when the device answers VIRTIO_NET_OK, and gives the guest
 * the device's answer.  A command that fails validation is answered
 * VIRTIO_NET_ERR without reaching the device.
 */
struct vdpastate_mem;
struct vdpastate_dev_guest_cvq {
	size_t sz;
	/* Guest memory (stays the caller's; not changed while set). */
	const struct vdpastate_mem *mem;
	/* Guest-physical ring areas and the ring size (power of two). */
	uint64_t desc, avail, used;
	uint32_t num;
	/* Guest kick (read and drained by the handle) and guest call
	 * (signalled when the guest asks for it); -1: none. */
	int32_t kick_fd, call_fd;
	/* Where the guest ring starts: the next avail entry to take and the
	 * next used entry to write (a restore sets both from the blob). */
	uint16_t last_avail_idx, used_idx;
	uint32_t reserved0;
	/* Ring features negotiated with the guest (INDIRECT_DESC,
	 * EVENT_IDX); 0: those the device was started with. */
	uint64_t guest_features;
};

/* Set (or with NULL remove) the guest's control queue.  A guest command
 * late on the device stays the guest's only when the same ring is set at
 * the same last_avail_idx.  0, -EINVAL, -EFAULT (a ring area not in guest
 * memory), -ENOMEM. */
VDPASTATE_API int
vdpastate_dev_set_guest_cvq(struct vdpastate_dev *dev,
			    const struct vdpastate_dev_guest_cvq *gc);

/*
 * Handle the commands waiting on the guest's control queue (the kick fd
 * is drained first), at most VDPASTATE_DEV_GUEST_CVQ_BUDGET per call: a
 * guest that keeps posting cannot keep one call looping.  When the
 * budget ends a call with commands still waiting, the guest's kick fd is
 * signalled so that the VMM's event loop calls again (with kick_fd -1,
 * call again while the return equals the budget).  Returns the number
 * of commands answered (OK or ERR), or: -ENOENT no guest control queue
 * or the device is not started; -VDPASTATE_EGUEST the guest broke its
 * ring (the guest queue is then disabled until set again);
 * -VDPASTATE_EDEVICE or a transport error from the device (the command
 * is answered VIRTIO_NET_ERR, the tracked state is unchanged);
 * -ETIMEDOUT the device did not answer within cvq_timeout_ms: the
 * command stays on the device and unanswered toward the guest, and a
 * later call waits for the device's answer again (never sending the
 * command twice); when it comes the guest gets it and, if OK, it is
 * applied to the tracked state.  The guest only ever sees VIRTIO_NET_OK
 * or VIRTIO_NET_ERR.
 */
#define VDPASTATE_DEV_GUEST_CVQ_BUDGET 256
VDPASTATE_API int vdpastate_dev_handle_guest_cvq(struct vdpastate_dev *dev);

/* The guest control ring's position (next avail entry, next used entry). */
VDPASTATE_API int vdpastate_dev_guest_cvq_state(const struct vdpastate_dev *dev,
						uint16_t *last_avail_idx,
						uint16_t *used_idx);

/*
 * Shadow data queue idx through svq, an SVQ the caller created over the
 * guest's ring (libvdpastate/svq.h) with its shadow ring DMA-mapped in
 * address space 0; kick_fd and call_fd are the device-side fds given to
 * vdpastate_svq_set_fds().  The device is then given the shadow ring
 * instead of the vdpastate_dev_set_vring() addresses; svq NULL goes back
 * to those.  The SVQ stays the caller's and must outlive its use.
 * Takes effect at the next start or restore, or at once on a running
 * device through vdpastate_dev_switch().
 */
struct vdpastate_svq;
VDPASTATE_API int vdpastate_dev_set_svq(struct vdpastate_dev *dev, uint32_t idx,
					struct vdpastate_svq *svq, int kick_fd,
					int call_fd);

/*
 * Apply the data queues' configuration (SVQ on or off) to the running
 * device: suspend it (where offered), read each queue's position, reset,
 * bring it up again with the tracked state and the new rings, each queue
 * continuing where it stopped.  An SVQ switched on starts (guest side at
 * the position read); an SVQ switched off is stopped with
 * VDPASTATE_SVQ_STOP_REWIND and the device continues from its guest-side
 * position.  Errors as vdpastate_dev_restore() (the device is then reset).
 */
VDPASTATE_API int vdpastate_dev_switch(struct vdpastate_dev *dev);

/* The tracked state (owned by the handle), or NULL (errno ENOENT) before
 * a start or restore. */
VDPASTATE_API const struct vdpastate_netstate *
vdpastate_dev_netstate(const struct vdpastate_dev *dev);

/*
 * Save into blob, which must be empty (vdpastate_blob_new()): suspend the
 * device where it offers suspend, read every data queue's vring base (a
 * shadowed queue's position from its SVQ), store the tracked state, the
 * device features (part DEV_FEATURES) and the queues (record
 * VDPASTATE_DEV_REC_VRINGS, a type of the library's range).  The device
 * stays suspended.  A data queue whose SVQ the guest or the device broke
 * does not fail the save: it is saved at the position where it stopped,
 * marked broken (a warning names it), and a restore keeps it disabled
 * while the other queues run.  On failure blob is untouched:
 *   -VDPASTATE_EFEATURE  no SUSPEND, a data queue not shadowed and no
 *                        VDPASTATE_DEV_F_QUIESCED (the message names the
 *                        queue): nothing was stopped;
 *   -ETIMEDOUT           a control command the device has still not
 *                        answered (the tracked state is not known);
 *   -EINVAL, -ENOENT, -ENOMEM, or what a transport call failed with.
 */
#define VDPASTATE_DEV_REC_VRINGS 0xff00
VDPASTATE_API int vdpastate_dev_save(struct vdpastate_dev *dev,
				     struct vdpastate_blob *blob);

/*
 * Cancel a migration after vdpastate_dev_save(): the saved (suspended)
 * device runs again with its tracked state, each data queue where the
 * save left it, its SVQ running again.  Returns
 *   VDPASTATE_DEV_RESUMED    the device resumed in place (backend feature
 *                            RESUME negotiated and no shadowed queue was
 *                            stopped by the save);
 *   VDPASTATE_DEV_RESTARTED  otherwise: reset and brought up again as
 *                            vdpastate_dev_switch() does (a queue broken
 *                            before the save stays disabled);
 * or -EINVAL (NULL, not saved since the last start, restore or switch),
 * -ENOENT (not started), or an error as vdpastate_dev_switch() (the device
 * is then reset).
 */
#define VDPASTATE_DEV_RESUMED 0
#define VDPASTATE_DEV_RESTARTED 1
VDPASTATE_API int vdpastate_dev_resume(struct vdpastate_dev *dev);

/*
 * Restore blob onto the device: reset, feature check, features, backend
 * features, address-space split, vrings with the saved bases, only the
 * control queue enabled, DRIVER_OK, the state's command list posted as
 * many at a time as the control ring holds, every answer checked, then
 * the data queues enabled.  Errors (the device is then reset):
 *   -VDPASTATE_EINCOMPAT  the device cannot take the state (the message
 *                         names the missing feature bits or the limit);
 *   -EIO                  the device answered VIRTIO_NET_ERR (the message
 *                         names the command) or refused FEATURES_OK;
 *   -ETIMEDOUT            no answer within the timeout;
 *   -VDPASTATE_EDEVICE    the device broke the control ring;
 *   what a transport call failed with.
 */
VDPASTATE_API int vdpastate_dev_restore(struct vdpastate_dev *dev,
					const struct vdpastate_blob *blob);

/*
 * Early restore.  begin: what restore does except enabling the data
 * queues.  commit: the final state; only its difference from the begun
 * one is sent (a full restore when the difference cannot be sent
 * incrementally), then the final vring bases are set and the data queues
 * enabled.  Errors as vdpastate_dev_restore(), plus -EALREADY (begin
 * twice) and -ENOENT (commit without begin); after any failure the device
 * is reset and a new begin or a restore may follow.
 */
VDPASTATE_API int vdpastate_dev_restore_begin(struct vdpastate_dev *dev,
					      const struct vdpastate_blob *blob);
VDPASTATE_API int
vdpastate_dev_restore_commit(struct vdpastate_dev *dev,
			     const struct vdpastate_blob *blob);

/* Kinds of compatibility problems. */
enum vdpastate_dev_problem {
	VDPASTATE_DEV_PROBLEM_FEATURES = 1,   /* saved feature bits not offered */
	VDPASTATE_DEV_PROBLEM_QUEUE_PAIRS = 2, /* fewer queue pairs */
	VDPASTATE_DEV_PROBLEM_RING_SIZE = 3,  /* a ring above the maximum */
	VDPASTATE_DEV_PROBLEM_NO_CVQ = 4,     /* no control virtqueue */
	VDPASTATE_DEV_PROBLEM_MTU = 5,        /* another MTU */
	VDPASTATE_DEV_PROBLEM_LIMITS = 6,     /* RSS limits below the state's */
	VDPASTATE_DEV_PROBLEM_MAC = 7         /* the guest's MAC would change */
};

struct vdpastate_dev_report;

/*
 * Whether the device can take blob, without changing the device: *out
 * receives a report listing every problem, empty when migration can go
 * ahead.  0, -EINVAL, -ENOMEM or what reading the device failed with.
 */
VDPASTATE_API int vdpastate_dev_check(struct vdpastate_dev *dev,
				      const struct vdpastate_blob *blob,
				      struct vdpastate_dev_report **out);
VDPASTATE_API size_t
vdpastate_dev_report_count(const struct vdpastate_dev_report *report);
/* Problem i: its kind, and a message (owned by the report); NULL, errno
 * ENOENT past the end. */
VDPASTATE_API const char *
vdpastate_dev_report_get(const struct vdpastate_dev_report *report, size_t i,
			 enum vdpastate_dev_problem *kind);
VDPASTATE_API void vdpastate_dev_report_free(struct vdpastate_dev_report *report);

/* Counters since the handle was opened. */
struct vdpastate_dev_stats {
	size_t sz;
	uint64_t cvq_commands; /* control commands posted */
	uint64_t cvq_batches;  /* batches posted: one kick, one wait each */
	uint64_t restores;     /* restores, begins and starts that succeeded */
	uint64_t full_reloads; /* commits that had to reload in full */
	uint64_t last_restore_ns; /* duration of the last successful restore */
};
VDPASTATE_API int vdpastate_dev_get_stats(const struct vdpastate_dev *dev,
					  struct vdpastate_dev_stats *out);

/*
 * Threading: a handle is used by one thread at a time.  It waits for the
 * device on its own call eventfd; with the simulated device in inline mode
 * it runs vdpastate_sim_poll() itself while it waits.
 */

#ifdef __cplusplus
}
#endif

#endif /* LIBVDPASTATE_DEV_H */

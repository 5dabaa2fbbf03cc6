/* SPDX-License-Identifier: MIT */
/*
 * libvdpastate/sim.h - the simulated virtio-net device, an in-process vDPA
 * device behind the transport interface (libvdpastate/transport.h).  It
 * models what Linux's vdpa_sim_net offers (queue groups, two address
 * spaces with their own IOTLB, suspend, vring bases) plus every control
 * virtqueue class, applied to a netstate, and a TX -> RX loopback that
 * filters frames as the state says.  Tests and demos reach it through
 * vdpastate_sim_from_transport() for inspection and fault injection.
 * The model, the filter rules and the injections are described in
 * libvdpastate(7), "Simulated device".
 */
#ifndef LIBVDPASTATE_SIM_H
#define LIBVDPASTATE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libvdpastate/common.h>
#include <libvdpastate/netstate.h>
#include <libvdpastate/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vdpastate_sim;

/* vdpastate_sim_opts.flags */
#define VDPASTATE_SIM_F_THREAD 1u    /* process queues on a thread of its own */
#define VDPASTATE_SIM_F_LINK_DOWN 2u /* config status without LINK_UP */
/* Backend feature ENABLE_AFTER_DRIVER_OK not offered (Linux 6.1's
 * vdpa_sim); the device still enables a queue after DRIVER_OK. */
#define VDPASTATE_SIM_F_NO_ENABLE_AFTER_DRIVER_OK 4u

/*
 * Device options; NULL or a zero field takes the default.  The fields
 * the offered features do not use are ignored.
 */
struct vdpastate_sim_opts {
	size_t sz;
	/* Offered feature bits (0: the default set, see libvdpastate(7)). */
	uint64_t device_features;
	/* Delay before each control command is answered, in ns (0: none). */
	uint64_t cvq_latency_ns;
	uint16_t max_queue_pairs; /* with MQ: 1..128 (default 1) */
	uint16_t max_ring_size;   /* power of two 1..32768 (default 256) */
	uint16_t mtu;             /* with MTU: >= 68 (default 1500) */
	uint16_t rss_max_indirection_table_length; /* >= 128 (default 128) */
	uint8_t mac[6];           /* all zero: 52:54:00:56:44:01 */
	uint8_t rss_max_key_size; /* >= 40 (default 40) */
	uint8_t reserved0;
	uint32_t supported_hash_types; /* default VDPASTATE_NET_HASH_ALL */
	uint32_t flags;                /* VDPASTATE_SIM_F_* */
};

/*
 * Create a simulated device and the transport that owns it (freeing the
 * transport frees the device).  NULL with errno EINVAL (an option out of
 * range, unknown flag or non-zero reserved field), ENOMEM, or what
 * creating the thread failed with.
 */
VDPASTATE_API struct vdpastate_transport *
vdpastate_sim_new(const struct vdpastate_sim_opts *opts);

/* The device behind a transport, or NULL (errno EINVAL) if it is no sim. */
VDPASTATE_API struct vdpastate_sim *
vdpastate_sim_from_transport(struct vdpastate_transport *t);

/*
 * A copy of the device's netstate (free it with vdpastate_netstate_free()),
 * or NULL with errno ENOENT before FEATURES_OK, ENOMEM.
 */
VDPASTATE_API struct vdpastate_netstate *
vdpastate_sim_netstate(struct vdpastate_sim *sim);

/*
 * Drain the kick eventfds without blocking and process every queue that
 * may run, signalling call eventfds.  Returns the chains completed (>= 0)
 * or -EINVAL.  Works in both modes; in thread mode the thread does the
 * same on its own.
 */
VDPASTATE_API int vdpastate_sim_poll(struct vdpastate_sim *sim);

/*
 * Fault injection.  Each setting holds until changed.
 *
 * fail_call: the nth transport call from now (1: the next one) returns
 * err (a negative errno) and changes nothing; later calls run normally.
 * nth 0 disarms.  -EINVAL for err >= 0.
 */
VDPASTATE_API int vdpastate_sim_fail_call(struct vdpastate_sim *sim,
					  unsigned int nth, int err);

/* A class or command that matches any. */
#define VDPASTATE_SIM_ANY (-1)

/*
 * cvq_err: answer VIRTIO_NET_ERR, without applying, to every control
 * command of class cls (VDPASTATE_SIM_ANY: any) and command cmd
 * (VDPASTATE_SIM_ANY: any); on false stops.  -EINVAL for values outside
 * 0..255 other than VDPASTATE_SIM_ANY.
 */
VDPASTATE_API int vdpastate_sim_cvq_err(struct vdpastate_sim *sim, bool on,
					int cls, int cmd);

/*
 * cvq_hang: on true the device stops answering control commands: they
 * stay available, unread, until it is set back to false.
 */
VDPASTATE_API int vdpastate_sim_cvq_hang(struct vdpastate_sim *sim, bool on);

/* The delay before each control command is answered, in ns. */
VDPASTATE_API int vdpastate_sim_cvq_latency(struct vdpastate_sim *sim,
					    uint64_t ns);

/* Counters since creation. */
struct vdpastate_sim_stats {
	size_t sz;
	uint64_t calls;            /* transport calls made (close excluded) */
	uint64_t calls_failed;     /* of which failed by injection */
	uint64_t tx_frames;        /* frames taken from transmit queues */
	uint64_t rx_frames;        /* frames looped into receive buffers */
	uint64_t dropped_filter;   /* frames the receive filter dropped */
	uint64_t dropped_no_buffer; /* no (large enough) receive buffer */
	uint64_t dropped_invalid;  /* shorter than a header + 14, or too long */
	uint64_t cvq_commands;     /* control commands answered */
	uint64_t cvq_ok;           /* answered VIRTIO_NET_OK */
	uint64_t cvq_err;          /* answered VIRTIO_NET_ERR */
	uint64_t queue_errors;     /* rings broken by the driver (NEEDS_RESET) */
};
VDPASTATE_API int vdpastate_sim_get_stats(struct vdpastate_sim *sim,
					  struct vdpastate_sim_stats *out);

/*
 * Threading: every transport call on a sim and every vdpastate_sim_*()
 * call may come from any thread; they serialize on one lock per device,
 * which the device's own thread (VDPASTATE_SIM_F_THREAD) also holds while
 * it processes queues, including any injected latency.  Freeing the
 * transport stops and joins the thread; no other call may run then.
 */

#ifdef __cplusplus
}
#endif

#endif /* LIBVDPASTATE_SIM_H */

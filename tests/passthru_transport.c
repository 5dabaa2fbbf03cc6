/* SPDX-License-Identifier: MIT */
/*
 * tests/passthru_transport.c - see passthru_transport.h.
 */
#include "config.h"

#include <libvdpastate/libvdpastate.h>

#include "passthru_transport.h"

static int c_feat(void *c, uint64_t *f)
{
	return vdpastate_transport_get_device_features(c, f);
}
static int c_setf(void *c, uint64_t f)
{
	return vdpastate_transport_set_driver_features(c, f);
}
static int c_cfg(void *c, uint32_t o, void *b, uint32_t l)
{
	return vdpastate_transport_get_config(c, o, b, l);
}
static int c_gst(void *c, uint8_t *s)
{
	return vdpastate_transport_get_status(c, s);
}
static int c_sst(void *c, uint8_t s)
{
	return vdpastate_transport_set_status(c, s);
}
static int c_vqs(void *c, uint32_t *n)
{
	return vdpastate_transport_get_vq_count(c, n);
}
static int c_nmax(void *c, uint16_t *n)
{
	return vdpastate_transport_get_vring_num_max(c, n);
}
static int c_num(void *c, uint32_t i, uint32_t n)
{
	return vdpastate_transport_set_vring_num(c, i, n);
}
static int c_addr(void *c, uint32_t i, uint64_t d, uint64_t a, uint64_t u)
{
	return vdpastate_transport_set_vring_addr(c, i, d, a, u);
}
static int c_sbase(void *c, uint32_t i, uint32_t b)
{
	return vdpastate_transport_set_vring_base(c, i, b);
}
static int c_gbase(void *c, uint32_t i, uint32_t *b)
{
	return vdpastate_transport_get_vring_base(c, i, b);
}
static int c_kick(void *c, uint32_t i, int fd)
{
	return vdpastate_transport_set_vring_kick(c, i, fd);
}
static int c_call(void *c, uint32_t i, int fd)
{
	return vdpastate_transport_set_vring_call(c, i, fd);
}
static int c_en(void *c, uint32_t i, bool e)
{
	return vdpastate_transport_set_vring_enable(c, i, e);
}
static int c_map(void *c, uint32_t as, uint64_t i, uint64_t s, void *h, uint32_t p)
{
	return vdpastate_transport_dma_map(c, as, i, s, h, p);
}
static int c_unmap(void *c, uint32_t as, uint64_t i, uint64_t s)
{
	return vdpastate_transport_dma_unmap(c, as, i, s);
}
static int c_range(void *c, uint64_t *f, uint64_t *l)
{
	return vdpastate_transport_get_iova_range(c, f, l);
}

const struct vdpastate_transport_ops passthru_ops = {
	.get_device_features = c_feat, .set_driver_features = c_setf,
	.get_config = c_cfg, .get_status = c_gst, .set_status = c_sst,
	.get_vq_count = c_vqs, .get_vring_num_max = c_nmax,
	.set_vring_num = c_num, .set_vring_addr = c_addr,
	.set_vring_base = c_sbase, .get_vring_base = c_gbase,
	.set_vring_kick = c_kick, .set_vring_call = c_call,
	.set_vring_enable = c_en, .dma_map = c_map, .dma_unmap = c_unmap,
	.get_iova_range = c_range,
};

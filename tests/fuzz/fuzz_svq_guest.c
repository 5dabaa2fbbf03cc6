/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_svq_guest.c - a malicious guest.  The input scribbles on
 * the guest's descriptor table, avail ring, indirect tables and
 * notification fields between calls into the SVQ.  Whatever the guest does,
 * the SVQ must not crash, and every chain it puts on the shadow ring must
 * be valid for the device (the device half walks each one and aborts the
 * run if it is not).
 */
#include "../ringenv.c" /* IWYU pragma: keep */
#include "fuzz_input.h"

#define F_(b) (1ULL << (b))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	uint8_t cfgb = 0, op;
	struct env_cfg c;
	struct env *e;
	int steps = 0;

	if (take(&in, &cfgb, 1))
		return 0;
	c = (struct env_cfg){
		.num = 16,
		.shadow_num = cfgb & 0x10 ? 8 : 0,
		.guest_features = F_(VDPASTATE_F_VERSION_1) |
				  (cfgb & 1 ? F_(VDPASTATE_F_INDIRECT_DESC) : 0) |
				  (cfgb & 2 ? F_(VDPASTATE_F_EVENT_IDX) : 0),
		.device_features = F_(VDPASTATE_F_VERSION_1) |
				   (cfgb & 4 ? F_(VDPASTATE_F_EVENT_IDX) : 0),
		.regions = cfgb & 8 ? 2 : 1,
		.region_size = 64 << 10,
		.gap = cfgb & 0x20 ? 4096 : 0,
	};
	e = env_new(&c);
	if (!e)
		abort();
	while (!take(&in, &op, 1) && steps++ < 256) {
		uint8_t b[24];
		int r;

		switch (op % 8) {
		case 0: /* a raw descriptor */
			if (take(&in, b, 17))
				goto out;
			memcpy(&e->guest.desc[b[0] % 16], b + 1, 16);
			break;
		case 1: /* an avail entry */
			if (take(&in, b, 3))
				goto out;
			e->guest.avail->ring[b[0] % 16] = (uint16_t)(b[1] | b[2] << 8);
			break;
		case 2: /* move avail idx */
			if (take(&in, b, 1))
				goto out;
			e->guest.avail->idx = (uint16_t)(e->guest.avail->idx + b[0] % 20);
			break;
		case 3: /* bytes of a would-be indirect table in guest memory */
			if (take(&in, b, 18))
				goto out;
			memcpy(env_host(e, e->slot_gpa[b[0] % 16] + (b[1] % 8) * 16),
			       b + 2, 16);
			break;
		case 4:
			r = vdpastate_svq_handle_guest_kick(e->svq);
			(void)r;
			break;
		case 5: /* the device consumes what the SVQ posted */
			r = env_device_run(e, 64);
			if (r < 0 && r != -VDPASTATE_EGUEST)
				abort();
			if (r == -VDPASTATE_EGUEST) {
				fprintf(stderr, "shadow ring invalid: %s\n",
					vdpastate_last_error());
				abort();
			}
			break;
		case 6:
			r = vdpastate_svq_handle_device_call(e->svq);
			(void)r;
			break;
		case 7: /* notification fields */
			if (take(&in, b, 2))
				goto out;
			e->guest.avail->flags = b[0];
			*vds_used_event(e->guest.avail, 16) = b[1];
			break;
		}
	}
out:
	env_free(e);
	return 0;
}

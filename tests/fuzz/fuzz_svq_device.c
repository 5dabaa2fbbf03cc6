/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_svq_device.c - a malicious device.  A well-behaved guest
 * posts chains; the input decides what the device writes into the shadow
 * used ring (any id, any length, any index jump) besides honest
 * completions.  The SVQ must not crash, and the guest must never see an
 * invalid used entry: every id it gets back is one it has in flight and
 * every length fits the space it posted (the guest's driver half checks
 * both and the run aborts if it fails).
 */
#include "../ringenv.c" /* IWYU pragma: keep */

#define F_(b) (1ULL << (b))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env_cfg c;
	struct env *e;
	uint64_t rng = 0x1234567;
	size_t i = 1;

	if (size < 1)
		return 0;
	c = (struct env_cfg){
		.num = 16,
		.guest_features = F_(VDPASTATE_F_VERSION_1) |
				  (data[0] & 1 ? F_(VDPASTATE_F_INDIRECT_DESC) : 0) |
				  (data[0] & 2 ? F_(VDPASTATE_F_EVENT_IDX) : 0),
		.device_features = F_(VDPASTATE_F_VERSION_1) |
				   (data[0] & 4 ? F_(VDPASTATE_F_EVENT_IDX) : 0),
		.regions = 1,
		.region_size = 64 << 10,
	};
	e = env_new(&c);
	if (!e)
		abort();
	while (i < size) {
		uint8_t op = data[i++];
		struct vds_used_elem *u;

		switch (op % 7) {
		case 0: /* the guest posts a few chains */
			rng ^= op;
			for (int k = 0; k < 1 + op / 64; k++)
				if (!env_guest_post(e, &rng))
					break;
			env_guest_kick(e);
			break;
		case 1:
			vdpastate_svq_handle_guest_kick(e->svq);
			break;
		case 2: /* a forged used entry */
			if (i + 5 > size)
				goto out;
			u = &e->dev.used->ring[e->dev.used_idx & e->dev.mask];
			u->id = data[i] % 20;
			memcpy(&u->len, data + i + 1, 4);
			i += 5;
			e->dev.used_idx++;
			__atomic_store_n(&e->dev.used->idx, e->dev.used_idx,
					 __ATOMIC_RELEASE);
			break;
		case 3: /* a used index jump */
			if (i + 1 > size)
				goto out;
			e->dev.used_idx = (uint16_t)(e->dev.used_idx + data[i++] % 24);
			__atomic_store_n(&e->dev.used->idx, e->dev.used_idx,
					 __ATOMIC_RELEASE);
			break;
		case 4: /* honest work */
			if (env_device_run(e, op % 5) < 0)
				abort(); /* the SVQ's shadow ring must stay valid */
			break;
		case 5:
			vdpastate_svq_handle_device_call(e->svq);
			break;
		case 6: /* the guest takes what came back */
			if (env_guest_reap(e) < 0) {
				fprintf(stderr, "guest saw a bad used entry: %s\n",
					e->last_mismatch);
				abort();
			}
			break;
		}
	}
out:
	env_free(e);
	return 0;
}

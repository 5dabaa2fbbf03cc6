/* SPDX-License-Identifier: MIT */
/*
 * tests/check_base.c - the base module: option structs, error strings,
 * the last-error message, logging, versions.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <libvdpastate/libvdpastate.h>

#include "internal.h"
#include "suites.h"

/* The library's idea of an options struct ... */
struct t_opts {
	size_t sz;
	uint32_t a;
	uint32_t b;
};
/* ... one from an older program, without b ... */
struct t_opts_old {
	size_t sz;
	uint32_t a;
	uint32_t pad_to_size;
};
/* ... and one from a newer program, with c. */
struct t_opts_new {
	size_t sz;
	uint32_t a;
	uint32_t b;
	uint64_t c;
};

static uint32_t get_b(const struct t_opts *o)
{
	return VDS_OPTS_GET(o, b, 77);
}

START_TEST(opts_macro_sets_sz)
{
	VDPASTATE_OPTS(t_opts_new, o, .b = 5);

	ck_assert_uint_eq(o.sz, sizeof(struct t_opts_new));
	ck_assert_uint_eq(o.a, 0);
	ck_assert_uint_eq(o.b, 5);
	ck_assert_uint_eq(o.c, 0);
}
END_TEST

START_TEST(opts_null_is_defaults)
{
	ck_assert_int_eq(VDS_OPTS_VALID((struct t_opts *)NULL, t_opts), 0);
	ck_assert_uint_eq(get_b(NULL), 77);
}
END_TEST

START_TEST(opts_smaller_struct)
{
	/* An older caller: its sz ends before b, so b takes the default. */
	struct t_opts_old old = { .sz = offsetof(struct t_opts, b), .a = 3 };
	const struct t_opts *o = (const struct t_opts *)&old;

	ck_assert_int_eq(VDS_OPTS_VALID(o, t_opts), 0);
	ck_assert_uint_eq(VDS_OPTS_GET(o, a, 9), 3);
	ck_assert_uint_eq(get_b(o), 77);
}
END_TEST

START_TEST(opts_same_struct)
{
	VDPASTATE_OPTS(t_opts, o, .a = 1, .b = 2);

	ck_assert_int_eq(VDS_OPTS_VALID(&o, t_opts), 0);
	ck_assert_uint_eq(get_b(&o), 2);
}
END_TEST

START_TEST(opts_larger_struct_zero_tail)
{
	VDPASTATE_OPTS(t_opts_new, n, .a = 1, .b = 2);

	ck_assert_int_eq(VDS_OPTS_VALID((struct t_opts *)&n, t_opts), 0);
	ck_assert_uint_eq(get_b((struct t_opts *)&n), 2);
}
END_TEST

START_TEST(opts_larger_struct_nonzero_tail)
{
	VDPASTATE_OPTS(t_opts_new, n, .c = 1ULL << 40);

	ck_assert_int_eq(VDS_OPTS_VALID((struct t_opts *)&n, t_opts), -EINVAL);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "t_opts"));
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "byte 21"));
}
END_TEST

START_TEST(opts_sz_too_small)
{
	struct t_opts o = { .sz = 3 };

	ck_assert_int_eq(VDS_OPTS_VALID(&o, t_opts), -EINVAL);
	ck_assert_ptr_nonnull(strstr(vdpastate_last_error(), "sz 3"));
	o.sz = 0;
	ck_assert_int_eq(VDS_OPTS_VALID(&o, t_opts), -EINVAL);
}
END_TEST

START_TEST(strerror_library_codes)
{
	int e, f;

	for (e = VDPASTATE_ERRNO_BASE; e < VDPASTATE_ERRNO_END; e++) {
		const char *s = vdpastate_strerror(-e);

		ck_assert_ptr_nonnull(s);
		ck_assert_msg(strncmp(s, "Unknown", 7) != 0, "code %d", e);
		ck_assert_str_eq(s, vdpastate_strerror(e));
		for (f = VDPASTATE_ERRNO_BASE; f < e; f++)
			ck_assert_str_ne(s, vdpastate_strerror(f));
	}
	ck_assert_int_gt(VDPASTATE_ERRNO_BASE, 133); /* above every errno */
}
END_TEST

START_TEST(strerror_system_and_unknown)
{
	ck_assert_str_eq(vdpastate_strerror(-EINVAL), "Invalid argument");
	ck_assert_str_eq(vdpastate_strerror(EBADMSG), "Bad message");
	ck_assert_str_eq(vdpastate_strerror(-ETIMEDOUT), "Connection timed out");
	ck_assert_str_eq(vdpastate_strerror(VDPASTATE_ERRNO_END),
			 "Unknown error 4005");
	ck_assert_str_eq(vdpastate_strerror(0), "Unknown error 0");
	ck_assert_str_eq(vdpastate_strerror(-99999), "Unknown error 99999");
	ck_assert_ptr_nonnull(vdpastate_strerror(-2147483647 - 1));
}
END_TEST

START_TEST(version_consistent)
{
	char buf[64];

	ck_assert_uint_eq(vdpastate_version_major(), VDPASTATE_VERSION_MAJOR);
	ck_assert_uint_eq(vdpastate_version_minor(), VDPASTATE_VERSION_MINOR);
	ck_assert_uint_eq(vdpastate_version_patch(), VDPASTATE_VERSION_PATCH);
	snprintf(buf, sizeof(buf), "%u.%u.%u", vdpastate_version_major(),
		 vdpastate_version_minor(), vdpastate_version_patch());
	ck_assert_str_eq(buf, vdpastate_version_string());
	ck_assert_str_eq(VDPASTATE_VERSION_STRING, PACKAGE_VERSION);
}
END_TEST

struct log_rec {
	int calls;
	enum vdpastate_log_level level;
	char msg[VDS_ERRMSG_MAX];
	void *user;
};

static void log_cb(enum vdpastate_log_level level, const char *msg, void *user)
{
	struct log_rec *r = user;

	r->calls++;
	r->level = level;
	r->user = user;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
}

START_TEST(log_silent_by_default)
{
	/* Nothing installed: failures are recorded but nobody is called. */
	ck_assert_int_eq(vds_fail(-EIO, "quiet %d", 1), -EIO);
	ck_assert_str_eq(vdpastate_last_error(), "quiet 1");
}
END_TEST

START_TEST(log_callback_receives)
{
	struct log_rec r = { 0 };

	ck_assert_int_eq(vdpastate_set_log(log_cb, &r, VDPASTATE_LOG_WARN), 0);
	vds_log(VDPASTATE_LOG_INFO, "too verbose");
	ck_assert_int_eq(r.calls, 0);
	vds_log(VDPASTATE_LOG_WARN, "warned %s", "here");
	ck_assert_int_eq(r.calls, 1);
	ck_assert_int_eq(r.level, VDPASTATE_LOG_WARN);
	ck_assert_str_eq(r.msg, "warned here");
	ck_assert_ptr_eq(r.user, &r);

	ck_assert_int_eq(vds_fail(-ENOSPC, "iova: no room for %u bytes", 4096u),
			 -ENOSPC);
	ck_assert_int_eq(r.calls, 2);
	ck_assert_int_eq(r.level, VDPASTATE_LOG_ERROR);
	ck_assert_str_eq(r.msg, "iova: no room for 4096 bytes");
	ck_assert_str_eq(vdpastate_last_error(), r.msg);

	ck_assert_int_eq(vdpastate_set_log(log_cb, &r, VDPASTATE_LOG_DEBUG), 0);
	vds_log(VDPASTATE_LOG_DEBUG, "debug");
	ck_assert_int_eq(r.calls, 3);

	ck_assert_int_eq(vdpastate_set_log(NULL, NULL, VDPASTATE_LOG_DEBUG), 0);
	vds_log(VDPASTATE_LOG_ERROR, "nobody listens");
	ck_assert_int_eq(r.calls, 3);
}
END_TEST

START_TEST(log_bad_level_leaves_callback)
{
	struct log_rec r = { 0 };

	ck_assert_int_eq(vdpastate_set_log(log_cb, &r, VDPASTATE_LOG_ERROR), 0);
	ck_assert_int_eq(vdpastate_set_log(NULL, NULL, 4), -EINVAL);
	/* The failure itself was logged through the still-installed callback. */
	ck_assert_int_eq(r.calls, 1);
	ck_assert_ptr_nonnull(strstr(r.msg, "unknown log level 4"));
	vds_log(VDPASTATE_LOG_ERROR, "still here");
	ck_assert_int_eq(r.calls, 2);
	ck_assert_int_eq(vdpastate_set_log(NULL, NULL, VDPASTATE_LOG_ERROR), 0);
}
END_TEST

START_TEST(long_message_marked_truncated)
{
	char big[2 * VDS_ERRMSG_MAX];
	const char *m;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	vds_fail(-EINVAL, "%s", big);
	m = vdpastate_last_error();
	ck_assert_uint_eq(strlen(m), VDS_ERRMSG_MAX - 1);
	ck_assert_str_eq(m + strlen(m) - 3, "...");
}
END_TEST

START_TEST(last_error_as_argument)
{
	/* Wrapping the previous message in a new one is safe. */
	vds_fail(-EINVAL, "inner %d", 7);
	vds_fail(-EIO, "outer: %s", vdpastate_last_error());
	ck_assert_str_eq(vdpastate_last_error(), "outer: inner 7");
}
END_TEST

static void *other_thread_fails(void *arg)
{
	vds_fail(-EIO, "other thread");
	return (void *)vdpastate_last_error();
}

START_TEST(last_error_per_thread)
{
	pthread_t t;
	void *theirs;

	vds_fail(-EINVAL, "mine");
	ck_assert_int_eq(pthread_create(&t, NULL, other_thread_fails, NULL), 0);
	ck_assert_int_eq(pthread_join(t, &theirs), 0);
	ck_assert_str_eq(vdpastate_last_error(), "mine");
	ck_assert_ptr_ne(theirs, vdpastate_last_error());
}
END_TEST

Suite *base_suite(void)
{
	Suite *s = suite_create("base");
	TCase *tc = tcase_create("opts");

	tcase_add_test(tc, opts_macro_sets_sz);
	tcase_add_test(tc, opts_null_is_defaults);
	tcase_add_test(tc, opts_smaller_struct);
	tcase_add_test(tc, opts_same_struct);
	tcase_add_test(tc, opts_larger_struct_zero_tail);
	tcase_add_test(tc, opts_larger_struct_nonzero_tail);
	tcase_add_test(tc, opts_sz_too_small);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, strerror_library_codes);
	tcase_add_test(tc, strerror_system_and_unknown);
	tcase_add_test(tc, long_message_marked_truncated);
	tcase_add_test(tc, last_error_per_thread);
	tcase_add_test(tc, last_error_as_argument);
	suite_add_tcase(s, tc);

	tc = tcase_create("version");
	tcase_add_test(tc, version_consistent);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, log_silent_by_default);
	tcase_add_test(tc, log_callback_receives);
	tcase_add_test(tc, log_bad_level_leaves_callback);
	suite_add_tcase(s, tc);
	return s;
}

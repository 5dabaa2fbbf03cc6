/* SPDX-License-Identifier: MIT */
/*
 * tests/uml/pktloop.c - run inside the UML guest by tests/uml/guest-init:
 * send COUNT frames to the interface's own MAC through an AF_PACKET
 * socket and check that each comes back (the simulated device loops TX
 * into RX) exactly once, in order, byte for byte.  Frames go in windows
 * of WINDOW so that no receive buffer or socket queue overflows; sizes
 * vary from 60 to 1514 bytes with the sequence number.
 *
 * With TRIGGER, once half of the frames are sent (a window of them still
 * in flight), the file TRIGGER is created and the frames wait until it is
 * gone: the back-end takes it as a request (a migration step) and
 * removes it when done, so the step happens under traffic.
 *
 * Usage: pktloop IFNAME COUNT [WINDOW [TRIGGER]]
 * Prints "pktloop: N frames sent, N back byte-exact in S s" and exits 0,
 * or names the first frame that failed and exits 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETHTYPE 0x88b5 /* IEEE local experimental */
#define MAXF 1514
#define WAIT_MS 10000  /* per window: a hang guard, not a speed limit */

static uint8_t mac[6];

static size_t frame_len(uint32_t seq)
{
	return 60 + (seq * 97u) % (MAXF - 60 + 1);
}

static void frame(uint8_t *f, uint32_t seq)
{
	size_t i, n = frame_len(seq);

	memcpy(f, mac, 6);
	memcpy(f + 6, mac, 6);
	f[12] = ETHTYPE >> 8;
	f[13] = ETHTYPE & 0xff;
	memcpy(f + 14, "UMLT", 4);
	f[18] = (uint8_t)(seq >> 24);
	f[19] = (uint8_t)(seq >> 16);
	f[20] = (uint8_t)(seq >> 8);
	f[21] = (uint8_t)seq;
	for (i = 22; i < n; i++)
		f[i] = (uint8_t)(seq * 131u + i * 7u);
}

/* Create path and wait (at most a minute: a hang guard) until someone
 * removes it.  The guest's caches are dropped before each look: the file
 * may live on hostfs. */
static int trigger(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY, 0644), i;

	if (fd < 0) {
		fprintf(stderr, "pktloop: %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	for (i = 0; i < 3000; i++) {
		int dc = open("/proc/sys/vm/drop_caches", O_WRONLY);

		if (dc >= 0) {
			if (write(dc, "2", 1) != 1) {
				/* best effort */
			}
			close(dc);
		}
		if (access(path, F_OK))
			return 0;
		usleep(20000);
	}
	fprintf(stderr, "pktloop: FAIL: %s was not taken within 60 s\n", path);
	return -1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	uint32_t count, window, sent = 0, back = 0, seq;
	const char *trig = argc > 4 ? argv[4] : NULL;
	uint8_t want[MAXF], got[MAXF + 64];
	struct ifreq ifr;
	int fd, one = 1;
	double t0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s IFNAME COUNT [WINDOW [TRIGGER]]\n", argv[0]);
		return 2;
	}
	count = (uint32_t)strtoul(argv[2], NULL, 0);
	window = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 32;
	if (!window)
		window = 1;
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETHTYPE));
	if (fd < 0) {
		perror("pktloop: socket");
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		perror("pktloop: SIOCGIFINDEX");
		return 1;
	}
	sll.sll_ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror("pktloop: SIOCGIFHWADDR");
		return 1;
	}
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	sll.sll_protocol = htons(ETHTYPE);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("pktloop: bind");
		return 1;
	}
#ifdef PACKET_IGNORE_OUTGOING
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
#endif
	(void)one;
	t0 = now();
	while (back < count) {
		while (sent < count && sent - back < window) {
			frame(want, sent);
			if (send(fd, want, frame_len(sent), 0) != (ssize_t)frame_len(sent)) {
				fprintf(stderr, "pktloop: send frame %u: %s\n", sent,
					strerror(errno));
				return 1;
			}
			sent++;
			if (trig && sent == count / 2) {
				if (trigger(trig))
					return 1;
				trig = NULL;
			}
		}
		while (back < sent) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			struct sockaddr_ll from;
			socklen_t fl = sizeof(from);
			ssize_t n;

			if (poll(&p, 1, WAIT_MS) != 1) {
				fprintf(stderr, "pktloop: FAIL: frame %u did not come "
					"back within %d ms (%u sent, %u back)\n", back,
					WAIT_MS, sent, back);
				return 1;
			}
			n = recvfrom(fd, got, sizeof(got), 0, (struct sockaddr *)&from, &fl);
			if (n < 0) {
				perror("pktloop: recv");
				return 1;
			}
			if (from.sll_pkttype == PACKET_OUTGOING)
				continue;
			if (n < 22 || memcmp(got + 14, "UMLT", 4))
				continue; /* not ours */
			seq = (uint32_t)got[18] << 24 | (uint32_t)got[19] << 16 |
			      (uint32_t)got[20] << 8 | got[21];
			if (seq != back) {
				fprintf(stderr, "pktloop: FAIL: frame %u came back where "
					"frame %u was expected (%s)\n", seq, back,
					seq < back ? "duplicate or reordered" : "lost");
				return 1;
			}
			frame(want, seq);
			if ((size_t)n != frame_len(seq) || memcmp(got, want, (size_t)n)) {
				fprintf(stderr, "pktloop: FAIL: frame %u came back with "
					"%zd bytes, %zu sent, or other content\n", seq, n,
					frame_len(seq));
				return 1;
			}
			back++;
		}
	}
	/* Exactly once: nothing of ours may follow the last frame. */
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 300) != 1)
			break;
		n = recv(fd, got, sizeof(got), 0);
		if (n >= 22 && !memcmp(got + 14, "UMLT", 4)) {
			fprintf(stderr, "pktloop: FAIL: a frame came back twice\n");
			return 1;
		}
	}
	printf("pktloop: %u frames sent, %u back byte-exact in order in %.2f s\n",
	       sent, back, now() - t0);
	return 0;
}

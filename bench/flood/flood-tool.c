/*
 * Flood helper for bench/flood/flood.bench.ts (Linux, root, loopback in a private netns). Not part
 * of the daemon; compiled by the bench with `cc -O2`.
 *
 *   flood-tool send  DST_IP DST_PORT TEMPLATE_HEX SECONDS SRC_MODE SRC_ARG
 *       Sends UDP datagrams from source port 500 to DST_IP:DST_PORT as fast as one core can (raw
 *       socket, IP_HDRINCL, sendmmsg batches), each a copy of TEMPLATE (an ISAKMP MM1) with a fresh
 *       initiator cookie (bytes 0..7). SRC_MODE "list": SRC_ARG is a comma-separated list of
 *       source addresses used round robin (spoofing the real peer's addresses); "random": SRC_ARG
 *       is A.B.0.0/16 and each datagram takes a random address in it. Prints
 *       "sent=N bytes=B seconds=S" (bytes: UDP payload) on stdout at the end.
 *
 *   flood-tool count SRC_IP SRC_PORT DST_PREFIX SECONDS
 *       Counts the datagrams and UDP payload bytes leaving SRC_IP:SRC_PORT (the responder) to
 *       DST_PREFIX (A.B.0.0/16, the flood's random sources) on loopback, with a packet socket and
 *       a BPF filter, for SECONDS or until SIGTERM. Prints "packets=N bytes=B".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256
#define MAX_PAYLOAD 2048
#define MAX_SOURCES 256

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static int parse_hex(const char *hex, uint8_t *out, size_t max) {
  size_t n = strlen(hex);
  if (n % 2 != 0 || n / 2 > max) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (uint8_t)v;
  }
  return (int)(n / 2);
}

static int prefix16(const char *text, uint32_t *base) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", text);
  char *slash = strchr(buf, '/');
  if (slash == NULL || strcmp(slash, "/16") != 0) return -1;
  *slash = 0;
  struct in_addr a;
  if (inet_pton(AF_INET, buf, &a) != 1) return -1;
  *base = ntohl(a.s_addr) & 0xffff0000u;
  return 0;
}

static int do_send(int argc, char **argv) {
  if (argc != 8) return 2;
  struct in_addr dst;
  if (inet_pton(AF_INET, argv[2], &dst) != 1) return 2;
  int dport = atoi(argv[3]);
  uint8_t payload[MAX_PAYLOAD];
  int plen = parse_hex(argv[4], payload, sizeof payload);
  if (plen < 28) return 2;
  double seconds = atof(argv[5]);
  uint32_t sources[MAX_SOURCES];
  int nsources = 0;
  uint32_t random_base = 0;
  int random_mode = strcmp(argv[6], "random") == 0;
  if (random_mode) {
    if (prefix16(argv[7], &random_base) != 0) return 2;
  } else {
    char *list = strdup(argv[7]);
    for (char *tok = strtok(list, ","); tok != NULL && nsources < MAX_SOURCES; tok = strtok(NULL, ",")) {
      struct in_addr a;
      if (inet_pton(AF_INET, tok, &a) != 1) return 2;
      sources[nsources++] = a.s_addr;
    }
    if (nsources == 0) return 2;
  }
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  size_t total = sizeof(struct iphdr) + sizeof(struct udphdr) + (size_t)plen;
  static uint8_t pkts[BATCH][sizeof(struct iphdr) + sizeof(struct udphdr) + MAX_PAYLOAD];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = dst };
  for (int i = 0; i < BATCH; i++) {
    struct iphdr *ip = (struct iphdr *)pkts[i];
    struct udphdr *udp = (struct udphdr *)(pkts[i] + sizeof *ip);
    memset(ip, 0, sizeof *ip);
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons((uint16_t)total);
    ip->daddr = dst.s_addr;
    udp->source = htons(500);
    udp->dest = htons((uint16_t)dport);
    udp->len = htons((uint16_t)(sizeof *udp + (size_t)plen));
    udp->check = 0; /* optional in IPv4 */
    memcpy(pkts[i] + sizeof *ip + sizeof *udp, payload, (size_t)plen);
    iov[i].iov_base = pkts[i];
    iov[i].iov_len = total;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  rng_state ^= (uint64_t)getpid() << 32 ^ (uint64_t)(now() * 1e6);
  unsigned long long sent = 0;
  double start = now();
  double end = start + seconds;
  while (!stop) {
    for (int i = 0; i < BATCH; i++) {
      struct iphdr *ip = (struct iphdr *)pkts[i];
      uint64_t r = rng();
      ip->saddr = random_mode ? htonl(random_base | (uint32_t)((r >> 40) & 0xffff)) : sources[sent % (unsigned)nsources];
      uint8_t *isakmp = pkts[i] + sizeof *ip + sizeof(struct udphdr);
      uint64_t cookie = rng() | 1;
      memcpy(isakmp, &cookie, 8);
    }
    int n = sendmmsg(fd, msgs, BATCH, 0);
    if (n < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) continue;
      perror("sendmmsg");
      return 1;
    }
    sent += (unsigned)n;
    if ((sent & 0xfff) < BATCH && now() >= end) break;
  }
  double elapsed = now() - start;
  printf("sent=%llu bytes=%llu seconds=%.3f\n", sent, sent * (unsigned long long)plen, elapsed);
  return 0;
}

static int do_count(int argc, char **argv) {
  if (argc != 6) return 2;
  struct in_addr src;
  if (inet_pton(AF_INET, argv[2], &src) != 1) return 2;
  int sport = atoi(argv[3]);
  uint32_t base;
  if (prefix16(argv[4], &base) != 0) return 2;
  double seconds = atof(argv[5]);
  /* ETH_P_ALL: a socket bound to one protocol sees incoming packets only, not what the host sends. */
  int fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  /* Offsets from the IP header (cooked socket): ip.saddr, ip.protocol, udp.source (no IP options). */
  struct sock_filter code[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(src.s_addr), 0, 5),
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 3),
    BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 20),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)sport, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0xffff),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
    perror("SO_ATTACH_FILTER");
    return 1;
  }
  int rcvbuf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  unsigned long long packets = 0, bytes = 0;
  double end = now() + seconds;
  uint8_t buf[4096];
  while (!stop && now() < end) {
    struct sockaddr_ll from;
    socklen_t fl = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    if (n < 0) continue;
    /* Loopback shows each packet twice: count it leaving only. */
    if (from.sll_pkttype != PACKET_OUTGOING || from.sll_protocol != htons(ETH_P_IP) || n < 28) continue;
    uint32_t daddr;
    memcpy(&daddr, buf + 16, 4);
    if ((ntohl(daddr) & 0xffff0000u) != base) continue;
    packets++;
    bytes += (unsigned long long)((buf[24] << 8 | buf[25]) - 8);
  }
  printf("packets=%llu bytes=%llu\n", packets, bytes);
  return 0;
}

int main(int argc, char **argv) {
  int rc = 2;
  if (argc >= 2 && strcmp(argv[1], "send") == 0) rc = do_send(argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "count") == 0) rc = do_count(argc, argv);
  if (rc == 2) fprintf(stderr, "usage: flood-tool send DST PORT HEX SECONDS list|random SRC | count SRC PORT PREFIX/16 SECONDS\n");
  return rc;
}

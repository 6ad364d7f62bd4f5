/* floor — the server's own limit for the end-to-end benchmark.
 *
 *   floor HOST PORT USER N [OUTDIR]   (password in the environment: FLOOR_PASSWORD)
 *
 * Logs in with USER/PASS, sends RETR 1..N in one go (non-blocking, written as
 * fast as the socket takes it while reading), reads and discards everything,
 * counting "\r\n.\r\n" terminators across reads until it has seen N of them,
 * then QUIT. No parsing beyond that, no storage. Prints "N BYTES" (BYTES =
 * bytes of the RETR responses on the wire, status lines included) on stdout.
 * With OUTDIR (the "floor+files" reference), each raw response is also written
 * to OUTDIR/1..N (open, write, close; no parsing, no rename, no fsync): the
 * server's limit plus this machine's cost of creating one file per message.
 * With FLOOR_SYNC=1 in the environment as well (the "floor+sync" reference),
 * one syncfs(2) on OUTDIR's file system after the last message: the same
 * files, made durable the cheapest way there is (no rename, no record).
 * Exits non-zero on any error or -ERR.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char* what) {
  fprintf(stderr, "floor: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
  exit(1);
}

static int fd = -1;
static char rbuf[1 << 18];
static size_t rlen, rpos;

/* Reads one line (blocking phase only). */
static void read_line(char* out, size_t cap) {
  size_t n = 0;
  for (;;) {
    if (rpos == rlen) {
      ssize_t r = read(fd, rbuf, sizeof rbuf);
      if (r <= 0) {
        errno = r < 0 ? errno : 0;
        die("connection closed while reading a status line");
      }
      rlen = (size_t)r;
      rpos = 0;
    }
    char c = rbuf[rpos++];
    if (n + 1 < cap) out[n++] = c;
    if (c == '\n') break;
  }
  out[n] = 0;
}

static void write_all(const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

static void write_file(int f, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(f, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write to file");
    }
    p += w;
    n -= (size_t)w;
  }
}

static void command(const char* cmd, const char* shown) {
  char line[1024];
  write_all(cmd, strlen(cmd));
  read_line(line, sizeof line);
  if (strncmp(line, "+OK", 3) != 0) {
    errno = 0;
    fprintf(stderr, "floor: %s answered: %s", shown, line);
    exit(1);
  }
}

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: FLOOR_PASSWORD=... floor HOST PORT USER N [OUTDIR]\n");
    return 2;
  }
  const char* pass = getenv("FLOOR_PASSWORD");
  if (!pass) {
    errno = 0;
    die("FLOOR_PASSWORD is not set");
  }
  long n = strtol(argv[4], NULL, 10);
  if (n <= 0) {
    errno = 0;
    die("N must be positive");
  }

  struct addrinfo hints = {0}, *ai;
  hints.ai_socktype = SOCK_STREAM;
  int gai = getaddrinfo(argv[1], argv[2], &hints, &ai);
  if (gai != 0) {
    fprintf(stderr, "floor: %s\n", gai_strerror(gai));
    return 1;
  }
  fd = socket(ai->ai_family, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) die("connect");
  freeaddrinfo(ai);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  char line[1024], cmd[1024];
  read_line(line, sizeof line);
  if (strncmp(line, "+OK", 3) != 0) {
    errno = 0;
    die("greeting is not +OK");
  }
  snprintf(cmd, sizeof cmd, "USER %s\r\n", argv[3]);
  command(cmd, "USER");
  snprintf(cmd, sizeof cmd, "PASS %s\r\n", pass);
  command(cmd, "PASS");

  /* All RETR commands in one buffer. */
  size_t cap = (size_t)n * 24 + 16, clen = 0;
  char* cmds = malloc(cap);
  if (!cmds) die("malloc");
  for (long i = 1; i <= n; i++)
    clen += (size_t)sprintf(cmds + clen, "RETR %ld\r\n", i);

  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) die("fcntl");

  static const char pat[5] = {'\r', '\n', '.', '\r', '\n'};
  long seen = 0;
  int state = 0;    /* bytes of pat matched */
  int at_start = 1; /* next byte starts a response */
  unsigned long long bytes = 0;
  size_t cpos = 0;
  const char* outdir = argc == 6 ? argv[5] : NULL;
  int out = -1;   /* file of the current message (OUTDIR only) */
  size_t seg = 0; /* start of the current message's bytes in rbuf */

  /* Bytes already buffered after the PASS answer belong to RETR 1 (none in
   * practice, the server has not seen RETR yet). */
  for (;;) {
    seg = rpos;
    while (rpos < rlen && seen < n) {
      /* Fast path: skip to the next '\r' when nothing is matched. */
      if (state == 0 && !at_start) {
        char* cr = memchr(rbuf + rpos, '\r', rlen - rpos);
        if (!cr) {
          bytes += rlen - rpos;
          rpos = rlen;
          break;
        }
        bytes += (size_t)(cr - (rbuf + rpos));
        rpos = (size_t)(cr - rbuf);
      }
      char c = rbuf[rpos++];
      bytes++;
      if (at_start) {
        if (c != '+') {
          errno = 0;
          fprintf(stderr, "floor: RETR %ld was not answered with +OK\n", seen + 1);
          return 1;
        }
        at_start = 0;
        if (outdir) {
          char path[4096];
          snprintf(path, sizeof path, "%s/%ld", outdir, seen + 1);
          out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
          if (out < 0) die(path);
          seg = rpos - 1;
        }
        continue;
      }
      if (c == pat[state]) {
        if (++state == 5) {
          if (out >= 0) {
            write_file(out, rbuf + seg, rpos - seg);
            close(out);
            out = -1;
          }
          seen++;
          state = 0;
          at_start = 1;
        }
      } else {
        state = c == '\r' ? 1 : 0;
      }
    }
    if (out >= 0) write_file(out, rbuf + seg, rpos - seg);
    if (seen >= n) break;
    struct pollfd p = {fd, POLLIN | (cpos < clen ? POLLOUT : 0), 0};
    if (poll(&p, 1, 60000) <= 0) {
      if (errno == 0) errno = ETIMEDOUT;
      die("poll");
    }
    if ((p.revents & POLLOUT) && cpos < clen) {
      ssize_t w = write(fd, cmds + cpos, clen - cpos);
      if (w < 0 && errno != EAGAIN && errno != EINTR) die("write");
      if (w > 0) cpos += (size_t)w;
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(fd, rbuf, sizeof rbuf);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        if (r == 0) errno = 0;
        fprintf(stderr, "floor: after %ld of %ld messages: ", seen, n);
        die("connection closed");
      }
      rlen = (size_t)r;
      rpos = 0;
    }
  }
  if (rpos != rlen) {
    errno = 0;
    die("unexpected bytes after the last RETR response");
  }
  if (outdir) {
    const char* sync = getenv("FLOOR_SYNC");
    if (sync && strcmp(sync, "1") == 0) {
      int d = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (d < 0 || syncfs(d) != 0) die("syncfs");
      close(d);
    }
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  command("QUIT\r\n", "QUIT");
  close(fd);
  printf("%ld %llu\n", seen, bytes);
  return 0;
}

/* latency_proxy — a loopback TCP proxy that delays every chunk by a fixed time
 * in each direction, for the end-to-end benchmark.
 *
 *   latency_proxy TARGET_HOST TARGET_PORT DELAY_MS
 *
 * Listens on 127.0.0.1 on a free port, prints that port on stdout (one line)
 * and forwards each accepted connection to TARGET. Per connection and
 * direction, a reader thread reads chunks as they arrive and queues them with
 * their arrival time; a writer thread writes each chunk at arrival + DELAY_MS,
 * in order. Reading never waits for writing, so data keeps flowing: the link
 * behaves like one with DELAY_MS one-way latency and (practically) unlimited
 * bandwidth; the queue is bounded only by a generous cap (256 MiB) against
 * runaway memory. An end of stream is passed on (shutdown) after the same
 * delay. Runs until killed.
 *
 * Not modelled: the TCP handshake (the client's connect() to the proxy returns
 * at once), so a connection costs every client the same one round trip less
 * than on a real link of that latency.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)
#define QUEUE_CAP (256L * 1024 * 1024)

static long delay_ns;
static struct addrinfo* target;

struct chunk {
  struct chunk* next;
  struct timespec due;
  size_t len; /* 0 = end of stream */
  char data[];
};

struct pipe_dir {
  int from, to;
  pthread_mutex_t mu;
  pthread_cond_t cv, space;
  struct chunk *head, *tail;
  long queued;
  int done; /* writer finished */
  struct conn* conn;
};

struct conn {
  struct pipe_dir up, down;
  pthread_mutex_t mu;
  int finished; /* writers finished */
};

static void add_ns(struct timespec* t, long ns) {
  t->tv_nsec += ns % 1000000000L;
  t->tv_sec += ns / 1000000000L + t->tv_nsec / 1000000000L;
  t->tv_nsec %= 1000000000L;
}

static void push(struct pipe_dir* d, struct chunk* c) {
  pthread_mutex_lock(&d->mu);
  while (d->queued > QUEUE_CAP && !d->done)
    pthread_cond_wait(&d->space, &d->mu);
  c->next = NULL;
  if (d->tail)
    d->tail->next = c;
  else
    d->head = c;
  d->tail = c;
  d->queued += (long)c->len;
  pthread_cond_signal(&d->cv);
  pthread_mutex_unlock(&d->mu);
}

static void* reader(void* arg) {
  struct pipe_dir* d = arg;
  for (;;) {
    struct chunk* c = malloc(sizeof *c + CHUNK);
    if (!c) abort();
    ssize_t r;
    do
      r = read(d->from, c->data, CHUNK);
    while (r < 0 && errno == EINTR);
    clock_gettime(CLOCK_MONOTONIC, &c->due);
    add_ns(&c->due, delay_ns);
    if (r <= 0) {
      c->len = 0;
      push(d, c);
      return NULL;
    }
    c->len = (size_t)r;
    if ((size_t)r < CHUNK / 2) {
      struct chunk* s = realloc(c, sizeof *c + (size_t)r);
      if (s) c = s;
    }
    push(d, c);
  }
}

static void* writer(void* arg) {
  struct pipe_dir* d = arg;
  int broken = 0;
  for (;;) {
    pthread_mutex_lock(&d->mu);
    while (!d->head)
      pthread_cond_wait(&d->cv, &d->mu);
    struct chunk* c = d->head;
    d->head = c->next;
    if (!d->head) d->tail = NULL;
    d->queued -= (long)c->len;
    pthread_cond_signal(&d->space);
    pthread_mutex_unlock(&d->mu);

    if (delay_ns > 0)
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &c->due, NULL) == EINTR) {
      }
    if (c->len == 0) {
      free(c);
      shutdown(d->to, SHUT_WR);
      break;
    }
    size_t off = 0;
    while (!broken && off < c->len) {
      ssize_t w = write(d->to, c->data + off, c->len - off);
      if (w < 0) {
        if (errno == EINTR) continue;
        broken = 1; /* peer gone: keep draining the queue until EOF */
        shutdown(d->from, SHUT_RD);
        break;
      }
      off += (size_t)w;
    }
    free(c);
  }
  pthread_mutex_lock(&d->mu);
  d->done = 1;
  pthread_cond_broadcast(&d->space);
  pthread_mutex_unlock(&d->mu);

  struct conn* cn = d->conn;
  pthread_mutex_lock(&cn->mu);
  int last = ++cn->finished == 2;
  pthread_mutex_unlock(&cn->mu);
  if (last) {
    /* Both directions are done; the reader threads have returned (each
     * writer only ends after its reader queued EOF). */
    close(cn->up.from);
    close(cn->up.to);
    free(cn);
  }
  return NULL;
}

static void start_dir(struct pipe_dir* d, struct conn* cn, int from, int to) {
  d->from = from;
  d->to = to;
  d->conn = cn;
  pthread_mutex_init(&d->mu, NULL);
  pthread_cond_init(&d->cv, NULL);
  pthread_cond_init(&d->space, NULL);
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  pthread_create(&t, &a, reader, d);
  pthread_create(&t, &a, writer, d);
  pthread_attr_destroy(&a);
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: latency_proxy TARGET_HOST TARGET_PORT DELAY_MS\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  delay_ns = (long)(atof(argv[3]) * 1e6);
  struct addrinfo hints = {0};
  hints.ai_socktype = SOCK_STREAM;
  int gai = getaddrinfo(argv[1], argv[2], &hints, &target);
  if (gai != 0) {
    fprintf(stderr, "latency_proxy: %s\n", gai_strerror(gai));
    return 1;
  }
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr*)&sa, sizeof sa) != 0 || listen(ls, 64) != 0) {
    perror("latency_proxy: bind/listen");
    return 1;
  }
  socklen_t sl = sizeof sa;
  getsockname(ls, (struct sockaddr*)&sa, &sl);
  printf("%d\n", ntohs(sa.sin_port));
  fflush(stdout);
  for (;;) {
    int c = accept(ls, NULL, NULL);
    if (c < 0) {
      if (errno == EINTR) continue;
      perror("latency_proxy: accept");
      return 1;
    }
    int s = socket(target->ai_family, SOCK_STREAM, 0);
    if (s < 0 || connect(s, target->ai_addr, target->ai_addrlen) != 0) {
      perror("latency_proxy: connect to target");
      close(c);
      if (s >= 0) close(s);
      continue;
    }
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn* cn = calloc(1, sizeof *cn);
    pthread_mutex_init(&cn->mu, NULL);
    start_dir(&cn->up, cn, c, s);   /* client -> server */
    start_dir(&cn->down, cn, s, c); /* server -> client */
  }
}

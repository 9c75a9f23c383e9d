/* The benchmarks' plain-HTTP push-service stand-in, in C (bench/standin.py runs it).

   What a push service 50 ms away costs the sender's machine: nothing. The
   stand-in shares the benchmark's cores, so each message's cost here is
   taken from the sender. This one reads each HTTP/1.1 request (keep-alive,
   Content-Length bodies, pipelined or not), notes (receive time, path,
   Topic) and answers "201 Created" after a fixed latency, from one epoll
   loop: a few microseconds a message where the asyncio stand-in takes tens.

   usage: standin LISTEN_FD LATENCY_US LOG_PATH
   The listening socket is inherited. Each POST appends "time path topic\n"
   to a buffer; GET /_stats writes the buffer to LOG_PATH, then answers, so
   the file is complete when the answer comes; /_reset empties both.
   SIGTERM ends it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEAD 65536
#define MAX_BODY (1 << 20)

static const char CREATED[] = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
static const char OK[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";

typedef struct { char *buf; size_t len, cap; unsigned gen; int open; } Conn;
typedef struct { int fd; unsigned gen; long long due; } Answer;

static Conn *conns;
static int nconns;
static Answer *queue;  /* answers waiting for their time: a ring, oldest first (one latency for all) */
static size_t qcap = 1 << 16, qhead, qlen;
static char *logbuf;
static size_t loglen, logcap = 1 << 20;
static volatile sig_atomic_t stop;
static int lfd, listening = 1;  /* listening: the listening socket is watched (not while out of descriptors) */

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *grow(void *p, size_t size) {
    p = realloc(p, size);
    if (!p) { perror("standin: realloc"); exit(1); }
    return p;
}

static void note(const char *path, size_t plen, const char *topic, size_t tlen) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    size_t need = loglen + plen + tlen + 40;
    if (need > logcap) { while (need > logcap) logcap *= 2; logbuf = grow(logbuf, logcap); }
    loglen += snprintf(logbuf + loglen, 24, "%lld.%06ld ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
    memcpy(logbuf + loglen, path, plen); loglen += plen;
    logbuf[loglen++] = ' ';
    memcpy(logbuf + loglen, topic, tlen); loglen += tlen;
    logbuf[loglen++] = '\n';
}

static void send_all(int fd, const char *data, size_t len) {
    /* Answers are tiny: a socket buffer takes them whole; a peer that stops
       reading loses its answer, as from a service that gave up on it. */
    (void)!write(fd, data, len);
}

static void close_conn(int fd, int epfd) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    conns[fd].open = 0;
    conns[fd].len = 0;
    conns[fd].gen++;  /* answers queued for it are not for whoever gets the number next */
    if (!listening) {  /* a descriptor is free again: take the connections waiting in the backlog */
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
        epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
        listening = 1;
    }
}

/* The value of header `name` (with ": ") in the head [head, end), or NULL. */
static const char *header(const char *head, const char *end, const char *name, size_t *vlen) {
    size_t n = strlen(name);
    for (const char *p = head; p && p < end; ) {
        const char *line = memmem(p, end - p, "\r\n", 2);
        if (!line) return NULL;
        line += 2;
        if ((size_t)(end - line) > n && strncasecmp(line, name, n) == 0) {
            const char *v = line + n, *e = memmem(v, end - v, "\r\n", 2);
            if (!e) e = end;
            while (v < e && *v == ' ') v++;
            *vlen = e - v;
            return v;
        }
        p = line;
    }
    return NULL;
}

static int handle(int fd, long long latency, const char *log_path) {
    Conn *c = &conns[fd];
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end) return c->len > MAX_HEAD ? -1 : 0;
        size_t vlen = 0, body = 0;
        const char *v = header(c->buf, end + 2, "Content-Length:", &vlen);
        if (v) body = strtoul(v, NULL, 10);
        if (body > MAX_BODY) return -1;
        size_t whole = end + 4 - c->buf + body;
        if (c->len < whole) return 0;
        const char *sp1 = memchr(c->buf, ' ', end - c->buf);
        const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', end - sp1 - 1) : NULL;
        if (!sp2) return -1;
        const char *path = sp1 + 1;
        size_t plen = sp2 - path;
        if (sp1 - c->buf == 4 && memcmp(c->buf, "POST", 4) == 0) {
            size_t tlen = 0;
            const char *topic = header(c->buf, end + 2, "Topic:", &tlen);
            note(path, plen, topic ? topic : "", topic ? tlen : 0);
            if (latency) {
                if (qlen == qcap) {  /* double the ring, oldest first at 0 */
                    Answer *bigger = grow(NULL, 2 * qcap * sizeof *bigger);
                    for (size_t i = 0; i < qlen; i++) bigger[i] = queue[(qhead + i) % qcap];
                    free(queue);
                    queue = bigger, qhead = 0, qcap *= 2;
                }
                queue[(qhead + qlen++) % qcap] = (Answer){fd, c->gen, now_ns() + latency};
            } else {
                send_all(fd, CREATED, sizeof CREATED - 1);
            }
        } else {
            if (plen >= 7 && memcmp(path, "/_stats", 7) == 0) {
                int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
                if (out < 0 || write(out, logbuf, loglen) != (ssize_t)loglen) { perror("standin: log"); exit(1); }
                close(out);
                loglen = 0;
            } else if (plen >= 7 && memcmp(path, "/_reset", 7) == 0) {
                if (truncate(log_path, 0) < 0 && errno != ENOENT) { perror("standin: truncate"); exit(1); }
                loglen = 0;
            }
            send_all(fd, OK, sizeof OK - 1);
        }
        memmove(c->buf, c->buf + whole, c->len - whole);
        c->len -= whole;
    }
}

static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: standin LISTEN_FD LATENCY_US LOG_PATH\n"); return 2; }
    lfd = atoi(argv[1]);
    long long latency = atoll(argv[2]) * 1000;
    const char *log_path = argv[3];
    struct rlimit files;  /* as many connections as the system lets this process have */
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);
    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
    queue = grow(NULL, qcap * sizeof *queue);
    logbuf = grow(NULL, logcap);
    int epfd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, events[512];
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    static char chunk[65536];
    while (!stop) {
        int timeout = 100;  /* ms: a SIGTERM that came just before epoll_wait is seen soon */
        if (qlen) {
            long long wait = queue[qhead].due - now_ns();
            timeout = wait <= 0 ? 0 : wait < 100000000 ? (int)((wait + 999999) / 1000000) : 100;
        }
        int n = epoll_wait(epfd, events, 512, timeout);
        if (n < 0 && errno != EINTR) { perror("standin: epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                for (;;) {
                    int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                    if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE) {  /* until a connection closes; else epoll spins */
                            epoll_ctl(epfd, EPOLL_CTL_DEL, lfd, NULL);
                            listening = 0;
                        }
                        break;
                    }
                    int one = 1;
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    if (cfd >= nconns) {
                        int more = cfd * 2 + 64;
                        conns = grow(conns, more * sizeof *conns);
                        memset(conns + nconns, 0, (more - nconns) * sizeof *conns);
                        nconns = more;
                    }
                    conns[cfd].open = 1;
                    conns[cfd].len = 0;
                    ev.data.fd = cfd;
                    epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &ev);
                }
                continue;
            }
            Conn *c = &conns[fd];
            ssize_t got = read(fd, chunk, sizeof chunk);
            if (got <= 0) {
                if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                close_conn(fd, epfd);
                continue;
            }
            if (c->len + got > c->cap) {
                c->cap = c->len + got > 4096 ? 2 * (c->len + got) : 4096;
                c->buf = grow(c->buf, c->cap);
            }
            memcpy(c->buf + c->len, chunk, got);
            c->len += got;
            if (handle(fd, latency, log_path) < 0) close_conn(fd, epfd);
        }
        long long t = now_ns();
        while (qlen && queue[qhead].due <= t) {
            Answer a = queue[qhead];
            qhead = (qhead + 1) % qcap, qlen--;
            if (a.fd < nconns && conns[a.fd].open && conns[a.fd].gen == a.gen)
                send_all(a.fd, CREATED, sizeof CREATED - 1);
        }
    }
    return 0;
}

/* A plain HTTP file server for tests (see http_files.h). */
#include "tests/support/http_files.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "station/util/xalloc.h"
#include "tests/support/proc.h"

#define HITS_MAX 16
#define REQ_MAX 8192
#define IO_MS 2000 /* a client that stalls is dropped after this (test_ms) */

struct http_files {
	char *dir;
	int fd, port;
	atomic_int stop;
	pthread_t thread;
	pthread_mutex_t lock; /* hits */
	struct {
		char name[128];
		int n;
	} hits[HITS_MAX];
};

static void
die(const char *what)
{
	fprintf(stderr, "http test server: %s: %s\n", what, strerror(errno));
	abort();
}

static void
count_hit(struct http_files *s, const char *name)
{
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < HITS_MAX; i++) {
		if (s->hits[i].name[0] == '\0')
			snprintf(s->hits[i].name, sizeof s->hits[i].name, "%s",
			    name);
		if (strcmp(s->hits[i].name, name) == 0) {
			s->hits[i].n++;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

int
http_files_hits(struct http_files *s, const char *name)
{
	int n = 0;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < HITS_MAX; i++) {
		if (strcmp(s->hits[i].name, name) == 0)
			n = s->hits[i].n;
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* The request head, up to the blank line; 0 on success. */
static int
read_head(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	struct pollfd p = { fd, POLLIN, 0 };

	while (len + 1 < cap) {
		if (poll(&p, 1, test_ms(IO_MS)) <= 0)
			return -1;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return 0;
	}
	return -1;
}

static void
send_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

/* The file's bytes (caller frees) or NULL; *len its size. */
static char *
load(const char *dir, const char *name, size_t *len)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *fp = fopen(path, "rb");
	char *body = NULL;
	long size;

	free(path);
	if (fp == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0) {
		size = ftell(fp);
		rewind(fp);
		if (size >= 0) {
			body = xmalloc((size_t)size + 1);
			*len = fread(body, 1, (size_t)size, fp);
		}
	}
	fclose(fp);
	return body;
}

static void
serve(struct http_files *s, int cfd)
{
	char req[REQ_MAX], name[128];
	char *body = NULL, *head;
	size_t len = 0, n;
	const char *path;

	if (read_head(cfd, req, sizeof req) != 0)
		return;
	if (strncmp(req, "GET /", 5) != 0)
		goto reply;
	path = req + 5;
	n = strcspn(path, " ");
	if (n == 0 || n >= sizeof name || path[0] == '.' ||
	    strspn(path,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789._-") != n)
		goto reply;
	memcpy(name, path, n);
	name[n] = '\0';
	body = load(s->dir, name, &len);
	if (body != NULL)
		count_hit(s, name);
reply:
	if (body == NULL)
		head = xasprintf("HTTP/1.0 404 Not Found\r\nContent-Length: 0"
				 "\r\nConnection: close\r\n\r\n");
	else
		head = xasprintf("HTTP/1.0 200 OK\r\nContent-Type: "
				 "application/octet-stream\r\nContent-Length: "
				 "%zu\r\nConnection: close\r\n\r\n",
		    len);
	send_all(cfd, head, strlen(head));
	if (body != NULL)
		send_all(cfd, body, len);
	free(head);
	free(body);
}

static void *
run(void *arg)
{
	struct http_files *s = arg;
	struct pollfd p = { s->fd, POLLIN, 0 };
	int cfd;

	while (!atomic_load(&s->stop)) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		cfd = accept(s->fd, NULL, NULL);
		if (cfd < 0)
			continue;
		serve(s, cfd);
		close(cfd);
	}
	return NULL;
}

struct http_files *
http_files_start(const char *dir)
{
	struct http_files *s = xcalloc(1, sizeof *s);
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof a;

	s->dir = xstrdup(dir);
	pthread_mutex_init(&s->lock, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		die("socket");
	if (bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(s->fd, 8) != 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0)
		die("bind");
	s->port = ntohs(a.sin_port);
	if (pthread_create(&s->thread, NULL, run, s) != 0)
		die("pthread_create");
	return s;
}

int
http_files_port(const struct http_files *s)
{
	return s->port;
}

void
http_files_stop(struct http_files *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stop, 1);
	pthread_join(s->thread, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s->dir);
	free(s);
}

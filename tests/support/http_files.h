/*
 * A plain HTTP/1.0 file server for tests: what a web server publishing a
 * CRL directory does, as relying parties (`openssl verify -crl_download`,
 * a broker) reach it.  127.0.0.1 on a random port, one connection at a
 * time on its own thread; GET /NAME answers the file NAME directly in the
 * served directory (NAME: letters, digits, '.', '_', '-', not starting
 * with '.'), read at the time of the request; anything else is 404.
 * http_files_stop() ends the thread and joins it: the server never
 * outlives its test.
 */
#ifndef TEST_HTTP_FILES_H
#define TEST_HTTP_FILES_H

struct http_files;

/* Serve `dir` (copied); aborts if no socket or thread can be made. */
struct http_files *http_files_start(const char *dir);
int http_files_port(const struct http_files *s);
/* How many GETs of NAME were answered 200 so far. */
int http_files_hits(struct http_files *s, const char *name);
/* Stop, join and free (accepts NULL). */
void http_files_stop(struct http_files *s);

#endif

/*
 * tests/integration/rdns_service.c - a PAM service that puts the client's
 * reverse-DNS name in PAM_RHOST, as Fedora's vsftpd does with its default
 * reverse_lookup_enable=YES (getnameinfo on the peer before PAM) and as
 * login(1) started by a telnetd does. Used by e2e-rhost.sh.
 *
 * Owns: accepting one connection at a time on 127.0.0.1 (port written to
 * PORTFILE), reading "USER PASSWORD\n" (the password is the rest of the
 * line), looking the peer up with
 * getnameinfo (a name if /etc/hosts or DNS has one, else the address),
 * running pam_authenticate and pam_acct_mgmt for SERVICE with that as
 * PAM_RHOST inside the process that holds the connection, and answering
 * "rhost=NAME auth=N acct=N\n" (PAM codes). Test code: no limits beyond a
 * bounded line.
 *
 * Usage: rdns_service SERVICE PORTFILE
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <security/pam_appl.h>

static char password[256];

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
    struct pam_response *r = calloc((size_t)n, sizeof(*r));
    int i;

    (void)data;
    if (r == NULL)
        return PAM_BUF_ERR;
    for (i = 0; i < n; i++)
        if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
            r[i].resp = strdup(password);
    *resp = r;
    return PAM_SUCCESS;
}

static void serve(int c, const char *service)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char line[600], user[256], host[NI_MAXHOST];
    struct pam_conv pc = {conv, NULL};
    pam_handle_t *h = NULL;
    int auth = -1, acct = -1;
    FILE *f = fdopen(dup(c), "r");
    char *sp;

    if (f == NULL || fgets(line, sizeof(line), f) == NULL || (sp = strchr(line, ' ')) == NULL ||
        (size_t)(sp - line) >= sizeof(user) || strlen(sp + 1) >= sizeof(password)) {
        if (f != NULL)
            fclose(f);
        return;
    }
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    *sp = '\0';
    memcpy(user, line, (size_t)(sp - line) + 1);
    memcpy(password, sp + 1, strlen(sp + 1) + 1);
    memset(line, 0, sizeof(line));
    if (getpeername(c, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), NULL, 0, 0) != 0)
        snprintf(host, sizeof(host), "?");
    if (pam_start(service, user, &pc, &h) == PAM_SUCCESS) {
        pam_set_item(h, PAM_RHOST, host);
        auth = pam_authenticate(h, 0);
        if (auth == PAM_SUCCESS)
            acct = pam_acct_mgmt(h, 0);
        pam_end(h, auth);
    }
    dprintf(c, "rhost=%s auth=%d acct=%d\n", host, auth, acct);
    memset(password, 0, sizeof(password));
}

int main(int argc, char **argv)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    FILE *pf;
    int l;

    if (argc != 3) {
        fprintf(stderr, "usage: rdns_service SERVICE PORTFILE\n");
        return 2;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(l, 8) != 0 ||
        getsockname(l, (struct sockaddr *)&sin, &len) != 0) {
        perror("rdns_service: listen");
        return 1;
    }
    pf = fopen(argv[2], "w");
    if (pf == NULL || fprintf(pf, "%u\n", (unsigned)ntohs(sin.sin_port)) < 0 || fclose(pf) != 0) {
        perror(argv[2]);
        return 1;
    }
    for (;;) {
        int c = accept(l, NULL, NULL);

        if (c < 0)
            continue;
        serve(c, argv[1]);
        close(c);
    }
}

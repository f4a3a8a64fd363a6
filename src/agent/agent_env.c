/*
 * agent_env: the environment of a channel's process, built fresh as sshd
 * and PAM (pam_env, pam_systemd, pam_motd) build it on Debian and Ubuntu.
 * Nothing of the agent's own environment passes (no HOSTNAME from Docker).
 */
#include "agent.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void env_set(struct agent_env *e, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void env_set(struct agent_env *e, const char *name, const char *fmt, ...)
{
	size_t nl = strlen(name);
	char *value = NULL, *entry = NULL;
	va_list ap;
	int i;

	va_start(ap, fmt);
	if (vasprintf(&value, fmt, ap) < 0)
		value = NULL;
	va_end(ap);
	if (value == NULL || asprintf(&entry, "%s=%s", name, value) < 0) {
		free(value);
		return;
	}
	free(value);
	for (i = 0; i < e->n; i++)
		if (strncmp(e->v[i], name, nl) == 0 && e->v[i][nl] == '=')
			break;
	if (i < e->n) {
		free(e->v[i]);
		e->v[i] = entry;
	} else if (e->n < AGENT_ENV_MAX) {
		e->v[e->n++] = entry;
		e->v[e->n] = NULL;
	} else {
		free(entry);
	}
}

/* LANG as /etc/default/locale sets it (pam_env's envfile), if it does. */
static int locale_lang(char *out, size_t cap)
{
	FILE *f = fopen("/etc/default/locale", "re");
	char line[512];
	int found = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *v = line + strspn(line, " \t");
		size_t n;

		if (strncmp(v, "LANG=", 5) != 0)
			continue;
		v += 5;
		v[strcspn(v, "\r\n")] = '\0';
		n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		if (*v != '\0') {
			snprintf(out, cap, "%s", v);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* AcceptEnv LANG LC_*: a name of [A-Za-z0-9_] that is LANG or starts LC_. */
static int accepted(const char *name, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return 0;
	return (n == 4 && memcmp(name, "LANG", 4) == 0) || (n > 3 && memcmp(name, "LC_", 3) == 0);
}

static void client_env(struct agent_env *e, const char *list, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const char *item = list + off, *end = memchr(item, '\0', len - off), *eq;
		char name[128];

		if (end == NULL)
			break; /* not NUL-ended: not an entry */
		off += (size_t)(end - item) + 1;
		eq = memchr(item, '=', (size_t)(end - item));
		if (eq == NULL || eq == item || (size_t)(eq - item) >= sizeof(name) ||
		    !accepted(item, (size_t)(eq - item)))
			continue;
		memcpy(name, item, (size_t)(eq - item));
		name[eq - item] = '\0';
		env_set(e, name, "%s", eq + 1);
	}
}

void env_build(struct agent_env *e, const struct agent_login *l, const struct agent_spawn *s)
{
	const struct agent_user *u = &l->user;
	char lang[256];

	e->n = 0;
	e->v[0] = NULL;
	env_set(e, "USER", "%s", u->name);
	env_set(e, "LOGNAME", "%s", u->name);
	env_set(e, "HOME", "%s", u->home);
	env_set(e, "SHELL", "%s", u->shell);
	env_set(e, "PATH", "%s",
	        u->uid == 0 ? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	                    : "/usr/local/bin:/usr/bin:/bin:/usr/games");
	env_set(e, "MAIL", "/var/mail/%s", u->name);
	env_set(e, "SSH_CLIENT", "%s %u %u", l->client_addr, l->client_port, l->server_port);
	env_set(e, "SSH_CONNECTION", "%s %u %s %u", l->client_addr, l->client_port, l->server_addr,
	        l->server_port);
	if (s->pty) {
		env_set(e, "SSH_TTY", "%s", s->tty);
		env_set(e, "TERM", "%s", s->term);
	}
	if (locale_lang(lang, sizeof(lang)))
		env_set(e, "LANG", "%s", lang);
	if (l->logind_id[0] != '\0')
		env_set(e, "XDG_SESSION_ID", "%s", l->logind_id);
	else
		env_set(e, "XDG_SESSION_ID", "%u", l->session_id);
	env_set(e, "XDG_RUNTIME_DIR", "/run/user/%u", (unsigned)u->uid);
	env_set(e, "XDG_SESSION_TYPE", "tty");
	env_set(e, "XDG_SESSION_CLASS", "user");
	if (s->pty && s->kind == AGENT_KIND_SHELL)
		env_set(e, "MOTD_SHOWN", "pam");
	client_env(e, s->env, s->env_len);
}

void env_free(struct agent_env *e)
{
	for (int i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
	e->v[0] = NULL;
}

/*
 * engine_files: the files a container engine bind-mounts over a box's /etc,
 * which hermes-runtime puts into the box's own root instead, and the
 * environment variables through which the monitor gives it their texts
 * (docs/stealth.md, "The runtime wrapper").
 *
 * One list for the three places that must agree: the monitor that writes
 * the variables and knows the texts (src/docker/sandbox_spec.c), the
 * runtime that reads them (src/runtime/runtime_spec.c), and the artifact
 * collection, which cannot read these paths through the engine
 * (src/forensics/changes.c). Macros, not arrays, so that the header holds
 * no data of its own.
 */
#ifndef HERMES_ENGINE_FILES_H
#define HERMES_ENGINE_FILES_H

enum engine_file { ENGINE_HOSTNAME, ENGINE_HOSTS, ENGINE_RESOLV, ENGINE_FILES_N };

/* Initializers of const char *[ENGINE_FILES_N], in enum engine_file's order. */
#define ENGINE_FILE_PATHS                                                                          \
	{                                                                                          \
		"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"                                  \
	}
#define ENGINE_FILE_ENVS                                                                           \
	{                                                                                          \
		"HERMES_ETC_HOSTNAME", "HERMES_ETC_HOSTS", "HERMES_ETC_RESOLV_CONF"                \
	}

#endif

/*
 * netfilter.c is the iptables, ip6tables and nft of kedge's runtime bundle
 * (docs/architecture.md, decision 9). build.sh compiles it statically and
 * hard-links it under every tool name in netfilter/bin. Debian's tools are
 * dynamically linked against bookworm's glibc, which a host may lack or have
 * in another version, so they run through the bundle's own glibc loader and
 * libraries, never the host's:
 *
 *   <nf>/bin/<name> ARGS  execs
 *   <nf>/sbin/ld.so --library-path <nf>/lib --argv0 <name> <nf>/sbin/<prog> ARGS
 *
 * with XTABLES_LIBDIR=<nf>/xtables (the iptables extensions). <prog> is nft
 * for nft; xtables-legacy-multi or xtables-nft-multi for the -legacy and -nft
 * names; and for plain iptables, ip6tables and their -save and -restore, the
 * backend KEDGE_IPTABLES_MODE names: "nft" (the default) or "legacy". kedge
 * sets it to what the host's existing rules use (agent/netfilter), so its
 * rules never end up split across both.
 *
 * The name comes from /proc/self/exe, not argv[0]: callers pass a full path,
 * a bare name or anything else there, and a hard link keeps its own path.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MODE_ENV "KEDGE_IPTABLES_MODE"
#define NFT_MULTI "xtables-nft-multi"
#define LEGACY_MULTI "xtables-legacy-multi"

/* name is the tool this run is, for messages too once it is known. */
static const char *name = "netfilter";

static void die(const char *what, const char *why)
{
	fprintf(stderr, "%s (kedge runtime bundle): %s: %s\n", name, what, why);
	exit(126);
}

/* join writes dir/rel into buf, failing rather than truncating. */
static void join(char *buf, const char *dir, const char *rel)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, rel);
	if (n < 0 || n >= PATH_MAX)
		die(dir, "path too long");
}

/* program is the file in sbin that implements the tool called name. */
static const char *program(void)
{
	const char *mode = getenv(MODE_ENV);

	if (strcmp(name, "nft") == 0)
		return "nft";
	if (strstr(name, "-legacy"))
		return LEGACY_MULTI;
	if (strstr(name, "-nft"))
		return NFT_MULTI;
	if (mode == NULL || *mode == '\0' || strcmp(mode, "nft") == 0)
		return NFT_MULTI;
	if (strcmp(mode, "legacy") == 0)
		return LEGACY_MULTI;
	fprintf(stderr, "%s (kedge runtime bundle): %s is \"%s\": want nft or legacy\n", name, MODE_ENV, mode);
	exit(126);
}

int main(int argc, char **argv)
{
	static char self[PATH_MAX], sbin[PATH_MAX], loader[PATH_MAX], lib[PATH_MAX], xt[PATH_MAX],
		prog[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash, **args;
	int i;

	if (n < 0)
		die("/proc/self/exe", strerror(errno));
	if (n >= (ssize_t)sizeof self - 1)
		die("/proc/self/exe", "path too long");
	self[n] = '\0';
	/* self is <nf>/bin/<name>: cut it down to <nf>. */
	slash = strrchr(self, '/');
	if (slash == NULL)
		die(self, "not an absolute path");
	name = slash + 1;
	*slash = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL)
		die(self, "not inside the bundle's netfilter/bin");
	*slash = '\0';

	join(sbin, self, "sbin");
	join(loader, sbin, "ld.so");
	join(prog, sbin, program());
	join(lib, self, "lib");
	join(xt, self, "xtables");
	if (setenv("XTABLES_LIBDIR", xt, 1) != 0)
		die("XTABLES_LIBDIR", strerror(errno));

	args = calloc(argc + 6, sizeof *args);
	if (args == NULL)
		die("arguments", strerror(errno));
	args[0] = loader;
	args[1] = "--library-path";
	args[2] = lib;
	args[3] = "--argv0";
	args[4] = (char *)name;
	args[5] = prog;
	for (i = 1; i < argc; i++)
		args[5 + i] = argv[i];
	execv(loader, args);
	die(loader, strerror(errno));
	return 126;
}

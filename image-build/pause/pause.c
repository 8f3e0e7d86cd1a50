/*
 * pause: the first process of every kedge pod sandbox.
 *
 * Its only jobs are to keep the pod's namespaces alive, to stop cleanly when
 * the runtime asks it to, and, when it is PID 1 of a shared PID namespace, to
 * collect orphaned processes so they do not pile up as zombies.
 *
 * Written for kedge; built static by image-build for each architecture.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PAUSE_VERSION
#define PAUSE_VERSION "dev"
#endif

/* A stop request is the normal end of a sandbox, so it is not an error. */
static void stop(int sig)
{
	(void)sig;
	_exit(0);
}

/*
 * Collect every child that has exited. One SIGCHLD can stand for several
 * children, so loop until nothing is left; errno is saved because the
 * interrupted code may be about to read it.
 */
static void reap(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

static int on(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "-v") == 0) {
		printf("pause %s (kedge)\n", PAUSE_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: %s [-v]\n", argv[0]);
		return 2;
	}

	/*
	 * A PID 1 gets no default signal actions, so without these handlers
	 * the runtime's SIGTERM would be dropped and every pod stop would wait
	 * for the SIGKILL timeout.
	 */
	if (on(SIGINT, stop, 0) != 0 || on(SIGTERM, stop, 0) != 0 ||
	    on(SIGCHLD, reap, SA_NOCLDSTOP | SA_RESTART) != 0) {
		perror("pause: sigaction");
		return 1;
	}

	/* Orphans may have been handed to us before the handler existed. */
	reap(0);

	for (;;)
		pause();
}

"""gunicorn settings: ``gunicorn -c config/gunicorn.py config.wsgi:application``.

The application and the embedding model are loaded once, in the master, before the workers
fork: each worker then shares the model's memory (about 100 MB resident, and 110 MB more
while it loads) with the others instead of loading its own copy on its first suggestion.
Command-line options (bind, workers, timeout) still apply on top of these.
"""

import gc
import os

preload_app = True
# Threads, so that the live boards' event streams (retros.live; up to RECUR_LIVE_STREAM_SECONDS
# each) never hold a whole worker: each stream is one thread waiting, almost all the time.
worker_class = "gthread"
threads = int(os.environ.get("RECUR_WEB_THREADS", "16"))
# Each worker signals it is alive by touching a file every request loop: in memory, so that a
# busy disk never stalls a worker (gunicorn's advice where /tmp is on disk, as in containers).
# gunicorn creates the file itself, with mkstemp.
_SHARED_MEMORY = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHARED_MEMORY if os.path.isdir(_SHARED_MEMORY) else None
# After a request, a worker grown by more than this many MB since it last trimmed gives its
# freed heap back (matching.heap.release_if_grown); 0: after any request that grew it.
TRIM_AFTER_MB = int(os.environ.get("RECUR_WEB_TRIM_MB", "8"))


def when_ready(server):  # the master, after loading the application, before any worker
    from matching import embedding

    try:
        embedding.get_model()
    except embedding.EmbeddingUnavailable as error:
        server.log.warning("Recurrence suggestions unavailable: %s", error)
    _preload_matcher(server)
    # Objects loaded so far live as long as the workers: keep the collector's passes from
    # touching (and so copying) their pages in every worker.
    gc.collect()
    gc.freeze()


def _preload_matcher(server):
    """The matcher indexes of RECUR_MATCHER_PRELOAD (organisation ids), loaded before the
    workers fork: each worker starts with them, their pages shared until written."""
    from django.conf import settings
    from django.db import connections

    wanted = settings.RECUR_MATCHER_PRELOAD
    if not wanted:
        return
    from retros import search

    try:
        rows = search.preload(wanted)
        server.log.info("Matcher indexes preloaded: %s raisings", rows)
    except Exception as error:  # the workers load them on their first query instead
        server.log.warning("Matcher indexes not preloaded: %s", error)
    finally:
        connections.close_all()  # never share a database connection with the workers


def post_request(worker, req, environ, resp):
    """Pages leave freed memory scattered through the heap, resident between live objects:
    give it back once it adds up, so a worker stays near its live size."""
    from matching import heap

    heap.release_if_grown(TRIM_AFTER_MB << 20)


def worker_exit(server, worker):
    """End the worker without running native destructors. onnxruntime starts a helper thread
    when imported; a worker forked from the master does not have it, and onnxruntime's exit
    handlers then wait for it forever (the master would kill the worker after its graceful
    timeout). Everything of ours is closed first."""
    import logging
    import os
    import sys

    from django.db import connections

    # Called while the worker's exit is under way: keep its exit status (gunicorn reads
    # boot and application-load failures from it).
    error = sys.exc_info()[1]
    status = error.code if isinstance(error, SystemExit) else (1 if error else 0)
    connections.close_all()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status if isinstance(status, int) else 1)

"""gunicorn settings shared by `make serve` and the benches (gunicorn reads ./gunicorn.conf.py by default).

Command-line flags (workers, bind, worker class) stay in the Makefile and bench scripts; this file
holds only what flags cannot say.
"""
import gc
import os

# Each sync worker touches a heartbeat file before every accept. On a disk file system that is an
# inode update the journal has to write out; in memory it is not (gunicorn's FAQ gives the same
# advice for containers).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"


def post_worker_init(worker):
    # Chinese segmentation's dictionary (~0.5 s to load) now, not in the first search or sell-out a
    # reader or buyer waits on.
    from zhongcao.search import analysis

    analysis.warm_up()
    # The app is loaded by now: ~325k long-lived objects (SQLAlchemy mappers, Jinja templates, routes,
    # the search analysers) that will never be garbage. Left in the collector's generations, every full
    # collection walks them all again, a ~100 ms pause for the requests queued on this worker; frozen,
    # a collection only walks what requests allocate.
    gc.freeze()

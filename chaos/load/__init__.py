"""Load: Locust runs in its own process(es); this package only starts it and gives workloads
the helper that records each request into the run's history. The runner sees a load only through
``chaos.load.process.LoadProcess``. Never import locust at top level outside ``chaos.load.recorder``
(imported only inside Locust processes); ``chaos.load.distributed`` imports it only inside the
functions Locust processes call.

``locust_process.LocustProcess`` is one Locust process (``load.workers: 1``);
``locust_group.LocustGroup`` is a master and its workers with the same interface (documented
there); ``locust_group.load_process`` picks one for an experiment's ``load``."""

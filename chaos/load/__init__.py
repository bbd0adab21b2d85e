"""Load: Locust runs in its own process(es); this package only starts it and gives workloads
the helper that records each request into the run's history. The runner sees a load only through
``chaos.load.process.LoadProcess`` (``LocustProcess`` is the real one). Never import locust at top level
outside ``chaos.load.recorder`` (imported only inside Locust processes)."""

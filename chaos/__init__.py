"""chaos-harness: kill a site under load, measure how long each service was down and what was lost.

Locust is never imported here (it monkey-patches the standard library); it runs as a subprocess.
"""

__version__ = "0.1.0"
